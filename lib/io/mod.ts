/**
 * Files on disk and from the network, written so that a crash, a full disk, a cut connection or a second
 * process never leaves something half-done under its final name. Above `lib/runtime/` only; knows nothing
 * of models or training beyond the Keras weight-file format.
 *
 * - **Atomic writes** (`atomic.ts`) — a temporary sibling renamed into place when complete
 *   ({@link writeFileAtomic}, {@link replaceFolder} for whole folders); what a dead process left behind is
 *   recognized by the PID in its name and removed.
 * - **Output folders** (`output_folder.ts`, `manifest.ts`) — a folder the project writes whole (a saved
 *   model, a web export) keeps a manifest of what it wrote ({@link FolderManifest}: names and SHA-256);
 *   {@link checkOutputFolder} refuses, before any work, a link, an unwritable place, a folder inside the
 *   data, or one holding anything the project did not write, and {@link writeOutputFolder} replaces only
 *   what it wrote (`force`: the old content moved aside, never deleted).
 * - **Locks** (`file_lock.ts`) — {@link withFileLock}: one process at a time on a cache entry or a model
 *   folder; a second one waits, says whom for, and takes over from a dead holder.
 * - **Downloads** — {@link getFile}, Keras' `get_file`: fetch once into a cache folder, verify, extract.
 *   It orchestrates `download.ts` (the bytes, into a temporary file, hashed and checked complete, with a
 *   status line), `zip.ts` ({@link extractZip}: verified, zip-slip-proof extraction), `cache_record.ts` (the
 *   record beside each cached file, and whether it can still be used) and `mirror.ts` (a folder of local
 *   copies standing in for origins that cannot be reached). It reads no setting: the caller passes the
 *   cache folder, mirror and hint (`fetchOptions` of `lib/runtime/`).
 * - **Keras weight files** (`keras_h5.ts`) — Keras-2 `save_weights` HDF5 files read, loaded into a model,
 *   and written.
 *
 * @example
 * ```ts
 * import { getFile, writeFileAtomic } from "./mod.ts";
 * import assert from "node:assert";
 * import path from "node:path";
 *
 * const dir = await Deno.makeTempDir();
 * const source = path.join(dir, "notes.txt");
 * await writeFileAtomic(source, "hello");
 *
 * // Copied into <cacheDir>/datasets/ once, with a record of where it came from; later calls reuse it.
 * const cached = await getFile("notes.txt", source, { cacheDir: path.join(dir, "cache"), progress: false });
 * assert.strictEqual(await Deno.readTextFile(cached), "hello");
 * assert.ok((await Deno.stat(`${cached}.source.json`)).isFile);
 * await Deno.remove(dir, { recursive: true });
 * ```
 *
 * @module
 */
export {
  asideName,
  interruptedSaveHint,
  listTempSiblings,
  removeDeadLeftovers,
  replaceFolder,
  tempSibling,
  writeFileAtomic,
  writeFileSynced,
} from "./atomic.ts";
export type { ReplaceFolderOptions, ReplaceFolderResult, SwapFolderOptions } from "./atomic.ts";
export {
  changedFiles,
  folderLeaves,
  isInsidePath,
  MANIFEST_FILE,
  MANIFEST_FORMAT,
  MANIFEST_VERSION,
  readManifest,
  sha256Bytes,
  sha256File,
  writeManifest,
} from "./manifest.ts";
export type { FolderManifest, ManifestEntry } from "./manifest.ts";
export { checkOutputFolder, OutputFolderError, writeOutputFolder } from "./output_folder.ts";
export type {
  EarlierVersion,
  OutputFolderOptions,
  OutputPlan,
  SeparateFolder,
  WriteOutputFolderOptions,
} from "./output_folder.ts";
export { withFileLock } from "./file_lock.ts";
export type { FileLockOptions, LockOwner } from "./file_lock.ts";
export { getFile } from "./get_file.ts";
export type { GetFileOptions } from "./get_file.ts";
export { UnreachableOriginError } from "./download.ts";
export type { Completeness } from "./download.ts";
export type { CacheRecord, FileStat } from "./cache_record.ts";
export { extractZip } from "./zip.ts";
export { loadKerasH5Weights, readKerasH5Weights, saveKerasH5Weights, WeightShapeError } from "./keras_h5.ts";
export type { H5Weight, KerasH5Weights } from "./keras_h5.ts";
export {
  displayPath,
  findInMirror,
  hostOf,
  mirrorFiles,
  ORIGIN_TIMEOUT_MS,
  probeOrigin,
  sayOnce,
} from "./mirror.ts";
