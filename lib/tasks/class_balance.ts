/**
 * Class imbalance in `deno task train`: how many training images each class has, whether the classes are
 * imbalanced enough to weight them, and the warning saying so. A folder of 300 photos of one class and 20
 * of another otherwise trains a model that mostly answers the large class, and its accuracy looks good.
 * The weights are Keras' and scikit-learn's "balanced" ones (`balancedClassWeights`, `lib/train/`).
 *
 * @module
 */
import path from "node:path";
import { balancedClassWeights } from "../train/mod.ts";
import type { ClassWeightRecord } from "./metadata.ts";

/** `--class-weight`: `"balanced"` weights, or `"none"` (every class weighs 1). */
export type ClassWeightMode = "balanced" | "none";

/** Largest class ≥ this × smallest: imbalanced — warned about, and balanced by default. */
export const IMBALANCE_RATIO = 3;

/**
 * Training images per class, counted from their paths: each file lies in `trainDir/<class>/…`.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { classCounts } from "./mod.ts";
 *
 * const files = ["/d/cats/1.jpg", "/d/dogs/2.jpg", "/d/dogs/3.jpg"];
 * assert.deepEqual(classCounts(files, "/d", ["cats", "dogs"]), [1, 2]);
 * ```
 */
export function classCounts(
  files: readonly string[],
  trainDir: string,
  classNames: readonly string[],
): number[] {
  const counts = classNames.map(() => 0);
  for (const file of files) {
    const i = classNames.indexOf(path.relative(trainDir, file).split(/[\\/]/)[0]);
    if (i >= 0) counts[i]++;
  }
  return counts;
}

/**
 * The class weighting of a run: `mode` when given (`chosenBy: "user"`), else balanced when the largest
 * class has at least {@link IMBALANCE_RATIO} times the images of the smallest.
 */
export function classWeighting(counts: readonly number[], mode?: ClassWeightMode): ClassWeightRecord {
  const smallest = Math.min(...counts), largest = Math.max(...counts);
  const imbalanceRatio = smallest > 0 ? largest / smallest : Infinity;
  const chosen = mode ?? (imbalanceRatio >= IMBALANCE_RATIO ? "balanced" : "none");
  return {
    mode: chosen,
    chosenBy: mode === undefined ? "default" : "user",
    counts: [...counts],
    weights: chosen === "balanced" ? balancedClassWeights(counts) : counts.map(() => 1),
    imbalanceRatio,
  };
}

/** The warning for an imbalanced run (`null` below {@link IMBALANCE_RATIO}), naming the classes and the weighting. */
export function imbalanceWarning(record: ClassWeightRecord, classNames: readonly string[]): string | null {
  if (!(record.imbalanceRatio >= IMBALANCE_RATIO)) return null;
  const { counts } = record;
  const big = counts.indexOf(Math.max(...counts)), small = counts.indexOf(Math.min(...counts));
  const what = record.mode === "balanced"
    ? "training with balanced class weights (--class-weight none: without)"
    : "training without class weights (--class-weight balanced: with); the accuracy favours the large class";
  return `Warning: the classes are imbalanced — "${classNames[big]}" has ${counts[big]} training images, ` +
    `"${classNames[small]}" ${counts[small]} (${record.imbalanceRatio.toFixed(1)}×): ${what}`;
}
