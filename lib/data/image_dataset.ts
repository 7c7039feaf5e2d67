/**
 * `imageDatasetFromDirectory`: Keras' `keras.utils.image_dataset_from_directory` as a tfjs-data `Dataset`
 * for `model.fitDataset` / `evaluateDataset`, plus the tutorial's validation/test split done so that it stays
 * the same every epoch ({@link splitValidationTest}).
 *
 * Keras behaviour kept: class names from the sorted sub-folder names (or given, in the given order), files
 * found recursively in sorted order with Keras' extensions, a seeded shuffle of the file list (which decides
 * `validationSplit` subsets), a reshuffle every epoch, batches `{xs: float32 [b, h, w, c] in [0, 255], ys}`,
 * `"Found N files belonging to K classes."`. Pixels are those of Keras (see `image_decode.ts`).
 *
 * Differences, on purpose: the per-epoch reshuffle is a full permutation of the files seeded by
 * `(seed, epoch)` rather than tf.data's 8-batch shuffle buffer (Keras' exact order cannot be reproduced
 * anyway); decoded images are kept in memory within a budget (`cache`, see `image_cache.ts`), so later
 * epochs decode only what did not fit; the order never depends on the cache. A batch's images are decoded
 * together in one TensorFlow call (`batch_decoder.ts`). The listing (`image_files.ts`) can be restricted to
 * one `shard` of the folder, for several processes sharing it.
 *
 * @module
 */
import fs from "node:fs";
import { beginInterruptible, checkInterrupt, print, settled, tf } from "../runtime/mod.ts";
import type { Tensor } from "../runtime/mod.ts";
import {
  ALLOWED_FORMATS,
  channelsOf,
  type ColorMode,
  type Interpolation,
  loadImage,
} from "./image_decode.ts";
import { type ClassFiles, isDirectory, listClassFiles, selectShard } from "./image_files.ts";
import { decodeBatch } from "./batch_decoder.ts";
import {
  availableMemoryBytes,
  formatMB,
  ImageCache,
  MemoryBudget,
  plainSize,
  resolveCacheBudget,
  sharedBudget,
} from "./image_cache.ts";

/** `tf.data.AUTOTUNE` for {@link ImageDataset.prefetch}: a small fixed buffer here. */
export const AUTOTUNE = -1;

/** Keras' `label_mode`; `null` yields images only. */
export type LabelMode = "int" | "categorical" | "binary" | null;

/**
 * How decoded images are kept between epochs: `"auto"` keeps the exact values of as many images as fit in a
 * memory budget and decodes the others every epoch (see `image_cache.ts`); `"float32"` keeps the exact
 * resized values of every image (4 bytes per value), `"uint8"` rounds them to bytes (a quarter of the
 * memory, values off by at most 0.5), both without limit; `false` decodes every epoch.
 */
export type CacheMode = "auto" | "float32" | "uint8" | false;

/** Options of {@link imageDatasetFromDirectory}, Keras' arguments in camelCase. */
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
  /** Follow symbolic links to folders while searching; default `false`. */
  followLinks?: boolean;
  /** An undecodable image is an error naming it (`"raise"`, default) or is left out of its batch (`"skip"`). */
  onError?: "raise" | "skip";
  /** Default `"auto"`; see {@link CacheMode}. */
  cache?: CacheMode;
  /**
   * The memory budget of `cache: "auto"` for this dataset, in MB (10^6 bytes); default `TL_CACHE_MB`, else a
   * quarter of the memory available, shared by the datasets without their own budget.
   */
  cacheBudgetMB?: number;
  /**
   * Only this part of the files: shard `index` of `count` (0 ≤ index < count), chosen by a hash of each
   * file's path under the folder, so that `count` processes split a folder into disjoint parts covering it.
   */
  shard?: { index: number; count: number };
  /**
   * Print what was found (Keras' messages and a plain line on what the cache keeps); default `true`.
   * `"details"` adds how the cache's memory budget was chosen.
   */
  verbose?: boolean | "details";
}

/** One element: images and (unless `labelMode` is `null`) labels. */
export type ImageBatch = { xs: Tensor; ys?: Tensor };

