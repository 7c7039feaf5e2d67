/**
 * The memory budget of decoded-image caches, so that a dataset larger than memory streams instead of
 * growing the process until the system kills it.
 *
 * A decoded 160×160 RGB image takes 307 KB as float32: 1,000 images are 0.3 GB, a user's 50,000 photos at
 * 224×224 would be 30 GB. With `cache: "auto"`, images are kept decoded while they fit in a
 * {@link MemoryBudget} and the others are decoded again every epoch. Keeping the encoded file bytes
 * instead is left to the operating system's page cache, which does it without counting against the
 * process.
 *
 * A budget's size is given, never looked up here ({@link resolveCacheBudget}): a dataset's own
 * `cacheBudgetMB`, or the size of the process-wide budget ({@link sharedBudget}) that the datasets without
 * their own share (training and validation together, so that a notebook creating several datasets still
 * stays within it); without either, a share of the memory the system reports available. Reservations are
 * given back when a cache is cleared or disposed, or its dataset is garbage-collected.
 *
 * What is kept depends on the mode ({@link CachedImage}). The float32 modes keep each image as the
 * TensorFlow tensor the decoder made (a row of the decoded batch, usually sharing its buffer): reading it
 * back into JavaScript memory would cost the first epoch a copy and a page fault for every page of the
 * cache, and a later batch is one `stack` in TensorFlow. `"uint8"` keeps JavaScript arrays: its rounding to bytes is
 * done in JavaScript (`Uint8ClampedArray`), and a later batch needs a float32 copy made anyway. Tensors are
 * TensorFlow's memory, which the garbage collector does not see: they are freed by `clear()` and
 * `dispose()` (a dataset's `clearCache()` / `dispose()`), or, as a last resort, when a dropped cache is
 * collected.
 *
 * @module
 */
import fs from "node:fs";
import os from "node:os";
import { tf } from "../runtime/mod.ts";
import type { Tensor as TfTensor } from "../runtime/mod.ts";

/** @internal TensorFlow.js' `Tensor`, documented by tfjs (keeps `deno doc --lint` from asking us to). */
type Tensor = TfTensor;

/** Share of the available memory the default budget takes: the model, TensorFlow and batches need the rest. */
export const DEFAULT_BUDGET_SHARE = 0.25;

/** Bytes of memory the system reports available (Linux `MemAvailable`; else Deno's or Node's figure). */
export function availableMemoryBytes(): number {
  try {
    const m = /MemAvailable:\s+(\d+) kB/.exec(fs.readFileSync("/proc/meminfo", "utf8"));
    if (m) return Number(m[1]) * 1024;
  } catch { /* not Linux */ }
  try {
    return Deno.systemMemoryInfo().available;
  } catch {
    return os.freemem();
  }
}

/** A byte budget and where it comes from (for the dataset message). */
export interface CacheBudget {
  /** The budget in bytes. */
  bytes: number;
  /** The setting that gave it (`"cacheBudgetMB"`, …), or a description of the default. */
  source: string;
}

/** How {@link resolveCacheBudget} sizes a budget. */
export interface CacheBudgetOptions {
  /** Megabytes (10^6 bytes) ≥ 0; default: {@link DEFAULT_BUDGET_SHARE} of the memory available. */
  budgetMB?: number;
  /** The setting `budgetMB` comes from, named in errors and messages; default `"cacheBudgetMB"`. */
  setting?: string;
}

/**
 * The budget `budgetMB` in bytes, or, without it, {@link DEFAULT_BUDGET_SHARE} of the memory available.
 * A value that is not a number of megabytes ≥ 0 is an error naming `setting`.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { resolveCacheBudget } from "./mod.ts";
 *
 * assert.deepStrictEqual(resolveCacheBudget({ budgetMB: 12.5 }), { bytes: 12_500_000, source: "cacheBudgetMB" });
 * assert.ok(resolveCacheBudget().source.startsWith("25% of the "));
 * assert.throws(() => resolveCacheBudget({ budgetMB: -1, setting: "TL_CACHE_MB" }), /TL_CACHE_MB must be/);
 * ```
 */
