/**
 * One's own photos as the two datasets training needs: a data argument (a folder of class folders, one
 * with `train/` and `validation/` inside, or a zip archive's path or URL) resolved to its folders
 * ({@link resolveDataFolder}), fingerprinted ({@link folderFingerprint}, recorded in `metadata.json`) and
 * loaded ({@link loadFolderDatasets}).
 *
 * @module
 */
import { createHash } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { getFile } from "../io/mod.ts";
import {
  ALLOWED_FORMATS,
  classFolders,
  imageDatasetFromDirectory,
  isDirectory,
  listImages,
} from "../data/mod.ts";
import type { ImageDataset } from "../data/mod.ts";
import { FOLDER_DEFAULTS } from "./folder_defaults.ts";

/** Where a data argument's images are. */
export interface DataFolder {
  /** The data as given: a folder, or a zip archive's path or URL. */
  source: string;
  /** The folder holding the class folders (or `train/` + `validation/`); absolute. */
  root: string;
  /** A short name for the output folder: the folder's (or archive's) name. */
  name: string;
  /** The class folders' parent for training: `root`, or `root/train`. */
  trainDir: string;
  /** `root/validation` (or `root/val`); `null`: split `trainDir` by `validationSplit`. */
  validationDir: string | null;
}

/**
 * Options of {@link resolveDataFolder}: how an archive is fetched (passed on to `getFile`; a run's
 * `fetchOptions(config, data)` gives all three).
 */
export interface ResolveDataFolderOptions {
  /** Cache root the archive is fetched into and unpacked in (default `getFile`'s: the project's `data/`). */
  cacheDir?: string;
  /** A folder of local copies used, by file name, when a URL cannot be reached (default: none). */
  mirror?: string | null;
  /** Added to the error when the archive cannot be fetched: how to point the data elsewhere. */
  hint?: string;
}

/** The image files under a folder: how many, their bytes, and a fingerprint of them. */
export interface FolderFingerprint {
  /** Image files (links followed, each real folder once, as the datasets list them). */
  files: number;
  /** Their total size in bytes. */
  bytes: number;
  /** SHA-256 (hex) over their relative paths and sizes: the same files give the same fingerprint. */
  sha256: string;
}

const isRemote = (s: string) => /^[a-z][a-z0-9+.-]*:\/\//i.test(s);
const isImage = (name: string) => ALLOWED_FORMATS.includes(path.extname(name).toLowerCase());

/** The folder and name of `data` as given: a folder as is, a zip archive fetched and unpacked by `getFile`. */
async function locate(
  data: string,
  options: ResolveDataFolderOptions,
): Promise<{ root: string; name: string }> {
  if (!isRemote(data) && isDirectory(data)) {
    const root = path.resolve(data);
    return { root, name: path.basename(root) };
  }
  if (isRemote(data) || data.toLowerCase().endsWith(".zip")) {
    if (!isRemote(data) && !fs.existsSync(data)) throw new Error(`data: ${data} does not exist`);
    const file = path.basename(new URL(data, "file:///").pathname);
    if (!file.toLowerCase().endsWith(".zip")) {
      throw new Error(`data: ${data} is not a folder, and a URL must name a .zip archive`);
    }
    const { cacheDir, mirror, hint } = options;
    const root = await getFile(file, data, {
      extract: true,
      ...(cacheDir !== undefined ? { cacheDir } : {}),
      ...(mirror !== undefined ? { mirror } : {}),
      ...(hint !== undefined ? { hint } : {}),
    });
    return { root, name: file.slice(0, -4) };
  }
  throw new Error(
    `data: ${data} ${fs.existsSync(data) ? "is not a folder or a .zip archive" : "does not exist"}` +
      " (expected a folder of class folders, or a zip archive's path or URL)",
  );
}

/** Enters wrapper folders (as archives often have): one sub-folder, itself holding folders, and no images. */
function enterWrappers(start: { root: string; name: string }): { root: string; name: string } {
  let { root, name } = start;
  for (;;) {
    const entries = fs.readdirSync(root, { withFileTypes: true }).filter((e) => !e.name.startsWith("."));
    // A symbolic link to a folder counts as a folder, as the data loader follows it (`classFolders`).
    const dirs = entries.filter((e) => isDirectory(path.join(root, e.name)));
    if (dirs.length !== 1 || entries.some((e) => e.isFile() && isImage(e.name))) break;
    if (classFolders(path.join(root, dirs[0].name)).length === 0) break;
    root = path.join(root, dirs[0].name);
    name = dirs[0].name;
  }
  return { root, name };
}

/**
 * Finds the images of `data`: a folder as is; a zip archive (path or URL) fetched and unpacked by
 * `getFile` into the cache. A wrapper folder — no images, one sub-folder that itself holds folders, as
 * archives often have — is entered; `train/` with `validation/` (or `val/`) inside are used as the two parts.
 */
