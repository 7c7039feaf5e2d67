/**
 * Which image files a dataset folder holds, in Keras' order: the listing step of
 * `imageDatasetFromDirectory` (Keras' `index_directory` / `index_subdirectory`), kept apart from decoding and
 * batching so that it can be tested, sharded and reused (e.g. by prediction over a folder) on its own.
 *
 * Which files are images: Keras' `ALLOWLIST_FORMATS` (`formats: "keras"`, the default here, for the
 * tutorial's fidelity), or every format TensorFlow's `DecodeImage` reads here (`"decodable"`: WebP too; the
 * tasks use it, so that training and `predict` read the same files).
 *
 * A folder means what it looks like — where Keras would silently list something else, on purpose:
 * - hidden files and folders (names starting with "."; macOS' `._*` AppleDouble files among them) are left
 *   out and counted; images of a format not read and files that are not images are counted by extension,
 *   so that what was left out can be said ({@link ListingNotes}, `listing_notes.ts`);
 * - FIFOs, sockets and devices are skipped without being opened (reading a FIFO waits forever);
 * - a folder holding a saved model ({@link isModelFolder}) is never data (e.g. a model saved under the
 *   data folder by an earlier run);
 * - a linked folder is never followed back into the folder being listed (`self -> .`, `cats/loop -> ..`,
 *   `kittens -> cats`: the same photos again, under another class); with `followLinks`, each other real
 *   folder is listed once (Python's `os.walk` repeats a loop until the path grows too long).
 *
 * @module
 */
import fs from "node:fs";
import path from "node:path";
import { ALLOWED_FORMATS } from "./image_decode.ts";
import { emptyNotes, folderContents, type ListingNotes, mergeNotes } from "./listing_notes.ts";

/**
 * Which file extensions are images: Keras' `ALLOWLIST_FORMATS` ({@link ALLOWED_FORMATS}), or all that
 * TensorFlow's `DecodeImage` reads here ({@link DECODABLE_FORMATS}).
 */
export type ImageFormats = "keras" | "decodable";

/**
 * The extensions of the formats TensorFlow 2.21's `DecodeImage` decodes here in every color mode Keras
 * offers but grayscale: Keras' and WebP (RGB and RGBA; not to one channel). JPEG XL, which it decodes only
 * into the file's own number of channels, is left out.
 */
export const DECODABLE_FORMATS: readonly string[] = [...ALLOWED_FORMATS, ".webp"];

/**
 * Image formats TensorFlow does not read here (phones' HEIC, raw camera files, …): counted apart from
 * other files, with the advice to convert them.
 */
const OTHER_IMAGE_FORMATS: readonly string[] =
  ".arw .avif .cr2 .cr3 .dng .heic .heif .ico .jp2 .jxl .nef .orf .psd .raf .raw .rw2 .svg .tif .tiff .webp"
    .split(" ");

/** The extensions `formats` stands for. */
export function formatsOf(formats: ImageFormats): readonly string[] {
  return formats === "decodable" ? DECODABLE_FORMATS : ALLOWED_FORMATS;
}

/**
 * `metadata.json`'s `format` in a classifier saved by this project: `METADATA_FORMAT` of
 * `lib/tasks/metadata.ts`, a layer this one may not import (a test keeps the two equal).
 */
export const CLASSIFIER_FORMAT = "transfer-learning-ts/classifier";

/**
 * `true` when `p` is a directory (following links); `false` when it is not or cannot be read.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { isDirectory } from "./mod.ts";
 *
 * assert.ok(isDirectory(Deno.cwd()));
 * assert.ok(!isDirectory("/no/such/folder"));
 * ```
 */
export function isDirectory(p: string): boolean {
  try {
    return fs.statSync(p).isDirectory();
  } catch {
    return false;
  }
}

/** `true` when `p` is a regular file (following links), found without opening it. */
function isRegularFile(p: string): boolean {
  try {
    return fs.statSync(p).isFile();
  } catch {
    return false;
  }
}

