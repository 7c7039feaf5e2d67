/**
 * The options of `imageDatasetFromDirectory` (Keras' arguments in camelCase, and ours for the cache and
 * sharding): their types, the checks that turn a bad value into one clear error naming the folder and the
 * option before any work, and their defaults.
 *
 * @module
 */
import { channelsOf, type ColorMode, type Interpolation } from "./image_decode.ts";
import { checkOrientationMode, type OrientationMode } from "./exif_orientation.ts";
import type { ImageFormats, Shard } from "./image_files.ts";
import { print } from "../runtime/mod.ts";
import {
  availableMemoryBytes,
  type CacheBudgetOptions,
  formatMB,
  MemoryBudget,
  resolveCacheBudget,
  sharedBudget,
} from "./image_cache.ts";

/** Keras' `label_mode`; `null` yields images only. */
export type LabelMode = "int" | "categorical" | "binary" | null;

/**
 * How decoded images are kept between epochs: `"auto"` keeps the exact values of as many images as fit in a
 * memory budget and decodes the others every epoch (see `image_cache.ts`); `"float32"` keeps the exact
 * resized values of every image (4 bytes per value), `"uint8"` rounds them to bytes (a quarter of the
 * memory, values off by at most 0.5), both without limit; `false` decodes every epoch. The float32 modes
 * keep TensorFlow tensors: call the dataset's `dispose()` when done with it.
 */
export type CacheMode = "auto" | "float32" | "uint8" | false;

/** Options of `imageDatasetFromDirectory`, Keras' arguments in camelCase. */
export interface ImageDatasetOptions {
  /** Default `"int"`: int32 `[b]`; `"binary"`: float32 `[b, 1]`; `"categorical"`: float32 one-hot `[b, K]`. */
  labelMode?: LabelMode;
  /** Sub-folders to use, in this order (labels follow it); default: all, sorted. */
  classNames?: string[];
  /** Default `"rgb"`. */
  colorMode?: ColorMode;
  /** Default 32; `null` yields single images. */
  batchSize?: number | null;
  /** `[height, width]` (or one number for both); default `[256, 256]`. */
  imageSize?: [number, number] | number;
  /** Default `true`. */
  shuffle?: boolean;
  /** Seed of the file-list shuffle and of every epoch's reshuffle; default: random. */
  seed?: number;
  /** Fraction of the files held out for validation (with `subset`). */
  validationSplit?: number;
  /** Which part of `validationSplit` to return; `"both"` returns `[training, validation]`. */
  subset?: "training" | "validation" | "both";
  /** Default `"bilinear"`. */
  interpolation?: Interpolation;
  /** Centre-crop to the target aspect ratio before resizing; default `false`. */
  cropToAspectRatio?: boolean;
  /**
   * `"exif"`: turn each photo upright by its EXIF Orientation before cropping and resizing, as photo viewers
   * and browsers show it (`exif_orientation.ts`). Default `"ignore"`: the pixels as stored, as Keras (whose
   * TensorFlow decoder ignores EXIF) yields them.
   */
  orientation?: OrientationMode;
  /**
   * Follow symbolic links to folders while searching (each real folder once, never back into `dir`);
   * default `false`.
   */
  followLinks?: boolean;
  /**
   * Which files are images: Keras' extensions (`"keras"`, default: `.bmp .gif .jpeg .jpg .png`), or all
   * TensorFlow's `DecodeImage` reads here (`"decodable"`: WebP too). Files of other image formats are
   * counted and named in one line either way.
   */
  formats?: ImageFormats;
  /**
   * A class folder without images (empty, or holding only other files) is left out with a warning instead
   * of being an error; default `false`. With `classNames` given it stays a class, without images.
   */
  skipEmptyClasses?: boolean;
  /**
   * Where the dataset's messages go ("Found …", what the listing left out, files skipped): default
   * `print` (`lib/runtime/output.ts`). Warnings come with `verbose: false` too.
   */
  log?: (message: string) => void;
  /** An undecodable image is an error naming it (`"raise"`, default) or is left out of its batch (`"skip"`). */
  onError?: "raise" | "skip";
  /** Default `"auto"`; see {@link CacheMode}. */
  cache?: CacheMode;
  /**
   * This dataset's own memory budget for `cache: "auto"`, in MB (10^6 bytes). Without it, the dataset
   * shares the process-wide budget (see `sharedCacheBudgetMB`).
   */
  cacheBudgetMB?: number;
  /**
   * The size in MB of the process-wide budget that the datasets without their own `cacheBudgetMB` share
   * (training and validation together); default: a quarter of the memory available. A run's setting
   * (`TL_CACHE_MB`) is passed here; a different value makes a new shared budget for the datasets made after.
   */
  sharedCacheBudgetMB?: number;
  /**
   * Only this part of the files: shard `index` of `count` (0 ≤ index < count), chosen by a hash of each
   * file's path under the folder, so that `count` processes split a folder into disjoint parts covering it.
   */
  shard?: Shard;
  /**
   * Print what was found (Keras' messages and a plain line on what the cache keeps); default `true`.
   * `"details"` adds how the cache's memory budget was chosen.
   */
  verbose?: boolean | "details";
}

