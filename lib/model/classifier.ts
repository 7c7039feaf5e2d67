/**
 * The tutorial's classifier around a pre-trained base, with Keras' training semantics, for any number of
 * classes:
 *
 * `Input → data augmentation → preprocess_input → base (inference mode) → GlobalAveragePooling2D →
 * Dropout(0.2) → Dense(units)` as one functional model, where `units` is 1 for two classes (the
 * tutorial's single logit: binary cross-entropy from logits, accuracy at logit 0) and `numClasses`
 * otherwise (sparse categorical cross-entropy from logits, argmax accuracy). The loss follows from the
 * output width (`losses.ts`' `headUnits`, `lossAndMetricFor`; `compile.ts`), so a loaded model compiles the
 * same way. {@link freezeBase} and {@link unfreezeForFineTuning} are the tutorial's two trainable set-ups
 * (`base_model.trainable = False`; `trainable = True` then the layers before `fine_tune_at` frozen).
 *
 * The base runs as an {@link InferenceModel} (`inference_model.ts`): the tutorial's
 * `base_model(x, training=False)`, which TensorFlow.js cannot express in a functional graph.
 *
 * @module
 */
import { tf } from "../runtime/mod.ts";
import type { LayersModel, Sequential, SymbolicTensor, Tensor, Tensor2D } from "../runtime/mod.ts";
import { dataAugmentation } from "./augment.ts";
import { logitsFor } from "./losses.ts";
import { inferenceMode, InferenceModel } from "./inference_model.ts";

// Also importable from this file by path (tests in other folders import them from here); mod.ts exports
// them from their own modules.
export { inferenceMode, InferenceModel };
export {
  BASE_LEARNING_RATE,
  compileClassifier,
  compileForFineTuning,
  compileForTransferLearning,
} from "./compile.ts";

/** The tutorial's `fine_tune_at`: base layers before this index stay frozen while fine-tuning. */
export const FINE_TUNE_AT = 100;

/** Options of {@link buildClassifier}. */
export interface ClassifierOptions {
  /** The feature extractor (e.g. `mobileNetV2({includeTop: false, …})`); it becomes an {@link InferenceModel}. */
  base: LayersModel;
  /**
   * Classes to tell apart (default 2, the tutorial's): 2 → one logit (> 0 means class 1), more → one
   * logit per class. Usually `dataset.classNames.length`.
   */
  numClasses?: number;
  /** Default: the base's input shape without the batch, e.g. `[160, 160, 3]`. */
  inputShape?: number[];
  /** Default: the tutorial's {@link dataAugmentation}; `null` for none. */
  augmentation?: Sequential | null;
  /** Seed for the default augmentation and the `dense` kernel's initial values. */
  seed?: number;
  /** Default 0.2. */
  dropout?: number;
  /** Freeze the base (`base.trainable = false`), as the tutorial does first; default true. */
  freeze?: boolean;
}

/** The classifier and its base (the {@link InferenceModel} inside it, for freezing and unfreezing). */
export interface Classifier {
  /** The whole classifier: augmentation, preprocessing, base, pooling, dropout and the Dense head. */
  model: LayersModel;
  /** The base inside `model`, always in inference mode: freeze and unfreeze it for the two stages. */
  base: InferenceModel;
}

/**
 * Builds the tutorial's model: inputs 0..255 RGB, output one logit per image (> 0 means class 1) for two
 * classes, else one logit per class. The preprocessing is MobileNetV2's `preprocess_input`
 * (`x / 127.5 − 1`) as a `Rescaling` layer.
 */