/** What the decoded-image cache holds. */
export interface CacheInfo {
  mode: CacheMode;
  /** Images decoded and kept so far. */
  images: number;
  /** Bytes they take. */
  bytes: number;
  /** Bytes once every image of the dataset is cached. */
  budgetBytes: number;
  /** The memory budget the cache may use (shared with other datasets by default); `null`: unbounded. */
  limitBytes: number | null;
}

/** @internal What an {@link ImageSource} reads and how it decodes. */
export interface SourceOptions {
  files: string[];
  labels: Int32Array | null;
  classNames: string[];
  labelMode: LabelMode;
  imageSize: [number, number];
  colorMode: ColorMode;
  interpolation: Interpolation;
  cropToAspectRatio: boolean;
  onError: "raise" | "skip";
  cacheMode: CacheMode;
  /** The budget of `cache: "auto"` (unbounded for the other modes). */
  budget?: MemoryBudget;
}

/** Newly decoded images: a float32 `[n, h, w, c]` tensor and the row of each file index in it. */
interface Decoded {
  tensor: Tensor | null;
  rows: Map<number, number>;
}

/** @internal State shared by a dataset and everything derived from it (`take`, `skip`, splits): files and cache. */
export class ImageSource {
  /** Decoded images kept between epochs (`null` with `cache: false`). */
  readonly cache: ImageCache | null;
  readonly skipped = new Map<number, string>();
  readonly pixelsPerImage: number;
  readonly files: string[];
  readonly labels: Int32Array | null;
  readonly classNames: string[];
  readonly labelMode: LabelMode;
  readonly imageSize: [number, number];
  readonly colorMode: ColorMode;
  readonly interpolation: Interpolation;
  readonly cropToAspectRatio: boolean;
  readonly onError: "raise" | "skip";
  readonly cacheMode: CacheMode;

  constructor(o: SourceOptions) {
    this.files = o.files;
    this.labels = o.labels;
    this.classNames = o.classNames;
    this.labelMode = o.labelMode;
    this.imageSize = o.imageSize;
    this.colorMode = o.colorMode;
    this.interpolation = o.interpolation;
    this.cropToAspectRatio = o.cropToAspectRatio;
    this.onError = o.onError;
    this.cacheMode = o.cacheMode;
    this.pixelsPerImage = o.imageSize[0] * o.imageSize[1] * channelsOf(o.colorMode);
    const full = o.files.length * this.pixelsPerImage * (o.cacheMode === "uint8" ? 1 : 4);
    this.cache = o.cacheMode === false ? null : new ImageCache(
      o.cacheMode === "auto" ? o.budget ?? sharedBudget() : new MemoryBudget(Infinity),
      full,
    );
  }

  private isCached(i: number): boolean {
    return this.cache?.has(i) ?? false;
  }

  /** The bytes of the files of `indices` that still need decoding. */
  async read(indices: number[]): Promise<Map<number, Uint8Array>> {
    const todo = indices.filter((i) => !this.isCached(i) && !this.skipped.has(i));
    const bytes = await Promise.all(
      todo.map((i) => Deno.readFile(this.files[i]).catch((e) => this.cannotRead(i, e))),
    );
    return new Map(todo.map((i, k) => [i, bytes[k]]));
  }

  private cannotRead(i: number, e: unknown): never {
    throw new Error(`Cannot read image ${this.files[i]}: ${(e as Error).message}`, { cause: e });
  }

