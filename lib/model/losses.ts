/**
 * The classifier's losses and metrics, Keras' semantics on logits, and the head width that picks them:
 * - one logit (two classes, the tutorial): `BinaryCrossentropy(from_logits=True)` and `accuracy` with the
 *   logit thresholded at 0 (Keras' `BinaryAccuracy(threshold=0)`);
 * - `n ≥ 3` logits: `SparseCategoricalCrossentropy(from_logits=True)` and `accuracy` as the argmax's
 *   match with the integer label (Keras' `sparse_categorical_accuracy`).
 * Both accuracies are named `accuracy`, so `fit` reports `accuracy` / `val_accuracy` whatever the head.
 *
 * The Keras-named factories ({@link binaryCrossentropy}, {@link binaryAccuracy},
 * {@link sparseCategoricalCrossentropy}, {@link sparseCategoricalAccuracy}) return these very functions,
 * for `model.compile({ optimizer, loss, metrics })` as the tutorial writes it: `fit`'s compiled step
 * (`lib/train/train_graph.ts`) recognises the loss and metric by identity with {@link lossAndMetricFor}'s.
 *
 * Labels may be int32 `[b]` (as `imageDatasetFromDirectory` yields them) or any shape with `b` elements
 * (`b` per logit for the binary head, one per row for the categorical head). Out-of-range labels are
 * caught at the boundary (`fit` / `evaluate` in `lib/train/`), not here: these run every step.
 *
 * @module
 */
import { tf } from "../runtime/mod.ts";
import type { LayersModel, Tensor } from "../runtime/mod.ts";

/** A per-example loss or metric `(yTrue, logits) → [b]`, as `model.compile` takes them. */
export type LossOrMetric = (yTrue: Tensor, logits: Tensor) => Tensor;

function aligned(fn: string, yTrue: Tensor, logits: Tensor): Tensor {
  if (yTrue.size !== logits.size) {
    throw new Error(
      `${fn}: labels of shape [${yTrue.shape}] do not match logits of shape [${logits.shape}] ` +
        `(expected one label per logit)`,
    );
  }
  const y = yTrue.dtype === "float32" ? yTrue : tf.cast(yTrue, "float32");
  return y.reshape(logits.shape);
}

/**
 * Per-example binary cross-entropy from logits `z`, `[b]`: `max(z, 0) − z·y + log(1 + e^−|z|)`, which
 * never overflows (TensorFlow's `sigmoid_cross_entropy_with_logits`).
 */
export function binaryCrossentropyFromLogits(yTrue: Tensor, logits: Tensor): Tensor {
  return tf.tidy(() => {
    const y = aligned("binaryCrossentropyFromLogits", yTrue, logits);
    const z = logits.dtype === "float32" ? logits : tf.cast(logits, "float32");
    const loss = tf.add(tf.sub(tf.relu(z), tf.mul(z, y)), tf.log1p(tf.exp(tf.neg(tf.abs(z)))));
    return loss.rank > 1 ? tf.mean(loss, -1) : loss;
  });
}

/**
 * Per-example accuracy `[b]` (1 or 0) of logits against 0/1 labels: a logit > 0 predicts class 1.
 * Named `accuracy` so `fit` reports `accuracy` / `val_accuracy`, as Keras does.
 */
export function accuracy(yTrue: Tensor, logits: Tensor): Tensor {
  return tf.tidy(() => {
    const y = aligned("accuracy", yTrue, logits);
    const hit = tf.cast(tf.equal(tf.cast(tf.greater(logits, 0), "float32"), y), "float32");
    return hit.rank > 1 ? tf.mean(hit, -1) : hit;
  });
}

/** Integer labels `[b]` for `[b, n]` logits. */
function sparseLabels(fn: string, yTrue: Tensor, logits: Tensor): Tensor {
  if (logits.rank !== 2 || yTrue.size !== logits.shape[0]) {
    throw new Error(
      `${fn}: labels of shape [${yTrue.shape}] do not match logits of shape [${logits.shape}] ` +
        `(expected one integer class index per row of [batch, classes] logits)`,
    );
  }
  const y = yTrue.reshape([logits.shape[0]]);
  return y.dtype === "int32" ? y : tf.cast(y, "int32");
}

/**
 * Per-example sparse categorical cross-entropy from logits `z` `[b, n]` and class indices `[b]`:
 * `logsumexp(z) − z[y]` (TensorFlow's `sparse_softmax_cross_entropy_with_logits`, stable for large logits).
 */