/** Seeds are 32-bit, as NumPy's: a larger one would be cut silently. */
export const MAX_SEED = 2 ** 32 - 1;

/** Throws one error naming the folder and what is wrong. */
type Fail = (message: string) => never;

/**
 * Checks every option of `options` before any work: a wrong value is one error naming `dir`, the option,
 * the value and what is allowed.
 */
export function checkOptions(dir: string, options: ImageDatasetOptions): void {
  const fail = (message: string): never => {
    throw new Error(`imageDatasetFromDirectory(${JSON.stringify(dir)}): ${message}`);
  };
  checkShape(options, fail);
  checkSplit(options, fail);
  checkSeedAndErrors(options, fail);
  checkCache(options, fail);
  checkShard(options.shard, fail);
  checkDecoding(options, fail);
  checkListing(options, fail);
}

/** `formats`, `skipEmptyClasses`, `log`. */
function checkListing(o: ImageDatasetOptions, fail: Fail) {
  if (o.formats !== undefined && o.formats !== "keras" && o.formats !== "decodable") {
    fail(`formats must be "keras" or "decodable", got ${JSON.stringify(o.formats)}`);
  }
  if (o.skipEmptyClasses !== undefined && typeof o.skipEmptyClasses !== "boolean") {
    fail(`skipEmptyClasses must be true or false, got ${JSON.stringify(o.skipEmptyClasses)}`);
  }
  if (o.log !== undefined && typeof o.log !== "function") fail("log must be a function of one message");
}

/** `labelMode`, `batchSize`, `imageSize`. */
function checkShape(o: ImageDatasetOptions, fail: Fail) {
  if (o.labelMode !== undefined && !["int", "categorical", "binary", null].includes(o.labelMode)) {
    fail(`labelMode must be "int", "categorical", "binary" or null, got ${JSON.stringify(o.labelMode)}`);
  }
  if (
    o.batchSize !== undefined && o.batchSize !== null && !(Number.isInteger(o.batchSize) && o.batchSize > 0)
  ) {
    fail(`batchSize must be a positive whole number or null, got ${JSON.stringify(o.batchSize)}`);
  }
  const size = o.imageSize;
  if (
    size !== undefined &&
    !(typeof size === "number"
      ? Number.isInteger(size) && size > 0
      : Array.isArray(size) && size.length === 2 &&
        size.every((s) => Number.isInteger(s) && s > 0))
  ) {
    fail(`imageSize must be [height, width] of positive whole numbers, got ${JSON.stringify(size)}`);
  }
}

