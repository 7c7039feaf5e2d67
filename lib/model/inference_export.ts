/**
 * An inference-only copy of a saved classifier that TensorFlow.js in a browser loads with no custom code.
 *
 * The saved classifier holds this project's own layer classes: the augmentation layers (`RandomFlip`,
 * `RandomRotation`, identity outside training) and the `InferenceModel` wrapper around the base (which
 * pins `training: false`). A browser's tfjs knows neither. Prediction needs neither: augmentation is
 * off and BatchNormalization uses its moving statistics whenever `training` is false, which is what
 * `predict` passes. So the export rewrites the topology — augmentation layers dropped, nested models
 * flattened into one functional graph of built-in layers (`Rescaling` keeps the `x / 127.5 − 1`
 * preprocessing inside the model) — copies the weights by layer name, and checks that the copy computes
 * what the original does before anything is written.
 *
 * With `quantize`, the weights are stored as TensorFlow.js' weight quantization stores them (tfjs-converter's
 * `--quantize_float16` / `--quantize_uint8`): float16 halves, or one byte per value with an affine
 * `{scale, min}` per weight in the manifest; stock tfjs' `loadLayersModel` turns them back into float32.
 *
 * @module
 */
import { Buffer } from "node:buffer";
import { tf } from "../runtime/mod.ts";
import type { LayersModel, Tensor } from "../runtime/mod.ts";

type ModelArtifacts = Parameters<Parameters<typeof tf.io.withSaveHandler>[0]>[0];
/** One weight's entry in `model.json`'s weights manifest (tfjs' `io.WeightsManifestEntry`: name, shape, dtype). */
export type WeightSpec = NonNullable<
  Parameters<Parameters<typeof tf.io.withSaveHandler>[0]>[0]["weightSpecs"]
>[number];

/** Layer classes that only act while training (identity in inference); the export drops them. */
export const TRAINING_ONLY_LAYERS: ReadonlySet<string> = new Set([
  "RandomFlip",
  "RandomRotation",
  "RandomZoom",
  "RandomTranslation",
  "RandomContrast",
  "RandomBrightness",
  "RandomCrop",
  "RandomHeight",
  "RandomWidth",
]);

/** Layer classes defined by this project (registered in lib/); none may remain in an export. */
export const PROJECT_LAYER_CLASSES: ReadonlySet<string> = new Set([
  "InferenceModel",
  "RandomFlip",
  "RandomRotation",
]);

const NESTED_MODEL_CLASSES = new Set(["InferenceModel", "Model", "Functional"]);

/** A reference to one output of one node of a layer in a topology: `[layerName, nodeIndex, tensorIndex, kwargs?]`. */
export type NodeRef = [string, number, number, ...unknown[]];
/** One layer of a topology's `config.layers`. */
export interface LayerJson {
  /** The layer class, e.g. `"Conv2D"`, `"InferenceModel"`. */
  class_name: string;
  /** The layer's name (also in `config.name`). */
  name?: string;
  /** The layer's configuration (a nested model's: its own `layers`, `input_layers`, `output_layers`). */
  config: any;
  /** The inputs of each call of the layer. */
  inbound_nodes?: NodeRef[][];
}
/** A functional model's graph: its layers and which outputs are its inputs and outputs. */
export interface GraphJson {
  /** The model's name. */
  name?: string;
  /** The layers, in the order they were added. */
  layers: LayerJson[];
  /** The model's inputs. */
  input_layers: NodeRef[];
  /** The model's outputs. */
  output_layers: NodeRef[];
}
/** A Keras/tfjs `modelTopology`: `{class_name: "Model", config: {layers, input_layers, output_layers}}`. */
export interface TopologyJson {
  /** `"Model"` (or `"Functional"`, `"InferenceModel"`). */
  class_name: string;
  /** The graph. */
  config: GraphJson;
  /** Other fields of the topology (`keras_version`, `backend`), kept as they are. */
  [key: string]: unknown;
}

/**
 * The topology of `topology` (a functional model's JSON) with training-only layers removed and nested
 * functional models (the `InferenceModel` base) inlined, so that only built-in tfjs layers remain.
 * Pure: the input is not modified. Throws, naming the layer, on graphs it cannot rewrite faithfully.
 *
 * @example A RandomFlip between the input and a Dense layer disappears
 * ```ts
 * import assert from "node:assert";
 * import { inferenceTopology } from "./mod.ts";
 *
 * const exported = inferenceTopology({
 *   class_name: "Model",
 *   config: {
 *     layers: [
 *       { class_name: "InputLayer", name: "in", config: { name: "in" }, inbound_nodes: [] },
 *       { class_name: "RandomFlip", name: "flip", config: { name: "flip" }, inbound_nodes: [[["in", 0, 0, {}]]] },
 *       { class_name: "Dense", name: "d", config: { name: "d" }, inbound_nodes: [[["flip", 0, 0, {}]]] },
 *     ],
 *     input_layers: [["in", 0, 0]],
 *     output_layers: [["d", 0, 0]],
 *   },
 * });
 * assert.deepEqual(exported.config.layers.map((l) => l.name), ["in", "d"]);
 * assert.deepEqual(exported.config.layers[1].inbound_nodes, [[["in", 0, 0, {}]]]);
 * ```
 */
