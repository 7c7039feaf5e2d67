/**
 * The tutorial's loss and metric for a one-logit binary classifier: Keras'
 * `BinaryCrossentropy(from_logits=True)` and `accuracy` with the logit thresholded at 0.
 *
 * Labels may be int32 `[b]` (as `imageDatasetFromDirectory` yields them) or any shape with `b` elements;
 * they are reshaped to the logits' `[b, 1]`.
 *
 * @module
 */
import { tf } from "./tf.ts";
import type { Tensor } from "./tf.ts";

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
