/**
 * `getFile`: Keras' `keras.utils.get_file` for Deno — download once into a cache folder, verify, extract.
 *
 * File layout follows Keras 3: `<cacheDir>/<cacheSubdir>/<fname>`; with `extract`, a `fname` holding a dot
 * (`"cats_and_dogs.zip"`) is downloaded under that name and extracted into `<stem>_extracted/`, a `fname`
 * without one is downloaded as `<fname>_archive` and extracted into `<fname>/`.
 *
 * This module orchestrates; each step is its own module: the cache's record of what it holds and whether
 * that can be used (`cache_record.ts`), the download (`download.ts`), the extraction, which also verifies an
 * archive before anything is committed (`zip.ts`), the mirror standing in for unreachable origins
 * (`mirror.ts`). A cached archive that no longer extracts is fetched once more.
 *
 * Offline, a mirror folder (the `mirror` option) stands in: when an `http(s)://` origin cannot be reached
 * (DNS or connection error, no answer within a few seconds), the mirror's file of the same name is taken
 * instead, said once ("storage.googleapis.com unreachable: using ../shared/data/cats_and_dogs_filtered.zip").
 * Its record keeps the origin and names the mirror copy: later runs reuse it without copying it again while
 * the origin stays unreachable, and fetch the original as soon as the origin answers — the mirror's file has
 * the same name, not necessarily the same bytes.
 *
 * Every step is atomic (a temporary name renamed once complete), and one cache entry is fetched and
 * extracted by one process at a time (`lib/io/file_lock.ts`): a second process waits, then reuses the result.
 * What a dead process left behind (temporary downloads, `…extracting-PID-…` folders) is removed on the next
 * run. `getFile` reads no setting itself: the run's cache folder, mirror and hint come as options
 * (`fetchOptions(config, origin)` of `lib/runtime/config.ts`).
 *
 * @module
 */
import fs from "node:fs";
import path from "node:path";
import { DEFAULT_CACHE_DIR } from "../runtime/mod.ts";
import { displayPath, findInMirror, hostOf, knownUnreachable, ORIGIN_TIMEOUT_MS, sayOnce } from "./mirror.ts";
import { removeDeadLeftovers, restoreOrphanedOld, swapFolder } from "./atomic.ts";
import { withFileLock } from "./file_lock.ts";
import {
  type CacheRecord,
  type FileStat,
  readRecord,
  recordPath,
  staleReason,
  standInReason,
  statFile,
  writeRecord,
} from "./cache_record.ts";
import {
  download,
  type Downloaded,
  isHttpOrigin,
  localPath,
  originFileName,
  UnreachableOriginError,
} from "./download.ts";
import { extractZip, extractZipInto } from "./zip.ts";

/** Options of {@link getFile}. */
export interface GetFileOptions {
  /** Extract the zip archive next to the file and return the extraction folder. */
  extract?: boolean;
  /**
   * Cache root; default the project's `data/` (`DEFAULT_CACHE_DIR`). A run's `TL_CACHE_DIR` is passed in
   * by the caller (`fetchOptions`).
   */
  cacheDir?: string;
  /** Sub-folder of `cacheDir` (an absolute path is used as is); default `"datasets"`, as in Keras. */
  cacheSubdir?: string;
  /** Expected SHA-256 (hex) of the file: a cached file that differs is fetched again, a download that differs is an error. */
  sha256?: string;
  /** Show a progress line (bytes, rate, ETA) on stderr, or in the notebook; default `true`. */
  progress?: boolean;
  /**
   * A folder of local copies: when an `http(s)://` origin cannot be reached, the file of the same name in
   * it (in itself, `data/`, `weights/` or deeper) is used instead. Default (and `null`): none.
   */
  mirror?: string | null;
  /**
   * Added to the error when the origin cannot be reached or read: how the user can point it elsewhere,
   * e.g. which setting chose it (`originHint` of `lib/runtime/config.ts`). Default: a generic hint.
   */
  hint?: string;
}

/** One cache entry to fetch, as {@link getFile} resolved it. */
interface Entry {
  origin: string;
  /** `origin` as recorded: URLs as given, local files as absolute paths. */
  originKey: string;
  target: string;
  extractionDir?: string;
  sha256?: string;
  progress: boolean;
  /** The mirror folder, if any (downloads only). */
  mirror?: string;
  hint?: string;
}