export function inferenceTopology(topology: TopologyJson): TopologyJson {
  if (!NESTED_MODEL_CLASSES.has(topology?.class_name) || !Array.isArray(topology.config?.layers)) {
    throw new Error(
      `inferenceTopology: expected a functional model's topology (class_name "Model"), got ` +
        `${JSON.stringify(topology?.class_name)}`,
    );
  }
  const graph = structuredClone(topology.config);
  /**
   * Where each removed layer's outputs now come from: `"name/tensor"` → a reference. A removed layer is
   * applied exactly once (checked below), so any node index names that one application — a nested
   * model's application is numbered after its own construction node.
   */
  const replaced = new Map<string, NodeRef>();
  const key = (r: NodeRef | [string, number, number]) => `${r[0]}/${r[2]}`;
  const resolve = (r: NodeRef): NodeRef => {
    let out = r;
    for (let hops = 0; replaced.has(key(out)); hops++) {
      if (hops > 1000) throw new Error(`inferenceTopology: a cycle through layer "${r[0]}"`);
      const to = replaced.get(key(out))!;
      out = [to[0], to[1], to[2], ...out.slice(3)] as NodeRef;
    }
    return out;
  };
  const layers: LayerJson[] = [];
  for (const layer of graph.layers) {
    const name = layer.name ?? layer.config?.name;
    const nodes = layer.inbound_nodes ?? [];
    if (layer.class_name === "Sequential" || NESTED_MODEL_CLASSES.has(layer.class_name)) {
      if (nodes.length !== 1) {
        throw new Error(
          `inferenceTopology: nested model "${name}" is used ${nodes.length} times; only a model applied ` +
            `once can be inlined`,
        );
      }
      const inputs = nodes[0].map(resolve);
      const inlined = layer.class_name === "Sequential"
        ? inlineSequential(layer, inputs)
        : inlineFunctional(layer, inputs);
      layers.push(...inlined.layers);
      inlined.outputs.forEach((ref, t) => replaced.set(key([name, 0, t]), ref));
      continue;
    }
    if (TRAINING_ONLY_LAYERS.has(layer.class_name)) {
      if (nodes.length !== 1 || nodes[0].length !== 1) {
        throw new Error(`inferenceTopology: training-only layer "${name}" must be applied once to one input`);
      }
      replaced.set(key([name, 0, 0]), resolve(nodes[0][0]));
      continue;
    }
    layers.push({ ...layer, inbound_nodes: nodes.map((n) => n.map(resolve)) });
  }
  graph.layers = layers;
  graph.input_layers = graph.input_layers.map(resolve);
  graph.output_layers = graph.output_layers.map(resolve);
  checkUniqueNames(layers);
  return { ...structuredClone(topology), class_name: "Model", config: graph };
}

/** Throws when two layers share a name (inlining a nested model can bring in a duplicate). */
function checkUniqueNames(layers: LayerJson[]): void {
  const names = new Set<string>();
  for (const layer of layers) {
    const name = layer.name ?? layer.config?.name;
    if (names.has(name)) throw new Error(`inferenceTopology: two layers named "${name}" after inlining`);
    names.add(name);
  }
}

/** A Sequential of training-only layers disappears: its output is its input. */
function inlineSequential(layer: LayerJson, inputs: NodeRef[]): { layers: LayerJson[]; outputs: NodeRef[] } {
  const inner: LayerJson[] = layer.config?.layers ?? [];
  const kept = inner.filter((l) => !TRAINING_ONLY_LAYERS.has(l.class_name));
  if (kept.length) {
    throw new Error(
      `inferenceTopology: Sequential "${layer.config?.name}" holds ${
        kept.map((l) => l.class_name).join(", ")
      }; only Sequentials of training-only layers (data augmentation) are supported`,
    );
  }
  return { layers: [], outputs: inputs };
}

