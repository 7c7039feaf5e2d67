/**
 * Writing to disk so that a crash, a full disk or a second process never leaves something half-written
 * under the final name: write under a temporary sibling name (`<target>.<tag>-<pid>-<random>`), flush, then
 * rename. The PID in the temporary name lets a later run remove what a dead process left behind.
 *
 * @module
 */
import fs from "node:fs";
import path from "node:path";
import { isProcessAlive, withFileLock } from "./file_lock.ts";

/** A fresh temporary name beside `target`: `<target>.<tag>-<pid>-<8 hex digits>`. */
export function tempSibling(target: string, tag: string): string {
  return `${target}.${tag}-${Deno.pid}-${crypto.randomUUID().slice(0, 8)}`;
}

/** The temporary siblings of `target` with one of `tags`, with the PID that made each. */
export function listTempSiblings(
  target: string,
  tags: string[],
): { path: string; tag: string; pid: number }[] {
  const dir = path.dirname(target);
  const base = path.basename(target);
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return [];
  }
  const out = [];
  for (const name of names) {
    if (!name.startsWith(`${base}.`)) continue;
    const m = /^([a-z]+)-(\d+)-[0-9a-f]{8}$/.exec(name.slice(base.length + 1));
    if (m && tags.includes(m[1])) out.push({ path: path.join(dir, name), tag: m[1], pid: Number(m[2]) });
  }
  return out;
}

/**
 * Removes the temporary siblings of `target` (with one of `tags`) left by processes that no longer run —
 * or by this process' PID in an earlier life; call it while holding the entry's lock, so that no live
 * writer of this process is using one. Returns the removed paths.
 */
export async function removeDeadLeftovers(target: string, tags: string[]): Promise<string[]> {
  const removed = [];
  for (const entry of listTempSiblings(target, tags)) {
    if (entry.pid !== Deno.pid && isProcessAlive(entry.pid)) continue;
    await Deno.remove(entry.path, { recursive: true }).catch(() => {});
    removed.push(entry.path);
  }
  return removed;
}

/** Writes `bytes` to a new file `file` and flushes it to the disk (a full disk is an error here, not later). */
export async function writeFileSynced(file: string, bytes: Uint8Array | string): Promise<void> {
  const data = typeof bytes === "string" ? new TextEncoder().encode(bytes) : bytes;
  using handle = await Deno.open(file, { write: true, createNew: true });
  await writeAll(handle, data);
  await handle.sync();
}

/** Writes all of `bytes` to `file` (one `write` may take only part of them). */
export async function writeAll(file: Deno.FsFile, bytes: Uint8Array): Promise<void> {
  for (let offset = 0; offset < bytes.length;) offset += await file.write(bytes.subarray(offset));
}

/** Writes `file` atomically: a synced temporary sibling renamed over it. */
export async function writeFileAtomic(file: string, bytes: Uint8Array | string): Promise<void> {
  const temp = tempSibling(file, "writing");
  try {
    await writeFileSynced(temp, bytes);
    await Deno.rename(temp, file);
  } catch (e) {
    await Deno.remove(temp).catch(() => {});
    throw e;
  }
}

/** Options of {@link swapFolder}. */
export interface SwapFolderOptions {
  /** Rename the old `dir` to this path (beside it) and keep it there, instead of deleting it. */
  moveOldTo?: string;
  /**
   * Disposes of the old folder once the new one is in place (default: deleted whole); returns where
   * something of it was kept, if anywhere.
   */
  discardOld?: (old: string) => Promise<string | undefined>;
}

/**
 * Puts the complete folder `fresh` in the place of `dir`: the old `dir` is renamed away first, `fresh`
 * renamed in, then the old one deleted (or kept at `options.moveOldTo`) — if renaming in fails, the old one
 * is put back. Between the two renames `dir` is briefly absent; the old folder waits at `<dir>.old-<pid>-…`
 * (see `restoreOrphanedOld`). Returns where the old content was kept, if it was.
 */
export async function swapFolder(
  fresh: string,
  dir: string,
  options: SwapFolderOptions = {},
): Promise<string | undefined> {
  let old: string | undefined;
  if (fs.existsSync(dir)) {
    old = options.moveOldTo ?? tempSibling(dir, "old");
    await Deno.rename(dir, old);
  }
  try {
    await Deno.rename(fresh, dir);
  } catch (e) {
    if (old) await Deno.rename(old, dir).catch(() => {});
    throw e;
  }
  if (!old || options.moveOldTo) return old;
  if (options.discardOld) return await options.discardOld(old);
  await Deno.remove(old, { recursive: true }).catch(() => {});
  return undefined;
}

