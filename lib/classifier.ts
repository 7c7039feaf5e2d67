/**
 * The tutorial's cats-vs-dogs classifier around a pre-trained base, with Keras' training semantics:
 *
 * `Input → data augmentation → preprocess_input → base (inference mode) → GlobalAveragePooling2D →
 * Dropout(0.2) → Dense(1)` (one logit), as one functional model.
 *
 * Inference mode: the tutorial calls `base_model(x, training=False)` so the base's BatchNormalization
 * layers keep using (and never update) their ImageNet moving statistics, frozen or fine-tuned.
 * TensorFlow.js drops that call argument (tfjs issue 7250): `fit` runs every layer of the graph, nested
 * models included, with `training: true`, and its BatchNormalization then normalizes by batch statistics
 * and updates its moving mean/variance even when not trainable. {@link InferenceModel} is the base model
 * with its `call` pinned to `training: false`; it is a registered class, so the pinning survives
 * save/load. Gradients still flow through it to whatever weights are trainable.
 *
 * @module
 */
import { tf } from "./tf.ts";
import type { LayersModel, Optimizer, Sequential, SymbolicTensor, Tensor } from "./tf.ts";
import { dataAugmentation } from "./augment.ts";
import { accuracy, binaryCrossentropyFromLogits } from "./losses.ts";
import { rmsprop } from "./optimizers.ts";
import { dependsOnTrainableVariable, FrozenGraph, frozenRegion, runFrom } from "./frozen_graph.ts";

/** The tutorial's `base_learning_rate`. */
export const BASE_LEARNING_RATE = 1e-4;
/** The tutorial's `fine_tune_at`: base layers before this index stay frozen while fine-tuning. */
export const FINE_TUNE_AT = 100;

type Kwargs = Record<string, unknown>;

/**
 * A functional model that always runs in inference mode (`training: false`), whatever its caller asks.
 *
 * Its frozen part — every layer computable without a trainable weight: the whole base while it is
 * frozen, the layers before `fineTuneAt` while fine-tuning — runs as one TensorFlow graph
 * ({@link FrozenGraph}: BatchNormalization folded into the convolutions, grappler-optimized, 4× faster
 * than op-by-op here); the rest runs eagerly from the graph's outputs, so gradients reach every trainable
 * weight. The graph is rebuilt when the frozen layers or their weights change, and skipped when the input
 * itself depends on a trainable variable. Gradients with respect to the model's *input* (e.g. saliency
 * maps) need `frozenGraph = false`.
 */
export class InferenceModel extends tf.LayersModel {
  static override className = "InferenceModel";
  /** Run the frozen part as one TensorFlow graph (default true); false: op by op, as tfjs does. */
  frozenGraph = true;
  private compiled: FrozenGraph | null = null;

  override call(inputs: Tensor | Tensor[], kwargs: Kwargs): Tensor | Tensor[] {
    const args = { ...kwargs, training: false };
    const x = Array.isArray(inputs) ? inputs[0] : inputs;
    const graph = this.frozenGraph && !dependsOnTrainableVariable(x) ? this.frozenPart() : null;
    // Inputs the graph was not written for (another dtype or image size) run op by op, as before.
    if (!graph?.accepts(x)) return super.call(inputs, args);
    return tf.tidy(() => {
      const boundary = graph.run(x);
      const feeds = new Map(graph.region.boundary.map((t, i) => [t.id, boundary[i]]));
      feeds.set(this.inputs[0].id, x); // for layers outside the region that read the input directly
      const outputs = runFrom(this, feeds, args, new Set(graph.region.nodes));
      return outputs.length === 1 ? outputs[0] : outputs;
    });
  }

  /**
   * The compiled frozen part for the current trainable flags and weights, compiled now if needed; `null`
   * when `frozenGraph` is off or nothing is frozen. Owned by this model: do not dispose it.
   */
  frozenPart(): FrozenGraph | null {
    if (!this.frozenGraph) return null;
    const region = frozenRegion(this);
    if (this.compiled?.matches(region)) return this.compiled;
    this.compiled?.dispose();
    this.compiled = region ? FrozenGraph.compile(this, region) : null;
    return this.compiled;
  }

  override dispose() {
    this.compiled?.dispose();
    this.compiled = null;
    return super.dispose();
  }
}
tf.serialization.registerClass(InferenceModel);

/**
 * `base` as an {@link InferenceModel}: the same layers and weights (nothing is copied), the same name,
 * always called with `training: false` — the tutorial's `base_model(x, training=False)`.
 */
export function inferenceMode(base: LayersModel): InferenceModel {
  if (base instanceof InferenceModel) return base;
  if (base.inputs.length !== 1 || base.outputs.length !== 1) {
    throw new Error(
      `inferenceMode: expected a base model with one input and one output, got ${base.inputs.length} and ` +
        `${base.outputs.length}`,
    );
  }
  const wrapped = new InferenceModel({ inputs: base.inputs, outputs: base.outputs, name: base.name });
  wrapped.trainable = base.trainable;
  return wrapped;
}

/** Options of {@link buildClassifier}. */
export interface ClassifierOptions {
  /** The feature extractor (e.g. `mobileNetV2({includeTop: false, …})`); it becomes an {@link InferenceModel}. */
  base: LayersModel;
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
  model: LayersModel;
  base: InferenceModel;
}

/**
 * Builds the tutorial's model: inputs 0..255 RGB, output one logit per image (> 0 means class 1).
 * The preprocessing is MobileNetV2's `preprocess_input` (`x / 127.5 − 1`) as a `Rescaling` layer.
 */
export function buildClassifier(options: ClassifierOptions): Classifier {
  const { base: rawBase, dropout = 0.2, freeze = true, seed } = options;
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
  const outputs = tf.layers.dense({ units: 1, name: "dense", kernelInitializer }).apply(x) as SymbolicTensor;
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

/** Compiles with the tutorial's loss (cross-entropy from logits) and `accuracy` metric. */
export function compileClassifier(model: LayersModel, optimizer: Optimizer): void {
  model.compile({ optimizer, loss: binaryCrossentropyFromLogits, metrics: [accuracy] });
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