export async function resolveDataFolder(
  data: string,
  options: ResolveDataFolderOptions = {},
): Promise<DataFolder> {
  if (typeof data !== "string" || data === "") {
    throw new Error("data: expected a folder of class folders, or a zip archive's path or URL");
  }
  const { root, name } = enterWrappers(await locate(data, options));
  const folders = classFolders(root);
  const validation = ["validation", "val"].find((v) => folders.includes(v));
  if (folders.includes("train") && validation) {
    return {
      source: data,
      root,
      name,
      trainDir: path.join(root, "train"),
      validationDir: path.join(root, validation),
    };
  }
  return { source: data, root, name, trainDir: root, validationDir: null };
}

/** The image files under `dir` (count, bytes) and a fingerprint over their relative paths and sizes. */
export function folderFingerprint(dir: string): FolderFingerprint {
  const entries: string[] = [];
  let bytes = 0;
  // Listed as the datasets list them: linked folders followed (each real folder once).
  for (const file of listImages(dir, true).files) {
    const size = fs.statSync(file, { throwIfNoEntry: false })?.size;
    if (size === undefined) continue; // a dangling link: no image the datasets could read either
    bytes += size;
    entries.push(`${path.relative(dir, file).split(path.sep).join("/")}\0${size}`);
  }
  entries.sort();
  const sha256 = createHash("sha256").update(entries.join("\n")).digest("hex");
  return { files: entries.length, bytes, sha256 };
}

/** Options of {@link loadFolderDatasets}. */
export interface FolderDatasetOptions {
  /** `[height, width]` in pixels (default `[224, 224]`). */
  imageSize?: [number, number];
  /** Images per batch (default 32). */
  batchSize?: number;
  /** Seed of the shuffles and the split (default 42). */
  seed?: number;
  /** Held-out fraction when the folder has no `validation/` (default 0.2). */
  validationSplit?: number;
  /** `imageDatasetFromDirectory`'s messages (default true; `"details"`: with the cache's budget). */
  verbose?: boolean | "details";
}

/** The two datasets of a data folder and their class names. */
export interface FolderDatasets {
  /** Shuffled training batches. */
  train: ImageDataset;
  /** Unshuffled validation batches: `filePaths` are in the order of its images. */
  validation: ImageDataset;
  /** The class folders' names in label order (alphabetical), at least 2. */
  classNames: string[];
}

/** `validation/` must hold the class folders of `train/`, no more, no fewer. */
function checkSameClasses(folder: DataFolder, classNames: string[]) {
  const found = classFolders(folder.validationDir!);
  const missing = classNames.filter((c) => !found.includes(c));
  const extra = found.filter((c) => !classNames.includes(c));
  if (missing.length || extra.length) {
    throw new Error(
      `data: ${folder.validationDir} must hold the same class folders as ${folder.trainDir} ` +
        `(${classNames.join(", ")})` + (missing.length ? `; missing: ${missing.join(", ")}` : "") +
        (extra.length ? `; not in train: ${extra.join(", ")}` : ""),
    );
  }
}

/**
 * The training and validation datasets of a data folder (`resolveDataFolder`): `train/` and
 * `validation/` when present (the same class folders in both), else a seeded `validationSplit` of the
 * folder. The validation set is unshuffled: its `filePaths` are in the order of its images.
 */
export async function loadFolderDatasets(
  folder: DataFolder,
  options: FolderDatasetOptions = {},
): Promise<FolderDatasets> {
  const common = {
    imageSize: options.imageSize ?? [...FOLDER_DEFAULTS.imageSize] as [number, number],
    batchSize: options.batchSize ?? FOLDER_DEFAULTS.batchSize,
    seed: options.seed ?? FOLDER_DEFAULTS.seed,
    verbose: options.verbose ?? true,
  };
  let train: ImageDataset, validation: ImageDataset;
  if (folder.validationDir === null) {
    [train, validation] = await imageDatasetFromDirectory(folder.trainDir, {
      ...common,
      validationSplit: options.validationSplit ?? FOLDER_DEFAULTS.validationSplit,
      subset: "both",
    });
  } else {
    train = await imageDatasetFromDirectory(folder.trainDir, { ...common, shuffle: true });
    checkSameClasses(folder, train.classNames);
    validation = await imageDatasetFromDirectory(folder.validationDir, {
      ...common,
      shuffle: false,
      classNames: train.classNames,
    });
  }
  const classNames = train.classNames;
  if (classNames.length < 2) {
    throw new Error(`data: ${folder.trainDir} has ${classNames.length} class folder(s); expected at least 2`);
  }
  return { train, validation, classNames };
}
