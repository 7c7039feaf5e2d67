/**
 * {@link ImageDataset}: the batched image dataset `imageDatasetFromDirectory` returns — a tfjs-data
 * `Dataset` for `model.fitDataset` / `evaluateDataset` that knows its `classNames` and `cardinality()` and
 * keeps them through `take`, `skip` and `prefetch`, as a `tf.data` dataset does in Keras.
 *
 * Each iteration is one epoch: its files come from the dataset's {@link EpochPlan} (`epoch_plan.ts`,
 * reshuffled every epoch when shuffling), its elements from the shared {@link ImageSource}
 * (`image_source.ts`: decoding and the decoded-image cache). The cache holds TensorFlow tensors, which the
 * garbage collector does not see: whoever makes a dataset disposes it ({@link ImageDataset.dispose}), once
 * for it and every dataset sharing its files.
 *
 * @module
 */
import { beginInterruptible, checkInterrupt, tf } from "../runtime/mod.ts";
import type { TensorContainer } from "../runtime/mod.ts";
import { type EpochOrder, type EpochPlan, epochPlan } from "./epoch_plan.ts";
import type { CacheInfo, ImageBatch, ImageSource } from "./image_source.ts";
import type { OrientationMode } from "./exif_orientation.ts";

/** `tf.data.AUTOTUNE` for {@link ImageDataset.prefetch}: a small fixed buffer here. */
export const AUTOTUNE: number = -1;

/**
 * @internal tfjs-data's `Dataset`, named here so that `deno doc --lint` takes it as documented by tfjs
 * rather than asking this folder to re-export it.
 */
abstract class TfDataset<T extends TensorContainer> extends tf.data.Dataset<T> {}

/** @internal How an {@link ImageDataset} yields its source's files. */
export interface DatasetParts {
  /** Files, decoding and cache, shared with the datasets derived from this one. */
  source: ImageSource;
  /** The elements of each epoch. */
  plan: EpochPlan;
  /** Elements per epoch. */
  size: number;
  /** Images per element; `null`: single images. */
  batchSize: number | null;
  /** Reshuffled every epoch. */
  shuffled: boolean;
  /** The seed of the order. */
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
export class ImageDataset extends TfDataset<ImageBatch> {
  /** Elements (batches) per epoch, as `tf.data`'s cardinality. */
  override readonly size: number;
  /** @internal */ readonly source: ImageSource;
  /** Images per element; `null`: single images. */
  readonly batchSize: number | null;
  /** Whether every epoch reshuffles the files. */
  readonly shuffled: boolean;
  /** The seed of the file order and of every epoch's reshuffle. */
  readonly seed: number;
  private readonly plan: EpochPlan;
  private readonly items?: number[];
  private readonly prefetchSize: number;
  private epochs = 0;
  private skipNext = 0;

  /** @internal Built by `imageDatasetFromDirectory`, `splitValidationTest` and the methods. */
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

  /** How photos are turned before resizing: by their EXIF orientation (`"exif"`) or as stored (`"ignore"`). */
  get orientation(): OrientationMode {
    return this.source.orientation;
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

  /**
   * Drops the decoded images kept in memory (shared with the datasets sharing its files, see
   * {@link ImageDataset.dispose}); the next epoch decodes again.
   */
  clearCache(): void {
    this.source.cache?.clear();
  }

  /**
   * Frees what the dataset keeps — the decoded images (TensorFlow tensors with `cache: "float32"` or
   * `"auto"`) and their share of the memory budget — for good; call it when done with the dataset (or
   * `using dataset = …`). The datasets sharing its files share that cache and are disposed with it: those
   * made from it by `take`, `skip`, `prefetch` and `splitValidationTest`, and the other subset of
   * `subset: "both"`; so dispose once, when done with all of them. Iterating a disposed dataset is an error.
   * Datasets made by tfjs-data's own methods (`map`, `filter`, …) only read this one: dispose this one.
   * Calling it again does nothing. A dataset dropped without `dispose()` frees its images when it is
   * garbage-collected, which may be late: the garbage collector does not see TensorFlow's memory.
   */
  dispose(): void {
    this.source.dispose();
  }

  /** Disposes the dataset at the end of a `using` block. */
  [Symbol.dispose](): void {
    this.dispose();
  }

  /** Whether {@link ImageDataset.dispose} was called on this dataset or one sharing its files. */
  get isDisposed(): boolean {
    return this.source.isDisposed;
  }

  /**
   * Epochs started so far: the next iteration yields epoch `epochsStarted`'s order. A resumed training sets
   * it to the epochs already run, so that its shuffles continue as the interrupted run's would have.
   */
  get epochsStarted(): number {
    return this.epochs;
  }
  set epochsStarted(n: number) {
    if (!(Number.isInteger(n) && n >= 0)) {
      throw new Error(`epochsStarted must be a whole number ≥ 0, got ${n}`);
    }
    this.epochs = n;
  }

  /**
   * The next iteration yields its epoch without the first `count` elements, neither read nor decoded: a
   * resumed training continues an interrupted epoch after the batches it had done (Keras'
   * `BackupAndRestore` skips those steps). The epoch's order is unchanged; later iterations are whole.
   */
  skipInNextEpoch(count: number): void {
    if (!(Number.isInteger(count) && count >= 0 && count <= this.size)) {
      throw new Error(`skipInNextEpoch: count must be a whole number in [0, ${this.size}], got ${count}`);
    }
    this.skipNext = count;
  }

  /** The file indices, grouped in elements, that epoch `epoch` yields (for tests and splits). */
  elementIndices(epoch: number): number[][] {
    return this.plan(epoch);
  }

  /** A dataset over the same source with another plan (same files, batches and seed). */
  private derive(plan: EpochPlan, size: number, prefetchSize = this.prefetchSize): ImageDataset {
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
  override async iterator(): ReturnType<TfDataset<ImageBatch>["iterator"]> {
    this.source.checkNotDisposed();
    return await tf.data.generator(() => this.epoch()).iterator();
  }

  /** One epoch; the epoch number (hence the order) is taken when iteration actually starts. */
  private async *epoch(): AsyncGenerator<ImageBatch> {
    this.source.checkNotDisposed(); // disposed between iterator() and the first element
    beginInterruptible(); // an Interrupt pressed before this epoch started is stale
    const skip = this.skipNext;
    this.skipNext = 0;
    const groups = this.plan(this.epochs++).slice(skip);
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

/**
 * @internal A dataset yielding the files `items` of `source` (in this order, or reshuffled every epoch),
 * in the elements `order` says.
 */
export function buildDataset(source: ImageSource, items: number[], order: EpochOrder): ImageDataset {
  return new ImageDataset({
    source,
    plan: epochPlan(items, order),
    size: order.batchSize === null ? items.length : Math.ceil(items.length / order.batchSize),
    batchSize: order.batchSize,
    shuffled: order.shuffle,
    seed: order.seed,
    items,
  });
}
