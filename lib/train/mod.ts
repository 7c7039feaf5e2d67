/**
 * Training and evaluating a compiled classifier over `tf.data` datasets of `{xs, ys}` batches, with Keras'
 * names and semantics: {@link fit}, {@link evaluate}, {@link predictOnBatch}, {@link History} and
 * {@link concatHistories}. Building and compiling the model is `lib/model/`'s; reading the results (confusion
 * matrix, plots) is `lib/analysis/`'s.
 *
 * A notebook calls tfjs' own `model.compile({ optimizer, loss, metrics })` and then this folder's `fit`;
 * the speed-ups engage behind those calls. Which part owns which concern:
 *
 * - **The loop** — `fit.ts`. Checks the arguments at the boundary, then runs tfjs' `fitDataset` with the
 *   callbacks in this order: a resolver of each epoch's logs to numbers, the cached validation, the
 *   progress line (`progress.ts`, `verbose`), the caller's `callbacks`, and the interrupt watch (the
 *   kernel's Interrupt stops after the current batch and raises `KeyboardInterrupt`; `lib/runtime/`). A
 *   failed step frees its batch and logs. Returns Keras' `History`.
 * - **The training step** — `train_graph.ts`. Every `fit` trains with the compiled step ({@link TrainGraph}:
 *   forward, loss, backward and the optimizer's update as one TensorFlow graph, one native call per step)
 *   unless `compiledStep: false` or the model cannot be written: a layer kind without a backward writer,
 *   regularizers, sample weights, an optimizer other than Adam or non-centered RMSprop, or a loss and
 *   metrics other than the classifier's own (`lossAndMetricFor(units)` from `lib/model/`, compared by
 *   identity). It replaces the model's `makeTrainFunction` for the duration of `fit` and restores it after
 *   ({@link useCompiledStep}); {@link compiledStepStatus} says whether the last step ran compiled and why
 *   not. It writes tfjs' own Adam and RMSprop arithmetic into its graph and updates the optimizer's own
 *   slots, so a plain `tf.train.rmsprop` and `lib/model/`'s `GraphRMSPropOptimizer` train identically
 *   here. Where the compiled step does not run, tfjs' step runs, and `GraphRMSPropOptimizer` (what
 *   `compileForFineTuning` uses) still makes RMSprop's update one native call instead of ≈ 15 eager ops
 *   per variable; a plain `tf.train.rmsprop` then updates op by op — same numbers, slower.
 * - **Validation** — `validation_cache.ts`. With `validationData`, {@link CachedValidation} computes the
 *   frozen part of the model once for the validation images and evaluates each epoch from there (the head
 *   alone while the base is frozen; from the base's frozen part while fine-tuning): the same loss and
 *   metrics as `evaluateDataset`, recomputed when a weight before the cut changes (`cacheValidation: false`
 *   turns it off).
 * - **The frozen graph** — not here: `lib/model/`'s `InferenceModel` runs the base's frozen layers as one
 *   TensorFlow graph (`lib/graph/`), whichever loop calls it.
 * - **Inference mode** — not here either: the base inside the model is an `InferenceModel`
 *   (`inferenceMode(base)`), because tfjs' `fit` calls every layer, nested models included, with
 *   `training: true` (tfjs issue 7250) and BatchNormalization would then use and update batch statistics.
 * - **Batch checks** — `batch_checks.ts`: images and labels that do not fit the model are an error naming
 *   the batch and the fix, for `fit`, `evaluate`, `predictOnBatch` and `lib/analysis/`'s `interpret`.
 *
 * @example One frozen epoch, one fine-tuning epoch, one history
 * ```ts ignore
 * import { tf } from "../runtime/mod.ts";
 * import { binaryAccuracy, binaryCrossentropy } from "../model/mod.ts";
 * import { concatHistories, fit } from "./mod.ts";
 *
 * const loss = binaryCrossentropy({ fromLogits: true });
 * const metrics = [binaryAccuracy({ threshold: 0, name: "accuracy" })];
 * model.compile({ optimizer: tf.train.adam(1e-4), loss, metrics });
 * const history = await fit(model, train, { epochs: 1, validationData: validation });
 * base.trainable = true;
 * for (const layer of base.layers.slice(0, 100)) layer.trainable = false;
 * model.compile({ optimizer: tf.train.rmsprop(1e-5), loss, metrics });
 * const fine = await fit(model, train, { epochs: 2, initialEpoch: 1, validationData: validation });
 * console.log(concatHistories(history, fine).history.val_accuracy);
 * ```
 *
 * @module
 */
export {
  type BatchDataset,
  type CheckedDataset,
  checkedDataset,
  checkImages,
  checkLabels,
  classNamesOf,
  emptyDataset,
  ensureNotEmpty,
} from "./batch_checks.ts";
export {
  concatHistories,
  evaluate,
  fit,
  type FitCallback,
  type FitOptions,
  type History,
  predictOnBatch,
} from "./fit.ts";
export { lineSink, type ProgressSink } from "./progress.ts";
export { compiledStepStatus, TrainGraph, useCompiledStep } from "./train_graph.ts";
export { CachedValidation } from "./validation_cache.ts";