/**
 * A new name beside `dir` for its old content moved aside on purpose: `<dir>.old-<UTC time>` (then `-2`,
 * `-3`… when taken). Unlike the temporary `<dir>.old-<pid>-<hex>`, no cleanup ever removes it.
 */
export function asideName(dir: string, now: Date = new Date()): string {
  const time = now.toISOString().replace(/\.\d+Z$/, "Z").replaceAll(":", "");
  const base = `${dir}.old-${time}`;
  let name = base;
  for (let i = 2; fs.existsSync(name) || isSymlink(name); i++) name = `${base}-${i}`;
  return name;
}

function isSymlink(p: string): boolean {
  try {
    return fs.lstatSync(p).isSymbolicLink();
  } catch {
    return false;
  }
}

/**
 * When `dir` is missing because a save into it stopped between the two renames of {@link swapFolder}:
 * one sentence naming the previous complete save (`<dir>.old-<pid>-…`) and what to do; else `undefined`.
 */
export function interruptedSaveHint(dir: string): string | undefined {
  if (fs.existsSync(dir)) return undefined;
  const old = listTempSiblings(dir, ["old"])[0];
  if (!old) return undefined;
  if (old.pid !== Deno.pid && isProcessAlive(old.pid)) {
    return `a save into ${dir} is in progress (process ${old.pid}): try again in a moment`;
  }
  return `a save into ${dir} was interrupted (process ${old.pid} stopped between two renames): the ` +
    `previous complete save is ${old.path} — rename it back (mv '${old.path}' '${dir}'), or save there ` +
    `again (\`deno task train\` puts it back first)`;
}

/**
 * When `dir` is missing but a dead process left `<dir>.old-<pid>-…` (it died between the two renames of
 * {@link swapFolder}), that old folder is the last complete one: rename it back. Call it under the lock.
 */
export async function restoreOrphanedOld(dir: string): Promise<boolean> {
  if (fs.existsSync(dir)) return false;
  const olds = listTempSiblings(dir, ["old"]).filter((e) => e.pid === Deno.pid || !isProcessAlive(e.pid));
  if (olds.length === 0) return false;
  await Deno.rename(olds[0].path, dir);
  return true;
}

/** Options of {@link replaceFolder}. */
export interface ReplaceFolderOptions {
  /**
   * Throws when the existing `dir` must not be replaced, or returns where to move it aside instead of
   * deleting it (called under the lock, after crash recovery).
   */
  check?: (dir: string) => void | { moveAsideTo: string };
  /** Writes the new content into `temp`, an empty folder beside `dir`. */
  fill: (temp: string) => Promise<void>;
  /** Disposes of the previous `dir` once the new one is in ({@link SwapFolderOptions.discardOld}). */
  discardOld?: (old: string) => Promise<string | undefined>;
  /** What the lock is for, shown to a second process that waits for it. */
  purpose?: string;
  /** The error to throw when writing or swapping failed (`dir` is unchanged then); default the error itself. */
  writeError?: (e: unknown) => Error;
}

/** What {@link replaceFolder} did with the previous content. */
export interface ReplaceFolderResult {
  /** Where the previous content (or what of it was not deleted) was moved; absent when none was kept. */
  movedAside?: string;
}

/**
 * Replaces the folder `dir` with new content, all at once, under `<dir>.lock`: a previous save a dead
 * process left renamed away is put back, dead processes' leftovers are removed, then the content is written
 * into a temporary sibling and swapped in ({@link swapFolder}). On failure the temporary folder is removed
 * and `dir` keeps its previous content.
 */
export async function replaceFolder(
  dir: string,
  options: ReplaceFolderOptions,
): Promise<ReplaceFolderResult> {
  await Deno.mkdir(path.dirname(dir), { recursive: true });
  return await withFileLock(`${dir}.lock`, async () => {
    await restoreOrphanedOld(dir);
    await removeDeadLeftovers(dir, ["saving", "old"]);
    const decision = options.check?.(dir);
    const temp = tempSibling(dir, "saving");
    try {
      await Deno.mkdir(temp, { mode: 0o755 });
      await options.fill(temp);
      const kept = await swapFolder(temp, dir, {
        ...(decision ? { moveOldTo: decision.moveAsideTo } : {}),
        ...(options.discardOld ? { discardOld: options.discardOld } : {}),
      });
      return kept ? { movedAside: kept } : {};
    } catch (e) {
      await Deno.remove(temp, { recursive: true }).catch(() => {});
      throw options.writeError?.(e) ?? e;
    }
  }, options.purpose ? { purpose: options.purpose } : {});
}
