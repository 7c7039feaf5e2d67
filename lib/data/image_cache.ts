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
 * given back when a cache is cleared or its dataset is garbage-collected.
 *
 * @module
 */
import fs from "node:fs";
import os from "node:os";

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

/** Pixel arrays kept per image. */
export type Pixels = Float32Array | Uint8ClampedArray;

/** A budget reservation outlives a dropped dataset only until it is garbage-collected. */
const finalizer = new FinalizationRegistry<
  { budget: MemoryBudget; ledger: { bytes: number; planned: number } }
>(
  ({ budget, ledger }) => {
    budget.release(ledger.bytes);
    budget.planned -= ledger.planned;
  },
);

/**
 * Decoded images of one dataset source by file index, within a {@link MemoryBudget}: `put` keeps an image
 * only when its bytes fit; the others are simply not kept (and decoded again when next needed).
 */
export class ImageCache {
  private readonly images = new Map<number, Pixels>();
  private readonly ledger: { bytes: number; planned: number };

  /** `planned`: the bytes of all the images this cache may be asked to keep. */
  constructor(readonly budget: MemoryBudget, planned = 0) {
    this.ledger = { bytes: 0, planned };
    budget.planned += planned;
    finalizer.register(this, { budget, ledger: this.ledger }, this);
  }

  /** The pixels kept for image `i`, if any. */
  get(i: number): Pixels | undefined {
    return this.images.get(i);
  }

  /** Whether image `i` is kept. */
  has(i: number): boolean {
    return this.images.has(i);
  }

  /** Whether `bytes` more would fit now (without taking them). */
  fits(bytes: number): boolean {
    return this.budget.used + bytes <= this.budget.limit;
  }

  /** Keeps `pixels` for image `i` if they fit in the budget; returns whether they were kept. */
  put(i: number, pixels: Pixels): boolean {
    if (this.images.has(i)) return true;
    if (!this.budget.reserve(pixels.byteLength)) return false;
    this.images.set(i, pixels);
    this.ledger.bytes += pixels.byteLength;
    return true;
  }

  /** Images kept. */
  get size(): number {
    return this.images.size;
  }

  /** Bytes kept. */
  get bytes(): number {
    return this.ledger.bytes;
  }

  /** Drops every image and gives their bytes back to the budget. */
  clear(): void {
    this.budget.release(this.ledger.bytes);
    this.ledger.bytes = 0;
    this.images.clear();
  }
}
