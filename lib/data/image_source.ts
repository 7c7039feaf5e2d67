/**
 * What a dataset and everything derived from it (`take`, `skip`, `prefetch`, the parts of a split) share:
 * the files, their labels, how they are decoded, and the decoded-image cache. {@link ImageSource.assemble}
 * turns a group of file indices into one element: the images not cached are decoded together
 * (`batch_decoder.ts`, or image by image to name or skip a bad file), kept in the cache while they fit, and
 * put together with the cached ones.
 *
 * @module
 */
import { disposeWithRun, tf } from "../runtime/mod.ts";
import type { Tensor as TfTensor } from "../runtime/mod.ts";
import { channelsOf, type ColorMode, type Interpolation, loadImage } from "./image_decode.ts";
import { decodeBatch } from "./batch_decoder.ts";
import type { OrientationMode } from "./exif_orientation.ts";
import { ImageCache, type MemoryBudget } from "./image_cache.ts";
import type { CacheMode, LabelMode } from "./dataset_options.ts";

/** @internal TensorFlow.js' `Tensor`, documented by tfjs (keeps `deno doc --lint` from asking us to). */
type Tensor = TfTensor;

/**
 * One element: images and (unless `labelMode` is `null`) labels. A type rather than an interface, so that
 * it is a tfjs `TensorContainer` (an interface has no index signature).
 */
export type ImageBatch = {
  /** float32 `[b, height, width, channels]` (unbatched: `[height, width, channels]`), values in [0, 255]. */
  xs: Tensor;
  /** Labels as `labelMode` says; absent when `labelMode` is `null`. */
  ys?: Tensor;
};

/** What the decoded-image cache holds. */
export interface CacheInfo {
  /** The dataset's `cache` option. */
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
  /** The image files; a file is known by its index here. */
  files: string[];
  /** The label of each file, or `null` without labels. */
  labels: Int32Array | null;
  /** Label `k` is `classNames[k]`. */
  classNames: string[];
  /** How labels are yielded. */
  labelMode: LabelMode;
  /** `[height, width]` of every image. */
  imageSize: [number, number];
  /** Channels of every image. */
  colorMode: ColorMode;
  /** Resize method. */
  interpolation: Interpolation;
  /** Keras' `smart_resize` crop before resizing. */
  cropToAspectRatio: boolean;
  /** EXIF Orientation applied (`"exif"`) or not (`"ignore"`, Keras') before cropping and resizing. */
  orientation: OrientationMode;
  /** A bad file is an error, or left out. */
  onError: "raise" | "skip";
  /** Where the warning for a file left out goes (`onError: "skip"`). */
  log: (message: string) => void;
  /** What the cache keeps (`false`: no cache). */
  cacheMode: CacheMode;
  /** The budget the cache reserves from (unbounded for `"float32"` and `"uint8"`). */
  budget: MemoryBudget;
}

/** Newly decoded images: a float32 `[n, h, w, c]` tensor and the row of each file index in it. */
interface Decoded {
  tensor: Tensor | null;
  rows: Map<number, number>;
}

/**
 * @internal State shared by a dataset and everything derived from it (`take`, `skip`, splits): files and
 * cache. The other fields are the {@link SourceOptions} it was made with.
 */
export class ImageSource {
  /** Decoded images kept between epochs (`null` with `cache: false`). */
  readonly cache: ImageCache | null;
  /** Files left out with `onError: "skip"`, by index, with the reason. */
  readonly skipped = new Map<number, string>();
  /** Values of one decoded image: height × width × channels. */
  readonly pixelsPerImage: number;
  readonly files: string[];
  readonly labels: Int32Array | null;
  readonly classNames: string[];
  readonly labelMode: LabelMode;
  readonly imageSize: [number, number];
  readonly colorMode: ColorMode;
  readonly interpolation: Interpolation;
  readonly cropToAspectRatio: boolean;
  readonly orientation: OrientationMode;
  readonly onError: "raise" | "skip";
  readonly log: (message: string) => void;
  readonly cacheMode: CacheMode;
  private disposed = false;

  constructor(o: SourceOptions) {
    this.files = o.files;
    this.labels = o.labels;
    this.classNames = o.classNames;
    this.labelMode = o.labelMode;
    this.imageSize = o.imageSize;
    this.colorMode = o.colorMode;
    this.interpolation = o.interpolation;
    this.cropToAspectRatio = o.cropToAspectRatio;
    this.orientation = o.orientation;
    this.onError = o.onError;
    this.log = o.log;
    this.cacheMode = o.cacheMode;
    this.pixelsPerImage = o.imageSize[0] * o.imageSize[1] * channelsOf(o.colorMode);
    const full = o.files.length * this.pixelsPerImage * (o.cacheMode === "uint8" ? 1 : 4);
    this.cache = o.cacheMode === false ? null : new ImageCache(o.budget, full);
    // In a notebook, running it again frees this run's caches, as it frees the run's other tensors.
    if (this.cache !== null) disposeWithRun(this);
  }

