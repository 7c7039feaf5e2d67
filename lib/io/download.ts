/**
 * Fetching one origin's bytes — an `http(s)://` URL, a `file://` URL or a path — into a temporary file beside
 * its destination: streamed, hashed (SHA-256), checked complete, interruptible (Jupyter's Interrupt), with a
 * status line of its progress. The caller commits the temporary file (renames it) once it has verified it;
 * on any error nothing is left.
 *
 * @module
 */
import { createHash } from "node:crypto";
import path from "node:path";
import { fileURLToPath } from "node:url";
import {
  beginInterruptible,
  checkInterrupt,
  formatBytes,
  formatDuration,
  isSupportedOrigin,
  isUrl,
  KeyboardInterrupt,
  progressBar,
  progressLine,
  settled,
} from "../runtime/mod.ts";
import { markUnreachable } from "./mirror.ts";
import { tempSibling, writeAll } from "./atomic.ts";

/**
 * An `http(s)://` origin could not be reached (DNS or connection error, no answer in time), and no mirror
 * copy stood in.
 */
export class UnreachableOriginError extends Error {
  /** `"UnreachableOriginError"`. */
  override name = "UnreachableOriginError";
  /** `origin`: the URL that could not be reached. */
  constructor(message: string, readonly origin: string, options?: ErrorOptions) {
    super(message, options);
  }
}

/**
 * How a download's completeness was checked: `"length"` (the server's Content-Length), `"chunked"` (HTTP
 * chunked framing, whose end marker a cut connection lacks), `"file"` (a local file's size), or
 * `"unchecked"` — a server that sent neither.
 */
export type Completeness = "length" | "chunked" | "file" | "unchecked";

/** What an unreachable `http(s)://` origin is told without a caller's hint. */
const GENERIC_HINT = "check the URL and the network, or fetch a local copy instead (a path or file:// URL)";

/** Whether `origin` is an `http://` or `https://` URL (any case). */
export function isHttpOrigin(origin: string): boolean {
  return /^https?:\/\//i.test(origin);
}

/** The local file `origin` names (a path, or a `file://` URL), else `undefined`. */
export function localPath(origin: string): string | undefined {
  if (/^file:\/\//i.test(origin)) return fileURLToPath(origin);
  return isUrl(origin) ? undefined : path.resolve(origin);
}

/** The last path segment of `origin` (URL or path), decoded: the file name it would be saved under. */
export function originFileName(origin: string): string {
  const p = isUrl(origin) ? new URL(origin).pathname : origin;
  return decodeURIComponent(path.posix.basename(p));
}

/** A downloaded file, not committed yet. */
export interface Downloaded {
  /** The temporary file holding the bytes (a sibling of the target). */
  temp: string;
  size: number;
  /** SHA-256 (hex) of the bytes. */
  sha256: string;
  checked: Completeness;
}

/** Options of {@link download}. */
export interface DownloadOptions {
  /** Expected SHA-256 (hex): other bytes are an error. */
  sha256?: string;
  /** Show a status line (bytes, rate, ETA) on stderr, or in the notebook. */
  progress: boolean;
  /** How long an `http(s)://` origin has to answer; default: no limit. */
  answerTimeoutMs?: number;
  /** Print "Downloading data from …" (Keras' line); default `true`. */
  announce?: boolean;
  /** Appended to a failure to reach or read the origin (how to point elsewhere); default a generic hint. */
  hint?: string;
}

/** The bytes of an origin as a stream, with their total size when known and how the end can be checked. */
interface Opened {
  body: ReadableStream<Uint8Array>;
  total?: number;
  checked: Completeness;
}

async function openHttp(origin: string, hint: string, answerTimeoutMs?: number): Promise<Opened> {
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
      `URL fetch failure on ${origin}: ${(e as Error).message}${cause} (${hint})`,
      origin,
      { cause: e },
    );
  } finally {
    clearTimeout(timer);
  }
  if (!response.ok || response.body === null) {
    await response.body?.cancel();
    throw new Error(
      `URL fetch failure on ${origin}: HTTP ${response.status} ${response.statusText} (${hint})`,
    );
  }
  const length = response.headers.get("content-length");
  const chunked = /chunked/i.test(response.headers.get("transfer-encoding") ?? "");
  return length !== null
    ? { body: response.body, total: Number(length), checked: "length" }
    : { body: response.body, checked: chunked ? "chunked" : "unchecked" };
}

