/**
 * The manifest the project keeps in every folder it writes whole — a saved model (`saveModel`), a web
 * export (`writeSite`): `.tl-manifest.json`, the name, size and SHA-256 of each file written. A later write
 * into the same folder reads it to know what it may replace (the files listed, still as written) and what it
 * must leave alone (anything else is the user's; `output_folder.ts` decides). The file is hidden because it
 * is bookkeeping, not content: a static host or a file browser does not show it.
 *
 * @module
 */
import fs from "node:fs";
import path from "node:path";
import { createHash } from "node:crypto";
import { writeFileAtomic } from "./atomic.ts";

/** The manifest's file name, at the top of the folder it describes. */
export const MANIFEST_FILE = ".tl-manifest.json";
/** The value of {@link FolderManifest.format}: marks the file as this project's manifest. */
export const MANIFEST_FORMAT = "transfer-learning-ts/folder-manifest";
/** The {@link FolderManifest.formatVersion} written and read. */
export const MANIFEST_VERSION = 1;

/** One file the project wrote into the folder. */
export interface ManifestEntry {
  /** Path relative to the folder, `/`-separated, without `.` or `..` parts. */
  path: string;
  /** Size in bytes when written. */
  bytes: number;
  /** SHA-256 of the content when written, lowercase hex. */
  sha256: string;
}

/** `.tl-manifest.json`: what the project wrote into a folder ({@link writeManifest}). */
export interface FolderManifest {
  /** Always {@link MANIFEST_FORMAT}. */
  format: typeof MANIFEST_FORMAT;
  /** The schema's version: {@link MANIFEST_VERSION}. */
  formatVersion: number;
  /** What the folder is, set by its writer: `"model"` (`saveModel`), `"web-export"` (`writeSite`). */
  kind: string;
  /** When it was written: ISO 8601, UTC. */
  written: string;
  /** Every file written (the manifest itself excepted), sorted by path. */
  files: ManifestEntry[];
}

/** SHA-256 of `bytes`, lowercase hex. */
export function sha256Bytes(bytes: Uint8Array | string): string {
  return createHash("sha256").update(bytes).digest("hex");
}

/** SHA-256 of the file `file`, lowercase hex, read in chunks (a file may be larger than memory allows). */
export function sha256File(file: string): string {
  const hash = createHash("sha256");
  const fd = fs.openSync(file, "r");
  try {
    const chunk = new Uint8Array(1 << 20);
    for (let n; (n = fs.readSync(fd, chunk, 0, chunk.length, null)) > 0;) hash.update(chunk.subarray(0, n));
  } finally {
    fs.closeSync(fd);
  }
  return hash.digest("hex");
}

/**
 * Everything under `dir` that is not a folder with something in it — files, symbolic links (not
 * followed), special files, and empty folders (with a trailing `/`) — as sorted relative `/`-separated paths.
 */
export function folderLeaves(dir: string): string[] {
  const out: string[] = [];
  const visit = (rel: string) => {
    const entries = fs.readdirSync(path.join(dir, rel), { withFileTypes: true });
    if (entries.length === 0 && rel) out.push(`${rel}/`);
    for (const e of entries) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) visit(r);
      else out.push(r);
    }
  };
  visit("");
  return out.sort();
}

/** Whether `p` is a relative `/`-separated path that stays inside its folder. */
export function isInsidePath(p: string): boolean {
  return typeof p === "string" && p !== "" && !p.startsWith("/") && !p.includes("\\") &&
    p.split("/").every((part) => part !== "" && part !== "." && part !== "..");
}

/**
 * Lists and hashes every file under `dir` (written by the caller: a folder about to be swapped in) and
 * writes `dir/.tl-manifest.json` atomically. Returns the manifest.
 */
export async function writeManifest(dir: string, kind: string): Promise<FolderManifest> {
  const files = folderLeaves(dir).filter((p) => p !== MANIFEST_FILE).map((p): ManifestEntry => {
    const file = path.join(dir, p);
    const stat = fs.lstatSync(file);
    if (!stat.isFile()) throw new Error(`writeManifest: ${file} is not a regular file`);
    return { path: p, bytes: stat.size, sha256: sha256File(file) };
  });
  const manifest: FolderManifest = {
    format: MANIFEST_FORMAT,
    formatVersion: MANIFEST_VERSION,
    kind,
    written: new Date().toISOString(),
    files,
  };
  await writeFileAtomic(path.join(dir, MANIFEST_FILE), JSON.stringify(manifest, null, 1));
  return manifest;
}

/** Checks parsed manifest content; `file` names the file in errors. */
function checkManifest(m: unknown, file: string): FolderManifest {
  const fail = (what: string): never => {
    throw new Error(`${file}: ${what}`);
  };
  if (typeof m !== "object" || m === null) fail("expected a JSON object");
  const o = m as Record<string, unknown>;
  if (o.format !== MANIFEST_FORMAT) fail(`format must be "${MANIFEST_FORMAT}"`);
  if (o.formatVersion !== MANIFEST_VERSION) {
    fail(
      `formatVersion ${
        JSON.stringify(o.formatVersion)
      } is not ${MANIFEST_VERSION} (a newer version wrote it?)`,
    );
  }
  if (typeof o.kind !== "string") fail("kind must be a string");
  if (!Array.isArray(o.files)) fail("files must be a list");
  for (const e of o.files as unknown[]) {
    const entry = e as Partial<ManifestEntry> | null;
    if (
      !entry || !isInsidePath(entry.path!) || entry.path === MANIFEST_FILE ||
      !Number.isInteger(entry.bytes) || !/^[0-9a-f]{64}$/.test(String(entry.sha256))
    ) {
      fail(`bad entry ${JSON.stringify(e)?.slice(0, 80)}`);
    }
  }
  return o as unknown as FolderManifest;
}

/**
 * `dir/.tl-manifest.json`, checked (every path inside the folder); `undefined` when there is none. A file
 * that is not a manifest this version reads is an error naming it.
 */
export function readManifest(dir: string): FolderManifest | undefined {
  const file = path.join(dir, MANIFEST_FILE);
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw new Error(`${file} cannot be read: ${(e as Error).message}`, { cause: e });
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    throw new Error(`${file}: not valid JSON (${(e as Error).message})`, { cause: e });
  }
  return checkManifest(parsed, file);
}

/**
 * The files of `manifest` that are no longer as written in `dir`: changed content, or something other than
 * a regular file in their place (a file since deleted is not listed: nothing of the user's is in it).
 */
export function changedFiles(dir: string, manifest: FolderManifest): string[] {
  return manifest.files.filter((entry) => {
    const file = path.join(dir, entry.path);
    let stat: fs.Stats;
    try {
      stat = fs.lstatSync(file);
    } catch {
      return false;
    }
    return !stat.isFile() || stat.size !== entry.bytes || sha256File(file) !== entry.sha256;
  }).map((e) => e.path);
}