export function buildClassifier(options: ClassifierOptions): Classifier {
  const { base: rawBase, dropout = 0.2, freeze = true, seed, numClasses = 2 } = options;
  if (!Number.isInteger(numClasses) || numClasses < 2) {
    throw new Error(
      `buildClassifier: numClasses must be an integer ≥ 2 (the number of class folders), got ${numClasses}`,
    );
  }
  if (!rawBase || !(rawBase instanceof tf.LayersModel)) {
    throw new Error("buildClassifier: options.base must be a tf.LayersModel (e.g. from mobileNetV2())");
  }
  const baseShape = rawBase.inputs[0]?.shape.slice(1) as number[];
  const inputShape = options.inputShape ?? baseShape;
  if (inputShape.length !== 3 || inputShape.some((d) => !(Number.isInteger(d) && d > 0))) {
    throw new Error(
      `buildClassifier: inputShape must be [height, width, channels] with positive integers, got ` +
        `${JSON.stringify(inputShape)} (give options.inputShape when the base's input size is not fixed)`,
    );
  }
  if (!(dropout >= 0 && dropout < 1)) {
    throw new Error(`buildClassifier: dropout must be in [0, 1), got ${dropout}`);
  }
  const base = inferenceMode(rawBase);
  if (freeze) freezeBase(base);
  const augmentation = options.augmentation === undefined
    ? dataAugmentation({ inputShape, seed })
    : options.augmentation;

  const inputs = tf.input({ shape: inputShape });
  let x: SymbolicTensor = inputs;
  if (augmentation) x = augmentation.apply(x) as SymbolicTensor;
  x = tf.layers.rescaling({ scale: 1 / 127.5, offset: -1, name: "preprocess_input" }).apply(
    x,
  ) as SymbolicTensor;
  x = base.apply(x) as SymbolicTensor;
  x = tf.layers.globalAveragePooling2d({ name: "global_average_pooling2d" }).apply(x) as SymbolicTensor;
  x = tf.layers.dropout({ rate: dropout, name: "dropout" }).apply(x) as SymbolicTensor;
  const kernelInitializer = seed === undefined ? undefined : tf.initializers.glorotUniform({ seed });
  const units = logitsFor(numClasses);
  const outputs = tf.layers.dense({ units, name: "dense", kernelInitializer }).apply(x) as SymbolicTensor;
  return { model: tf.model({ inputs, outputs, name: "model" }), base };
}

/** The {@link InferenceModel} base inside a built or loaded classifier. */
export function findBase(model: LayersModel): InferenceModel {
  const found = model.layers.filter((l) => l instanceof InferenceModel);
  if (found.length !== 1) {
    throw new Error(
      `findBase: expected one InferenceModel layer in model "${model.name}", found ${found.length}`,
    );
  }
  return found[0] as InferenceModel;
}

/** Keras' `base_model.trainable = False`: every layer of the base frozen. */
export function freezeBase(base: LayersModel): void {
  for (const layer of base.layers) layer.trainable = false;
  base.trainable = false;
}

/**
 * The tutorial's fine-tuning set-up: `base_model.trainable = True`, then the layers before
 * `fineTuneAt` (default {@link FINE_TUNE_AT}) frozen again. Recompile afterwards.
 */
export function unfreezeForFineTuning(base: LayersModel, fineTuneAt = FINE_TUNE_AT): void {
  if (!Number.isInteger(fineTuneAt) || fineTuneAt < 0 || fineTuneAt > base.layers.length) {
    throw new Error(
      `unfreezeForFineTuning: fineTuneAt must be an integer in [0, ${base.layers.length}] (the base's layer ` +
        `count), got ${fineTuneAt}`,
    );
  }
  base.trainable = true;
  base.layers.forEach((layer, i) => layer.trainable = i >= fineTuneAt);
}

/**
 * Class probabilities `[b, numClasses]` from logits: `[1 − σ(z), σ(z)]` for one logit, softmax otherwise.
 */
export function classProbabilities(logits: Tensor): Tensor2D {
  return tf.tidy(() => {
    if (logits.rank !== 2) {
      throw new Error(`classProbabilities: expected logits [batch, logits], got shape [${logits.shape}]`);
    }
    if (logits.shape[1] !== 1) return tf.softmax(logits) as Tensor2D;
    const p = tf.sigmoid(logits);
    return tf.concat([tf.sub(1, p), p], 1) as Tensor2D;
  });
}

/** Keras' `len(model.trainable_variables)`. */
export function countTrainableVariables(model: LayersModel): number {
  return model.trainableWeights.length;
}

/** Parameter counts as in Keras' summary footer. */
export function paramCounts(model: LayersModel): { total: number; trainable: number; nonTrainable: number } {
  const size = (ws: { shape: (number | null)[] }[]) =>
    ws.reduce((s, w) => s + w.shape.reduce((a: number, b) => a * (b ?? 1), 1), 0);
  const trainable = size(model.trainableWeights);
  const nonTrainable = size(model.nonTrainableWeights);
  return { total: trainable + nonTrainable, trainable, nonTrainable };
}