  /**
   * Decodes the files `todo`: the whole batch in one TensorFlow call (`batch_decoder.ts`), or image by image
   * when that fails (to name the file, or skip it).
   */
  private decode(todo: number[], bytes: Map<number, Uint8Array>): Decoded {
    const encoded = todo.map((i) => {
      const b = bytes.get(i);
      if (b !== undefined) return b;
      try {
        return Deno.readFileSync(this.files[i]); // was cached when the batch was read ahead, and dropped since
      } catch (e) {
        return this.cannotRead(i, e);
      }
    });
    if (todo.length === 0) return { tensor: null, rows: new Map() };
    try {
      const tensor = decodeBatch(encoded, this);
      return { tensor, rows: new Map(todo.map((i, row) => [i, row])) };
    } catch { /* decoded again image by image below, which names the file */ }
    const images: Tensor[] = [];
    const rows = new Map<number, number>();
    try {
      todo.forEach((i, k) => {
        try {
          images.push(tf.tidy(() => tf.expandDims(loadImage(encoded[k], this, this.files[i]))));
          rows.set(i, images.length - 1);
        } catch (e) {
          if (this.onError === "raise") throw e;
          this.skipped.set(i, (e as Error).message);
          console.warn(
            `Skipped ${this.files[i]} (${this.skipped.size} skipped so far): ${(e as Error).message}`,
          );
        }
      });
      const tensor = images.length === 0 ? null : images.length === 1 ? images[0] : tf.concat(images);
      if (images.length > 1) tf.dispose(images);
      return { tensor, rows };
    } catch (e) {
      tf.dispose(images);
      throw e;
    }
  }

  /** Keeps what fits of the newly decoded images in the cache; returns whether it kept them all. */
  private keep(decoded: Decoded): boolean {
    const cache = this.cache;
    if (cache === null || decoded.tensor === null) return false;
    const bytesPerImage = this.pixelsPerImage * (this.cacheMode === "uint8" ? 1 : 4);
    const fitting = Math.min(
      decoded.rows.size,
      Math.floor((cache.budget.limit - cache.budget.used) / bytesPerImage),
    );
    if (fitting <= 0) return false;
    const values = decoded.tensor.dataSync() as Float32Array;
    const p = this.pixelsPerImage;
    let kept = 0;
    for (const [i, row] of decoded.rows) {
      if (kept === fitting) break;
      const view = values.subarray(row * p, (row + 1) * p);
      // All rows kept: views of one array; some: copies, so that the rest can be freed.
      const pixels = this.cacheMode === "uint8"
        ? new Uint8ClampedArray(view)
        : fitting === decoded.rows.size
        ? view
        : view.slice();
      if (cache.put(i, pixels)) kept++;
    }
    return kept === decoded.rows.size;
  }

  /**
   * The element for `indices`; `undefined` when every image of it was skipped. Images not cached are
   * decoded together; a batch is then either that tensor as it is, or concatenated by TensorFlow from it
   * and from tensors wrapping the cached pixel arrays without copying. Nothing is left behind on failure.
   */
  assemble(indices: number[], bytes: Map<number, Uint8Array>, batched: boolean): ImageBatch | undefined {
    const todo = indices.filter((i) => !this.isCached(i) && !this.skipped.has(i));
    const decoded = this.decode(todo, bytes);
    try {
      this.keep(decoded);
      const kept = indices.filter((i) => this.isCached(i) || decoded.rows.has(i));
      if (kept.length === 0) return undefined;
      const [h, w] = this.imageSize;
      const c = channelsOf(this.colorMode);
      const direct = decoded.tensor !== null && kept.length === decoded.rows.size;
      const xs = tf.tidy(() => {
        const batch = direct ? decoded.tensor!.clone() : tf.concat(kept.map((i) => {
          const row = decoded.rows.get(i);
          if (row !== undefined) return tf.slice(decoded.tensor!, [row, 0, 0, 0], [1, h, w, c]);
          const pixels = this.cache!.get(i)!;
          return tf.tensor4d(pixels instanceof Float32Array ? pixels : Float32Array.from(pixels), [
            1,
            h,
            w,
            c,
          ]);
        }));
        return batched ? batch : tf.reshape(batch, [h, w, c]);
      });
      if (this.labelMode === null || this.labels === null) return { xs };
      return { xs, ys: this.labelTensor(kept, batched) };
    } finally {
      decoded.tensor?.dispose();
    }
  }

  private labelTensor(kept: number[], batched: boolean): Tensor {
    const labels = this.labels!;
    const b = kept.length;
    if (this.labelMode === "int") {
      const values = Int32Array.from(kept, (i) => labels[i]);
      return batched ? tf.tensor1d(values, "int32") : tf.scalar(values[0], "int32");
    }
    if (this.labelMode === "binary") {
      const values = Float32Array.from(kept, (i) => labels[i]);
      return batched ? tf.tensor2d(values, [b, 1]) : tf.tensor1d(values);
    }
    const k = this.classNames.length;
    const oneHot = new Float32Array(b * k);
    kept.forEach((i, row) => oneHot[row * k + labels[i]] = 1);
    return batched ? tf.tensor2d(oneHot, [b, k]) : tf.tensor1d(oneHot);
  }

