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
 *   callbacks in this order: a resolver of each epoch's logs to numbers (so callbacks see numbers), the
 *   cached validation, the progress line (`progress.ts`, `verbose`), the caller's `callbacks`, and the
 *   interrupt watch (the
 *   kernel's Interrupt stops after the current batch and raises `KeyboardInterrupt`; `lib/runtime/`). A
 *   failed step frees its batch and logs. Returns Keras' `History`.
 * - **The training step** — `train_graph.ts`. Every `fit` trains with the compiled step ({@link TrainGraph}:
 *   forward, loss, backward and the optimizer's update as one TensorFlow graph, one native call per step)
 *   unless `compiledStep: false` or the model cannot be written: a layer kind without a backward writer,
 *   regularizers, sample weights, an optimizer other than Adam or non-centered RMSprop, or a loss and
 *   metrics other than the classifier's own (`lossAndMetricFor(units)` from `lib/model/`, compared by
 *   identity). Class weights and the learning rate are fed each step. It replaces the model's
 *   `makeTrainFunction` for the duration of `fit` and restores it after
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
 * - **Callbacks** — Keras 3's, with its options, decisions and log lines: {@link earlyStopping}
 *   (`early_stopping.ts`; `restoreBestWeights` keeps a {@link WeightSnapshot}, `weight_snapshot.ts`),
 *   {@link modelCheckpoint} (`model_checkpoint.ts`; `{epoch:02d}` placeholders, `python_format.ts`) and
 *   {@link reduceLROnPlateau} (`reduce_lr_on_plateau.ts`), on the shared `monitor_callback.ts`. Their state
 *   (`best`, `bestEpoch`, `stoppedEpoch`, `lastSaved`) stays readable after `fit`. A callback with an
 *   `onTrainAbort()` hears from `fit` when training fails (no `onTrainEnd` comes then).
 * - **Class weights** — `class_weight.ts`: `fit`'s `classWeight` (Keras' `class_weight`: the loss
 *   `Σ w·loss / batch`, metrics unweighted) on both training paths, and {@link balancedClassWeights}.
 * - **Learning-rate finder** — `lr_find.ts`: {@link lrFind}, fastai's range test, which puts the weights,
 *   the optimizer ({@link OptimizerSnapshot}, `optimizer_snapshot.ts`) and the random state back bit for bit.
 * - **Random numbers and determinism** — `random_state.ts`: a seeded `Dropout` draws a new mask per step
 *   ({@link dropoutSeed}) on both paths; {@link setRandomSeed} (Keras' `set_random_seed`) seeds
 *   `Math.random`; {@link randomState} for checkpoints. `determinism.ts`: {@link enableDeterminism} and the
 *   environment TensorFlow must start with ({@link determinismEnv}); measurements in docs/training.md.
 * - **Checkpoints** — `checkpoint.ts`: {@link saveCheckpoint} / {@link loadCheckpoint}, one versioned file
 *   written atomically (weights, optimizer slots and step count, epoch, stage, history, random state), which
 *   refuses another model, optimizer or fingerprint. Deciding when to write one and how to resume a whole
 *   run (stages, Ctrl-C) is `lib/tasks/`'.
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
 * @example Keep the best epoch, stop when it stops improving, lower the rate on a plateau
 * ```ts ignore
 * import { earlyStopping, fit, reduceLROnPlateau } from "./mod.ts";
 *
 * const stop = earlyStopping({ monitor: "val_loss", patience: 3, restoreBestWeights: true, verbose: 1 });
 * const plateau = reduceLROnPlateau({ monitor: "val_loss", factor: 0.2, patience: 1 });
 * await fit(model, train, { epochs: 20, validationData: validation, callbacks: [stop, plateau] });
 * console.log(`kept epoch ${stop.bestEpoch + 1}`);
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
export { type EpochInProgress, lineSink, type ProgressSink } from "./progress.ts";
export {
  compiledStepStatus,
  TrainGraph,
  type TrainGraphOptions,
  type TrainStepOptions,
  useCompiledStep,
} from "./train_graph.ts";
export { CachedValidation } from "./validation_cache.ts";
export {
  MonitorCallback,
  monitorDirection,
  type MonitorMode,
  type MonitorOptions,
  pythonFloat,
} from "./monitor_callback.ts";
export { EarlyStopping, earlyStopping, type EarlyStoppingOptions } from "./early_stopping.ts";
export { ModelCheckpoint, modelCheckpoint, type ModelCheckpointOptions } from "./model_checkpoint.ts";
export {
  ReduceLROnPlateau,
  reduceLROnPlateau,
  type ReduceLROnPlateauOptions,
} from "./reduce_lr_on_plateau.ts";
export { pythonFormat } from "./python_format.ts";
export { WeightSnapshot } from "./weight_snapshot.ts";
export { OptimizerSnapshot } from "./optimizer_snapshot.ts";
export { lrFind, type LrFindOptions, type LrFindResult, type LrFindStep } from "./lr_find.ts";
export {
  determinismEnv,
  type DeterminismOptions,
  type DeterminismStatus,
  determinismStatus,
  enableDeterminism,
} from "./determinism.ts";
export {
  CHECKPOINT_FILE,
  CHECKPOINT_FORMAT,
  CHECKPOINT_VERSION,
  type CheckpointFile,
  type CheckpointFingerprint,
  type CheckpointHeader,
  type CheckpointState,
  type FingerprintDifference,
  fingerprintDifference,
  loadCheckpoint,
  type LoadCheckpointOptions,
  type LoadedCheckpoint,
  type OptimizerRecord,
  readCheckpoint,
  saveCheckpoint,
  type TensorRecord,
} from "./checkpoint.ts";
export { balancedClassWeights, type ClassWeight, ClassWeighting, classWeightVector } from "./class_weight.ts";
export {
  dropoutSeed,
  randomSeed,
  type RandomState,
  randomState,
  type RandomStatefulLayer,
  setRandomSeed,
  setRandomState,
} from "./random_state.ts";