export function sparseCategoricalCrossentropyFromLogits(yTrue: Tensor, logits: Tensor): Tensor {
  return tf.tidy(() => {
    const y = sparseLabels("sparseCategoricalCrossentropyFromLogits", yTrue, logits);
    const z = logits.dtype === "float32" ? logits : tf.cast(logits, "float32");
    const picked = tf.sum(tf.mul(z, tf.oneHot(y, z.shape[1]!)), -1);
    return tf.sub(tf.logSumExp(z, -1), picked);
  });
}

/** {@link categoricalAccuracy}'s computation. */
function argmaxAccuracy(yTrue: Tensor, logits: Tensor): Tensor {
  return tf.tidy(() => {
    const y = sparseLabels("sparseCategoricalAccuracy", yTrue, logits);
    return tf.cast(tf.equal(tf.argMax(logits, -1), y), "float32");
  });
}
/**
 * Per-example accuracy `[b]` (1 or 0) of `[b, n]` logits against class indices, named `accuracy` for
 * Keras' history keys: the argmax is the prediction (ties: the first index, as Keras'
 * `sparse_categorical_accuracy`).
 */
export const categoricalAccuracy: LossOrMetric = Object.defineProperty(
  argmaxAccuracy,
  "name",
  { value: "accuracy" },
);

/**
 * Logits of the head for `numClasses` classes: one for two classes (the tutorial's), else one per class.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { classesFor, logitsFor } from "./mod.ts";
 *
 * assert.equal(logitsFor(2), 1);
 * assert.equal(logitsFor(5), 5);
 * assert.equal(classesFor(logitsFor(2)), 2);
 * ```
 */
export function logitsFor(numClasses: number): number {
  return numClasses === 2 ? 1 : numClasses;
}

/**
 * Classes a head of `units` logits tells apart: two for one logit, else one per logit.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { classesFor } from "./mod.ts";
 *
 * assert.equal(classesFor(1), 2);
 * assert.equal(classesFor(4), 4);
 * ```
 */
export function classesFor(units: number): number {
  return units === 1 ? 2 : units;
}

/**
 * The loss and the `accuracy` metric for a head of `units` logits (1: binary; ≥ 3: sparse categorical) —
 * what `compileClassifier` passes to `model.compile`, and what `fit`'s compiled step can write.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { accuracy, binaryCrossentropyFromLogits, lossAndMetricFor } from "./mod.ts";
 *
 * const { loss, metric } = lossAndMetricFor(1);
 * assert.equal(loss, binaryCrossentropyFromLogits);
 * assert.equal(metric, accuracy);
 * assert.equal(lossAndMetricFor(3).metric.name, "accuracy");
 * assert.throws(() => lossAndMetricFor(2), /at least 3 logits/);
 * ```
 */
export function lossAndMetricFor(units: number): { loss: LossOrMetric; metric: LossOrMetric } {
  if (units === 1) return { loss: binaryCrossentropyFromLogits, metric: accuracy };
  if (Number.isInteger(units) && units >= 3) {
    return { loss: sparseCategoricalCrossentropyFromLogits, metric: categoricalAccuracy };
  }
  throw new Error(
    `lossAndMetricFor: expected a head of 1 logit (two classes) or at least 3 logits (one per class), ` +
      `got ${units}`,
  );
}

/**
 * Logits per image of a classifier `model`: 1 (two classes) or the number of classes — the width that
 * picks the loss ({@link lossAndMetricFor}).
 */
export function headUnits(model: LayersModel): number {
  const shape = model.outputs[0]?.shape;
  const units = shape?.[shape.length - 1];
  if (model.outputs.length !== 1 || shape.length !== 2 || typeof units !== "number") {
    throw new Error(
      `model "${model.name}" is not a classifier: expected one output of shape [batch, logits], got ` +
        `${model.outputs.map((o) => `[${o.shape.map((d) => d ?? "null")}]`).join(", ")}`,
    );
  }
  return units;
}

/** Classes a classifier `model` tells apart: 2 for one logit, else one per logit. */
export function numClassesOf(model: LayersModel): number {
  return classesFor(headUnits(model));
}

/** Options of {@link binaryCrossentropy} and {@link sparseCategoricalCrossentropy}, Keras' `from_logits`. */
export interface CrossentropyOptions {
  /** Must be `true`: the classifier's head outputs logits (no sigmoid or softmax layer). */
  fromLogits: boolean;
}

