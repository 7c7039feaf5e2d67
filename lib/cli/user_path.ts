/**
 * Paths on a command line are taken from the folder the user typed the command in. `deno task` runs a
 * task with the project's root as its working folder, so `Deno.cwd()` is the root even when the user
 * stands in a sub-folder; it tells the task where the user was in `INIT_CWD` (as npm does). Every path
 * argument of the tasks goes through {@link userPath} (or {@link userSource}, {@link userModelArg}), and
 * paths shown back go through {@link shownPath}, so a relative path means the same in both directions.
 *
 * The `TL_*` settings are not command-line arguments: their relative paths stay relative to the project's
 * root (`lib/runtime/config.ts`), wherever the command is typed.
 *
 * @module
 */
import fs from "node:fs";
import path from "node:path";

/** The variable `deno task` (like npm) sets to the folder the command was typed in. */
export const INIT_CWD_ENV = "INIT_CWD";

/** What {@link invocationDir} reads of the environment (`Deno.env`, or a map in tests). */
export interface EnvReader {
  /** The variable's value, `undefined` when unset. */
  get(name: string): string | undefined;
}

/**
 * The folder the user typed the command in: `INIT_CWD` when it names an existing folder by an absolute
 * path, else the working folder (a tool run with `deno run`, not `deno task`).
 *
 * @example
 * ```ts
 * import { invocationDir } from "./mod.ts";
 * import assert from "node:assert";
 *
 * assert.equal(invocationDir(new Map([["INIT_CWD", "/"]])), "/");
 * assert.equal(invocationDir(new Map()), Deno.cwd());
 * assert.equal(invocationDir(new Map([["INIT_CWD", "relative/dir"]])), Deno.cwd());
 * ```
 */
export function invocationDir(env: EnvReader = Deno.env): string {
  const dir = env.get(INIT_CWD_ENV);
  if (!dir || !path.isAbsolute(dir)) return Deno.cwd();
  try {
    return fs.statSync(dir).isDirectory() ? path.resolve(dir) : Deno.cwd();
  } catch {
    return Deno.cwd(); // the folder is gone (or unreadable): the working folder is all there is
  }
}

/**
 * The absolute path a path argument names, relative paths taken from `from` (default: where the user
 * stands, {@link invocationDir}).
 *
 * @example
 * ```ts
 * import { userPath } from "./mod.ts";
 * import assert from "node:assert";
 *
 * assert.equal(userPath("photos/cat.jpg", "/home/ada/project/sub"), "/home/ada/project/sub/photos/cat.jpg");
 * assert.equal(userPath("../out", "/home/ada/project/sub"), "/home/ada/project/out");
 * assert.equal(userPath("/data/x.zip", "/home/ada"), "/data/x.zip");
 * ```
 */
export function userPath(arg: string, from: string = invocationDir()): string {
  return path.resolve(from, arg);
}

/** `scheme://…`: a URL (`https://`, `file://`), not a path. */
const URL_LIKE = /^[a-z][a-z0-9+.-]*:\/\//i;

/**
 * A path-or-URL argument (a data archive, a weights file): a URL as given, a path as {@link userPath}.
 *
 * @example
 * ```ts
 * import { userSource } from "./mod.ts";
 * import assert from "node:assert";
 *
 * assert.equal(userSource("https://example.com/data.zip", "/home/ada"), "https://example.com/data.zip");
 * assert.equal(userSource("data.zip", "/home/ada"), "/home/ada/data.zip");
 * ```
 */
export function userSource(arg: string, from: string = invocationDir()): string {
  return URL_LIKE.test(arg) ? arg : userPath(arg, from);
}

/**
 * A `--model` argument: a path from where the user stands ({@link userPath}) when something is there or
 * when it has a folder part; otherwise a bare NAME stays as typed, for the reader to look up as
 * `models/NAME` (`resolveModelDir` in lib/tasks).
 *
 * @example
 * ```ts
 * import { userModelArg } from "./mod.ts";
 * import assert from "node:assert";
 *
 * assert.equal(userModelArg("flower_photos_small", "/nonexistent"), "flower_photos_small");
 * assert.equal(userModelArg("../models/pets", "/home/ada/sub"), "/home/ada/models/pets");
 * assert.equal(userModelArg(".", "/home/ada"), "/home/ada");
 * ```
 */
export function userModelArg(arg: string, from: string = invocationDir()): string {
  const resolved = userPath(arg, from);
  const bareName = !arg.includes("/") && !arg.includes(path.sep) && arg !== "." && arg !== "..";
  return bareName && !fs.existsSync(resolved) ? arg : resolved;
}

/**
 * `p` as the user would type it where they stand: relative to `from` when inside it, else absolute.
 *
 * @example
 * ```ts
 * import { shownPath } from "./mod.ts";
 * import assert from "node:assert";
 *
 * assert.equal(shownPath("/home/ada/project/models/pets", "/home/ada/project"), "models/pets");
 * assert.equal(shownPath("/home/ada/project/models/pets", "/home/ada/project/sub"), "/home/ada/project/models/pets");
 * assert.equal(shownPath("/home/ada/project", "/home/ada/project"), ".");
 * ```
 */
export function shownPath(p: string, from: string = invocationDir()): string {
  const rel = path.relative(from, path.resolve(from, p));
  if (rel === "") return ".";
  const outside = rel === ".." || rel.startsWith(`..${path.sep}`) || path.isAbsolute(rel);
  return outside ? path.resolve(from, p) : rel;
}