/** `validationSplit`, `subset` and the `seed` they need. */
function checkSplit(o: ImageDatasetOptions, fail: Fail) {
  const { validationSplit: split, subset } = o;
  if (split !== undefined && !(split > 0 && split < 1)) {
    fail(`validationSplit must be between 0 and 1, got ${split}`);
  }
  if ((split !== undefined) !== (subset !== undefined)) {
    fail("subset and validationSplit go together: set both or neither");
  }
  if (subset !== undefined && !["training", "validation", "both"].includes(subset)) {
    fail(`subset must be "training", "validation" or "both", got ${JSON.stringify(subset)}`);
  }
  if (split !== undefined && (o.shuffle ?? true) && o.seed === undefined) {
    fail("validationSplit with shuffling needs a seed, so that training and validation files do not overlap");
  }
}

/** `seed`, `onError`. */
function checkSeedAndErrors(o: ImageDatasetOptions, fail: Fail) {
  if (o.seed !== undefined && !(Number.isInteger(o.seed) && o.seed >= 0 && o.seed <= MAX_SEED)) {
    fail(`seed must be a whole number from 0 to 2^32 − 1 (${MAX_SEED}), as NumPy's, got ${o.seed}`);
  }
  if (o.onError !== undefined && o.onError !== "raise" && o.onError !== "skip") {
    fail(`onError must be "raise" or "skip", got ${JSON.stringify(o.onError)}`);
  }
}

/** `colorMode`, `interpolation`, `orientation`. */
function checkDecoding(o: ImageDatasetOptions, fail: Fail) {
  if (o.colorMode !== undefined) channelsOf(o.colorMode);
  if (o.interpolation !== undefined && o.interpolation !== "bilinear" && o.interpolation !== "nearest") {
    fail(`interpolation must be "bilinear" or "nearest", got ${JSON.stringify(o.interpolation)}`);
  }
  if (o.orientation !== undefined) {
    try {
      checkOrientationMode(o.orientation);
    } catch (e) {
      fail((e as Error).message);
    }
  }
}

/** `cache`, `cacheBudgetMB`, `sharedCacheBudgetMB`. */
function checkCache(o: ImageDatasetOptions, fail: Fail) {
  if (o.cache !== undefined && !["auto", "float32", "uint8", false].includes(o.cache)) {
    fail(`cache must be "auto", "float32", "uint8" or false, got ${JSON.stringify(o.cache)}`);
  }
  for (const name of ["cacheBudgetMB", "sharedCacheBudgetMB"] as const) {
    const mb = o[name];
    if (mb !== undefined && !(typeof mb === "number" && Number.isFinite(mb) && mb >= 0)) {
      fail(`${name} must be a number of megabytes ≥ 0, got ${JSON.stringify(mb)}`);
    }
  }
}

function checkShard(shard: Shard | undefined, fail: Fail) {
  if (shard === undefined) return;
  const { index, count } = shard ?? {};
  if (!(Number.isInteger(count) && count >= 1 && Number.isInteger(index) && index >= 0 && index < count)) {
    fail(`shard must be { index, count } with whole numbers 0 ≤ index < count, got ${JSON.stringify(shard)}`);
  }
}

/** The options of `imageDatasetFromDirectory` with their defaults filled in. */
export interface ResolvedOptions {
  /** Default `"int"`. */
  labelMode: LabelMode;
  /** Print Keras' messages and the cache line. */
  verbose: boolean;
  /** Add how the cache's budget was chosen to the cache line. */
  details: boolean;
  /** Default `true`. */
  shuffle: boolean;
  /** The given seed, or a random one. */
  seed: number;
  /** Default 32. */
  batchSize: number | null;
  /** `[height, width]`, default `[256, 256]`. */
  imageSize: [number, number];
  /** Default `"rgb"`. */
  colorMode: ColorMode;
  /** Default `"bilinear"`. */
  interpolation: Interpolation;
  /** Default `false`. */
  cropToAspectRatio: boolean;
  /** Default `"ignore"` (Keras'). */
  orientation: OrientationMode;
  /** Default `"raise"`. */
  onError: "raise" | "skip";
  /** Default `"auto"`. */
  cache: CacheMode;
  /** Default `"keras"`. */
  formats: ImageFormats;
  /** Default `false`. */
  skipEmptyClasses: boolean;
  /** Default `print`. */
  log: (message: string) => void;
}