function checkFromLogits(fn: string, options: CrossentropyOptions | undefined): void {
  if (options?.fromLogits !== true) {
    throw new Error(
      `${fn}: pass { fromLogits: true } — the classifier's Dense head outputs logits, as in the tutorial's ` +
        `${fn === "binaryCrossentropy" ? "BinaryCrossentropy" : "SparseCategoricalCrossentropy"}` +
        `(from_logits=True); got ${JSON.stringify(options ?? {})}`,
    );
  }
}

/**
 * Keras' `tf.keras.losses.BinaryCrossentropy(from_logits=True)`, the tutorial's loss for `compile`: the
 * function {@link binaryCrossentropyFromLogits} itself (so `fit`'s compiled step recognises it).
 *
 * @example The tutorial's loss is the one-logit head's loss
 * ```ts
 * import assert from "node:assert";
 * import { binaryCrossentropy, binaryCrossentropyFromLogits, lossAndMetricFor } from "./mod.ts";
 *
 * const loss = binaryCrossentropy({ fromLogits: true });
 * assert.equal(loss, binaryCrossentropyFromLogits);
 * assert.equal(loss, lossAndMetricFor(1).loss);
 * ```
 */
export function binaryCrossentropy(options: CrossentropyOptions): LossOrMetric {
  checkFromLogits("binaryCrossentropy", options);
  return binaryCrossentropyFromLogits;
}

/**
 * Keras' `tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True)`, the loss of a head of `n ≥ 3`
 * logits: the function {@link sparseCategoricalCrossentropyFromLogits} itself.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { lossAndMetricFor, sparseCategoricalCrossentropy } from "./mod.ts";
 *
 * assert.equal(sparseCategoricalCrossentropy({ fromLogits: true }), lossAndMetricFor(5).loss);
 * ```
 */
export function sparseCategoricalCrossentropy(options: CrossentropyOptions): LossOrMetric {
  checkFromLogits("sparseCategoricalCrossentropy", options);
  return sparseCategoricalCrossentropyFromLogits;
}

/** Options of {@link binaryAccuracy} and {@link sparseCategoricalAccuracy}. */
export interface AccuracyOptions {
  /** The history key; must be `"accuracy"` (the default), as the tutorial names it. */
  name?: string;
}

function checkAccuracyName(fn: string, name: string | undefined): void {
  if (name !== undefined && name !== "accuracy") {
    throw new Error(
      `${fn}: name must be "accuracy" (fit's history keys accuracy / val_accuracy, as in the tutorial), ` +
        `got ${JSON.stringify(name)}`,
    );
  }
}

/**
 * Keras' `tf.keras.metrics.BinaryAccuracy(threshold=0, name="accuracy")`, the tutorial's metric: the
 * function {@link accuracy} itself. `threshold` must be 0 — a logit of 0 is a probability of 0.5.
 *
 * @example The tutorial's metric
 * ```ts
 * import assert from "node:assert";
 * import { accuracy, binaryAccuracy } from "./mod.ts";
 *
 * assert.equal(binaryAccuracy({ threshold: 0, name: "accuracy" }), accuracy);
 * assert.throws(() => binaryAccuracy({ threshold: 0.5 }), /threshold must be 0/);
 * ```
 */
export function binaryAccuracy(options: AccuracyOptions & { threshold: number }): LossOrMetric {
  if (options?.threshold !== 0) {
    throw new Error(
      `binaryAccuracy: threshold must be 0 — the classifier outputs logits, and logit 0 is probability 0.5 ` +
        `(the tutorial's BinaryAccuracy(threshold=0)); got ${JSON.stringify(options?.threshold)}`,
    );
  }
  checkAccuracyName("binaryAccuracy", options.name);
  return accuracy;
}

/**
 * Keras' `sparse_categorical_accuracy` named `accuracy`, the metric of a head of `n ≥ 3` logits: the
 * function {@link categoricalAccuracy} itself.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { lossAndMetricFor, sparseCategoricalAccuracy } from "./mod.ts";
 *
 * assert.equal(sparseCategoricalAccuracy(), lossAndMetricFor(3).metric);
 * ```
 */
export function sparseCategoricalAccuracy(options: AccuracyOptions = {}): LossOrMetric {
  checkAccuracyName("sparseCategoricalAccuracy", options.name);
  return categoricalAccuracy;
}