/**
 * What kind of special file `stats` describe — `"a FIFO (named pipe)"`, `"a socket"`, `"a device"` — or
 * `null` for a regular file or a folder. Such a file is never opened: reading a FIFO waits for a writer.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import fs from "node:fs";
 * import { specialFileKind } from "./mod.ts";
 *
 * assert.strictEqual(specialFileKind(fs.statSync("/dev/null")), "a device");
 * assert.strictEqual(specialFileKind(fs.statSync(Deno.cwd())), null);
 * ```
 */
export function specialFileKind(stats: fs.Stats): string | null {
  if (stats.isFIFO()) return "a FIFO (named pipe)";
  if (stats.isSocket()) return "a socket";
  if (stats.isCharacterDevice() || stats.isBlockDevice()) return "a device";
  return null;
}

/**
 * `true` when `dir` holds a saved model rather than photos: a TensorFlow.js `model.json` (ours, or another
 * tool's export), or a `metadata.json` of this project's classifier format (e.g. a save interrupted before
 * its `model.json`).
 */
export function isModelFolder(dir: string): boolean {
  if (isRegularFile(path.join(dir, "model.json"))) return true;
  const metadata = path.join(dir, "metadata.json");
  if (!isRegularFile(metadata)) return false;
  try {
    return JSON.parse(fs.readFileSync(metadata, "utf8"))?.format === CLASSIFIER_FORMAT;
  } catch {
    return false;
  }
}