async function openOrigin(origin: string, options: DownloadOptions): Promise<Opened> {
  if (isHttpOrigin(origin)) {
    return await openHttp(origin, options.hint ?? GENERIC_HINT, options.answerTimeoutMs);
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
    const hint = options.hint ? ` (${options.hint})` : "";
    throw new Error(`getFile: cannot read origin ${file}: ${(e as Error).message}${hint}`, { cause: e });
  }
  return { body: handle.readable, total: (await handle.stat()).size, checked: "file" };
}

/** The status line's text: `2.9 MB/2.9 MB [=====>....] 52% 1.1 MB/s ETA 2s`, or without a total. */
export function downloadStatus(received: number, total: number | undefined, seconds: number): string {
  const elapsed = Math.max(seconds, 1e-3);
  const rate = received / elapsed;
  if (!total) return `${formatBytes(received)} ${formatBytes(rate)}/s ${formatDuration(elapsed)}`;
  const fraction = Math.min(received / total, 1);
  const eta = received >= total
    ? `${formatDuration(elapsed)} total`
    : `ETA ${formatDuration((total - received) / rate)}`;
  return `${formatBytes(received)}/${formatBytes(total)} ${progressBar(received, total)} ` +
    `${Math.floor(fraction * 100)}% ${formatBytes(rate)}/s ${eta}`;
}

/** Copies `body` into `out`, hashing it and showing progress; returns the byte count. */
async function receive(
  body: ReadableStream<Uint8Array>,
  out: Deno.FsFile,
  { origin, total, hash, progress }: {
    origin: string;
    total?: number;
    hash: ReturnType<typeof createHash>;
    progress: boolean;
  },
): Promise<number> {
  const start = performance.now();
  const line = progress ? progressLine({ stream: "stderr" }) : undefined;
  let received = 0;
  try {
    beginInterruptible();
    for await (const chunk of body) {
      checkInterrupt(`downloading ${origin} (${received} bytes so far; the partial file is removed)`);
      await writeAll(out, chunk);
      hash.update(chunk);
      received += chunk.length;
      line?.update(downloadStatus(received, total, (performance.now() - start) / 1000));
    }
  } catch (e) {
    if (e instanceof KeyboardInterrupt) throw e;
    throw new Error(`Download of ${origin} failed after ${received} bytes: ${(e as Error).message}`, {
      cause: e,
    });
  }
  if (line) {
    line.done(downloadStatus(received, total, (performance.now() - start) / 1000));
    // In the notebook, the final state is stamped with this cell only if sent before the cell ends.
    await settled();
  }
  return received;
}

/** Downloads `origin` into a temporary sibling of `target` (not renamed: the caller commits it). */
export async function download(
  origin: string,
  target: string,
  options: DownloadOptions,
): Promise<Downloaded> {
  const { body, total, checked } = await openOrigin(origin, options);
  if (options.announce ?? true) console.error(`Downloading data from ${origin}`);
  const temp = tempSibling(target, "download");
  const hash = createHash("sha256");
  try {
    using out = await Deno.open(temp, { write: true, createNew: true });
    const received = await receive(body, out, { origin, total, hash, progress: options.progress });
    if (total !== undefined && received !== total) {
      throw new Error(`Download of ${origin} is incomplete: received ${received} of ${total} bytes`);
    }
    const actual = hash.digest("hex");
    if (options.sha256 !== undefined && actual !== options.sha256) {
      throw new Error(
        `Incomplete or corrupted file from ${origin}: its sha256 is ${actual}, expected ${options.sha256}; ` +
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