/** A download, or the mirror's copy of an unreachable origin. */
interface Fetched extends Downloaded {
  /** The mirror's file that was copied, the origin being unreachable. */
  mirror?: string;
}

/**
 * Fetches `origin` (an `https://`/`http://` URL, a `file://` URL or a path) into the cache as `fname`,
 * unless it is already there, and returns the local path — the extraction folder with `extract`.
 * An empty `fname` takes the last path segment of `origin`.
 */
export async function getFile(fname: string, origin: string, options: GetFileOptions = {}): Promise<string> {
  const entry = await resolveEntry(fname, origin, options);
  return await withFileLock(`${entry.target}.lock`, () => fetchEntry(entry), {
    purpose: `fetching ${origin} into ${entry.extractionDir ?? entry.target}`,
  });
}

/** Checks `getFile`'s arguments and works out where the entry goes (creating the cache folder). */
async function resolveEntry(fname: string, origin: string, options: GetFileOptions): Promise<Entry> {
  if (typeof origin !== "string" || origin === "") {
    throw new Error(`getFile: origin must be a URL or a path (got ${JSON.stringify(origin)})`);
  }
  const provided = fname !== "" && fname !== undefined;
  const name = provided ? fname : originFileName(origin);
  if (!name) throw new Error(`getFile: cannot derive a file name from origin "${origin}"; pass fname`);
  if (name.includes("/") || name.includes(path.sep) || name === "." || name === "..") {
    throw new Error(
      `getFile: fname must be a plain file name, got "${fname}"; choose the folder with cacheDir/cacheSubdir`,
    );
  }
  const sha256 = options.sha256?.toLowerCase();
  if (sha256 !== undefined && !/^[0-9a-f]{64}$/.test(sha256)) {
    throw new Error(`getFile: sha256 must be 64 hexadecimal digits, got "${options.sha256}"`);
  }
  const dataDir = path.resolve(options.cacheDir ?? DEFAULT_CACHE_DIR, options.cacheSubdir ?? "datasets");
  await Deno.mkdir(dataDir, { recursive: true });
  let target = path.join(dataDir, name);
  let extractionDir: string | undefined;
  if (options.extract) {
    if (provided && name.includes(".")) {
      extractionDir = path.join(dataDir, `${name.slice(0, name.indexOf("."))}_extracted`);
    } else {
      extractionDir = path.join(dataDir, name);
      target = path.join(dataDir, `${name}_archive`);
    }
  }
  return {
    origin,
    originKey: localPath(origin) ?? origin,
    target,
    extractionDir,
    sha256,
    progress: options.progress ?? true,
    // Only downloads have a mirror.
    mirror: isHttpOrigin(origin) ? options.mirror ?? undefined : undefined,
    hint: options.hint,
  };
}

/** A local origin's size and modification time now. */
function statOrigin(entry: Entry) {
  const file = localPath(entry.origin);
  return file === undefined ? undefined : statFile(file);
}

/** Why the cached entry must be fetched again (`"absent"`: there is none), or `undefined` to use it. */
async function cachedStaleReason(entry: Entry, record: CacheRecord | undefined): Promise<string | undefined> {
  const stale = await staleReason({ ...entry, originStat: statOrigin(entry) }, record);
  if (stale !== undefined || record?.mirror === undefined) return stale;
  return await standInReason(entry.origin, entry.target, { ...record, mirror: record.mirror });
}

/** Under the entry's lock: reuse what the cache holds, or fetch (and extract) and commit. */
async function fetchEntry(entry: Entry): Promise<string> {
  const { target, extractionDir } = entry;
  await removeDeadLeftovers(target, ["download", "writing"]);
  await removeDeadLeftovers(recordPath(target), ["writing"]);
  if (extractionDir) {
    await restoreOrphanedOld(extractionDir);
    await removeDeadLeftovers(extractionDir, ["extracting", "old"]);
  }
  const record = readRecord(target);
  const stale = await cachedStaleReason(entry, record);
  let cachedFailure: Error | undefined;
  if (stale === undefined) {
    if (extractionDir === undefined) return target;
    if (record?.extracted === path.basename(extractionDir) && fs.existsSync(extractionDir)) {
      return extractionDir;
    }
    try {
      await extractZip(target, extractionDir);
      await writeRecord(target, { ...record!, extracted: path.basename(extractionDir) });
      return extractionDir;
    } catch (e) {
      cachedFailure = e as Error;
      console.error(
        `The cached ${target} cannot be extracted (${cachedFailure.message}): fetching it again.`,
      );
    }
  } else if (stale !== "absent") {
    console.error(`${stale}: fetching it again from ${entry.origin}.`);
  }
  return await fetchAndCommit(entry, cachedFailure);
}

