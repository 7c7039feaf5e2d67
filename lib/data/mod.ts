/**
 * Image data: Keras' `image_dataset_from_directory` for TensorFlow.js — a folder of images, one sub-folder
 * per class, as a batched, shuffled dataset for `model.fitDataset` / `evaluateDataset`, with the pixels
 * Keras would give.
 *
 * What this folder owns, from the files up:
 * - **Listing** (`image_files.ts`): which image files a folder holds, in Keras' order, with their labels
 *   ({@link listClassFiles}, {@link listImages}) — Keras' formats or all TensorFlow decodes here
 *   ({@link ImageFormats}) — and what was left out, in words (`listing_notes.ts`, {@link describeListing}):
 *   hidden files, formats not read, special files, links back into the folder, saved models; shards of a
 *   folder for several processes ({@link shardOf}, {@link shardFiles}).
 * - **Decoding** (`image_decode.ts`): TensorFlow's own decoder and resize, as Keras runs them
 *   ({@link loadImage}); `batch_decoder.ts` decodes a whole batch in one TensorFlow call (internal).
 *   Optionally (`orientation: "exif"`) photos are turned upright by their EXIF Orientation first
 *   (`exif_orientation.ts`: {@link readExifOrientation}, {@link ORIENTATION_TRANSFORMS}).
 * - **The dataset** (`image_dataset.ts`, `image_source.ts`, `epoch_plan.ts`): {@link ImageDataset}, a
 *   tfjs-data `Dataset` that knows its class names and cardinality, reshuffles every epoch from a seed, and
 *   keeps decoded images in memory within a budget (`image_cache.ts`, {@link resolveCacheBudget}) — as
 *   TensorFlow tensors in the float32 modes, so its owner calls `dispose()` when done with it.
 * - **Making and splitting datasets**: {@link imageDatasetFromDirectory} (its options and their checks in
 *   `dataset_options.ts`), {@link splitSubsets} (Keras' `validation_split`), {@link splitValidationTest}
 *   (the tutorial's validation/test split, fixed across epochs), {@link sampleImages} (a few images to look
 *   at).
 *
 * Not here: augmentation (`lib/model/`: layers that run inside the model), plotting (`lib/analysis/`),
 * downloading the data (`lib/io/`), and settings: nothing here reads the environment except, for now, the
 * `TL_CACHE_MB` fallback of the shared cache budget (`dataset_options.ts`); callers pass
 * `sharedCacheBudgetMB` or `cacheBudgetMB`.
 *
 * @example A folder of images as a dataset: one element is a batch of images and their labels
 * ```ts
 * import assert from "node:assert";
 * import { fileURLToPath } from "node:url";
 * import { AUTOTUNE, type ImageBatch, imageDatasetFromDirectory } from "./mod.ts";
 *
 * // The decoding fixture of this project's tests: birds/, cats/, dogs/ (one sub-folder per class).
 * const dir = fileURLToPath(new URL("../../tests/fixtures/decode", import.meta.url));
 * const dataset = await imageDatasetFromDirectory(dir, { imageSize: [32, 32], batchSize: 4, seed: 1 });
 * assert.deepStrictEqual(dataset.classNames, ["birds", "cats", "dogs"]);
 * assert.strictEqual(dataset.cardinality(), 3); // 10 images in batches of 4
 *
 * const shapes: number[][] = [];
 * await dataset.prefetch(AUTOTUNE).forEachAsync(({ xs, ys }: ImageBatch) => {
 *   shapes.push(xs.shape);
 *   xs.dispose();
 *   ys?.dispose();
 * });
 * assert.deepStrictEqual(shapes, [[4, 32, 32, 3], [4, 32, 32, 3], [2, 32, 32, 3]]);
 * dataset.dispose(); // the decoded images it kept
 * ```
 *
 * @module
 */
export type { CacheMode, ImageDatasetOptions, LabelMode } from "./dataset_options.ts";
export { imageDatasetFromDirectory } from "./image_dataset_from_directory.ts";
export { AUTOTUNE, ImageDataset } from "./image_dataset.ts";
export type { CacheInfo, ImageBatch } from "./image_source.ts";
export { splitSubsets, splitValidationTest, type ValidationTestOptions } from "./split.ts";
export { type ImageSample, sampleImages } from "./sample_images.ts";
export {
  ALLOWED_FORMATS,
  aspectCropBox,
  channelsOf,
  type ColorMode,
  ImageDecodeError,
  type Interpolation,
  loadImage,
  type LoadImageOptions,
} from "./image_decode.ts";
export {
  checkOrientationMode,
  type ExifOrientation,
  ORIENTATION_MODES,
  ORIENTATION_TRANSFORMS,
  type OrientationMode,
  type OrientationTransform,
  readExifOrientation,
} from "./exif_orientation.ts";
export {
  type ClassFiles,
  classFolders,
  CLASSIFIER_FORMAT,
  DECODABLE_FORMATS,
  type EmptyClass,
  type FolderListing,
  type ImageFormats,
  isDirectory,
  isModelFolder,
  listClassFiles,
  type ListClassFilesOptions,
  listImages,
  type ListImagesOptions,
  pathHash,
  type Shard,
  shardFiles,
  shardOf,
  specialFileKind,
} from "./image_files.ts";
export {
  describeListing,
  emptyNotes,
  folderContents,
  type ListingNotes,
  mergeNotes,
} from "./listing_notes.ts";
export {
  type CacheBudget,
  type CacheBudgetOptions,
  DEFAULT_BUDGET_SHARE,
  resolveCacheBudget,
} from "./image_cache.ts";
