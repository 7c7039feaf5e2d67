/**
 * The mirror: a folder of local copies of remote files (a run's `TL_MIRROR`, by default `../shared` beside
 * the project; see `lib/runtime/config.ts`), consulted by file name when an origin cannot be reached.
 *
 * Reachability is decided fast: a DNS or connection error fails at once, and a host that does not answer
 * within {@link ORIGIN_TIMEOUT_MS} counts as unreachable. A host found unreachable is not asked again for
 * {@link UNREACHABLE_MEMORY_MS}, so that a run's several downloads from one host wait at most once.
 *
 * @module
 */
import fs from "node:fs";
import path from "node:path";
import { jupyterApi, print, PROJECT_ROOT, settled } from "../runtime/mod.ts";

/** How long an origin has to answer (response headers) before it counts as unreachable. */
export const ORIGIN_TIMEOUT_MS = 5000;
/** How long a host found unreachable is taken as such without asking it again. */
export const UNREACHABLE_MEMORY_MS = 5 * 60_000;

/** The mirror's own folders, looked at before the rest (`../shared` keeps `data/` and `weights/`). */
const FIRST_FOLDERS = ["", "data", "weights"];
/** Deepest folder level searched: a mirror pointed at a large tree is not walked whole. */
const MAX_DEPTH = 4;

function isFile(p: string): boolean {
  try {
    return fs.statSync(p).isFile();
  } catch {
    return false;
  }
}

/** The mirror's files (absolute paths, sorted; hidden entries and linked folders skipped, 4 levels deep). */
export function mirrorFiles(mirror: string | undefined): string[] {
  const out: string[] = [];
  const walk = (dir: string, depth: number) => {
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
      if (e.name.startsWith(".")) continue;
      const p = path.join(dir, e.name);
      if (e.isDirectory()) {
        if (depth < MAX_DEPTH) walk(p, depth + 1);
      } else if (e.isFile() || (e.isSymbolicLink() && isFile(p))) {
        out.push(p);
      }
    }
  };
  if (mirror) walk(mirror, 1);
  return out;
}

/** The mirror's file named `name`: in the mirror itself, its `data/` or `weights/`, else anywhere below. */
export function findInMirror(mirror: string | undefined, name: string): string | undefined {
  if (!mirror || !name) return undefined;
  for (const folder of FIRST_FOLDERS) {
    const file = path.join(mirror, folder, name);
    if (isFile(file)) return file;
  }
  return mirrorFiles(mirror).find((f) => path.basename(f) === name);
}

/**
 * `p` relative to the project's root when it lies in or beside it (`../shared/…`), else absolute.
 *
 * @example
 * ```ts
 * import { displayPath } from "./mod.ts";
 * import assert from "node:assert";
 *
 * assert.strictEqual(displayPath("/work/shared/data/x.zip", "/work/main"), "../shared/data/x.zip");
 * assert.strictEqual(displayPath("/elsewhere/x.zip", "/work/main"), "/elsewhere/x.zip");
 * ```
 */
export function displayPath(p: string, root: string = PROJECT_ROOT): string {
  const rel = path.relative(root, p);
  if (rel === "") return ".";
  return path.isAbsolute(rel) || rel === ".." || rel.startsWith(`..${path.sep}..`) ? p : rel;
}

/**
 * The host (with its port, if any) of a URL, for messages; the text itself when it is no URL.
 *
 * @example
 * ```ts
 * import { hostOf } from "./mod.ts";
 * import assert from "node:assert";
 *
 * assert.strictEqual(hostOf("https://storage.googleapis.com/x.zip"), "storage.googleapis.com");
 * assert.strictEqual(hostOf("http://127.0.0.1:9/x.zip"), "127.0.0.1:9");
 * ```
 */
export function hostOf(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return url;
  }
}

const unreachable = new Map<string, number>();

/** Notes that `url`'s host could not be reached, so that it is not asked again for a while. */
export function markUnreachable(url: string): void {
  unreachable.set(hostOf(url), Date.now());
}

/** Whether `url`'s host was found unreachable within the last {@link UNREACHABLE_MEMORY_MS}. */
export function knownUnreachable(url: string): boolean {
  const at = unreachable.get(hostOf(url));
  return at !== undefined && Date.now() - at < UNREACHABLE_MEMORY_MS;
}

/**
 * The HTTP status `url` answers a `HEAD` request with (redirects followed), or `undefined` when its host
 * cannot be reached: a DNS or connection error, or no answer within `timeoutMs`.
 */
export async function probeOrigin(
  url: string,
  timeoutMs: number = ORIGIN_TIMEOUT_MS,
): Promise<number | undefined> {
  if (knownUnreachable(url)) return undefined;
  try {
    const response = await fetch(url, { method: "HEAD", signal: AbortSignal.timeout(timeoutMs) });
    await response.body?.cancel();
    return response.status;
  } catch {
    markUnreachable(url);
    return undefined;
  }
}

const said = new Set<string>();

/**
 * Prints `line` the first time this process says it: on stderr (stdout may carry `--json`), in the
 * notebook as one output of the running cell.
 */
export async function sayOnce(line: string): Promise<void> {
  if (said.has(line)) return;
  said.add(line);
  if (jupyterApi()) {
    print(line);
    await settled();
  } else {
    console.error(line);
  }
}