/** Code-point order, as Python's `sorted` (`localeCompare` would sort by locale). */
function byCodePoint(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function realPath(p: string): string {
  try {
    return fs.realpathSync(p);
  } catch {
    return p;
  }
}

/** `true` when `a` is `b` or inside it. */
function isWithin(a: string, b: string): boolean {
  const rel = path.relative(b, a);
  return rel === "" || (rel !== ".." && !rel.startsWith(`..${path.sep}`) && !path.isAbsolute(rel));
}

/** `true` when one of the folders `a`, `b` holds the other (or they are one). */
function overlaps(a: string, b: string): boolean {
  return isWithin(a, b) || isWithin(b, a);
}

/** Images under one folder, and what was left out. */
export interface FolderListing {
  /** Image files, folder by folder in sorted path order, each folder's files sorted. */
  files: string[];
  /** What was left out, and why. */
  notes: ListingNotes;
}

/** How {@link listImages} reads a folder. */
export interface ListImagesOptions {
  /** Follow symbolic links to folders (each real folder once, never back into the folder); default `false`. */
  followLinks?: boolean;
  /** Which extensions are images; default `"keras"`. */
  formats?: ImageFormats;
  /**
   * Real paths of the folders listed so far by the calls of one listing (the class folders of a data
   * folder share one): a linked folder overlapping one of them is not listed again.
   */
  seen?: Set<string>;
  /** The folder whose part `dir` is (a data folder, `dir` one of its classes): no link leads back into it. */
  within?: string;
}

/** One listing under way. */
interface Walk {
  followLinks: boolean;
  formats: readonly string[];
  seen: Set<string>;
  notes: ListingNotes;
  folders: Array<{ root: string; files: string[] }>;
}

/** A folder, a file (possibly a dangling link: reading it names it), or a special file. */
function entryKind(entry: fs.Dirent, full: string): "folder" | "file" | "special" {
  if (entry.isDirectory()) return "folder";
  if (entry.isFile()) return "file";
  if (!entry.isSymbolicLink()) return "special";
  let stats: fs.Stats | undefined;
  try {
    stats = fs.statSync(full, { throwIfNoEntry: false });
  } catch { /* a link loop: as dangling */ }
  if (stats === undefined) return "file";
  return stats.isDirectory() ? "folder" : stats.isFile() ? "file" : "special";
}

/** Counts a file that is not listed: an image of a format not read, or not an image. */
function countLeftOut(notes: ListingNotes, name: string): void {
  const ext = path.extname(name).toLowerCase();
  const counts = OTHER_IMAGE_FORMATS.includes(ext) ? notes.unsupported : notes.notImages;
  counts.set(ext, (counts.get(ext) ?? 0) + 1);
}

/** Lists `root` and the folders under it; `bounds`: real paths no link below may lead into (or above). */
function walk(w: Walk, root: string, bounds: string[]): void {
  const files: string[] = [];
  for (const entry of fs.readdirSync(root, { withFileTypes: true })) {
    const full = path.join(root, entry.name);
    if (entry.name.startsWith(".")) {
      w.notes.hidden++;
      if (entry.name.startsWith("._")) w.notes.appleDouble++;
      continue;
    }
    const kind = entryKind(entry, full);
    if (kind === "folder") enter(w, full, entry.isSymbolicLink(), bounds);
    else if (kind === "special") w.notes.specialFiles.push(full);
    else if (w.formats.some((ext) => entry.name.toLowerCase().endsWith(ext))) files.push(entry.name);
    else countLeftOut(w.notes, entry.name);
  }
  w.folders.push({ root, files: files.sort(byCodePoint) });
}

/** Lists the sub-folder `folder` unless it holds a model, or is a link back into the folder or seen before. */
function enter(w: Walk, folder: string, linked: boolean, bounds: string[]): void {
  let inner = bounds;
  if (linked) {
    if (!w.followLinks) return;
    const real = realPath(folder);
    if (bounds.some((b) => overlaps(real, b))) return void w.notes.linksBack.push(folder);
    if ([...w.seen].some((s) => overlaps(real, s))) return void w.notes.repeatedFolders.push(folder);
    w.seen.add(real);
    inner = [...bounds, real];
  }
  if (isModelFolder(folder)) return void w.notes.modelFolders.push(folder);
  walk(w, folder, inner);
}

/**
 * Keras' `index_subdirectory`: image files under `dir`, folders in sorted path order, files sorted, and
 * what was left out ({@link ListingNotes}).
 */
export function listImages(dir: string, options: ListImagesOptions = {}): FolderListing {
  const real = realPath(dir);
  const w: Walk = {
    followLinks: options.followLinks ?? false,
    formats: formatsOf(options.formats ?? "keras"),
    seen: options.seen ?? new Set(),
    notes: emptyNotes(),
    folders: [],
  };
  w.seen.add(real);
  const bounds = options.within === undefined ? [real] : [realPath(options.within), real];
  walk(w, dir, bounds);
  w.folders.sort((a, b) => byCodePoint(a.root, b.root));
  return {
    files: w.folders.flatMap(({ root, files }) => files.map((f) => path.join(root, f))),
    notes: w.notes,
  };
}

/** A class folder in which no image was found. */
export interface EmptyClass {
  /** The class's name (its folder's). */
  name: string;
  /** Its folder. */
  folder: string;
  /** What it holds instead ("it is empty", "it holds only 2 files that are not images (2 .txt)", …). */
  contents: string;
}

/** What {@link listClassFiles} found. */
export interface ClassFiles {
  /** Class names, label `k` being `classNames[k]` (empty without labels). */
  classNames: string[];
  /** Image files, class by class, each class in Keras' order. */
  files: string[];
  /** Label of each file, or `null` without labels. */
  labels: Int32Array | null;
  /** What was left out of the listing, and why. */
  notes: ListingNotes;
  /**
   * With `skipEmptyClasses`, the class folders without images: left out of `classNames`, or kept (without
   * images) when the class names were given.
   */
  emptyClasses: EmptyClass[];
}

/** How {@link listClassFiles} reads a folder. */
export interface ListClassFilesOptions {
  /** `false`: the images anywhere under `dir`, no labels. */
  labelled: boolean;
  /** Sub-folders to use, in this order; default: all, sorted. */
  classNames?: string[];
  /** Follow symbolic links to folders (each real folder listed once); default `false`. */
  followLinks?: boolean;
  /** Which extensions are images; default `"keras"`. */
  formats?: ImageFormats;
  /**
   * A class folder without images is left out (and returned in {@link ClassFiles.emptyClasses}) instead of
   * being an error; default `false`.
   */
  skipEmptyClasses?: boolean;
}

/** One part of a folder split between processes: shard `index` of `count` (0 ≤ index < count). */
export interface Shard {
  /** Which shard, from 0. */
  index: number;
  /** How many shards. */
  count: number;
}

/**
 * The class folders of `dir`, sorted; left out (in `notes`): hidden ones, folders holding a saved model,
 * and linked folders leading back into `dir` (`self -> .`, `kittens -> cats`).
 */
function scanClassFolders(dir: string, notes: ListingNotes): string[] {
  const root = realPath(dir);
  const names: string[] = [];
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.name.startsWith(".") || !isDirectory(full)) continue;
    if (entry.isSymbolicLink() && overlaps(realPath(full), root)) notes.linksBack.push(full);
    else if (isModelFolder(full)) notes.modelFolders.push(full);
    else names.push(entry.name);
  }
  return names.sort(byCodePoint);
}

