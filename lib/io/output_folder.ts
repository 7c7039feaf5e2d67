/**
 * An output folder the project writes whole (`--out`: a saved model, a web export), checked before any work
 * and replaced only where the project wrote it before. {@link checkOutputFolder} refuses — in one line
 * naming up to three of the files concerned, and the fix — a path that is a symbolic link, cannot be
 * written, overlaps a folder it must stay apart from (the data folder), or is a folder holding anything the
 * project did not write: files not in its manifest (`manifest.ts`), files of it changed since (then the
 * user's), or, without a manifest, anything an earlier version would not have written. `force` moves such
 * content aside to `<dir>.old-<time>`, never deletes it. {@link writeOutputFolder} does the write itself
 * (`replaceFolder`: a temporary folder swapped in) with the same check under the folder's lock, the
 * manifest added, and only the files the check found to be the project's deleted afterwards.
 *
 * @module
 */
import fs from "node:fs";
import path from "node:path";
import { shownPath, UsageError } from "../cli/mod.ts";
import { asideName, replaceFolder } from "./atomic.ts";
import type { ReplaceFolderResult } from "./atomic.ts";
import { changedFiles, folderLeaves, MANIFEST_FILE, readManifest, writeManifest } from "./manifest.ts";
import type { FolderManifest } from "./manifest.ts";

/** A refused output folder: one line, what is wrong and what to do (a usage error: exit code 2 in a task). */
export class OutputFolderError extends UsageError {
  /** `"OutputFolderError"`. */
  override name = "OutputFolderError";
}

/** A folder an output must neither be inside of nor contain. */
export interface SeparateFolder {
  /** The folder. */
  path: string;
  /** What it is, in messages: e.g. `"the data folder"`. */
  what: string;
}

/**
 * A folder an earlier version wrote, before the manifest: one {@link EarlierVersion.is} recognizes is
 * treated as if its manifest listed {@link EarlierVersion.files} as they are (anything else in it is the
 * user's).
 */
export interface EarlierVersion {
  /** The files (relative, `/`-separated) an earlier version wrote into such a folder. */
  files: readonly string[];
  /** Whether the folder `dir` was written by an earlier version (e.g. from a file of the project's format). */
  is: (dir: string) => boolean;
}

/** Options of {@link checkOutputFolder}. */
export interface OutputFolderOptions {
  /** What this write makes (recorded in the manifest): a folder of another kind is not replaced. */
  kind: string;
  /** Move content that is not the project's aside to `<dir>.old-<time>` instead of refusing. */
  force?: boolean;
  /** How to recognize a folder an earlier version wrote, before manifests. Default: none is. */
  earlierVersion?: EarlierVersion;
  /** Folders the output must neither be inside of nor contain (e.g. the data folder). */
  separateFrom?: SeparateFolder[];
}

/** What a write into an output folder will do ({@link checkOutputFolder}). */
export interface OutputPlan {
  /** The folder, absolute. */
  dir: string;
  /** `"create"`: none yet; `"replace"`: only the project's files in it; `"move-aside"`: `force` moves it aside. */
  action: "create" | "replace" | "move-aside";
  /** The files of the existing folder the write may delete (relative, `/`-separated). */
  owned: string[];
}

/** Files an operating system leaves in folders a user opens (re-made on demand): never a reason to refuse. */
const OS_CLUTTER = new Set([".DS_Store", "Thumbs.db", "desktop.ini"]);
const isClutter = (p: string) => OS_CLUTTER.has(p.split("/").at(-1)!);

/** Up to three of `items`, then how many more. */
function someOf(items: string[]): string {
  const head = items.slice(0, 3).join(", ");
  return items.length > 3 ? `${head} and ${items.length - 3} more` : head;
}

/** `fs.lstatSync(p)`, `undefined` when nothing is there (or a part of the path is a file). */
function lstatOf(p: string): fs.Stats | undefined {
  try {
    return fs.lstatSync(p);
  } catch (e) {
    if (["ENOENT", "ENOTDIR"].includes((e as { code?: string }).code ?? "")) return undefined;
    throw e;
  }
}

/** `abs` with symbolic links resolved, also when (its end) does not exist yet. */
function realPathOf(abs: string): string {
  let existing = abs;
  const rest: string[] = [];
  while (!fs.existsSync(existing) && path.dirname(existing) !== existing) {
    rest.unshift(path.basename(existing));
    existing = path.dirname(existing);
  }
  return path.join(fs.realpathSync(existing), ...rest);
}

/** The folders `p` (relative, `/`-separated) is in: `a/b/c` → `a`, `a/b`. */
const parentsOf = (p: string) => p.split("/").slice(0, -1).map((_, i, a) => a.slice(0, i + 1).join("/"));

const within = (inner: string, outer: string) => inner === outer || inner.startsWith(outer + path.sep);

