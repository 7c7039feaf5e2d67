/**
 * The memory budget of decoded-image caches, so that a dataset larger than memory streams instead of
 * growing the process until the system kills it.
 *
 * A decoded 160×160 RGB image takes 307 KB as float32: 1,000 images are 0.3 GB, a user's 50,000 photos at
 * 224×224 would be 30 GB. With `cache: "auto"`, images are kept decoded while they fit in a budget
 * ({@link resolveCacheBudget}: the `cacheBudgetMB` option, else `TL_CACHE_MB`, else a share of the memory
 * the system reports available) and the others are decoded again every epoch. Keeping the encoded file
 * bytes instead is left to the operating system's page cache, which does it without counting against the
 * process.
 *
 * Datasets without their own `cacheBudgetMB` share one process-wide budget (training and validation
 * together), so that a notebook creating several datasets still stays within it. Reservations are given
 * back when a cache is cleared or its dataset is garbage-collected.
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
  bytes: number;
  /** `"cacheBudgetMB"`, `"TL_CACHE_MB"` or a description of the default. */
  source: string;
}

/** Environment access (`Deno.env` or a map in tests). */
export interface Env {
  get(key: string): string | undefined;
}

/** `TL_CACHE_MB`, or `undefined` when unset or not readable (no `--allow-env`). */
function cacheEnv(env: Env): string | undefined {
  try {
    return env.get("TL_CACHE_MB");
  } catch {
    return undefined;
  }
}

/** `megabytes` as bytes, or a clear error naming `what` for anything but a number ≥ 0. */
function parseMB(value: unknown, what: string): number {
  const n = typeof value === "string" && value.trim() !== "" ? Number(value) : value;
  if (typeof n !== "number" || !Number.isFinite(n) || n < 0) {
    throw new Error(`${what} must be a number of megabytes ≥ 0, got ${JSON.stringify(value)}`);
  }
  return Math.floor(n * 1e6);
}

/** The budget from the option, else `TL_CACHE_MB`, else {@link DEFAULT_BUDGET_SHARE} of the available memory. */
export function resolveCacheBudget(cacheBudgetMB: number | undefined, env: Env = Deno.env): CacheBudget {
  if (cacheBudgetMB !== undefined) {
    return { bytes: parseMB(cacheBudgetMB, "cacheBudgetMB"), source: "cacheBudgetMB" };
  }
  const fromEnv = cacheEnv(env);
  if (fromEnv !== undefined && fromEnv !== "") {
    return { bytes: parseMB(fromEnv, "TL_CACHE_MB"), source: "TL_CACHE_MB" };
  }
  const available = availableMemoryBytes();
  return {
    bytes: Math.floor(available * DEFAULT_BUDGET_SHARE),
    source: `${DEFAULT_BUDGET_SHARE * 100}% of the ${formatMB(available)} available; set TL_CACHE_MB or ` +
      `cacheBudgetMB to change`,
  };
}

/** A size as people say it: `576 bytes`, `147 kB`, `3.2 MB`, `301 MB`, `5.5 GB` (powers of 1000, as `TL_CACHE_MB`). */
export function plainSize(bytes: number): string {
  if (bytes >= 1e9) return `${(bytes / 1e9).toFixed(1)} GB`;
  if (bytes >= 10e6) return `${Math.round(bytes / 1e6)} MB`;
  if (bytes >= 1e6) return `${(bytes / 1e6).toFixed(1)} MB`;
  return bytes >= 1e3 ? `${Math.round(bytes / 1e3)} kB` : `${Math.round(bytes)} bytes`;
}

/** Megabytes (10^6 bytes, as `TL_CACHE_MB`), one decimal. */
export function formatMB(bytes: number): string {
  return `${(bytes / 1e6).toFixed(1)} MB`;
}

/** A byte budget that caches reserve from; `Infinity` for the unbounded modes. */
export class MemoryBudget {
  used = 0;
  /** Bytes the caches using this budget would take with every image kept (for the dataset messages). */
  planned = 0;
  constructor(readonly limit: number, readonly source = "") {}

  /** Takes `bytes` when they fit; `false` (nothing taken) when they do not. */
  reserve(bytes: number): boolean {
    if (this.used + bytes > this.limit) return false;
    this.used += bytes;
    return true;
  }

  release(bytes: number): void {
    this.used = Math.max(0, this.used - bytes);
  }
}

let shared: { budget: MemoryBudget; key: string } | undefined;

/**
 * The process-wide budget for `cache: "auto"` without its own `cacheBudgetMB`: made on first use from
 * `TL_CACHE_MB` or the available memory, and made again when `TL_CACHE_MB` changes.
 */
export function sharedBudget(env: Env = Deno.env): MemoryBudget {
  const key = cacheEnv(env) ?? "";
  if (!shared || shared.key !== key) {
    const { bytes, source } = resolveCacheBudget(undefined, env);
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

  get(i: number): Pixels | undefined {
    return this.images.get(i);
  }

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
