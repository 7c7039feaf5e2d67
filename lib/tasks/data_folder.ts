/**
 * One's own photos as the two datasets training needs: a data argument (a folder of class folders, one
 * with `train/` and `validation/` inside, or a zip archive's path or URL) resolved to its folders
 * ({@link resolveDataFolder}), fingerprinted ({@link folderFingerprint}, recorded in `metadata.json`) and
 * loaded ({@link loadFolderDatasets}) and released ({@link disposeFolderDatasets}).
 *
 * @module
 */
import { createHash } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { getFile } from "../io/mod.ts";
import {
  classFolders,
  DECODABLE_FORMATS,
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
  /**
   * `root/test`, when the folder holds `test/` beside `train/` and `validation/`: images held out from
   * training and from choosing the epoch, for a final score. Absent otherwise.
   */
  testDir?: string;
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
const isImage = (name: string) => DECODABLE_FORMATS.includes(path.extname(name).toLowerCase());

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

/**
 * Enters wrapper folders (as archives often have): one sub-folder, itself holding folders, and no images.
 * Sub-folders count as the data loader sees them (`classFolders`): a link to a folder does, a folder holding
 * a saved model (say `--out DATA/model` of an earlier run) or a link back into the folder does not.
 */
function enterWrappers(start: { root: string; name: string }): { root: string; name: string } {
  let { root, name } = start;
  for (;;) {
    const images = fs.readdirSync(root, { withFileTypes: true })
      .some((e) => e.isFile() && !e.name.startsWith(".") && isImage(e.name));
    const dirs = classFolders(root);
    if (dirs.length !== 1 || images) break;
    if (classFolders(path.join(root, dirs[0])).length === 0) break;
    root = path.join(root, dirs[0]);
    name = dirs[0];
  }
  return { root, name };
}

/**
 * Finds the images of `data`: a folder as is; a zip archive (path or URL) fetched and unpacked by
 * `getFile` into the cache. A wrapper folder — no images, one sub-folder that itself holds folders, as
 * archives often have — is entered; `train/` with `validation/` (or `val/`) inside are used as the two parts,
 * and `test/` beside them is found as `testDir`.
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
      ...(folders.includes("test") ? { testDir: path.join(root, "test") } : {}),
    };
  }
  return { source: data, root, name, trainDir: root, validationDir: null };
}

/** The image files under `dir` (count, bytes) and a fingerprint over their relative paths and sizes. */
export function folderFingerprint(dir: string): FolderFingerprint {
  const entries: string[] = [];
  let bytes = 0;
  // Listed as the datasets of the tasks list them (`formats: "decodable"`), linked folders followed (each
  // real folder once, none back into the folder).
  for (const file of listImages(dir, { followLinks: true, formats: "decodable" }).files) {
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
  /**
   * A class folder without images (empty, or holding only other files) is left out with a warning instead
   * of being an error (default false; `deno task train --skip-empty-classes`).
   */
  skipEmptyClasses?: boolean;
  /** Where the datasets' messages and warnings go (default `print`, `lib/runtime/output.ts`). */
  log?: (message: string) => void;
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

/**
 * `validation/` must hold the class folders of `train/`, no more, no fewer; with `skipEmptyClasses`, a
 * class folder without images there is no class either.
 */
function checkSameClasses(folder: DataFolder, classNames: string[], skipEmptyClasses: boolean) {
  const dir = folder.validationDir!;
  const found = classFolders(dir);
  const missing = classNames.filter((c) => !found.includes(c));
  const extra = found.filter((c) =>
    !classNames.includes(c) &&
    !(skipEmptyClasses && listImages(path.join(dir, c), { formats: "decodable" }).files.length === 0)
  );
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
 * folder. The validation set is unshuffled: its `filePaths` are in the order of its images. The caller
 * owns them: {@link disposeFolderDatasets} when done (on failure too).
 */
export async function loadFolderDatasets(
  folder: DataFolder,
  options: FolderDatasetOptions = {},
): Promise<FolderDatasets> {
  const common = {
    imageSize: options.imageSize ?? [...FOLDER_DEFAULTS.imageSize] as [number, number],
    batchSize: options.batchSize ?? FOLDER_DEFAULTS.batchSize,
    seed: options.seed ?? FOLDER_DEFAULTS.seed,
    orientation: FOLDER_DEFAULTS.orientation, // recorded in metadata.json as PREPROCESSING.orientation
    verbose: options.verbose ?? true,
    // Training reads every format predict reads (WebP too), not only Keras' extensions.
    formats: "decodable" as const,
    skipEmptyClasses: options.skipEmptyClasses ?? false,
    ...(options.log !== undefined ? { log: options.log } : {}),
  };
  let train: ImageDataset | undefined, validation: ImageDataset | undefined;
  try {
    if (folder.validationDir === null) {
      [train, validation] = await imageDatasetFromDirectory(folder.trainDir, {
        ...common,
        validationSplit: options.validationSplit ?? FOLDER_DEFAULTS.validationSplit,
        subset: "both",
      });
    } else {
      train = await imageDatasetFromDirectory(folder.trainDir, { ...common, shuffle: true });
      checkSameClasses(folder, train.classNames, common.skipEmptyClasses);
      validation = await imageDatasetFromDirectory(folder.validationDir, {
        ...common,
        shuffle: false,
        classNames: train.classNames,
      });
    }
    const classNames = train.classNames;
    if (classNames.length < 2) {
      throw new Error(
        `data: ${folder.trainDir} has ${classNames.length} class folder(s); expected at least 2`,
      );
    }
    return { train, validation, classNames };
  } catch (e) {
    train?.dispose(); // a dataset made before the error gives its cache's budget back now
    validation?.dispose();
    throw e;
  }
}

/**
 * Frees what the datasets of {@link loadFolderDatasets} keep (their decoded-image caches, TensorFlow
 * tensors): their owner calls it when done with them, on failure too.
 */
export function disposeFolderDatasets(data: Pick<FolderDatasets, "train" | "validation">): void {
  data.train.dispose();
  data.validation.dispose();
}