/** Refuses a link as the output, an unwritable place, and an overlap with a folder to keep apart. */
function checkPlace(abs: string, separate: SeparateFolder[]) {
  const shown = shownPath(abs);
  const stat = lstatOf(abs);
  if (stat?.isSymbolicLink()) {
    const target = path.resolve(path.dirname(abs), fs.readlinkSync(abs));
    throw new OutputFolderError(
      `${shown} is a symbolic link to ${target}: give --out ${shownPath(target)} to write there (the link ` +
        `then shows the new content), or another --out — a link is never replaced by a folder`,
    );
  }
  let parent = path.dirname(abs);
  while (!fs.existsSync(parent)) parent = path.dirname(parent);
  if (!fs.statSync(parent).isDirectory()) {
    throw new OutputFolderError(`${shown} cannot be made: ${shownPath(parent)} is a file, not a folder`);
  }
  try {
    fs.accessSync(parent, fs.constants.W_OK);
  } catch {
    throw new OutputFolderError(`${shown} cannot be written: no permission to write in ${shownPath(parent)}`);
  }
  const real = realPathOf(abs);
  for (const { path: p, what } of separate) {
    const other = realPathOf(path.resolve(p));
    if (within(real, other)) {
      throw new OutputFolderError(
        `${shown} is inside ${what} ${
          shownPath(p)
        }: it would be read as part of it — pick an --out outside it`,
      );
    }
    if (within(other, real)) {
      throw new OutputFolderError(
        `${what} ${shownPath(p)} is inside ${shown}: pick an --out that does not hold it`,
      );
    }
  }
}

/**
 * The entries to show for `unknown` leaves: a folder holding nothing of the project's stands for all that
 * is in it (`photos/`), shallowest first.
 */
function shownEntries(unknown: string[], owned: string[]): string[] {
  const ownedDirs = new Set(owned.flatMap(parentsOf));
  const shown = new Set<string>();
  for (const leaf of unknown) {
    const parts = leaf.split("/");
    let i = 0;
    while (i < parts.length - 1 && ownedDirs.has(parts.slice(0, i + 1).join("/"))) i++;
    shown.add(i < parts.length - 1 ? `${parts.slice(0, i + 1).join("/")}/` : leaf);
  }
  const depth = (p: string) => p.replace(/\/$/, "").split("/").length;
  return [...shown].sort((a, b) => depth(a) - depth(b) || a.localeCompare(b));
}

/** The manifest of `dir`, or the reason it cannot be used. */
function manifestOf(dir: string): { manifest?: FolderManifest; problem?: string } {
  try {
    return { manifest: readManifest(dir) };
  } catch (e) {
    return { problem: `its ${MANIFEST_FILE} cannot be used (${(e as Error).message})` };
  }
}

/**
 * The files of `dir` the project wrote, by its manifest or as an earlier version's folder; or why it cannot
 * tell (no manifest, an unusable one, another kind of output).
 */
function projectFiles(dir: string, options: OutputFolderOptions, leaves: string[]) {
  const found = manifestOf(dir);
  if (found.problem) return { problem: found.problem };
  const manifest = found.manifest;
  if (manifest && manifest.kind !== options.kind) {
    return { problem: `holds this project's "${manifest.kind}" output, not a "${options.kind}"` };
  }
  if (manifest) return { manifest, listed: manifest.files.map((e) => e.path) };
  const userLeaves = leaves.filter((p) => !isClutter(p));
  const earlier = options.earlierVersion;
  if (userLeaves.length === 0) return { listed: [] };
  if (earlier?.is(dir)) return { listed: [...earlier.files] };
  return {
    problem: `was not written by this project (no ${MANIFEST_FILE}) and holds ${
      someOf(shownEntries(userLeaves, []))
    }`,
  };
}

/** Which files of the existing folder `dir` are the project's, and why it may not be replaced, if so. */
function ownership(dir: string, options: OutputFolderOptions): { owned: string[]; problem?: string } {
  const leaves = folderLeaves(dir).filter((p) => p !== MANIFEST_FILE);
  const { manifest, listed, problem } = projectFiles(dir, options, leaves);
  if (!listed) return { owned: [], problem };
  const listedSet = new Set(listed);
  const unknown = leaves.filter((p) => !listedSet.has(p) && !isClutter(p));
  if (unknown.length > 0) {
    return {
      owned: [],
      problem: `holds files this project did not write (${someOf(shownEntries(unknown, listed))})`,
    };
  }
  const changed = manifest ? changedFiles(dir, manifest) : [];
  if (changed.length > 0) {
    const them = changed.length === 1 ? "it" : "them";
    return {
      owned: [],
      problem: `holds ${someOf(changed)}, changed since this project wrote ${them} (yours now)`,
    };
  }
  return { owned: leaves.filter((p) => listedSet.has(p) || isClutter(p)) };
}

