/**
 * Keras' `class_weight` for {@link fit}: every training example's loss is multiplied by the weight of its
 * label, and the batch loss is the sum of the weighted losses over the batch size (Keras' default reduction,
 * `sum_over_batch_size` — not over the sum of the weights), which also scales the gradients. The metrics
 * are not weighted — Keras weights only `weighted_metrics`, not the compiled `metrics` — and neither is
 * the validation. {@link balancedClassWeights} is scikit-learn's and Keras' "balanced" weighting,
 * `n / (k · count)`.
 *
 * The compiled step (`train_graph.ts`) takes the weights as a fed vector and gathers each example's weight
 * by its label inside the graph; tfjs' own step (where the compiled one cannot run) gets the same weights
 * as its sample weights.
 *
 * @module
 */
import { tf } from "../runtime/mod.ts";
import type { LayersModel, Tensor } from "../runtime/mod.ts";

/** Weight per class index: `{ 0: 1, 1: 4.5 }` or `[1, 4.5]`; a class left out weighs 1 (as in Keras). */
export type ClassWeight = Readonly<Record<number, number>> | readonly number[];

/**
 * scikit-learn's and Keras' "balanced" class weights from the examples per class: `n / (k · countᵢ)` for
 * `n` examples in `k` classes, so that every class weighs as much in total.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { balancedClassWeights } from "./mod.ts";
 *
 * // 300 photos of one class, 20 of another: the rare class weighs 15 times more.
 * assert.deepStrictEqual(balancedClassWeights([300, 20]), [320 / 600, 320 / 40]);
 * ```
 */
export function balancedClassWeights(counts: readonly number[]): number[] {
  if (!Array.isArray(counts) || counts.length < 2) {
    throw new Error(
      `balancedClassWeights: expected the examples of each of ≥ 2 classes, got ${JSON.stringify(counts)}`,
    );
  }
  counts.forEach((c, i) => {
    if (!Number.isInteger(c) || c < 1) {
      throw new Error(
        `balancedClassWeights: class ${i} has ${c} examples — every class needs at least one (a class ` +
          `without examples cannot be balanced: add photos or remove its folder)`,
      );
    }
  });
  const n = counts.reduce((a, b) => a + b, 0);
  return counts.map((c) => n / (counts.length * c));
}

/** The classes `model`'s head tells apart: 2 for one logit, else one per logit. */
function classesOf(model: LayersModel): number {
  const units = model.outputs[0]?.shape.at(-1);
  if (model.outputs.length !== 1 || typeof units !== "number") {
    throw new Error(
      `fit: classWeight needs a model with one output of [batch, logits], "${model.name}" has not`,
    );
  }
  return units === 1 ? 2 : units;
}

/**
 * `classWeight` as one weight per class of `model` (missing classes 1), or an error naming the entry: keys
 * must be class indices of the head, weights finite and ≥ 0.
 */
export function classWeightVector(model: LayersModel, classWeight: ClassWeight): Float32Array {
  const k = classesOf(model);
  if (typeof classWeight !== "object" || classWeight === null) {
    throw new Error(
      `fit: classWeight must map class indices to weights, e.g. { 0: 1, 1: 4 }, got ${classWeight}`,
    );
  }
  const weights = new Float32Array(k).fill(1);
  for (const [key, w] of Object.entries(classWeight)) {
    const c = Number(key);
    if (!Number.isInteger(c) || c < 0 || c >= k) {
      throw new Error(
        `fit: classWeight has class ${JSON.stringify(key)}, but model "${model.name}" tells ${k} classes ` +
          `apart (indices 0–${k - 1}, in the dataset's classNames order)`,
      );
    }
    if (typeof w !== "number" || !Number.isFinite(w) || w < 0) {
      throw new Error(`fit: classWeight of class ${c} must be a finite number ≥ 0, got ${w}`);
    }
    weights[c] = w;
  }
  return weights;
}

/** The class weights of one `fit`, as a tensor the steps take. */
export class ClassWeighting {
  /** `[classes]` float32: the weight of each class. */
  readonly weights: Tensor;

  /** The weights of `classWeight` for `model`'s classes (checked: {@link classWeightVector}). */
  constructor(model: LayersModel, classWeight: ClassWeight) {
    this.weights = tf.tensor1d(classWeightVector(model, classWeight));
  }

  /** Each example's weight, by its label (`[b]` int or float class indices, or `[b, 1]`). */
  sampleWeights(labels: Tensor): Tensor {
    // Rounded as Keras rounds float labels (tfjs-node's Round is wrong for int32: cast first).
    return tf.tidy(() => {
      const classes = tf.cast(tf.round(tf.cast(tf.reshape(labels, [-1]), "float32")), "int32");
      return tf.gather(this.weights, classes);
    });
  }

  /** Frees the weights. */
  dispose(): void {
    this.weights.dispose();
  }
}