  cacheInfo(): CacheInfo {
    const bytesPerValue = this.cacheMode === false ? 0 : this.cacheMode === "uint8" ? 1 : 4;
    const limit = this.cache?.budget.limit ?? 0;
    return {
      mode: this.cacheMode,
      images: this.cache?.size ?? 0,
      bytes: this.cache?.bytes ?? 0,
      budgetBytes: this.files.length * this.pixelsPerImage * bytesPerValue,
      limitBytes: Number.isFinite(limit) ? limit : null,
    };
  }
}

/** Which files, grouped in elements, one epoch yields. */
type Plan = (epoch: number) => number[][];

/** @internal How an {@link ImageDataset} yields its source's files. */
export interface DatasetParts {
  source: ImageSource;
  /** The elements of each epoch. */
  plan: Plan;
  /** Elements per epoch. */
  size: number;
  batchSize: number | null;
  /** Reshuffled every epoch. */
  shuffled: boolean;
  seed: number;
  /** The files in their seeded order, when the plan is not derived by `take`/`skip`. */
  items?: number[];
  /** Elements prepared ahead. */
  prefetchSize?: number;
}

/**
 * A batched image dataset: a tfjs-data `Dataset` that knows its `classNames` and `cardinality()`, whose
 * `take`, `skip` and `prefetch` keep them. Each iteration is one epoch, reshuffled when shuffling is on.
 */
export class ImageDataset extends tf.data.Dataset<ImageBatch> {
  override readonly size: number;
  /** @internal */ readonly source: ImageSource;
  readonly batchSize: number | null;
  readonly shuffled: boolean;
  readonly seed: number;
  private readonly plan: Plan;
  private readonly items?: number[];
  private readonly prefetchSize: number;
  private epochs = 0;

  /** @internal Built by {@link imageDatasetFromDirectory}, {@link splitValidationTest} and the methods. */
  constructor(parts: DatasetParts) {
    super();
    this.source = parts.source;
    this.plan = parts.plan;
    this.size = parts.size;
    this.batchSize = parts.batchSize;
    this.shuffled = parts.shuffled;
    this.seed = parts.seed;
    this.items = parts.items;
    this.prefetchSize = parts.prefetchSize ?? 0;
  }

  /** Class names, label `i` being `classNames[i]`. */
  get classNames(): string[] {
    return [...this.source.classNames];
  }

  /**
   * The files in their seeded order (Keras' `file_paths`), before any per-epoch reshuffle; for `take`/`skip`
   * results, the files of the first epoch.
   */
  get filePaths(): string[] {
    return (this.items ?? this.plan(0).flat()).map((i) => this.source.files[i]);
  }

  /** Number of elements (batches) per epoch, like `tf.data.experimental.cardinality`. */
  cardinality(): number {
    return this.size;
  }

  /** Files left out so far with `onError: "skip"`, with the reason. */
  get skippedFiles(): Array<{ file: string; reason: string }> {
    return [...this.source.skipped].map(([i, reason]) => ({ file: this.source.files[i], reason }));
  }

  /** The decoded-image cache's current size and full budget (shared with derived datasets). */
  cacheInfo(): CacheInfo {
    return this.source.cacheInfo();
  }

  /** Drops the decoded images kept in memory; the next epoch decodes again. */
  clearCache(): void {
    this.source.cache?.clear();
  }

  /** The file indices, grouped in elements, that epoch `epoch` yields (for tests and splits). */
  elementIndices(epoch: number): number[][] {
    return this.plan(epoch);
  }

  private derive(plan: Plan, size: number, prefetchSize = this.prefetchSize): ImageDataset {
    return new ImageDataset({
      source: this.source,
      plan,
      size,
      batchSize: this.batchSize,
      shuffled: this.shuffled,
      seed: this.seed,
      items: plan === this.plan ? this.items : undefined,
      prefetchSize,
    });
  }

