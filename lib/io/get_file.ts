/**
 * `getFile`: Keras' `keras.utils.get_file` for Deno — download once into a cache folder, verify, extract.
 *
 * File layout follows Keras 3: `<cacheDir>/<cacheSubdir>/<fname>`; with `extract`, a `fname` holding a dot
 * (`"cats_and_dogs.zip"`) is downloaded under that name and extracted into `<stem>_extracted/`, a `fname`
 * without one is downloaded as `<fname>_archive` and extracted into `<fname>/`.
 *
 * The cache knows what it holds: beside each file a small record, `<fname>.source.json` (origin, size,
 * sha256, time, whether it was extracted), written last, atomically, once everything is in place. A file
 * without a record, from another origin (e.g. `TL_DATA_URL` now naming another file of the same name), of
 * another size, or whose local origin changed since, is fetched again. An archive is verified (every entry
 * read, CRC-32 checked) by extracting it before anything is committed; a cached archive that no longer
 * extracts is fetched once more.
 *
 * Offline, a mirror folder (`TL_MIRROR`, default `../shared`; `lib/io/mirror.ts`) stands in: when an
 * `http(s)://` origin cannot be reached (DNS or connection error, no answer within a few seconds), the
 * mirror's file of the same name is taken instead, said once ("storage.googleapis.com unreachable: using
 * ../shared/data/cats_and_dogs_filtered.zip"). Its record keeps the origin and names the mirror copy: later
 * runs reuse it without copying it again while the origin stays unreachable, and fetch the original as soon
 * as the origin answers — the mirror's file has the same name, not necessarily the same bytes.
 *
 * Every step is atomic (a temporary name renamed once complete), and one cache entry is fetched and
 * extracted by one process at a time (`lib/io/file_lock.ts`): a second process waits, then reuses the result.
 * What a dead process left behind (temporary downloads, `…extracting-PID-…` folders) is removed on the next
 * run.
 *
 * @module
 */
import { createHash } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { Uint8ArrayReader, Uint8ArrayWriter, ZipReader } from "@zip.js/zip.js";
import {
  beginInterruptible,
  checkInterrupt,
  DEFAULT_DATA_URL,
  isSupportedOrigin,
  isUrl,
  jupyterApi,
  KeyboardInterrupt,
  loadConfig,
  progressLine,
  resolveMirror,
} from "../runtime/mod.ts";
import {
  displayPath,
  findInMirror,
  hostOf,
  knownUnreachable,
  markUnreachable,
  ORIGIN_TIMEOUT_MS,
  probeOrigin,
  sayOnce,
} from "./mirror.ts";
import {
  removeDeadLeftovers,
  restoreOrphanedOld,
  swapFolder,
  tempSibling,
  writeAll,
  writeFileAtomic,
} from "./atomic.ts";
import { withFileLock } from "./file_lock.ts";

/** Options of {@link getFile}. */
export interface GetFileOptions {
  /** Extract the zip archive next to the file and return the extraction folder. */
  extract?: boolean;
  /** Cache root; default `loadConfig().cacheDir` (the project's `data/`, or `TL_CACHE_DIR`). */
  cacheDir?: string;
  /** Sub-folder of `cacheDir` (an absolute path is used as is); default `"datasets"`, as in Keras. */
  cacheSubdir?: string;
  /** Expected SHA-256 (hex) of the file: a cached file that differs is fetched again, a download that differs is an error. */
  sha256?: string;
  /** Show a progress bar (bytes, rate, ETA) on stderr; default `true`. */
  progress?: boolean;
  /**
   * A folder of local copies: when an `http(s)://` origin cannot be reached, the file of the same name in
   * it (in itself, `data/`, `weights/` or deeper) is used instead. Default: the configured mirror
   * (`TL_MIRROR`, else `../shared` when it exists, as `loadConfig().mirror`); `null`: none.
   */
  mirror?: string | null;
}

/**
 * An `http(s)://` origin could not be reached (DNS or connection error, no answer in time), and no mirror
 * copy stood in.
 */
export class UnreachableOriginError extends Error {
  override name = "UnreachableOriginError";
  constructor(message: string, readonly origin: string, options?: ErrorOptions) {
    super(message, options);
  }
}