  /**
   * Frees the cache for good (its tensors and its budget); this source and every dataset sharing it then
   * refuse to yield. Calling it again does nothing.
   */
  dispose(): void {
    this.disposed = true;
    this.cache?.dispose();
  }

  /** Whether {@link ImageSource.dispose} was called. */
  get isDisposed(): boolean {
    return this.disposed;
  }

  /** A disposed source yields nothing: an error that says what happened and what to do. */
  checkNotDisposed(): void {
    if (!this.disposed) return;
    throw new Error(
      "This image dataset was disposed (dispose() on it or on a dataset sharing its files: take, skip, " +
        "prefetch, the other subset, a split part); make a new one with imageDatasetFromDirectory",
    );
  }

  private isCached(i: number): boolean {
    return this.cache?.has(i) ?? false;
  }

  /** The bytes of the files of `indices` that still need decoding. */
  async read(indices: number[]): Promise<Map<number, Uint8Array>> {
    this.checkNotDisposed();
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
          this.log(
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

  /**
   * Keeps what fits of the newly decoded images in the cache: in the float32 modes the rows of the decoded
   * tensor (`unstack`, which TensorFlow does without copying when the rows are aligned: nothing is read back
   * into JavaScript), in `"uint8"` their values rounded to bytes. When only some rows of a batch fit the
   * budget, the rows kept may hold the whole batch's buffer: at most one batch more than the budget counts.
   */
  private keep(decoded: Decoded): void {
    const cache = this.cache;
    if (cache === null || decoded.tensor === null || this.disposed) return;
    const bytesPerImage = this.pixelsPerImage * (this.cacheMode === "uint8" ? 1 : 4);
    const fitting = Math.min(
      decoded.rows.size,
      Math.floor((cache.budget.limit - cache.budget.used) / bytesPerImage),
    );
    if (fitting <= 0) return;
    const fits = [...decoded.rows].slice(0, fitting);
    if (this.cacheMode !== "uint8") {
      const images = tf.unstack(decoded.tensor);
      const keptRows = new Set(fits.map(([, row]) => row));
      fits.forEach(([i, row]) => cache.put(i, images[row])); // the cache takes them over
      tf.dispose(images.filter((_, row) => !keptRows.has(row)));
      return;
    }
    const values = decoded.tensor.dataSync() as Float32Array;
    const p = this.pixelsPerImage;
    for (const [i, row] of fits) cache.put(i, new Uint8ClampedArray(values.subarray(row * p, (row + 1) * p)));
  }

  /** The float32 `[h, w, c]` tensor of a cached image, to be used inside a `tf.tidy`. */
  private cachedTensor(i: number): Tensor {
    const image = this.cache!.get(i)!;
    if (!(image instanceof Uint8ClampedArray)) return image;
    const [h, w] = this.imageSize;
    return tf.tensor3d(Float32Array.from(image), [h, w, channelsOf(this.colorMode)]);
  }

  /**
   * The element for `indices`; `undefined` when every image of it was skipped. Images not cached are
   * decoded together; a batch is then either that tensor as it is, or stacked by TensorFlow from its rows
   * and the cached images (one `stack`; the `"uint8"` cache's arrays copied into tensors first). Nothing is
   * left behind on failure.
   */
  assemble(indices: number[], bytes: Map<number, Uint8Array>, batched: boolean): ImageBatch | undefined {
    this.checkNotDisposed();
    const todo = indices.filter((i) => !this.isCached(i) && !this.skipped.has(i));
    const decoded = this.decode(todo, bytes);
    try {
      this.keep(decoded);
      const kept = indices.filter((i) => this.isCached(i) || decoded.rows.has(i));
      if (kept.length === 0) return undefined;
      const direct = decoded.tensor !== null && kept.length === decoded.rows.size;
      const xs = tf.tidy(() => {
        if (direct) {
          const all = decoded.tensor!.clone();
          return batched ? all : tf.reshape(all, all.shape.slice(1));
        }
        const rows = decoded.tensor === null ? [] : tf.unstack(decoded.tensor);
        const images = kept.map((i) => {
          const row = decoded.rows.get(i);
          return row !== undefined ? rows[row] : this.cachedTensor(i);
        });
        return batched ? tf.stack(images) : images[0].clone();
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

  /** What the cache holds now, and would hold with every image kept. */
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