  /** The first `count` elements of every epoch (all of them when `count < 0`), as `tf.data`'s `take`. */
  override take(count: number): ImageDataset {
    const n = count < 0 ? this.size : Math.min(count, this.size);
    return this.derive((e) => this.plan(e).slice(0, n), n);
  }

  /** Every epoch without its first `count` elements (all of them when `count < 0`), as `tf.data`'s `skip`. */
  override skip(count: number): ImageDataset {
    const n = count < 0 ? this.size : Math.min(count, this.size);
    return this.derive((e) => this.plan(e).slice(n), this.size - n);
  }

  /** Reads the files of up to `bufferSize` elements ahead ({@link AUTOTUNE}: 2). */
  override prefetch(bufferSize: number): ImageDataset {
    if (bufferSize === AUTOTUNE) bufferSize = 2;
    if (!(Number.isInteger(bufferSize) && bufferSize >= 0)) {
      throw new Error(`prefetch: bufferSize must be a whole number ≥ 0 or AUTOTUNE, got ${bufferSize}`);
    }
    return this.derive(this.plan, this.size, bufferSize);
  }

  /**
   * One epoch. Elements are made only when asked for: `prefetch` reads files ahead, but no tensor waits in a
   * buffer, so an iteration that fails or is abandoned half-way leaves no tensor behind.
   */
  override async iterator() {
    return await tf.data.generator(() => this.epoch()).iterator();
  }

  /** One epoch; the epoch number (hence the order) is taken when iteration actually starts. */
  private async *epoch(): AsyncGenerator<ImageBatch> {
    beginInterruptible(); // an Interrupt pressed before this epoch started is stale
    const groups = this.plan(this.epochs++);
    const batched = this.batchSize !== null;
    const ahead = Math.max(1, this.prefetchSize);
    const read = (g: number) => {
      const p = this.source.read(groups[g]);
      p.catch(() => {});
      return p;
    };
    const pending = groups.slice(0, ahead).map((_, g) => read(g));
    for (let g = 0; g < groups.length; g++) {
      const bytes = await pending.shift()!;
      if (g + ahead < groups.length) pending.push(read(g + ahead));
      checkInterrupt(`while reading the dataset, before element ${g + 1} of ${groups.length}`);
      const element = this.source.assemble(groups[g], bytes, batched);
      if (element) yield element;
    }
  }
}

