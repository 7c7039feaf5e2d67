/**
 * `getFile`: Keras' `keras.utils.get_file` for Deno — download once into a cache folder, verify, extract.
 *
 * File layout follows Keras 3: `<cacheDir>/<cacheSubdir>/<fname>`; with `extract`, a `fname` holding a dot
 * (`"cats_and_dogs.zip"`) is downloaded under that name and extracted into `<stem>_extracted/`, a `fname`
 * without one is downloaded as `<fname>_archive` and extracted into `<fname>/`.
 *
 * Every step is atomic: downloads go to a temporary file renamed once complete (and verified), archives are
 * extracted into a temporary folder renamed once every entry is written, so an interrupted or failed run
 * never leaves something that a later run would take as valid.
 *
 * @module
 */
import { createHash } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { Uint8ArrayReader, Uint8ArrayWriter, ZipReader } from "@zip.js/zip.js";
import { loadConfig } from "./config.ts";
import { jupyterApi, progressLine } from "./output.ts";

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

  let downloaded = false;
  if (!fs.existsSync(target)) {
    downloaded = true;
  } else if (sha256 !== undefined && (await hashFile(target)) !== sha256) {
    console.warn(
      `A local file was found at ${target}, but its sha256 does not match ${sha256}: downloading it again.`,
    );
    downloaded = true;
  }
  if (downloaded) await download(origin, target, sha256, options.progress ?? true);

  if (extractionDir === undefined) return target;
  if (!downloaded && fs.existsSync(extractionDir)) return extractionDir;
  await extractZip(target, extractionDir);
  return extractionDir;
}

function baseName(origin: string): string {
  const p = /^[a-z][a-z0-9+.-]*:\/\//i.test(origin) ? new URL(origin).pathname : origin;
  return decodeURIComponent(path.posix.basename(p));
}

function tempSibling(file: string, tag: string): string {
  return `${file}.${tag}-${Deno.pid}-${crypto.randomUUID().slice(0, 8)}`;
}

async function hashFile(file: string): Promise<string> {
  const hash = createHash("sha256");
  using handle = await Deno.open(file);
  for await (const chunk of handle.readable) hash.update(chunk);
  return hash.digest("hex");
}

/** The bytes of `origin` as a stream, with their total size when known. */
async function openOrigin(origin: string): Promise<{ body: ReadableStream<Uint8Array>; total?: number }> {
  if (/^https?:\/\//i.test(origin)) {
    let response: Response;
    try {
      response = await fetch(origin);
    } catch (e) {
      throw new Error(`URL fetch failure on ${origin}: ${(e as Error).message}`, { cause: e });
    }
    if (!response.ok || response.body === null) {
      await response.body?.cancel();
      throw new Error(`URL fetch failure on ${origin}: HTTP ${response.status} ${response.statusText}`);
    }
    const length = response.headers.get("content-length");
    return { body: response.body, total: length === null ? undefined : Number(length) };
  }
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(origin) && !origin.startsWith("file://")) {
    throw new Error(
      `getFile: unsupported origin "${origin}" (expected https://, http://, file:// or a path)`,
    );
  }
  const file = origin.startsWith("file://") ? fileURLToPath(origin) : origin;
  let handle: Deno.FsFile;
  try {
    handle = await Deno.open(file);
  } catch (e) {
    throw new Error(`getFile: cannot read origin ${file}: ${(e as Error).message}`, { cause: e });
  }
  return { body: handle.readable, total: (await handle.stat()).size };
}

async function download(origin: string, target: string, sha256: string | undefined, progress: boolean) {
  const { body, total } = await openOrigin(origin);
  console.error(`Downloading data from ${origin}`);
  const temp = tempSibling(target, "download");
  const hash = createHash("sha256");
  const bar = progress ? new ProgressBar(total) : undefined;
  let received = 0;
  try {
    using out = await Deno.open(temp, { write: true, createNew: true });
    try {
      for await (const chunk of body) {
        await writeAll(out, chunk);
        hash.update(chunk);
        received += chunk.length;
        bar?.update(received);
      }
    } catch (e) {
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
  } catch (e) {
    await Deno.remove(temp).catch(() => {});
    throw e;
  }
  await Deno.rename(temp, target);
}

async function writeAll(file: Deno.FsFile, bytes: Uint8Array) {
  for (let offset = 0; offset < bytes.length;) offset += await file.write(bytes.subarray(offset));
}

/**
 * Extracts the zip `archive` into `dir` (replacing it) through a temporary sibling folder; entries that would
 * land outside `dir`, a truncated archive or corrupt data (CRC-32 checked) are errors and leave no `dir` behind.
 */
export async function extractZip(archive: string, dir: string): Promise<void> {
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
        `${archive} is not a readable zip archive (truncated or corrupt?): ${(e as Error).message}`,
        {
          cause: e,
        },
      );
    }
    const root = path.resolve(temp);
    const destinations = entries.map((entry) => {
      const destination = path.resolve(root, entry.filename);
      if (path.isAbsolute(entry.filename) || !destination.startsWith(root + path.sep)) {
        throw new Error(
          `Refusing to extract ${archive}: entry "${entry.filename}" would be written outside the target folder`,
        );
      }
      return destination;
    });
    await Deno.mkdir(temp, { recursive: true });
    for (const [i, entry] of entries.entries()) {
      if (entry.directory) {
        await Deno.mkdir(destinations[i], { recursive: true });
        continue;
      }
      let bytes: Uint8Array;
      try {
        bytes = await entry.getData(new Uint8ArrayWriter());
      } catch (e) {
        throw new Error(
          `Corrupt zip archive ${archive}: entry "${entry.filename}": ${(e as Error).message}`,
          {
            cause: e,
          },
        );
      }
      await Deno.mkdir(path.dirname(destinations[i]), { recursive: true });
      await Deno.writeFile(destinations[i], bytes);
    }
    await Deno.remove(dir, { recursive: true }).catch((e) => {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
    });
    await Deno.rename(temp, dir);
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
