/**
 * How `deno task train` (and the bench) compile the classifier: Keras' `model.compile(optimizer, loss,
 * metrics)` with the head's loss and the `accuracy` metric ({@link lossAndMetricFor}), and the tutorial's
 * two optimizers — Adam at `base_learning_rate` for the frozen stage, RMSprop at a tenth of it for
 * fine-tuning.
 *
 * A notebook writes the same calls in the open instead:
 * `model.compile({ optimizer: tf.train.adam(lr), loss: binaryCrossentropy({ fromLogits: true }),
 * metrics: [binaryAccuracy({ threshold: 0 })] })`. Both train identically: `fit`'s compiled step
 * (`lib/train/train_graph.ts`) writes tfjs' Adam and RMSprop updates into its graph whichever class the
 * optimizer is. {@link compileForFineTuning}'s `GraphRMSPropOptimizer` (`optimizers.ts`) only matters where that step
 * does not run (`compiledStep: false`, or a model it cannot write): there it still updates all variables
 * in one native call instead of ≈ 15 eager ops per variable.
 *
 * @module
 */
import { tf } from "../runtime/mod.ts";
import type { LayersModel, Optimizer } from "../runtime/mod.ts";
import { headUnits, lossAndMetricFor } from "./losses.ts";
import { rmsprop } from "./optimizers.ts";

/** The tutorial's `base_learning_rate`. */
export const BASE_LEARNING_RATE = 1e-4;

/**
 * Compiles with the head's loss (cross-entropy from logits: binary for one logit, sparse categorical for
 * more) and the `accuracy` metric.
 */
export function compileClassifier(model: LayersModel, optimizer: Optimizer): void {
  const { loss, metric } = lossAndMetricFor(headUnits(model));
  model.compile({ optimizer, loss, metrics: [metric] });
}

/** The tutorial's first compile: Adam(`learningRate`, default 1e-4). */
export function compileForTransferLearning(model: LayersModel, learningRate = BASE_LEARNING_RATE): void {
  compileClassifier(model, tf.train.adam(learningRate));
}

/**
 * The tutorial's fine-tuning compile: RMSprop(`learningRate`, default 1e-5) — tfjs' RMSprop with its
 * update run as one TensorFlow graph (`GraphRMSPropOptimizer`, `optimizers.ts`).
 */
export function compileForFineTuning(model: LayersModel, learningRate = BASE_LEARNING_RATE / 10): void {
  compileClassifier(model, rmsprop(learningRate));
}
