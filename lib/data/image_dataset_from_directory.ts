/**
 * `imageDatasetFromDirectory`: Keras' `keras.utils.image_dataset_from_directory` as an {@link ImageDataset}.
 *
 * Keras behaviour kept: class names from the sorted sub-folder names (or given, in the given order), files
 * found recursively in sorted order with Keras' extensions (`image_files.ts`; `formats: "decodable"` adds
 * WebP, which TensorFlow decodes here), a seeded shuffle of the file list (which decides `validationSplit`
 * subsets), a reshuffle every epoch, batches `{xs: float32 [b, h, w, c] in [0, 255], ys}`,
 * `"Found N files belonging to K classes."`. Pixels are those of Keras (`image_decode.ts`).
 *
 * Differences, on purpose: a folder means what it looks like (`image_files.ts`) — hidden files, special
 * files (FIFOs, …), folders holding a saved model and linked folders leading back into `dir` are left out,
 * and what was left out is said in one summary line (files of a format not read: always); a class folder
 * without images is an error naming it, or with `skipEmptyClasses` no class, where Keras would make a class
 * the model never sees. The per-epoch reshuffle is a full permutation of the files seeded by
 * `(seed, epoch)` rather than tf.data's shuffle buffer (`epoch_plan.ts`); decoded images are kept in memory
 * within a budget (`cache`, see `image_cache.ts`), so later epochs decode only what did not fit; the order
 * never depends on the cache. A batch's images are decoded together in one TensorFlow call
 * (`batch_decoder.ts`). The listing can be restricted to one `shard` of the folder, for several processes
 * sharing it.
 *
 * @module
 */
import fs from "node:fs";
import { settled } from "../runtime/mod.ts";
import { channelsOf } from "./image_decode.ts";
import {
  type ClassFiles,
  formatsOf,
  isDirectory,
  listClassFiles,
  selectShard,
  type Shard,
} from "./image_files.ts";
import { describeListing } from "./listing_notes.ts";
import { formatMB, plainSize } from "./image_cache.ts";
import {
  cacheBudgetOf,
  checkMemory,
  checkOptions,
  type ImageDatasetOptions,
  type ResolvedOptions,
  resolveOptions,
} from "./dataset_options.ts";
import { seededRandom, shuffled, STREAM } from "./epoch_plan.ts";
import { ImageSource } from "./image_source.ts";
import { buildDataset, type ImageDataset } from "./image_dataset.ts";
import { splitSubsets } from "./split.ts";

/**
 * Builds a dataset from `dir/<class>/**` image files, like Keras' `image_dataset_from_directory`.
 * With `subset: "both"` it returns `[training, validation]` (validation unshuffled, as in Keras).
 *
 * @example The tutorial's datasets (`train_dir`, `validation_dir` of cats_and_dogs_filtered)
 * ```ts ignore
 * import { imageDatasetFromDirectory } from "./mod.ts";
 *
 * const trainDataset = await imageDatasetFromDirectory("cats_and_dogs_filtered/train", {
 *   shuffle: true,
 *   batchSize: 32,
 *   imageSize: [160, 160],
 * });
 * console.log(trainDataset.classNames); // ["cats", "dogs"]
 * ```
 */
export function imageDatasetFromDirectory(
  dir: string,
  options: ImageDatasetOptions & { subset: "both" },
): Promise<[ImageDataset, ImageDataset]>;
/** Builds one dataset: all the files of `dir`, or the `subset` of `validationSplit` asked for. */
export function imageDatasetFromDirectory(dir: string, options?: ImageDatasetOptions): Promise<ImageDataset>;
export async function imageDatasetFromDirectory(
  dir: string,
  options: ImageDatasetOptions = {},
): Promise<ImageDataset | [ImageDataset, ImageDataset]> {
  checkOptions(dir, options);
  const o = resolveOptions(options);
  checkMemory(dir, o);
  checkDirectory(dir);
  const { files, labels, classNames } = listFiles(dir, options, o);
  const source = new ImageSource({
    files,
    labels,
    classNames,
    labelMode: o.labelMode,
    imageSize: o.imageSize,
    colorMode: o.colorMode,
    interpolation: o.interpolation,
    cropToAspectRatio: o.cropToAspectRatio,
    orientation: o.orientation,
    onError: o.onError,
    log: o.log,
    cacheMode: o.cache,
    budget: cacheBudgetOf(options, o.cache),
  });
  if (o.verbose && source.cacheMode !== false) o.log(describeCache(source, o.details));
  await settled(); // the messages above reach the notebook under this cell (lib/runtime/output.ts)
  return await subsets(dir, source, options, o);
}

function checkDirectory(dir: string) {
  if (!fs.existsSync(dir)) throw new Error(`imageDatasetFromDirectory: directory ${dir} does not exist`);
  if (!isDirectory(dir)) throw new Error(`imageDatasetFromDirectory: ${dir} is not a directory`);
}

/**
 * The files of `dir` (of one shard of it), announced as Keras does, with what the listing left out: the
 * class folders skipped, files of a format not read, special files, links and model folders (always), and
 * hidden files and files that are not images (when `verbose`).
 */