/** The record kept beside a cached file (`<file>.source.json`). */
export interface CacheRecord {
  /** The origin as given (URL), or its absolute path for local files. */
  origin: string;
  size: number;
  sha256: string;
  /** ISO time of the fetch. */
  fetched: string;
  /**
   * How completeness was checked: `"length"` (the server's Content-Length), `"chunked"` (HTTP chunked
   * framing, whose end marker a cut connection lacks), `"file"` (a local file's size), `"sha256"`, or
   * `"archive"` (the archive was read whole); `"unchecked"` — a server that sent neither.
   */
  checked: "length" | "chunked" | "file" | "sha256" | "archive" | "unchecked";
  /**
   * A local origin's (or the mirror copy's) size and modification time when it was copied: a changed one
   * is copied again.
   */
  originStat?: { size: number; mtimeMs: number };
  /**
   * The mirror's file (absolute path) this is a copy of, taken because `origin` could not be reached: kept
   * while the origin stays unreachable, replaced by the original once the origin answers.
   */
  mirror?: string;
  /** The extraction folder (its name), once extracted. */
  extracted?: string;
}

interface Entry {
  origin: string;
  /** `origin` as recorded: URLs as given, local files as absolute paths. */
  originKey: string;
  target: string;
  extractionDir?: string;
  sha256?: string;
  progress: boolean;
  /** The mirror folder, if any. */
  mirror?: string;
}

/**
 * Fetches `origin` (an `https://`/`http://` URL, a `file://` URL or a path) into the cache as `fname`,
 * unless it is already there, and returns the local path — the extraction folder with `extract`.
 * An empty `fname` takes the last path segment of `origin`.
 */
export async function getFile(fname: string, origin: string, options: GetFileOptions = {}): Promise<string> {
  if (typeof origin !== "string" || origin === "") {
    throw new Error(`getFile: origin must be a URL or a path (got ${JSON.stringify(origin)})`);
  }
  const provided = fname !== "" && fname !== undefined;
  const name = provided ? fname : baseName(origin);
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
  const dataDir = path.resolve(options.cacheDir ?? loadConfig().cacheDir, options.cacheSubdir ?? "datasets");
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
  const entry: Entry = {
    origin,
    originKey: originKey(origin),
    target,
    extractionDir,
    sha256,
    progress: options.progress ?? true,
    // Only downloads have a mirror: TL_MIRROR is read (and checked) for them alone.
    mirror: !/^https?:\/\//i.test(origin)
      ? undefined
      : options.mirror === undefined
      ? resolveMirror()
      : options.mirror ?? undefined,
  };
  return await withFileLock(`${target}.lock`, () => fetchEntry(entry), {
    purpose: `fetching ${origin} into ${extractionDir ?? target}`,
  });
}