/**
 * Checks the output folder `dir` before any work and says what a write there will do; throws an
 * {@link OutputFolderError} (one line: the problem, up to three files concerned, the fix) when it must not
 * be written: a symbolic link, no permission, inside or around `separateFrom`, or — unless `force` — a
 * file, or a folder holding what the project did not write (see the module's doc).
 */
export function checkOutputFolder(dir: string, options: OutputFolderOptions): OutputPlan {
  const abs = path.resolve(dir);
  checkPlace(abs, options.separateFrom ?? []);
  const stat = lstatOf(abs);
  if (!stat) return { dir: abs, action: "create", owned: [] };
  const { owned, problem } = stat.isDirectory()
    ? ownership(abs, options)
    : { owned: [], problem: "is a file, not a folder" };
  if (!problem) return { dir: abs, action: "replace", owned };
  if (options.force) return { dir: abs, action: "move-aside", owned: [] };
  const shown = shownPath(abs);
  throw new OutputFolderError(
    `${shown} ${problem}: pick another --out, or --force to move the ` +
      `old content aside to ${shown}.old-<time> (nothing is deleted)`,
  );
}

/**
 * Deletes from `old` (the replaced folder) the files the check found to be the project's and the folders
 * they leave empty; anything else — added since the check — is moved aside, never deleted. Returns where.
 */
async function discardOwned(old: string, owned: string[], dir: string): Promise<string | undefined> {
  for (const p of [...owned, MANIFEST_FILE]) await Deno.remove(path.join(old, p)).catch(() => {});
  const deepestFirst = [...new Set(owned.flatMap(parentsOf))].sort((a, b) => b.length - a.length);
  for (const d of deepestFirst) await Deno.remove(path.join(old, d)).catch(() => {});
  try {
    await Deno.remove(old);
    return undefined;
  } catch {
    const aside = asideName(dir);
    await Deno.rename(old, aside);
    return aside;
  }
}

/** Options of {@link writeOutputFolder}. */
export interface WriteOutputFolderOptions extends OutputFolderOptions {
  /** Writes the new content into `temp`, an empty folder beside the output (the manifest is added after). */
  fill: (temp: string) => Promise<void>;
  /** What the folder's lock is for, shown to a second process that waits for it. */
  purpose?: string;
  /** The error to throw when writing failed (the folder is unchanged then); default the error itself. */
  writeError?: (e: unknown) => Error;
}

/**
 * Writes the output folder `dir` whole: checked again under its lock ({@link checkOutputFolder}), filled
 * in a temporary sibling with a manifest of what was written (`manifest.ts`), swapped in; then the previous
 * content goes — its files the project's deleted, the rest (with `force`: all of it) moved to
 * `<dir>.old-<time>`, returned as `movedAside`.
 *
 * @example
 * ```ts
 * import { writeOutputFolder } from "./mod.ts";
 * import assert from "node:assert";
 * import path from "node:path";
 *
 * const out = path.join(await Deno.makeTempDir(), "out");
 * const fill = (text: string) => (temp: string) => Deno.writeTextFile(path.join(temp, "a.txt"), text);
 * await writeOutputFolder(out, { kind: "example", fill: fill("1") });
 * await writeOutputFolder(out, { kind: "example", fill: fill("2") }); // its own folder: replaced
 *
 * await Deno.writeTextFile(path.join(out, "notes.txt"), "the user's");
 * await assert.rejects(
 *   writeOutputFolder(out, { kind: "example", fill: fill("3") }),
 *   /holds files this project did not write \(notes\.txt\): pick another --out, or --force/,
 * );
 * const { movedAside } = await writeOutputFolder(out, { kind: "example", force: true, fill: fill("3") });
 * assert.equal(await Deno.readTextFile(path.join(movedAside!, "notes.txt")), "the user's");
 * await Deno.remove(path.dirname(out), { recursive: true });
 * ```
 */
export async function writeOutputFolder(
  dir: string,
  options: WriteOutputFolderOptions,
): Promise<ReplaceFolderResult> {
  const abs = path.resolve(dir);
  checkOutputFolder(abs, options);
  let plan: OutputPlan | undefined;
  return await replaceFolder(abs, {
    check(d) {
      plan = checkOutputFolder(d, options);
      return plan.action === "move-aside" ? { moveAsideTo: asideName(d) } : undefined;
    },
    fill: async (temp) => {
      await options.fill(temp);
      await writeManifest(temp, options.kind);
    },
    discardOld: (old) => discardOwned(old, plan?.owned ?? [], abs),
    ...(options.purpose ? { purpose: options.purpose } : {}),
    ...(options.writeError ? { writeError: options.writeError } : {}),
  });
}