export function resolveCacheBudget(options: CacheBudgetOptions = {}): CacheBudget {
  const { budgetMB, setting = "cacheBudgetMB" } = options;
  if (budgetMB !== undefined) {
    if (typeof budgetMB !== "number" || !Number.isFinite(budgetMB) || budgetMB < 0) {
      throw new Error(`${setting} must be a number of megabytes ≥ 0, got ${JSON.stringify(budgetMB)}`);
    }
    return { bytes: Math.floor(budgetMB * 1e6), source: setting };
  }
  const available = availableMemoryBytes();
  return {
    bytes: Math.floor(available * DEFAULT_BUDGET_SHARE),
    source: `${DEFAULT_BUDGET_SHARE * 100}% of the ${formatMB(available)} available; set TL_CACHE_MB or ` +
      `cacheBudgetMB to change`,
  };
}

/**
 * A size as people say it, in powers of 1000 (as the budgets in MB).
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { plainSize } from "./image_cache.ts";
 *
 * assert.deepStrictEqual([576, 147_456, 3_240_000, 301_100_000].map(plainSize), [
 *   "576 bytes",
 *   "147 kB",
 *   "3.2 MB",
 *   "301 MB",
 * ]);
 * ```
 */
export function plainSize(bytes: number): string {
  if (bytes >= 1e9) return `${(bytes / 1e9).toFixed(1)} GB`;
  if (bytes >= 10e6) return `${Math.round(bytes / 1e6)} MB`;
  if (bytes >= 1e6) return `${(bytes / 1e6).toFixed(1)} MB`;
  return bytes >= 1e3 ? `${Math.round(bytes / 1e3)} kB` : `${Math.round(bytes)} bytes`;
}

/** Megabytes (10^6 bytes, as the budgets), one decimal: `formatMB(2_345_678)` is `"2.3 MB"`. */
export function formatMB(bytes: number): string {
  return `${(bytes / 1e6).toFixed(1)} MB`;
}

/**
 * A byte budget that caches reserve from; `Infinity` for the unbounded modes.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { MemoryBudget } from "./image_cache.ts";
 *
 * const budget = new MemoryBudget(100);
 * assert.ok(budget.reserve(60));
 * assert.ok(!budget.reserve(60), "160 > 100: nothing taken");
 * budget.release(60);
 * assert.strictEqual(budget.used, 0);
 * ```
 */
export class MemoryBudget {
  /** Bytes reserved now. */
  used = 0;
  /** Bytes the caches using this budget would take with every image kept (for the dataset messages). */
  planned = 0;

  /** `limit` bytes; `source` says where the size comes from (see {@link CacheBudget}). */
  constructor(readonly limit: number, readonly source = "") {}

  /** Takes `bytes` when they fit; `false` (nothing taken) when they do not. */
  reserve(bytes: number): boolean {
    if (this.used + bytes > this.limit) return false;
    this.used += bytes;
    return true;
  }

  /** Gives `bytes` back. */
  release(bytes: number): void {
    this.used = Math.max(0, this.used - bytes);
  }
}

let shared: { budget: MemoryBudget; key: string } | undefined;

/**
 * The process-wide budget of the datasets without their own: sized by `options` (see
 * {@link resolveCacheBudget}) on first use, and made again when they change.
 */
export function sharedBudget(options: CacheBudgetOptions = {}): MemoryBudget {
  const key = JSON.stringify([options.budgetMB, options.setting]);
  if (!shared || shared.key !== key) {
    const { bytes, source } = resolveCacheBudget(options);
    shared = { budget: new MemoryBudget(bytes, source), key };
  }
  return shared.budget;
}

/**
 * What the cache keeps of one image: a float32 `[height, width, channels]` tensor (`cache: "float32"` and
 * `"auto"`), or the pixels rounded to bytes (`cache: "uint8"`).
 */
export type CachedImage = Tensor | Uint8ClampedArray;