/** A nested functional model's layers, its input layers replaced by the tensors it was applied to. */
function inlineFunctional(layer: LayerJson, inputs: NodeRef[]): { layers: LayerJson[]; outputs: NodeRef[] } {
  const inner = inferenceTopology({ class_name: "Model", config: layer.config }).config;
  if (inner.input_layers.length !== inputs.length) {
    throw new Error(
      `inferenceTopology: nested model "${layer.config?.name}" has ${inner.input_layers.length} input(s), ` +
        `applied to ${inputs.length}`,
    );
  }
  const feeds = new Map(inner.input_layers.map((r, i) => [r[0], inputs[i]]));
  const remap = (r: NodeRef): NodeRef => {
    const to = feeds.get(r[0]);
    return to ? [to[0], to[1], to[2], ...r.slice(3)] as NodeRef : r;
  };
  const layers = inner.layers
    .filter((l) => !feeds.has(l.name ?? l.config?.name))
    .map((l) => ({ ...l, inbound_nodes: (l.inbound_nodes ?? []).map((n) => n.map(remap)) }));
  return { layers, outputs: inner.output_layers.map(remap) };
}

/** Every layer of `model`, nested models' layers included, by name. */
function layersByName(model: LayersModel, into = new Map<string, LayersModel["layers"][number]>()) {
  for (const layer of model.layers) {
    if (layer instanceof tf.LayersModel) layersByName(layer, into);
    else into.set(layer.name, layer);
  }
  return into;
}

/** The class names of all layers in a topology, nested models' layers included. */
export function layerClasses(topology: TopologyJson): Set<string> {
  const out = new Set<string>();
  const walk = (layers: LayerJson[]) => {
    for (const layer of layers) {
      out.add(layer.class_name);
      if (Array.isArray(layer.config?.layers)) walk(layer.config.layers);
    }
  };
  walk(topology.config.layers);
  return out;
}

/** The export: tfjs' `model.json` content and one weights file, plus the rebuilt model for checking. */
export interface InferenceExport {
  /** `model.json` as written (topology + weights manifest pointing at `weights.bin`). */
  modelJson: {
    modelTopology: TopologyJson;
    weightsManifest: { paths: string[]; weights: WeightSpec[] }[];
    format: string;
  };
  /** The bytes of `weights.bin`. */
  weights: Uint8Array;
  /** Largest |original − export| over a check batch (before any quantization). */
  maxDifference: number;
  /** With `quantize`: its dtype, and the largest |original − quantized export| over the check batch. */
  quantization?: { dtype: "float16" | "uint8"; maxDifference: number };
}

/** Options of {@link exportInferenceModel}. */
export interface ExportOptions {
  /** Largest output difference accepted on the check batch (default 1e-4). */
  tolerance?: number;
  /** Images in the check batch (default 2), random 0..255 at the model's input size. */
  checkImages?: number;
  /** Stores the weights quantized: "float16" (half the size) or "uint8" (kernels; float16 for the rest). */
  quantize?: "float16" | "uint8";
}

/**
 * The inference-only export of `model` (a classifier built by `buildClassifier`, loaded or in memory).
 * Checks that the exported model's outputs equal the original's on random 0..255 images within
 * `tolerance`, and that no project-specific layer class remains; throws otherwise.
 */
export async function exportInferenceModel(
  model: LayersModel,
  options: ExportOptions = {},
): Promise<InferenceExport> {
  const { tolerance = 1e-4, checkImages = 2 } = options;
  const topology = inferenceTopology(model.toJSON(null, false) as TopologyJson);
  const custom = [...layerClasses(topology)].filter((c) => PROJECT_LAYER_CLASSES.has(c));
  if (custom.length) {
    throw new Error(`exportInferenceModel: custom layer classes remain: ${custom.join(", ")}`);
  }
  const copy = await tf.models.modelFromJSON({ modelTopology: topology as any });
  try {
    const source = layersByName(model);
    for (const layer of copy.layers) {
      const from = source.get(layer.name);
      if (!from) throw new Error(`exportInferenceModel: layer "${layer.name}" not found in the original`);
      if (layer.weights.length) layer.setWeights(from.getWeights());
    }
    const maxDifference = compareOutputs(model, copy, checkImages);
    if (!(maxDifference <= tolerance)) {
      throw new Error(
        `exportInferenceModel: the exported model's outputs differ from the original's by ${maxDifference} ` +
          `(more than ${tolerance})`,
      );
    }
    let artifacts: ModelArtifacts | undefined;
    await copy.save(tf.io.withSaveHandler((a) => {
      artifacts = a;
      return Promise.resolve({ modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: "JSON" } });
    }));
    const data = artifacts!.weightData!;
    const float32 = new Uint8Array(Array.isArray(data) ? await new Blob(data).arrayBuffer() : data);
    const { weights, specs } = options.quantize
      ? quantizeWeights(float32, artifacts!.weightSpecs!, options.quantize)
      : { weights: float32, specs: artifacts!.weightSpecs! };
    const modelTopology = artifacts!.modelTopology as TopologyJson;
    return {
      modelJson: {
        format: "layers-model",
        modelTopology,
        weightsManifest: [{ paths: ["weights.bin"], weights: specs }],
      },
      weights,
      maxDifference,
      ...options.quantize
        ? {
          quantization: {
            dtype: options.quantize,
            maxDifference: await quantizedDifference(model, { modelTopology, specs, weights }, checkImages),
          },
        }
        : {},
    };
  } finally {
    copy.dispose();
  }
}