/** Downloads into a temporary file, verifies (and extracts into a temporary folder), then commits both. */
async function fetchAndCommit(entry: Entry, cachedFailure?: Error): Promise<string> {
  const { target, extractionDir, origin } = entry;
  const whenCached = (message: string) =>
    cachedFailure
      ? `The cached ${target} cannot be extracted (${cachedFailure.message}) and fetching it again failed: ` +
        `${message}. Delete ${target} and retry once the origin is fixed`
      : message;
  let got: Fetched;
  try {
    got = await downloadOrMirror(entry);
  } catch (e) {
    if (!cachedFailure) throw e;
    throw new Error(whenCached((e as Error).message), { cause: e });
  }
  // As the download found it: a change after this is a change after the copy.
  const originStat = got.mirror ? statFile(got.mirror) : statOrigin(entry);
  let tempDir: string | undefined;
  try {
    if (extractionDir) {
      try {
        tempDir = await extractZipInto(got.temp, extractionDir, origin);
      } catch (e) {
        throw new Error(whenCached(`${(e as Error).message}; the download was not kept`), { cause: e });
      }
    } else if (got.checked === "unchecked" && entry.sha256 === undefined) {
      console.warn(
        `Warning: ${origin} sent neither a length nor chunked framing, so a cut connection cannot be told ` +
          `from the end: ${target} is kept unchecked (pass sha256 to verify it).`,
      );
    }
    await commit(entry, { ...got, originStat }, tempDir);
  } catch (e) {
    await Deno.remove(got.temp).catch(() => {});
    if (tempDir) await Deno.remove(tempDir, { recursive: true }).catch(() => {});
    throw e;
  }
  return extractionDir ?? target;
}

/** Puts the verified download (and its extraction) in place, then writes the record — last. */
async function commit(
  entry: Entry,
  got: Fetched & { originStat?: FileStat },
  tempDir: string | undefined,
): Promise<void> {
  const { target, extractionDir } = entry;
  const { originStat } = got;
  await Deno.remove(recordPath(target)).catch(ignoreNotFound);
  await Deno.rename(got.temp, target);
  if (tempDir && extractionDir) await swapFolder(tempDir, extractionDir);
  await writeRecord(target, {
    origin: entry.originKey,
    size: got.size,
    sha256: got.sha256,
    fetched: new Date().toISOString(),
    checked: entry.sha256 ? "sha256" : extractionDir ? "archive" : got.checked,
    ...(originStat ? { originStat } : {}),
    ...(got.mirror ? { mirror: got.mirror } : {}),
    ...(extractionDir ? { extracted: path.basename(extractionDir) } : {}),
  });
}

function ignoreNotFound(e: unknown) {
  if (!(e instanceof Deno.errors.NotFound)) throw e;
}

/**
 * Downloads the entry's origin; when it cannot be reached, the mirror's file of the same name instead
 * (said once). With a mirror copy at hand, an origin that does not answer within {@link ORIGIN_TIMEOUT_MS}
 * counts as unreachable, and one found so lately is not asked again.
 */
async function downloadOrMirror(entry: Entry): Promise<Fetched> {
  const { origin, target, sha256, progress, hint } = entry;
  const name = isHttpOrigin(origin) ? originFileName(origin) : "";
  const copy = findInMirror(entry.mirror, name);
  if (copy === undefined || !knownUnreachable(origin)) {
    try {
      const answerTimeoutMs = copy === undefined ? undefined : ORIGIN_TIMEOUT_MS;
      return await download(origin, target, { sha256, progress, answerTimeoutMs, hint });
    } catch (e) {
      if (!(e instanceof UnreachableOriginError)) throw e;
      if (copy === undefined) {
        if (entry.mirror === undefined) throw e;
        throw new UnreachableOriginError(
          `${e.message}; the mirror ${displayPath(entry.mirror)} has no file named ${name}`,
          origin,
          { cause: e },
        );
      }
    }
  }
  await sayOnce(`${hostOf(origin)} unreachable: using ${displayPath(copy)}`);
  // The line above says where the bytes come from: no "Downloading data from" the mirror.
  return { ...(await download(copy, target, { sha256, progress, announce: false })), mirror: copy };
}