function listFiles(dir: string, options: ImageDatasetOptions, o: ResolvedOptions): ClassFiles {
  const listing = listClassFiles(dir, {
    labelled: o.labelMode !== null,
    classNames: options.classNames,
    followLinks: options.followLinks,
    formats: o.formats,
    skipEmptyClasses: o.skipEmptyClasses,
  });
  const { files, classNames } = listing;
  const found = o.labelMode === null
    ? `Found ${files.length} files.`
    : `Found ${files.length} files belonging to ${classNames.length} classes.`;
  const lines = [
    ...(o.verbose ? [found] : []),
    ...emptyClassLines(listing, options.classNames !== undefined),
    ...describeListing(listing.notes, { verbose: o.verbose }),
  ];
  if (lines.length > 0) o.log(lines.join("\n"));
  if (o.labelMode === "binary" && classNames.length !== 2) {
    throw new Error(
      `imageDatasetFromDirectory: labelMode "binary" needs exactly 2 classes, found ${
        JSON.stringify(classNames)
      }`,
    );
  }
  if (files.length === 0) {
    throw new Error(
      `No images found in directory ${dir}. Allowed formats: ${formatsOf(o.formats).join(", ")}`,
    );
  }
  return options.shard ? announcedShard(dir, listing, options.shard, o) : listing;
}

/** The class folders left out by `skipEmptyClasses` (or kept without images, when the names were given). */
function emptyClassLines(listing: ClassFiles, given: boolean): string[] {
  return listing.emptyClasses.map(({ name, folder, contents }) =>
    given
      ? `Class folder ${folder} has no images (${contents}): "${name}" stays a class, as classNames ` +
        "gives it, with no images here."
      : `Left out class folder ${folder}: no images to learn from (${contents}).`
  );
}

/** The files of `shard`, announced when `verbose`. */
function announcedShard(dir: string, listing: ClassFiles, shard: Shard, o: ResolvedOptions): ClassFiles {
  const { index, count } = shard;
  const part = selectShard(dir, listing, { index, count });
  if (o.verbose) {
    o.log(
      `Using shard ${index} of ${count}: ${part.files.length} of the ${listing.files.length} files ` +
        `(chosen by a hash of each file's path under the folder).`,
    );
  }
  return part;
}

/**
 * The dataset message about the cache in plain words: how many decoded images stay in memory and how
 * much that takes; with `details`, a second line on the cache mode and the memory budget.
 */
function describeCache(source: ImageSource, details: boolean): string {
  const info = source.cacheInfo();
  const n = source.files.length;
  const all = `Keeping all ${n} decoded images in memory (${plainSize(info.budgetBytes)}).`;
  const what = `${n} images of ${source.imageSize.join("×")}×${channelsOf(source.colorMode)}`;
  if (info.mode !== "auto" || !source.cache) {
    return all +
      (details ? `\n  cache: "${info.mode}", ${formatMB(info.budgetBytes)} for ${what}, no budget` : "");
  }
  const { budget } = source.cache;
  // What the datasets made before this one may take first.
  const left = Math.max(0, budget.limit - Math.max(budget.used, budget.planned - info.budgetBytes));
  const detail = `\n  cache: "auto", ${formatMB(info.budgetBytes)} for ${what}; memory budget ` +
    `${formatMB(budget.limit)} (${budget.source}), ${formatMB(left)} of it left for this dataset`;
  if (info.budgetBytes <= left) return all + (details ? detail : "");
  const fit = Math.floor(left / (source.pixelsPerImage * 4));
  const more = "set TL_CACHE_MB to give the cache more memory";
  const head = fit === 0
    ? `Decoding the ${n} images again every epoch: keeping them would take ${
      plainSize(info.budgetBytes)
    }, more than the cache's memory (${more}).`
    : `Keeping ${fit} of ${n} decoded images in memory (${
      plainSize(fit * source.pixelsPerImage * 4)
    }); the others are decoded again every epoch (${more}).`;
  return head + (details ? detail : "");
}

/**
 * The dataset(s) `options.subset` asks for: all the files in their seeded order, or Keras' training and
 * validation subsets of them (each announced).
 */
async function subsets(
  dir: string,
  source: ImageSource,
  options: ImageDatasetOptions,
  o: ResolvedOptions,
): Promise<ImageDataset | [ImageDataset, ImageDataset]> {
  const order = source.files.map((_, i) => i);
  const shuffledOrder = o.shuffle ? shuffled(order, seededRandom(o.seed, STREAM.files, 0)) : order;
  const make = (items: number[], shuffle: boolean, what: string) => {
    if (items.length === 0 && !(options.shard && what === "")) {
      throw new Error(
        `No ${what} images in directory ${dir} (${source.files.length} files, validationSplit too small?)`,
      );
    }
    return buildDataset(source, items, {
      batchSize: o.batchSize,
      shuffle,
      seed: o.seed,
      stream: STREAM.epochs,
    });
  };
  const split = options.validationSplit;
  if (split === undefined) return make(shuffledOrder, o.shuffle, "");
  const { training, validation } = splitSubsets(shuffledOrder, split);
  if (o.verbose && options.subset !== "validation") o.log(`Using ${training.length} files for training.`);
  if (o.verbose && options.subset !== "training") o.log(`Using ${validation.length} files for validation.`);
  await settled();
  if (options.subset === "training") return make(training, o.shuffle, "training");
  if (options.subset === "validation") return make(validation, o.shuffle, "validation");
  return [make(training, o.shuffle, "training"), make(validation, false, "validation")];
}
