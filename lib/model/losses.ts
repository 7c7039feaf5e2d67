/**
 * The classifier's losses and metrics, Keras' semantics on logits:
 * - one logit (two classes, the tutorial): `BinaryCrossentropy(from_logits=True)` and `accuracy` with the
 *   logit thresholded at 0;
 * - `n ≥ 3` logits: `SparseCategoricalCrossentropy(from_logits=True)` and `accuracy` as the argmax's
 *   match with the integer label (Keras' `sparse_categorical_accuracy`).
 * Both accuracies are named `accuracy`, so `fit` reports `accuracy` / `val_accuracy` whatever the head.
 *
 * Labels may be int32 `[b]` (as `imageDatasetFromDirectory` yields them) or any shape with `b` elements
 * (`b` per logit for the binary head, one per row for the categorical head). Out-of-range labels are
 * caught at the boundary (`fit` / `evaluate` in `train.ts`), not here: these run every step.
 *
 * @module
 */
import { tf } from "../runtime/mod.ts";
import type { Tensor } from "../runtime/mod.ts";

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

/**
 * Per-example accuracy `[b]` (1 or 0) of `[b, n]` logits against class indices: the argmax is the
 * prediction (ties: the first index, as Keras' `sparse_categorical_accuracy`).
 */
function sparseCategoricalAccuracy(yTrue: Tensor, logits: Tensor): Tensor {
  return tf.tidy(() => {
    const y = sparseLabels("sparseCategoricalAccuracy", yTrue, logits);
    return tf.cast(tf.equal(tf.argMax(logits, -1), y), "float32");
  });
}
/** {@link sparseCategoricalAccuracy} named `accuracy`, for Keras' history keys. */
export const categoricalAccuracy: LossOrMetric = Object.defineProperty(
  sparseCategoricalAccuracy,
  "name",
  { value: "accuracy" },
);

/** Logits of the head for `numClasses` classes: one for two classes (the tutorial's), else one per class. */
export function logitsFor(numClasses: number): number {
  return numClasses === 2 ? 1 : numClasses;
}

/** Classes a head of `units` logits tells apart: two for one logit, else one per logit. */
export function classesFor(units: number): number {
  return units === 1 ? 2 : units;
}

/** The loss and the `accuracy` metric for a head of `units` logits (1: binary; ≥ 3: sparse categorical). */
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