/** Bytes an image takes in the cache (what the budget counts). */
export function cachedBytes(image: CachedImage): number {
  return image instanceof Uint8ClampedArray ? image.byteLength : image.size * 4;
}

/**
 * Frees the tensors among `images`. Never throws: it also runs from the finalizer, possibly after the
 * backend was removed or reset, when there is nothing left to free.
 */
function disposeImages(images: Iterable<CachedImage>): void {
  for (const image of images) {
    if (image instanceof Uint8ClampedArray) continue;
    try {
      image.dispose();
    } catch { /* the backend is gone, and its memory with it */ }
  }
}

/** What a cache holds, reachable by the finalizer without holding the cache itself. */
interface CacheState {
  budget: MemoryBudget;
  ledger: { bytes: number; planned: number };
  images: Map<number, CachedImage>;
}

/** Drops a cache's images (freeing the tensors) and gives their bytes back to the budget. */
function emptyState({ budget, ledger, images }: CacheState): void {
  budget.release(ledger.bytes);
  ledger.bytes = 0;
  disposeImages(images.values());
  images.clear();
}

/** Empties a cache and gives back its planned bytes too, once. */
function releaseState(state: CacheState): void {
  emptyState(state);
  state.budget.planned -= state.ledger.planned;
  state.ledger.planned = 0;
}

/**
 * A dropped dataset's cache outlives it only until it is garbage-collected. A last resort: V8 does not
 * count TensorFlow's memory, so it may collect late; the datasets' owners call `dispose()`.
 */
const finalizer = new FinalizationRegistry<CacheState>((state) => {
  try {
    releaseState(state);
  } catch { /* a finalizer must not throw */ }
});

/**
 * Decoded images of one dataset source by file index, within a {@link MemoryBudget}: `put` keeps an image
 * only when its bytes fit; the others are simply not kept (and decoded again when next needed). The cache
 * owns what it is given: an image not kept is freed at once, the kept ones by {@link ImageCache.clear} and
 * {@link ImageCache.dispose}.
 */
export class ImageCache {
  private readonly state: CacheState;
  private disposed = false;

  /** `planned`: the bytes of all the images this cache may be asked to keep. */
  constructor(readonly budget: MemoryBudget, planned = 0) {
    this.state = { budget, ledger: { bytes: 0, planned }, images: new Map() };
    budget.planned += planned;
    finalizer.register(this, this.state, this);
  }

  /** The image kept for file `i`, if any (owned by the cache: not to be disposed). */
  get(i: number): CachedImage | undefined {
    return this.state.images.get(i);
  }

  /** Whether image `i` is kept. */
  has(i: number): boolean {
    return this.state.images.has(i);
  }

  /** Whether `bytes` more would fit now (without taking them). */
  fits(bytes: number): boolean {
    return this.budget.used + bytes <= this.budget.limit;
  }

  /**
   * Keeps `image` for file `i` if it fits in the budget; returns whether it was kept. The cache takes
   * `image` over either way: a tensor not kept (no room, already kept, cache disposed) is disposed here, one
   * kept is protected from any enclosing `tf.tidy`.
   */
  put(i: number, image: CachedImage): boolean {
    const bytes = cachedBytes(image);
    if (this.disposed || this.state.images.has(i) || !this.budget.reserve(bytes)) {
      disposeImages([image]);
      return this.state.images.has(i);
    }
    if (!(image instanceof Uint8ClampedArray)) tf.keep(image);
    this.state.images.set(i, image);
    this.state.ledger.bytes += bytes;
    return true;
  }

  /** Images kept. */
  get size(): number {
    return this.state.images.size;
  }

  /** Bytes kept. */
  get bytes(): number {
    return this.state.ledger.bytes;
  }

  /** Drops every image (freeing the tensors) and gives their bytes back to the budget. */
  clear(): void {
    emptyState(this.state);
  }

  /**
   * Clears the cache for good and gives back its planned bytes too; later `put`s keep nothing. Calling it
   * again does nothing.
   */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    finalizer.unregister(this);
    releaseState(this.state);
  }
}
