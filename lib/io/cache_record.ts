/**
 * What the download cache knows about a file it holds: the record beside it, `<file>.source.json` (origin,
 * size, SHA-256, when, how completeness was checked, whether it was extracted), written last and atomically
 * once everything is in place — and, from it, whether the cached file can still be used.
 *
 * A file without a record, from another origin (e.g. `TL_DATA_URL` now naming another file of the same
 * name), of another size, whose local origin changed since, or whose SHA-256 differs from the one asked for
 * is stale. So is a mirror's copy taken while its origin was unreachable, once the origin answers again.
 *
 * @module
 */
import { createHash } from "node:crypto";
import fs from "node:fs";
import type { Completeness } from "./download.ts";
import { displayPath, hostOf, probeOrigin, sayOnce } from "./mirror.ts";
import { writeFileAtomic } from "./atomic.ts";

/** A file's size and modification time, to tell whether it changed. */
export interface FileStat {
  /** Size in bytes. */
  size: number;
  /** Modification time, ms since the epoch. */
  mtimeMs: number;
}

/** The record kept beside a cached file (`<file>.source.json`). */
export interface CacheRecord {
  /** The origin as given (URL), or its absolute path for local files. */
  origin: string;
  /** The file's size in bytes. */
  size: number;
  /** SHA-256 (hex) of the file. */
  sha256: string;
  /** ISO time of the fetch. */
  fetched: string;
  /**
   * How completeness was checked: as the download checked it ({@link Completeness}), or `"sha256"` (the
   * SHA-256 asked for) or `"archive"` (the archive was read whole).
   */
  checked: Completeness | "sha256" | "archive";
  /**
   * A local origin's (or the mirror copy's) size and modification time when it was copied: a changed one
   * is copied again.
   */
  originStat?: FileStat;
  /**
   * The mirror's file (absolute path) this is a copy of, taken because `origin` could not be reached: kept
   * while the origin stays unreachable, replaced by the original once the origin answers.
   */
  mirror?: string;
  /** The extraction folder (its name), once extracted. */
  extracted?: string;
}

/** The record file of the cached `target`. */
export function recordPath(target: string): string {
  return `${target}.source.json`;
}

/** The record of `target`, or `undefined` when there is none or it cannot be read. */
export function readRecord(target: string): CacheRecord | undefined {
  try {
    const record = JSON.parse(fs.readFileSync(recordPath(target), "utf8")) as CacheRecord;
    return typeof record?.origin === "string" && typeof record.size === "number" ? record : undefined;
  } catch {
    return undefined;
  }
}

/** Writes the record of `target` atomically. */
export async function writeRecord(target: string, record: CacheRecord): Promise<void> {
  await writeFileAtomic(recordPath(target), JSON.stringify(record, null, 2));
}

/** The size and modification time of `file`, or `undefined` when it cannot be read. */
export function statFile(file: string): FileStat | undefined {
  try {
    const stat = fs.statSync(file);
    return { size: stat.size, mtimeMs: stat.mtimeMs };
  } catch {
    return undefined;
  }
}

/** Whether a file known as `then` is now `now` (both known and different). */
function changed(now: FileStat | undefined, then: FileStat | undefined): boolean {
  return now !== undefined && then !== undefined && (now.size !== then.size || now.mtimeMs !== then.mtimeMs);
}

/** SHA-256 (hex) of `file`'s bytes. */
export async function hashFile(file: string): Promise<string> {
  const hash = createHash("sha256");
  using handle = await Deno.open(file);
  for await (const chunk of handle.readable) hash.update(chunk);
  return hash.digest("hex");
}

/** What a cached file must be to be used. */
export interface WantedFile {
  /** The cached file. */
  target: string;
  /** The origin as recorded (URLs as given, local files as absolute paths). */
  originKey: string;
  /** A local origin's size and modification time now (`undefined` for URLs). */
  originStat?: FileStat;
  /** The SHA-256 asked for, if any. */
  sha256?: string;
}

/** Why the cached file cannot be used as is (`"absent"` when there is none), or `undefined` when it can. */
export async function staleReason(
  wanted: WantedFile,
  record: CacheRecord | undefined,
): Promise<string | undefined> {
  const { target } = wanted;
  if (!fs.existsSync(target)) return "absent";
  if (record === undefined) return `${target} has no record of where it came from (${recordPath(target)})`;
  if (record.origin !== wanted.originKey) {
    return `${target} came from ${record.origin}, not ${wanted.originKey}`;
  }
  const size = fs.statSync(target).size;
  if (size !== record.size) return `${target} has ${size} bytes, its record says ${record.size}`;
  if (changed(wanted.originStat, record.originStat)) {
    return `${wanted.originKey} changed since ${target} was copied from it`;
  }
  if (wanted.sha256 !== undefined && (await hashFile(target)) !== wanted.sha256) {
    return `A local file was found at ${target}, but its sha256 does not match ${wanted.sha256}`;
  }
  return undefined;
}

/**
 * Whether a cached stand-in (the mirror's copy `record.mirror` of `origin`, taken while the origin was
 * unreachable) must go: when the origin answers now — the original replaces it — or the mirror's file
 * changed. Otherwise it is used, and said once.
 */
export async function standInReason(
  origin: string,
  target: string,
  record: CacheRecord & { mirror: string },
): Promise<string | undefined> {
  const host = hostOf(origin);
  const mirror = record.mirror;
  if ((await probeOrigin(origin)) !== undefined) {
    return `${target} is a copy of ${displayPath(mirror)}, taken while ${host} was unreachable`;
  }
  if (changed(statFile(mirror), record.originStat)) {
    return `${displayPath(mirror)} changed since ${target} was copied from it`;
  }
  await sayOnce(`${host} unreachable: using ${displayPath(mirror)}`);
  return undefined;
}
