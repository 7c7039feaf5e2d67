/**
 * Which files a dataset yields each epoch, and in which order: a seeded permutation of the file list made
 * again for every epoch, cut into batches. Everything here is plain arithmetic on file indices, the same on
 * every machine, so that a seed gives the same batches everywhere and the order never depends on the
 * decoded-image cache.
 *
 * Keras shuffles through tf.data's buffer, whose order cannot be reproduced outside TensorFlow; a full
 * permutation per epoch is the closest order that can (see `docs/data-pipeline.md`).
 *
 * @module
 */

/** The files, grouped in elements (batches, or single images), that epoch `epoch` yields. */
export type EpochPlan = (epoch: number) => number[][];

/**
 * The random streams of one seed: the file-list shuffle, the per-epoch reshuffle, and the reshuffles of the
 * two parts of `splitValidationTest` (each part its own, so that their orders are independent).
 */
export const STREAM = { files: 0, epochs: 1, test: 2, validation: 3 } as const;

/**
 * A small counter-based generator (mulberry32) of numbers in [0, 1), seeded from `(seed, stream, epoch)`.
 *
 * @example The same seed, stream and epoch give the same numbers
 * ```ts
 * import assert from "node:assert";
 * import { seededRandom } from "./epoch_plan.ts";
 *
 * const a = seededRandom(42, 1, 0);
 * const b = seededRandom(42, 1, 0);
 * const draws = [a(), a(), a()];
 * assert.deepStrictEqual([b(), b(), b()], draws);
 * assert.ok(draws.every((x) => x >= 0 && x < 1));
 * assert.notDeepStrictEqual(seededRandom(42, 1, 1)(), draws[0]);
 * ```
 */
export function seededRandom(seed: number, stream: number, epoch: number): () => number {
  let state = Math.imul(seed ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(stream + 1, 0xc2b2ae35) ^
    Math.imul(epoch + 1, 0x27d4eb2f);
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * A Fisher–Yates permutation of `items` drawn from `next`; `items` itself is left as it is.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { seededRandom, shuffled } from "./epoch_plan.ts";
 *
 * const items = [0, 1, 2, 3, 4, 5];
 * const order = shuffled(items, seededRandom(7, 0, 0));
 * assert.deepStrictEqual([...order].sort(), items);
 * assert.deepStrictEqual(shuffled(items, seededRandom(7, 0, 0)), order);
 * ```
 */
export function shuffled<T>(items: readonly T[], next: () => number): T[] {
  const out = items.slice();
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(next() * (i + 1));
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

/**
 * `items` in groups of `size` (the last one smaller), or one group per item when `size` is `null`.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { chunk } from "./epoch_plan.ts";
 *
 * assert.deepStrictEqual(chunk([5, 6, 7, 8, 9], 2), [[5, 6], [7, 8], [9]]);
 * assert.deepStrictEqual(chunk([5, 6], null), [[5], [6]]);
 * ```
 */
export function chunk(items: number[], size: number | null): number[][] {
  if (size === null) return items.map((i) => [i]);
  const out: number[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/** How an {@link EpochPlan} batches and orders its files. */
export interface EpochOrder {
  /** Files per element; `null`: one file per element, unbatched. */
  batchSize: number | null;
  /** Reshuffle the files every epoch. */
  shuffle: boolean;
  /** The dataset's seed. */
  seed: number;
  /** The random stream of the per-epoch reshuffle ({@link STREAM}). */
  stream: number;
}

/**
 * The plan that yields `items` in batches, reshuffled every epoch when `order.shuffle`.
 *
 * @example Every epoch holds every file once; a shuffled plan reorders them from one epoch to the next
 * ```ts
 * import assert from "node:assert";
 * import { epochPlan } from "./epoch_plan.ts";
 *
 * const plan = epochPlan([0, 1, 2, 3, 4], { batchSize: 2, shuffle: true, seed: 3, stream: 1 });
 * assert.deepStrictEqual(plan(0).map((b) => b.length), [2, 2, 1]);
 * assert.deepStrictEqual(plan(1).flat().sort(), [0, 1, 2, 3, 4]);
 * assert.deepStrictEqual(plan(1), plan(1));
 * ```
 */
export function epochPlan(items: number[], order: EpochOrder): EpochPlan {
  const { batchSize, shuffle, seed, stream } = order;
  return (epoch) => chunk(shuffle ? shuffled(items, seededRandom(seed, stream, epoch)) : items, batchSize);
}