/**
 * The class sub-folders of `dir`, sorted: not hidden, not a saved model ({@link isModelFolder}), not a
 * link leading back into `dir`.
 */
export function classFolders(dir: string): string[] {
  return scanClassFolders(dir, emptyNotes());
}

/** The class names to use: the given ones (distinct sub-folders of `dir`), else all sub-folders. */
function chosenClasses(dir: string, subdirs: string[], given: string[] | undefined): string[] {
  if (given !== undefined) {
    const unknown = given.filter((c) => !subdirs.includes(c));
    if (unknown.length > 0 || new Set(given).size !== given.length) {
      throw new Error(
        `imageDatasetFromDirectory: classNames ${JSON.stringify(given)} must be distinct ` +
          `sub-folders of ${dir}; found ${JSON.stringify(subdirs)}`,
      );
    }
  }
  const classNames = given ?? subdirs;
  if (classNames.length === 0) {
    throw new Error(
      `imageDatasetFromDirectory: ${dir} has no class sub-folders; expected one folder of images per ` +
        `class (e.g. ${path.join(dir, "cats")}, ${path.join(dir, "dogs")})`,
    );
  }
  return classNames;
}

/** The error for class folders without images: each named with what it holds, and what to do. */
function emptyClassError(dir: string, empty: EmptyClass[], formats: readonly string[]): Error {
  const one = empty.length === 1;
  const which = one
    ? `Class folder ${empty[0].folder} has no images to learn from: ${empty[0].contents}.`
    : `${empty.length} class folders of ${dir} have no images to learn from: ` +
      empty.map((e) => `${e.name} (${e.contents})`).join("; ") + ".";
  return new Error(
    `${which} Add images (${formats.join(", ")}) to ${one ? "it" : "them"} or remove ` +
      `${one ? "it" : "them"}, or leave such folders out with skipEmptyClasses (deno task train: ` +
      "--skip-empty-classes).",
  );
}

/**
 * Keras' `index_directory`: the images of `dir/<class>/**` with their labels (or of `dir/**` unlabelled),
 * and what was left out. A class folder without images is an error naming it and what it holds, or with
 * `skipEmptyClasses` no class (kept without images when `classNames` are given: labels follow them).
 */