/** A float32 weight's values as one quantized weight: its bytes and its manifest entry's `quantization`. */
function quantizeValues(values: Float32Array, dtype: "float16" | "uint8") {
  if (dtype === "float16") {
    return { bytes: new Uint8Array(new Float16Array(values).buffer), quantization: { dtype } };
  }
  let min = Infinity;
  let max = -Infinity;
  for (const v of values) {
    if (v < min) min = v;
    if (v > max) max = v;
  }
  // tfjs-converter's affine range: 255 steps from min to max, the start nudged onto the grid so that 0 is
  // exactly representable; one value throughout gets scale 1.
  const scale = max > min ? (max - min) / 255 : 1;
  const start = max > min ? Math.round(min / scale) * scale : min;
  const bytes = new Uint8Array(values.length);
  for (let i = 0; i < values.length; i++) {
    bytes[i] = Math.min(255, Math.max(0, Math.round((values[i] - start) / scale)));
  }
  return { bytes, quantization: { dtype, scale, min: start } };
}

/**
 * The weights uint8 quantizes: the kernels of convolutions and dense layers (most of the bytes); the others
 * get float16 (tfjs-converter's `--quantize_uint8` and `--quantize_float16` take such lists of weight names
 * too). One scale per weight is too coarse elsewhere: 255 steps over a moving variance spanning 1e-4 to 1e2
 * turn its small values into 0, and a depthwise kernel's few large values take most of its steps — with
 * either in uint8, MobileNetV2's probabilities moved by up to 0.5 (docs/web-page.md).
 */
const UINT8_WEIGHTS = /(^|\/)kernel$/;

/**
 * The float32 weights `weights` (laid out as `specs`) stored quantized as `dtype`, with their manifest:
 * float16 quantizes every weight, uint8 the kernels ({@link UINT8_WEIGHTS}) and float16 the others.
 */
export function quantizeWeights(
  weights: Uint8Array,
  specs: WeightSpec[],
  dtype: "float16" | "uint8",
): { weights: Uint8Array; specs: WeightSpec[] } {
  const parts: Uint8Array[] = [];
  const out: WeightSpec[] = [];
  let offset = 0;
  for (const spec of specs) {
    const size = spec.shape.reduce((a, b) => a * b, 1);
    const bytes = weights.slice(offset, offset + 4 * size);
    offset += 4 * size;
    if (spec.dtype !== "float32" || spec.quantization) {
      throw new Error(`quantizeWeights: weight ${spec.name} is ${spec.dtype}, not plain float32`);
    }
    const as = dtype === "uint8" && !UINT8_WEIGHTS.test(spec.name) ? "float16" : dtype;
    const q = quantizeValues(new Float32Array(bytes.buffer), as);
    parts.push(q.bytes);
    out.push({ ...spec, quantization: q.quantization });
  }
  if (offset !== weights.length) {
    throw new Error(`quantizeWeights: the manifest covers ${offset} of ${weights.length} bytes`);
  }
  return { weights: concat(parts), specs: out };
}

function concat(parts: Uint8Array[]): Uint8Array {
  return new Uint8Array(Buffer.concat(parts));
}

/** Largest |original − quantized| output on the check batch, the quantized export loaded as tfjs loads it. */
async function quantizedDifference(
  model: LayersModel,
  exported: { modelTopology: TopologyJson; specs: WeightSpec[]; weights: Uint8Array },
  n: number,
): Promise<number> {
  const copy = await tf.loadLayersModel(tf.io.fromMemory({
    modelTopology: exported.modelTopology as any,
    weightSpecs: exported.specs,
    weightData: exported.weights.slice().buffer,
  }));
  try {
    return compareOutputs(model, copy, n);
  } finally {
    copy.dispose();
  }
}

/** Largest |a − b| between two models' outputs on `n` random 0..255 images of the input size. */
export function compareOutputs(a: LayersModel, b: LayersModel, n: number): number {
  const shape = a.inputs[0].shape.slice(1).map((d) => d ?? 32);
  return tf.tidy(() => {
    const x = tf.randomUniform([n, ...shape], 0, 255, "float32", 7);
    const ya = a.predict(x) as Tensor;
    const yb = b.predict(x) as Tensor;
    return tf.max(tf.abs(tf.sub(ya, yb))).dataSync()[0];
  });
}
