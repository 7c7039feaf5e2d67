/**
 * Which image files a dataset folder holds, in Keras' order: the listing step of
 * `imageDatasetFromDirectory` (Keras' `index_directory` / `index_subdirectory`), kept apart from decoding and
 * batching so that it can be tested, sharded and reused (e.g. by prediction over a folder) on its own.
 *
 * With `followLinks`, each real folder is listed once: a symbolic link back to a parent (a loop) or a second
 * link to an already listed folder would otherwise list the same images again and again (Python's `os.walk`
 * repeats them until the path grows too long); the repeats are skipped and reported in
 * {@link ClassFiles.repeatedFolders}.
 *
 * @module
 */
import fs from "node:fs";
import path from "node:path";
import { ALLOWED_FORMATS } from "./image_decode.ts";

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

/** Images under one folder, and the linked folders left out because their real folder was already listed. */
export interface FolderListing {
  /** Image files, folder by folder in sorted path order, each folder's files sorted. */
  files: string[];
  /** Linked folders left out because their real folder was already listed. */
  repeatedFolders: string[];
}

/**
 * Keras' `index_subdirectory`: image files under `dir`, folders in sorted path order, files sorted.
 * `seen` holds the real paths of folders already listed (shared by the calls of one listing).
 */
export function listImages(dir: string, followLinks: boolean, seen = new Set<string>()): FolderListing {
  const folders: Array<{ root: string; files: string[] }> = [];
  const repeatedFolders: string[] = [];
  const walk = (root: string) => {
    const real = realPath(root);
    if (seen.has(real)) {
      repeatedFolders.push(root);
      return;
    }
    seen.add(real);
    const files: string[] = [];
    for (const entry of fs.readdirSync(root, { withFileTypes: true })) {
      const full = path.join(root, entry.name);
      const isDir = entry.isDirectory() || (entry.isSymbolicLink() && isDirectory(full));
      if (isDir) {
        if (!entry.isSymbolicLink() || followLinks) walk(full);
      } else if (ALLOWED_FORMATS.some((ext) => entry.name.toLowerCase().endsWith(ext))) {
        files.push(entry.name);
      }
    }
    folders.push({ root, files: files.sort(byCodePoint) });
  };
  walk(dir);
  folders.sort((a, b) => byCodePoint(a.root, b.root));
  return {
    files: folders.flatMap(({ root, files }) => files.map((f) => path.join(root, f))),
    repeatedFolders,
  };
}

/** What {@link listClassFiles} found. */
export interface ClassFiles {
  /** Class names, label `k` being `classNames[k]` (empty without labels). */
  classNames: string[];
  /** Image files, class by class, each class in Keras' order. */
  files: string[];
  /** Label of each file, or `null` without labels. */
  labels: Int32Array | null;
  /** Linked folders skipped with `followLinks` because their real folder was already listed. */
  repeatedFolders: string[];
}

/** How {@link listClassFiles} reads a folder. */
export interface ListClassFilesOptions {
  /** `false`: the images anywhere under `dir`, no labels. */
  labelled: boolean;
  /** Sub-folders to use, in this order; default: all, sorted. */
  classNames?: string[];
  /** Follow symbolic links to folders (each real folder listed once); default `false`. */
  followLinks?: boolean;
}

/** One part of a folder split between processes: shard `index` of `count` (0 ≤ index < count). */
export interface Shard {
  /** Which shard, from 0. */
  index: number;
  /** How many shards. */
  count: number;
}

/** The class sub-folders of `dir` (not hidden), sorted. */
export function classFolders(dir: string): string[] {
  return fs.readdirSync(dir).filter((d) => !d.startsWith(".") && isDirectory(path.join(dir, d))).sort(
    byCodePoint,
  );
}

/** Keras' `index_directory`: the images of `dir/<class>/**` with their labels (or of `dir/**` unlabelled). */
export function listClassFiles(dir: string, options: ListClassFilesOptions): ClassFiles {
  const followLinks = options.followLinks ?? false;
  if (!options.labelled) {
    const { files, repeatedFolders } = listImages(dir, followLinks);
    return { classNames: [], files, labels: null, repeatedFolders };
  }
  const subdirs = classFolders(dir);
  const given = options.classNames;
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
  const perClass = classNames.map((c) => listImages(path.join(dir, c), followLinks));
  return {
    classNames,
    files: perClass.flatMap((l) => l.files),
    labels: Int32Array.from(perClass.flatMap((l, k) => l.files.map(() => k))),
    repeatedFolders: perClass.flatMap((l) => l.repeatedFolders),
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