/** A small counter-based generator (mulberry32) seeded from `(seed, stream, epoch)`. */
function random(seed: number, stream: number, epoch: number): () => number {
  let state = Math.imul(seed ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(stream + 1, 0xc2b2ae35) ^
    Math.imul(epoch + 1, 0x27d4eb2f);
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function shuffled<T>(items: readonly T[], next: () => number): T[] {
  const out = items.slice();
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(next() * (i + 1));
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

function chunk(items: number[], size: number | null): number[][] {
  if (size === null) return items.map((i) => [i]);
  const out: number[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

const STREAM_FILES = 0;
const STREAM_EPOCHS = 1;

/** A plan that yields `items` in batches, reshuffled every epoch when `shuffle`. */
function epochPlan(
  items: number[],
  batchSize: number | null,
  shuffle: boolean,
  seed: number,
  stream: number,
): Plan {
  return (epoch) => chunk(shuffle ? shuffled(items, random(seed, stream, epoch)) : items, batchSize);
}

/** Seeds are 32-bit, as NumPy's: a larger one would be cut silently. */
const MAX_SEED = 2 ** 32 - 1;

function checkShard(shard: ImageDatasetOptions["shard"], fail: (message: string) => never) {
  if (shard === undefined) return;
  const { index, count } = shard ?? {};
  if (!(Number.isInteger(count) && count >= 1 && Number.isInteger(index) && index >= 0 && index < count)) {
    fail(`shard must be { index, count } with whole numbers 0 ≤ index < count, got ${JSON.stringify(shard)}`);
  }
}

/**
 * Refuses an `imageSize` whose decoded batch cannot fit in memory before any work (TensorFlow would fail
 * deep inside a resize, or the system would kill the process).
 */
function checkMemory(
  imageSize: [number, number],
  batchSize: number | null,
  colorMode: ColorMode,
  dir: string,
) {
  const [h, w] = imageSize;
  const values = h * w * channelsOf(colorMode);
  const batchBytes = values * 4 * (batchSize ?? 1);
  const available = availableMemoryBytes();
  if (values > 2 ** 31 - 1 || batchBytes > available) {
    throw new Error(
      `imageDatasetFromDirectory(${JSON.stringify(dir)}): imageSize ${JSON.stringify(imageSize)} with ` +
        `batchSize ${batchSize} needs ${formatMB(batchBytes)} per decoded batch (float32), more than the ` +
        `${formatMB(available)} of memory available; choose a smaller imageSize or batchSize`,
    );
  }
}

function checkSplit(o: ImageDatasetOptions, fail: (message: string) => never) {
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

function checkOptions(dir: string, o: ImageDatasetOptions) {
  const fail = (message: string): never => {
    throw new Error(`imageDatasetFromDirectory(${JSON.stringify(dir)}): ${message}`);
  };
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
  checkSplit(o, fail);
  if (o.seed !== undefined && !(Number.isInteger(o.seed) && o.seed >= 0 && o.seed <= MAX_SEED)) {
    fail(`seed must be a whole number from 0 to 2^32 − 1 (${MAX_SEED}), as NumPy's, got ${o.seed}`);
  }
  if (o.onError !== undefined && o.onError !== "raise" && o.onError !== "skip") {
    fail(`onError must be "raise" or "skip", got ${JSON.stringify(o.onError)}`);
  }
  if (o.cache !== undefined && !["auto", "float32", "uint8", false].includes(o.cache)) {
    fail(`cache must be "auto", "float32", "uint8" or false, got ${JSON.stringify(o.cache)}`);
  }
  if (
    o.cacheBudgetMB !== undefined &&
    !(typeof o.cacheBudgetMB === "number" && Number.isFinite(o.cacheBudgetMB) && o.cacheBudgetMB >= 0)
  ) {
    fail(`cacheBudgetMB must be a number of megabytes ≥ 0, got ${JSON.stringify(o.cacheBudgetMB)}`);
  }
  checkShard(o.shard, fail);
  if (o.colorMode !== undefined) channelsOf(o.colorMode);
  if (o.interpolation !== undefined && o.interpolation !== "bilinear" && o.interpolation !== "nearest") {
    fail(`interpolation must be "bilinear" or "nearest", got ${JSON.stringify(o.interpolation)}`);
  }
}

/** The options of {@link imageDatasetFromDirectory} with their defaults filled in. */
interface Resolved {
  labelMode: LabelMode;
  verbose: boolean;
  shuffle: boolean;
  seed: number;
  batchSize: number | null;
  imageSize: [number, number];
  cache: CacheMode;
}

function resolveOptions(options: ImageDatasetOptions): Resolved {
  return {
    labelMode: options.labelMode === undefined ? "int" : options.labelMode,
    verbose: options.verbose !== false,
    shuffle: options.shuffle ?? true,
    seed: options.seed ?? Math.floor(Math.random() * 1e6),
    batchSize: options.batchSize === undefined ? 32 : options.batchSize,
    imageSize: typeof options.imageSize === "number"
      ? [options.imageSize, options.imageSize]
      : options.imageSize ?? [256, 256],
    cache: options.cache ?? "auto",
  };
}

/** Keras' `validation_split`: the last `split` of the (shuffled) files are the validation subset. */
export function splitSubsets(order: number[], split: number): { training: number[]; validation: number[] } {
  const numVal = Math.floor(split * order.length);
  return {
    training: order.slice(0, order.length - numVal),
    validation: numVal === 0 ? [] : order.slice(order.length - numVal),
  };
}

/** How {@link buildDataset} batches and orders its files. */
interface BuildOptions {
  batchSize: number | null;
  /** Reshuffle every epoch. */
  shuffle: boolean;
  seed: number;
  /** The random stream of the per-epoch reshuffle (distinct for each part of a split). */
  stream: number;
}

/** A dataset yielding the files `items` of `source` (in this order, or reshuffled every epoch). */
function buildDataset(source: ImageSource, items: number[], o: BuildOptions): ImageDataset {
  return new ImageDataset({
    source,
    plan: epochPlan(items, o.batchSize, o.shuffle, o.seed, o.stream),
    size: o.batchSize === null ? items.length : Math.ceil(items.length / o.batchSize),
    batchSize: o.batchSize,
    shuffled: o.shuffle,
    seed: o.seed,
    items,
  });
}

function checkDirectory(dir: string) {
  if (!fs.existsSync(dir)) throw new Error(`imageDatasetFromDirectory: directory ${dir} does not exist`);
  if (!isDirectory(dir)) throw new Error(`imageDatasetFromDirectory: ${dir} is not a directory`);
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

/** The files of `dir` (of one shard of it), announced as Keras does. */
function listFiles(dir: string, options: ImageDatasetOptions, o: Resolved): ClassFiles {
  let listing = listClassFiles(dir, {
    labelled: o.labelMode !== null,
    classNames: options.classNames,
    followLinks: options.followLinks,
  });
  const { files, classNames, repeatedFolders } = listing;
  if (repeatedFolders.length > 0) {
    console.warn(
      `imageDatasetFromDirectory: ${repeatedFolders.length} linked folder(s) skipped, their real folder ` +
        `being listed already (a symbolic link loop, or two links to one folder): ` +
        repeatedFolders.slice(0, 3).join(", ") + (repeatedFolders.length > 3 ? ", …" : ""),
    );
  }
  if (o.verbose) {
    print(
      o.labelMode === null
        ? `Found ${files.length} files.`
        : `Found ${files.length} files belonging to ${classNames.length} classes.`,
    );
  }
  if (o.labelMode === "binary" && classNames.length !== 2) {
    throw new Error(
      `imageDatasetFromDirectory: labelMode "binary" needs exactly 2 classes, found ${
        JSON.stringify(classNames)
      }`,
    );
  }
  if (files.length === 0) {
    throw new Error(`No images found in directory ${dir}. Allowed formats: ${ALLOWED_FORMATS.join(", ")}`);
  }
  if (options.shard) {
    listing = selectShard(dir, listing, options.shard);
    const { index, count } = options.shard;
    if (o.verbose) {
      print(
        `Using shard ${index} of ${count}: ${listing.files.length} of the ${files.length} files ` +
          `(chosen by a hash of each file's path under the folder).`,
      );
    }
  }
  return listing;
}

/**
 * Builds a dataset from `dir/<class>/**` image files, like Keras' `image_dataset_from_directory`.
 * With `subset: "both"` it returns `[training, validation]` (validation unshuffled, as in Keras).
 */
export function imageDatasetFromDirectory(
  dir: string,
  options: ImageDatasetOptions & { subset: "both" },
): Promise<[ImageDataset, ImageDataset]>;
export function imageDatasetFromDirectory(dir: string, options?: ImageDatasetOptions): Promise<ImageDataset>;
export async function imageDatasetFromDirectory(
  dir: string,
  options: ImageDatasetOptions = {},
): Promise<ImageDataset | [ImageDataset, ImageDataset]> {
  checkOptions(dir, options);
  const o = resolveOptions(options);
  const colorMode = options.colorMode ?? "rgb";
  checkMemory(o.imageSize, o.batchSize, colorMode, dir);
  const budget = o.cache === "auto" && options.cacheBudgetMB !== undefined
    ? resolveCacheBudget(options.cacheBudgetMB)
    : undefined;
  checkDirectory(dir);
  const { files, labels, classNames } = listFiles(dir, options, o);
  const order = files.map((_, i) => i);
  const shuffledOrder = o.shuffle ? shuffled(order, random(o.seed, STREAM_FILES, 0)) : order;
  const source = new ImageSource({
    files,
    labels,
    classNames,
    labelMode: o.labelMode,
    imageSize: o.imageSize,
    colorMode,
    interpolation: options.interpolation ?? "bilinear",
    cropToAspectRatio: options.cropToAspectRatio ?? false,
    onError: options.onError ?? "raise",
    cacheMode: o.cache,
    budget: budget && new MemoryBudget(budget.bytes, budget.source),
  });
  if (o.verbose && source.cacheMode !== false) print(describeCache(source, options.verbose === "details"));
  const make = (items: number[], shuffle: boolean, what: string) => {
    if (items.length === 0 && !(options.shard && what === "")) {
      throw new Error(
        `No ${what} images in directory ${dir} (${files.length} files, validationSplit too small?)`,
      );
    }
    return buildDataset(source, items, {
      batchSize: o.batchSize,
      shuffle,
      seed: o.seed,
      stream: STREAM_EPOCHS,
    });
  };
  const split = options.validationSplit;
  await settled(); // the messages above reach the notebook under this cell (lib/runtime/output.ts)
  if (split === undefined) return make(shuffledOrder, o.shuffle, "");
  const { training, validation } = splitSubsets(shuffledOrder, split);
  if (o.verbose && options.subset !== "validation") {
    print(`Using ${training.length} files for training.`);
  }
  if (o.verbose && options.subset !== "training") {
    print(`Using ${validation.length} files for validation.`);
  }
  await settled();
  if (options.subset === "training") return make(training, o.shuffle, "training");
  if (options.subset === "validation") return make(validation, o.shuffle, "validation");
  return [make(training, o.shuffle, "training"), make(validation, false, "validation")];
}

/**
 * Splits `dataset` into a test part — the first `testFraction` of its batches, rounded down, as the
 * tutorial's `take(cardinality // 5)` — and a validation part with the rest, *fixed once*: every epoch each
 * part holds the same files, only reshuffled inside the part (when `dataset` shuffles).
 *
 * The tutorial's `take`/`skip` on a dataset that reshuffles every epoch would pick different files each
 * epoch, so images would move between test and validation; here they never do.
 */
export function splitValidationTest(
  dataset: ImageDataset,
  { testFraction = 0.2 }: { testFraction?: number } = {},
): { validation: ImageDataset; test: ImageDataset } {
  if (!(testFraction > 0 && testFraction < 1)) {
    throw new Error(`splitValidationTest: testFraction must be between 0 and 1, got ${testFraction}`);
  }
  const groups = dataset.elementIndices(0);
  const testBatches = Math.floor(dataset.cardinality() * testFraction);
  if (testBatches === 0 || testBatches === groups.length) {
    throw new Error(
      `splitValidationTest: ${dataset.cardinality()} batches × testFraction ${testFraction} leaves an empty part`,
    );
  }
  const part = (items: number[], stream: number) =>
    buildDataset(dataset.source, items, {
      batchSize: dataset.batchSize,
      shuffle: dataset.shuffled,
      seed: dataset.seed,
      stream,
    });
  return {
    test: part(groups.slice(0, testBatches).flat(), 2),
    validation: part(groups.slice(testBatches).flat(), 3),
  };
}

/** The first `count` images of one epoch's first batch, as plain arrays, for a sample grid. */
export interface ImageSample {
  /** `[count][height][width][channels]`, values in [0, 255]. */
  images: number[][][][];
  /** Class index of each image (argmax for categorical labels); empty when the dataset has no labels. */
  labels: number[];
  /** Class name of each image. */
  labelNames: string[];
}

/** First-batch images and labels (Keras: `for images, labels in dataset.take(1)`), without advancing `dataset`. */
export async function sampleImages(dataset: ImageDataset, count = 9): Promise<ImageSample> {
  const iterator = await dataset.take(1).iterator();
  const { value, done } = await iterator.next();
  if (done || !value) throw new Error("sampleImages: the dataset is empty");
  const { xs, ys } = value as ImageBatch;
  try {
    const batched = dataset.batchSize !== null;
    const all = (batched ? await xs.array() : [await xs.array()]) as number[][][][];
    const images = all.slice(0, count);
    let labels: number[] = [];
    if (ys) {
      const y = ys.rank === (batched ? 2 : 1) && ys.shape[ys.rank - 1] !== 1
        ? tf.tidy(() => tf.argMax(ys, -1))
        : ys;
      labels = Array.from(await y.data()).slice(0, count).map((v) => Math.round(Number(v)));
      if (y !== ys) y.dispose();
    }
    return { images, labels, labelNames: labels.map((l) => dataset.classNames[l]) };
  } finally {
    xs.dispose();
    ys?.dispose();
  }
}