/** `options` (checked by {@link checkOptions}) with their defaults, Keras' where Keras has the option. */
export function resolveOptions(options: ImageDatasetOptions): ResolvedOptions {
  return {
    labelMode: options.labelMode === undefined ? "int" : options.labelMode,
    verbose: options.verbose !== false,
    details: options.verbose === "details",
    shuffle: options.shuffle ?? true,
    seed: options.seed ?? Math.floor(Math.random() * 1e6),
    batchSize: options.batchSize === undefined ? 32 : options.batchSize,
    imageSize: typeof options.imageSize === "number"
      ? [options.imageSize, options.imageSize]
      : options.imageSize ?? [256, 256],
    colorMode: options.colorMode ?? "rgb",
    interpolation: options.interpolation ?? "bilinear",
    cropToAspectRatio: options.cropToAspectRatio ?? false,
    orientation: options.orientation ?? "ignore",
    onError: options.onError ?? "raise",
    cache: options.cache ?? "auto",
    formats: options.formats ?? "keras",
    skipEmptyClasses: options.skipEmptyClasses ?? false,
    log: options.log ?? ((message: string) => print(message)),
  };
}

/**
 * Refuses an `imageSize` whose decoded batch cannot fit in memory before any work (TensorFlow would fail
 * deep inside a resize, or the system would kill the process).
 */
export function checkMemory(dir: string, o: ResolvedOptions): void {
  const [h, w] = o.imageSize;
  const values = h * w * channelsOf(o.colorMode);
  const batchBytes = values * 4 * (o.batchSize ?? 1);
  const available = availableMemoryBytes();
  if (values > 2 ** 31 - 1 || batchBytes > available) {
    throw new Error(
      `imageDatasetFromDirectory(${JSON.stringify(dir)}): imageSize ${JSON.stringify(o.imageSize)} with ` +
        `batchSize ${o.batchSize} needs ${formatMB(batchBytes)} per decoded batch (float32), more than the ` +
        `${formatMB(available)} of memory available; choose a smaller imageSize or batchSize`,
    );
  }
}

/**
 * The budget the dataset's cache reserves from: unbounded for `"float32"` and `"uint8"`; for `"auto"`, its
 * own `cacheBudgetMB`, else the process-wide budget of `sharedCacheBudgetMB`.
 */
export function cacheBudgetOf(options: ImageDatasetOptions, cache: CacheMode): MemoryBudget {
  if (cache !== "auto") return new MemoryBudget(Infinity);
  if (options.cacheBudgetMB !== undefined) {
    const { bytes, source } = resolveCacheBudget({ budgetMB: options.cacheBudgetMB });
    return new MemoryBudget(bytes, source);
  }
  if (options.sharedCacheBudgetMB !== undefined) {
    return sharedBudget({ budgetMB: options.sharedCacheBudgetMB, setting: "sharedCacheBudgetMB" });
  }
  return sharedBudget(cacheBudgetFromEnvironment());
}

/**
 * TRANSITIONAL — the one place `lib/data/` still reads a setting: `TL_CACHE_MB` sizes the shared budget
 * until the edges (notebooks, tools, tasks) pass it as `sharedCacheBudgetMB` from their configuration.
 * Then this function goes, and the default is the share of the available memory alone.
 */
function cacheBudgetFromEnvironment(): CacheBudgetOptions {
  let raw: string | undefined;
  try {
    raw = Deno.env.get("TL_CACHE_MB");
  } catch { /* no --allow-env: as if unset */ }
  if (raw === undefined || raw === "") return {};
  const mb = raw.trim() === "" ? NaN : Number(raw);
  if (!(Number.isFinite(mb) && mb >= 0)) {
    throw new Error(`TL_CACHE_MB must be a number of megabytes ≥ 0, got ${JSON.stringify(raw)}`);
  }
  return { budgetMB: mb, setting: "TL_CACHE_MB" };
}