function localPath(origin: string): string | undefined {
  if (/^file:\/\//i.test(origin)) return fileURLToPath(origin);
  return isUrl(origin) ? undefined : path.resolve(origin);
}

function originKey(origin: string): string {
  return localPath(origin) ?? origin;
}

function baseName(origin: string): string {
  const p = isUrl(origin) ? new URL(origin).pathname : origin;
  return decodeURIComponent(path.posix.basename(p));
}

function recordPath(target: string): string {
  return `${target}.source.json`;
}

function readRecord(target: string): CacheRecord | undefined {
  try {
    const record = JSON.parse(fs.readFileSync(recordPath(target), "utf8")) as CacheRecord;
    return typeof record?.origin === "string" && typeof record.size === "number" ? record : undefined;
  } catch {
    return undefined;
  }
}

function statOrigin(entry: Entry): { size: number; mtimeMs: number } | undefined {
  const file = localPath(entry.origin);
  return file === undefined ? undefined : statFile(file);
}

function statFile(file: string): { size: number; mtimeMs: number } | undefined {
  try {
    const stat = fs.statSync(file);
    return { size: stat.size, mtimeMs: stat.mtimeMs };
  } catch {
    return undefined;
  }
}

/** Why the cached file cannot be used as is (`"absent"` when there is none), or undefined when it can. */
async function staleReason(entry: Entry, record: CacheRecord | undefined): Promise<string | undefined> {
  const { target } = entry;
  if (!fs.existsSync(target)) return "absent";
  if (record === undefined) return `${target} has no record of where it came from (${recordPath(target)})`;
  if (record.origin !== entry.originKey) {
    return `${target} came from ${record.origin}, not ${entry.originKey}`;
  }
  const size = fs.statSync(target).size;
  if (size !== record.size) return `${target} has ${size} bytes, its record says ${record.size}`;
  const now = statOrigin(entry);
  if (
    now && record.originStat &&
    (now.size !== record.originStat.size || now.mtimeMs !== record.originStat.mtimeMs)
  ) {
    return `${entry.originKey} changed since ${target} was copied from it`;
  }
  if (entry.sha256 !== undefined && (await hashFile(target)) !== entry.sha256) {
    return `A local file was found at ${target}, but its sha256 does not match ${entry.sha256}`;
  }
  return undefined;
}

/**
 * Whether a cached stand-in (the mirror's copy of `mirror`, taken while the origin was unreachable) must
 * go: when the origin answers now — the original replaces it — or the mirror's file changed. Otherwise it
 * is used, and said once.
 */
async function standInReason(entry: Entry, mirror: string, record: CacheRecord): Promise<string | undefined> {
  const host = hostOf(entry.origin);
  if ((await probeOrigin(entry.origin)) !== undefined) {
    return `${entry.target} is a copy of ${displayPath(mirror)}, taken while ${host} was unreachable`;
  }
  const now = statFile(mirror);
  const then = record.originStat;
  if (now && then && (now.size !== then.size || now.mtimeMs !== then.mtimeMs)) {
    return `${displayPath(mirror)} changed since ${entry.target} was copied from it`;
  }
  await sayOnce(`${host} unreachable: using ${displayPath(mirror)}`);
  return undefined;
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
  let stale = await staleReason(entry, record);
  if (stale === undefined && record?.mirror !== undefined) {
    stale = await standInReason(entry, record.mirror, record);
  }
  let cachedFailure: Error | undefined;
  if (stale === undefined) {
    if (extractionDir === undefined) return target;
    if (record?.extracted === path.basename(extractionDir) && fs.existsSync(extractionDir)) {
      return extractionDir;
    }
    try {
      await extractZip(target, extractionDir);
      await writeFileAtomic(
        recordPath(target),
        JSON.stringify({ ...record, extracted: path.basename(extractionDir) }, null, 2),
      );
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
  let got: Downloaded;
  try {
    got = await downloadOrMirror(entry);
  } catch (e) {
    if (!cachedFailure) throw e;
    throw new Error(whenCached((e as Error).message), { cause: e });
  }
  const originStat = got.mirror ? statFile(got.mirror) : statOrigin(entry);
  let tempDir: string | undefined;
  try {
    if (extractionDir) {
      try {
        tempDir = await extractInto(got.temp, extractionDir, origin);
      } catch (e) {
        throw new Error(whenCached(`${(e as Error).message}; the download was not kept`), { cause: e });
      }
    } else if (got.checked === "unchecked" && entry.sha256 === undefined) {
      console.warn(
        `Warning: ${origin} sent neither a length nor chunked framing, so a cut connection cannot be told ` +
          `from the end: ${target} is kept unchecked (pass sha256 to verify it).`,
      );
    }
    await Deno.remove(recordPath(target)).catch(ignoreNotFound);
    await Deno.rename(got.temp, target);
    if (tempDir && extractionDir) await swapFolder(tempDir, extractionDir);
    const record: CacheRecord = {
      origin: entry.originKey,
      size: got.size,
      sha256: got.sha256,
      fetched: new Date().toISOString(),
      checked: entry.sha256 ? "sha256" : extractionDir ? "archive" : got.checked,
      ...(originStat ? { originStat } : {}),
      ...(got.mirror ? { mirror: got.mirror } : {}),
      ...(extractionDir ? { extracted: path.basename(extractionDir) } : {}),
    };
    await writeFileAtomic(recordPath(target), JSON.stringify(record, null, 2));
  } catch (e) {
    await Deno.remove(got.temp).catch(() => {});
    if (tempDir) await Deno.remove(tempDir, { recursive: true }).catch(() => {});
    throw e;
  }
  return extractionDir ?? target;
}

function ignoreNotFound(e: unknown) {
  if (!(e instanceof Deno.errors.NotFound)) throw e;
}

async function hashFile(file: string): Promise<string> {
  const hash = createHash("sha256");
  using handle = await Deno.open(file);
  for await (const chunk of handle.readable) hash.update(chunk);
  return hash.digest("hex");
}

/**
 * Downloads the entry's origin; when it cannot be reached, the mirror's file of the same name instead
 * (said once). With a mirror copy at hand, an origin that does not answer within {@link ORIGIN_TIMEOUT_MS}
 * counts as unreachable, and one found so lately is not asked again.
 */
async function downloadOrMirror(entry: Entry): Promise<Downloaded> {
  const { origin, target, sha256, progress } = entry;
  const name = /^https?:\/\//i.test(origin) ? baseName(origin) : "";
  const copy = findInMirror(entry.mirror, name);
  if (copy === undefined || !knownUnreachable(origin)) {
    try {
      const answerTimeoutMs = copy === undefined ? undefined : ORIGIN_TIMEOUT_MS;
      return await download(origin, target, { sha256, progress, answerTimeoutMs });
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

/** Keras' published weights, the default of `TL_WEIGHTS_URL`. */
const KERAS_WEIGHTS = "https://storage.googleapis.com/tensorflow/keras-applications/";

/** Which `TL_*` variable chose `origin`, and how to point it elsewhere — for "cannot reach" errors. */
export function originHint(origin: string, env: { get(key: string): string | undefined } = Deno.env): string {
  for (const key of ["TL_DATA_URL", "TL_WEIGHTS_URL"]) {
    if (env.get(key) === origin) return ` (this origin comes from ${key}; check its value)`;
  }
  const offline = "a local copy (a path or file:// URL)";
  const mirror = "the mirror folder (TL_MIRROR, default ../shared)";
  if (origin === DEFAULT_DATA_URL) {
    return ` (the default dataset: without internet, put ${baseName(origin)} in ${mirror}, ` +
      `or set TL_DATA_URL to ${offline})`;
  }
  if (origin.startsWith(KERAS_WEIGHTS)) {
    return ` (Keras' ImageNet weights, the default: without internet, put ${baseName(origin)} (or Keras' ` +
      `file for another alpha) in ${mirror}, or set TL_WEIGHTS_URL (and TL_ALPHA) to ${offline})`;
  }
  return "";
}

/** The bytes of `origin` as a stream, with their total size when known and how the end can be checked. */
async function openOrigin(
  origin: string,
  answerTimeoutMs?: number,
): Promise<{ body: ReadableStream<Uint8Array>; total?: number; checked: CacheRecord["checked"] }> {
  if (/^https?:\/\//i.test(origin)) {
    let response: Response;
    // Only until the headers arrive: the body may take as long as it takes.
    const answer = new AbortController();
    const timer = answerTimeoutMs === undefined ? undefined : setTimeout(
      () => answer.abort(new Error(`no answer within ${answerTimeoutMs / 1000} s`)),
      answerTimeoutMs,
    );
    try {
      response = await fetch(origin, { signal: answer.signal });
    } catch (e) {
      markUnreachable(origin);
      const cause = (e as Error).cause instanceof Error ? `: ${((e as Error).cause as Error).message}` : "";
      throw new UnreachableOriginError(
        `URL fetch failure on ${origin}: ${(e as Error).message}${cause}${originHint(origin)}`,
        origin,
        { cause: e },
      );
    } finally {
      clearTimeout(timer);
    }
    if (!response.ok || response.body === null) {
      await response.body?.cancel();
      throw new Error(
        `URL fetch failure on ${origin}: HTTP ${response.status} ${response.statusText}${originHint(origin)}`,
      );
    }
    const length = response.headers.get("content-length");
    const chunked = /chunked/i.test(response.headers.get("transfer-encoding") ?? "");
    return length !== null
      ? { body: response.body, total: Number(length), checked: "length" }
      : { body: response.body, checked: chunked ? "chunked" : "unchecked" };
  }
  if (!isSupportedOrigin(origin)) {
    throw new Error(
      `getFile: unsupported origin "${origin}" (expected https://, http://, file:// or a path)`,
    );
  }
  const file = localPath(origin)!;
  let handle: Deno.FsFile;
  try {
    handle = await Deno.open(file);
  } catch (e) {
    throw new Error(`getFile: cannot read origin ${file}: ${(e as Error).message}${originHint(origin)}`, {
      cause: e,
    });
  }
  return { body: handle.readable, total: (await handle.stat()).size, checked: "file" };
}

interface Downloaded {
  temp: string;
  size: number;
  sha256: string;
  checked: CacheRecord["checked"];
  /** The mirror's file that was copied, the origin being unreachable. */
  mirror?: string;
}

/** Options of {@link download}. */
interface DownloadOptions {
  /** Expected SHA-256 (hex). */
  sha256?: string;
  progress: boolean;
  /** How long an `http(s)://` origin has to answer; default: no limit. */
  answerTimeoutMs?: number;
  /** Print "Downloading data from …" (Keras' line); default `true`. */
  announce?: boolean;
}

/** Downloads `origin` into a temporary sibling of `target` (not renamed: the caller commits it). */
async function download(
  origin: string,
  target: string,
  { sha256, progress, answerTimeoutMs, announce = true }: DownloadOptions,
): Promise<Downloaded> {
  const { body, total, checked } = await openOrigin(origin, answerTimeoutMs);
  if (announce) console.error(`Downloading data from ${origin}`);
  const temp = tempSibling(target, "download");
  const hash = createHash("sha256");
  const bar = progress ? new ProgressBar(total) : undefined;
  let received = 0;
  try {
    using out = await Deno.open(temp, { write: true, createNew: true });
    try {
      beginInterruptible();
      for await (const chunk of body) {
        checkInterrupt(`downloading ${origin} (${received} bytes so far; the partial file is removed)`);
        await writeAll(out, chunk);
        hash.update(chunk);
        received += chunk.length;
        bar?.update(received);
      }
    } catch (e) {
      if (e instanceof KeyboardInterrupt) throw e;
      throw new Error(`Download of ${origin} failed after ${received} bytes: ${(e as Error).message}`, {
        cause: e,
      });
    }
    bar?.done(received);
    if (total !== undefined && received !== total) {
      throw new Error(`Download of ${origin} is incomplete: received ${received} of ${total} bytes`);
    }
    const actual = hash.digest("hex");
    if (sha256 !== undefined && actual !== sha256) {
      throw new Error(
        `Incomplete or corrupted file from ${origin}: its sha256 is ${actual}, expected ${sha256}; ` +
          `the file was discarded`,
      );
    }
    await out.sync();
    return { temp, size: received, sha256: actual, checked };
  } catch (e) {
    await Deno.remove(temp).catch(() => {});
    throw e;
  }
}

/**
 * Extracts the zip `archive` into `dir` (replacing it) through a temporary sibling folder; entries that would
 * land outside `dir`, a truncated archive or corrupt data (CRC-32 checked) are errors and leave no `dir` behind.
 */
export async function extractZip(archive: string, dir: string): Promise<void> {
  const temp = await extractInto(archive, dir);
  try {
    await swapFolder(temp, dir);
  } catch (e) {
    await Deno.remove(temp, { recursive: true }).catch(() => {});
    throw e;
  }
}

/** Where each entry of the archive goes under `root`; refuses zip-slip and entries below a file entry. */
function plan(
  entries: { filename: string; directory: boolean; symlink?: boolean }[],
  root: string,
  label: string,
) {
  const files = new Map<string, string>();
  const out = entries.map((entry) => {
    const destination = path.resolve(root, entry.filename);
    if (destination === root && entry.directory) return undefined; // "./": the folder itself
    if (path.isAbsolute(entry.filename) || !destination.startsWith(root + path.sep)) {
      throw new Error(
        `Refusing to extract ${label}: entry "${entry.filename}" would be written outside the target folder`,
      );
    }
    if (!entry.directory) files.set(destination, entry.filename);
    return destination;
  });
  for (const [i, destination] of out.entries()) {
    if (destination === undefined) continue;
    for (let dir = path.dirname(destination); dir.startsWith(root + path.sep); dir = path.dirname(dir)) {
      const file = files.get(dir);
      if (file === undefined) continue;
      const kind = entries.find((e) => e.filename === file)?.symlink ? "a symbolic link" : "a file";
      throw new Error(
        `Cannot extract ${label}: entry "${entries[i].filename}" lies under "${file}", which the archive ` +
          `stores as ${kind} (symbolic links are extracted as plain files, as Python's zipfile does)`,
      );
    }
  }
  return out;
}

/**
 * Extracts (and so verifies: every entry read, CRC-32 checked) the zip `archive` into a new temporary sibling
 * of `dir`, returned; on any error nothing is left. `label` names the archive in errors (default: its path).
 */
async function extractInto(archive: string, dir: string, origin?: string): Promise<string> {
  const label = origin ? `the archive from ${origin}` : archive;
  const temp = tempSibling(dir, "extracting");
  const reader = new ZipReader(new Uint8ArrayReader(await Deno.readFile(archive)), {
    useWebWorkers: false,
    checkCrc32: true,
    filenameValidation: "tolerant",
  });
  try {
    let entries;
    try {
      entries = await reader.getEntries();
    } catch (e) {
      throw new Error(
        `${label} is not a readable zip archive (truncated or corrupt?): ${(e as Error).message}`,
        {
          cause: e,
        },
      );
    }
    const root = path.resolve(temp);
    const destinations = plan(entries, root, label);
    await Deno.mkdir(temp, { recursive: true });
    for (const [i, entry] of entries.entries()) {
      const destination = destinations[i];
      if (destination === undefined) continue;
      try {
        if (entry.directory) {
          await Deno.mkdir(destination, { recursive: true });
          continue;
        }
        let bytes: Uint8Array;
        try {
          bytes = await entry.getData(new Uint8ArrayWriter());
        } catch (e) {
          throw new Error(`corrupt data: ${(e as Error).message}`, { cause: e });
        }
        await Deno.mkdir(path.dirname(destination), { recursive: true });
        await Deno.writeFile(destination, bytes);
      } catch (e) {
        const message = (e as Error).message;
        throw new Error(
          message.startsWith("corrupt data")
            ? `Corrupt zip archive ${label}: entry "${entry.filename}": ${message}`
            : `Cannot extract ${label}: entry "${entry.filename}": ${message}`,
          { cause: e },
        );
      }
    }
    return temp;
  } catch (e) {
    await Deno.remove(temp, { recursive: true }).catch(() => {});
    throw e;
  } finally {
    await reader.close();
  }
}

function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ["KB", "MB", "GB", "TB"];
  let value = n / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(1)} ${units[unit]}`;
}

function formatSeconds(s: number): string {
  if (!Number.isFinite(s)) return "?";
  if (s < 60) return `${Math.round(s)}s`;
  return `${Math.floor(s / 60)}m${String(Math.round(s % 60)).padStart(2, "0")}s`;
}

/** One-line download progress on stderr, redrawn at most ten times a second. */
class ProgressBar {
  private readonly start = performance.now();
  private lastDraw = 0;
  private readonly encoder = new TextEncoder();
  // In the Jupyter kernel: one throttled display (a line per redraw would spill into later cells).
  private readonly kernelLine = jupyterApi() ? progressLine() : undefined;

  constructor(private readonly total?: number) {}

  update(received: number) {
    const now = performance.now();
    if (now - this.lastDraw < 100) return;
    this.lastDraw = now;
    this.draw(received, now, "\r");
  }

  done(received: number) {
    this.draw(received, performance.now(), "\r");
    if (this.kernelLine) this.kernelLine.done();
    else Deno.stderr.writeSync(this.encoder.encode("\n"));
  }

  private draw(received: number, now: number, prefix: string) {
    const seconds = Math.max((now - this.start) / 1000, 1e-3);
    const rate = received / seconds;
    let line: string;
    if (this.total) {
      const fraction = Math.min(received / this.total, 1);
      const width = 30;
      const filled = Math.round(fraction * width);
      const bar = "=".repeat(Math.max(filled - 1, 0)) + (filled > 0 ? (fraction < 1 ? ">" : "=") : "") +
        ".".repeat(width - filled);
      const eta = received >= this.total
        ? `${formatSeconds(seconds)} total`
        : `ETA ${formatSeconds((this.total - received) / rate)}`;
      line = `${formatBytes(received)}/${formatBytes(this.total)} [${bar}] ${Math.floor(fraction * 100)}% ${
        formatBytes(rate)
      }/s ${eta}`;
    } else {
      line = `${formatBytes(received)} ${formatBytes(rate)}/s ${formatSeconds(seconds)}`;
    }
    if (this.kernelLine) this.kernelLine.update(line);
    else Deno.stderr.writeSync(this.encoder.encode(prefix + line.padEnd(78)));
  }
}