export function listClassFiles(dir: string, options: ListClassFilesOptions): ClassFiles {
  const listing = { followLinks: options.followLinks ?? false, formats: options.formats ?? "keras" };
  if (!options.labelled) {
    const { files, notes } = listImages(dir, listing);
    return { classNames: [], files, labels: null, notes, emptyClasses: [] };
  }
  const notes = emptyNotes();
  const found = chosenClasses(dir, scanClassFolders(dir, notes), options.classNames);
  const seen = new Set([realPath(dir)]);
  const perClass = found.map((c) => listImages(path.join(dir, c), { ...listing, seen, within: dir }));
  perClass.forEach((l) => mergeNotes(notes, l.notes));
  const emptyClasses = found.flatMap((name, k) =>
    perClass[k].files.length > 0
      ? []
      : [{ name, folder: path.join(dir, name), contents: folderContents(perClass[k].notes) }]
  );
  if (emptyClasses.length > 0 && !options.skipEmptyClasses) {
    throw emptyClassError(dir, emptyClasses, formatsOf(listing.formats));
  }
  const kept = options.classNames !== undefined
    ? found.map((_, k) => k)
    : found.flatMap((_, k) => perClass[k].files.length > 0 ? [k] : []);
  return {
    classNames: kept.map((k) => found[k]),
    files: kept.flatMap((k) => perClass[k].files),
    labels: Int32Array.from(kept.flatMap((k, label) => perClass[k].files.map(() => label))),
    notes,
    emptyClasses,
  };
}

/**
 * FNV-1a, 32 bits, of the UTF-8 bytes of `text`: a stable hash, the same on every machine and run.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { pathHash } from "./mod.ts";
 *
 * assert.strictEqual(pathHash(""), 0x811c9dc5);
 * assert.strictEqual(pathHash("a"), 0xe40c292c);
 * ```
 */
export function pathHash(text: string): number {
  let h = 0x811c9dc5;
  for (const byte of new TextEncoder().encode(text)) {
    h ^= byte;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}

/**
 * The shard (0 … count − 1) of `file` under `dir`: the hash of its path relative to `dir` (with `/`
 * separators). A file's shard depends on its own path only — not on the other files, the machine or the
 * run — so shards are disjoint and cover the folder, and a file added while the jobs run does not move the
 * others between shards (an index in the sorted listing would).
 *
 * @example A file's shard does not depend on where its folder is
 * ```ts
 * import assert from "node:assert";
 * import { pathHash, shardOf } from "./mod.ts";
 *
 * const shard = shardOf("/data/photos", "/data/photos/cats/tom.jpg", 4);
 * assert.strictEqual(shard, shardOf("/mnt/copy", "/mnt/copy/cats/tom.jpg", 4));
 * assert.strictEqual(shard, pathHash("cats/tom.jpg") % 4);
 * ```
 */
export function shardOf(dir: string, file: string, count: number): number {
  return pathHash(path.relative(dir, file).split(path.sep).join("/")) % count;
}

/** The files of `listing` (and their labels) in shard `index` of `count`. */
export function selectShard(dir: string, listing: ClassFiles, { index, count }: Shard): ClassFiles {
  const keep = listing.files.map((f) => shardOf(dir, f, count) === index);
  return {
    ...listing,
    files: listing.files.filter((_, k) => keep[k]),
    labels: listing.labels && listing.labels.filter((_, k) => keep[k]),
  };
}

/**
 * The files of shard `index` of `count` among `files` found under `inputs` (folders or files, as given on a
 * command line): a file under an input folder is hashed by its path relative to that folder, as
 * {@link shardOf} (so the split does not depend on where the folder is mounted); any other file by its path
 * as given.
 *
 * @example Two shards of three files: disjoint, and together all of them
 * ```ts
 * import assert from "node:assert";
 * import { shardFiles } from "./mod.ts";
 *
 * const files = ["a.jpg", "b.jpg", "c.jpg"];
 * const parts = [0, 1].map((index) => shardFiles(files, files, { index, count: 2 }));
 * assert.deepStrictEqual(parts.flat().sort(), files);
 * ```
 */
export function shardFiles(inputs: string[], files: string[], { index, count }: Shard): string[] {
  const folders = inputs.filter(isDirectory).map((d) => path.resolve(d)).sort((a, b) => b.length - a.length);
  return files.filter((file) => {
    const full = path.resolve(file);
    const root = folders.find((d) => full.startsWith(d + path.sep));
    return (root ? shardOf(root, full, count) : pathHash(file) % count) === index;
  });
}
