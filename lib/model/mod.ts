/**
 * The models: what TensorFlow.js lacks to write the tutorial's model as the tutorial does — MobileNetV2
 * with Keras' ImageNet weights, Keras' augmentation layers, the inference-mode wrapper for the base, the
 * loss and metric on logits, Keras' summary table — plus the classifier's saving, loading and browser
 * export. Training itself (`fit`, the compiled step, the validation cache) is `lib/train/`'s.
 *
 * How the parts fit:
 * - `mobilenet_v2.ts`: {@link mobileNetV2}, Keras' `MobileNetV2` layer for layer; where its ImageNet weights
 *   come from is explicit ({@link ImagenetWeightsOptions}), never read from the environment.
 * - `augment.ts`: {@link RandomFlip}, {@link RandomRotation} and the tutorial's {@link dataAugmentation}.
 * - `inference_model.ts`: {@link inferenceMode} stands for the tutorial's `base_model(x, training=False)`,
 *   which tfjs drops (tfjs issue 7250); its frozen part runs as one TensorFlow graph (`lib/graph/`).
 * - `losses.ts`: the head's loss and `accuracy` on logits, with Keras' names for `model.compile`
 *   ({@link binaryCrossentropy}, {@link binaryAccuracy}, …). `lib/train/`'s compiled step recognises them.
 * - `optimizers.ts`: tfjs' Adam and RMSprop updates written as graphs ({@link graphUpdate} for the compiled
 *   step, {@link GraphRMSPropOptimizer} for the eager path).
 * - `classifier.ts` and `compile.ts`: the tutorial's recipe in one call each ({@link buildClassifier},
 *   {@link freezeBase}, {@link unfreezeForFineTuning}, {@link compileForTransferLearning},
 *   {@link compileForFineTuning}), which `deno task train` uses; a notebook writes the same steps in the open.
 * - `model_io.ts`, `inference_export.ts`, `summary.ts`: saving and loading, the browser copy, Keras' summary.
 * - `onnx_export.ts`: {@link exportOnnx}, the whole inference model as an ONNX file (written through
 *   `lib/graph/`'s ONNX layer kinds), and {@link onnxMaxDifference}, its check in ONNX Runtime.
 * - `tfjs_internals.ts` ({@link tfjsInternals}): the one place that reaches into tfjs internals.
 *
 * @example The tutorial's model and both compiles, in tfjs' own calls
 * ```ts
 * import assert from "node:assert";
 * import { type SymbolicTensor, tf } from "../runtime/mod.ts";
 * import {
 *   binaryAccuracy,
 *   binaryCrossentropy,
 *   dataAugmentation,
 *   inferenceMode,
 *   mobileNetV2,
 * } from "./mod.ts";
 *
 * const baseModel = await mobileNetV2({ inputShape: [96, 96, 3], alpha: 0.35, includeTop: false, weights: null });
 * baseModel.trainable = false;
 * const base = inferenceMode(baseModel); // base_model(x, training=False)
 * const inputs = tf.input({ shape: [96, 96, 3] });
 * let x = dataAugmentation({ inputShape: [96, 96, 3] }).apply(inputs) as SymbolicTensor;
 * x = tf.layers.rescaling({ scale: 1 / 127.5, offset: -1 }).apply(x) as SymbolicTensor;
 * x = base.apply(x) as SymbolicTensor;
 * x = tf.layers.globalAveragePooling2d({}).apply(x) as SymbolicTensor;
 * x = tf.layers.dropout({ rate: 0.2 }).apply(x) as SymbolicTensor;
 * const outputs = tf.layers.dense({ units: 1 }).apply(x) as SymbolicTensor;
 * const model = tf.model({ inputs, outputs });
 * const loss = binaryCrossentropy({ fromLogits: true });
 * const metrics = [binaryAccuracy({ threshold: 0, name: "accuracy" })];
 * model.compile({ optimizer: tf.train.adam(1e-4), loss, metrics });
 * assert.equal(model.trainableWeights.length, 2);
 *
 * base.trainable = true;
 * for (const layer of base.layers.slice(0, 100)) layer.trainable = false;
 * model.compile({ optimizer: tf.train.rmsprop(1e-5), loss, metrics });
 * assert.equal(model.trainableWeights.length, 56);
 * model.dispose();
 * ```
 *
 * @module
 */
import type { Interpolation } from "../data/mod.ts";

export type { Interpolation };
export {
  dataAugmentation,
  type FillMode,
  type FlipMode,
  type LayerArgs,
  RandomFlip,
  type RandomFlipArgs,
  RandomRotation,
  type RandomRotationArgs,
} from "./augment.ts";
export {
  buildClassifier,
  type Classifier,
  type ClassifierOptions,
  classProbabilities,
  countTrainableVariables,
  findBase,
  FINE_TUNE_AT,
  freezeBase,
  paramCounts,
  unfreezeForFineTuning,
} from "./classifier.ts";
export {
  BASE_LEARNING_RATE,
  compileClassifier,
  compileForFineTuning,
  compileForTransferLearning,
} from "./compile.ts";
export {
  exportInferenceModel,
  type ExportOptions,
  type GraphJson,
  type InferenceExport,
  inferenceTopology,
  type LayerJson,
  type NodeRef,
  type TopologyJson,
  type WeightSpec,
} from "./inference_export.ts";
export { inferenceMode, InferenceModel } from "./inference_model.ts";
export {
  exportOnnx,
  ONNX_INPUT,
  ONNX_OPSETS,
  type OnnxExportOptions,
  onnxMaxDifference,
  type OnnxMetadataProps,
  type OnnxOutputKind,
  type OnnxPreprocessing,
} from "./onnx_export.ts";
export {
  accuracy,
  type AccuracyOptions,
  binaryAccuracy,
  binaryCrossentropy,
  binaryCrossentropyFromLogits,
  categoricalAccuracy,
  classesFor,
  type CrossentropyOptions,
  headUnits,
  logitsFor,
  lossAndMetricFor,
  type LossOrMetric,
  numClassesOf,
  sparseCategoricalAccuracy,
  sparseCategoricalCrossentropy,
  sparseCategoricalCrossentropyFromLogits,
} from "./losses.ts";
export {
  type AlphaSettings,
  BASE_WEIGHT_PATH,
  correctPad,
  IMAGENET_ALPHAS,
  IMAGENET_SIZES,
  imagenetAlpha,
  imagenetWeightsFileName,
  type ImagenetWeightsOptions,
  imagenetWeightsSource,
  imagenetWeightsUrl,
  makeDivisible,
  mobileNetV2,
  type MobileNetV2Options,
  parseImagenetWeightsFileName,
  preprocessInput,
} from "./mobilenet_v2.ts";
export { loadModel, saveModel, type SaveModelOptions } from "./model_io.ts";
export {
  ensureSlot,
  GraphRMSPropOptimizer,
  type GraphUpdate,
  graphUpdate,
  iterationsOf,
  learningRateOf,
  type OptimizerSlot,
  type OptimizerVariables,
  optimizerVariables,
  rmsprop,
  setIterations,
  setLearningRate,
} from "./optimizers.ts";
export { printSummary, readableMemorySize, type SummaryOptions } from "./summary.ts";
export * as tfjsInternals from "./tfjs_internals.ts";
