/**
 * A classifier as an ONNX model ({@link exportOnnx}), written by this project in TypeScript: the whole
 * inference model — the preprocessing the model holds (`Rescaling`, MobileNetV2's `x / 127.5 − 1`), the
 * base with each BatchNormalization folded into its convolution, the pooling, the Dense head — and the
 * output's softmax or sigmoid, for ONNX Runtime or any other ONNX runtime.
 *
 * The model is first reduced to its inference graph as for the browser export (`inference_export.ts`:
 * augmentation dropped, the `InferenceModel` base inlined), then written layer by layer through the ONNX
 * layer kinds of `lib/graph/` (`onnx_layer_kinds.ts`), which name any layer they cannot write.
 * {@link onnxMaxDifference} runs the result in ONNX Runtime beside TensorFlow.js.
 *
 * The file: input `images`, float32 `[N, height, width, 3]` (NHWC, RGB 0..255, `N` any batch size);
 * output `probabilities` `[N, units]` (`logits` with `output: "logits"`); `metadata_props` as
 * {@link OnnxMetadataProps}.
 *
 * @module
 */
import { tf } from "../runtime/mod.ts";
import type { LayersModel, Tensor, Tensor4D } from "../runtime/mod.ts";
import { nodesInOrder, ONNX_LAYER_KINDS, OnnxSession, OnnxWriter, writeOnnxForward } from "../graph/mod.ts";
import { inferenceTopology, type TopologyJson } from "./inference_export.ts";

/** The ONNX graph's input name. */
export const ONNX_INPUT = "images";
/** The opsets {@link exportOnnx} writes (ONNX's default domain). */
export const ONNX_OPSETS: readonly number[] = [13, 14, 15, 16, 17, 18, 19, 20, 21];
/** What the exported model outputs: softmax or sigmoid of the logits, or the logits themselves. */
export type OnnxOutputKind = "softmax" | "sigmoid" | "logits";

/** How images become the model's input, as far as the ONNX file records and checks it. */
export interface OnnxPreprocessing {
  /** `x * scale + offset` on 0..255 pixels: the model's first layer must be this `Rescaling`. */
  rescale: { scale: number; offset: number };
}

/** Options of {@link exportOnnx}. */
export interface OnnxExportOptions {
  /** The output: `softmax` (several logits), `sigmoid` (one logit), `logits`; default from the head's width. */
  output?: OnnxOutputKind;
  /** ONNX opset, one of {@link ONNX_OPSETS}; default 13. */
  opset?: number;
  /**
   * The preprocessing the model is trained with (`metadata.json`'s): checked against the model's first
   * layer and recorded in the file, all its fields, as JSON.
   */
  preprocessing?: OnnxPreprocessing;
  /** Class names in logit order, recorded in the file. */
  classNames?: string[];
}

/** The `metadata_props` of an exported file: strings, JSON where structured. */
export interface OnnxMetadataProps {
  /** `"NHWC float32 RGB 0..255"`: what the `images` input takes. */
  input: string;
  /** `[height, width]` as JSON. */
  imageSize: string;
  /** The output kind ({@link OnnxOutputKind}). */
  output: OnnxOutputKind;
  /** The class names as JSON; with one sigmoid output its value is P(`classNames[1]`). Present when given. */
  classNames?: string;
  /** The preprocessing as JSON ({@link OnnxPreprocessing} and more fields). Present when given. */
  preprocessing?: string;
}

/** ONNX's IR version for an opset (the oldest that has it, so that older runtimes read the file). */
function irVersionFor(opset: number): number {
  return opset <= 14 ? 7 : opset <= 18 ? 8 : opset <= 20 ? 9 : 10;
}

/** The output kind for `units` logits when not given, and a check when given. */
function outputKindFor(units: number, output: OnnxOutputKind | undefined): OnnxOutputKind {
  const fits = units === 1 ? "sigmoid" : "softmax";
  if (output === undefined || output === "logits" || output === fits) return output ?? fits;
  throw new Error(
    `exportOnnx: output "${output}" does not fit a head of ${units} logit(s): use "${fits}" (or "logits")`,
  );
}

/** The model's inference graph as a new model of built-in layers, weights copied by layer name. */
async function inferenceCopy(model: LayersModel): Promise<LayersModel> {
  const topology = inferenceTopology(model.toJSON(null, false) as TopologyJson);
  const missing = topology.config.layers.filter((l) => !ONNX_LAYER_KINDS[l.class_name])
    .map((l) => `layer "${l.name ?? l.config?.name}" (${l.class_name})`);
  if (missing.length) {
    throw new Error(
      `exportOnnx: model "${model.name}" has layers of kinds the ONNX export does not write: ${
        missing.join(", ")
      } ` +
        `(it writes ${Object.keys(ONNX_LAYER_KINDS).join(", ")})`,
    );
  }
  const source = new Map<string, LayersModel["layers"][number]>();
  const collect = (m: LayersModel): void =>
    m.layers.forEach((l) => l instanceof tf.LayersModel ? collect(l) : source.set(l.name, l));
  collect(model);
  const copy = await tf.models.modelFromJSON({ modelTopology: topology as any });
  try {
    for (const layer of copy.layers) {
      const from = source.get(layer.name);
      if (!from) throw new Error(`exportOnnx: layer "${layer.name}" not found in the original`);
      if (layer.weights.length) layer.setWeights(from.getWeights());
    }
  } catch (e) {
    copy.dispose();
    throw e;
  }
  return copy;
}

/** Throws unless the model's first layer is the `Rescaling` that `p` describes. */
function checkPreprocessing(model: LayersModel, p: OnnxPreprocessing): void {
  const first = nodesInOrder(model).find((n) => n.outboundLayer.getClassName() !== "InputLayer");
  const c = first?.outboundLayer.getConfig() as { scale?: number; offset?: number } | undefined;
  const near = (a: number | undefined, b: number) => a !== undefined && Math.abs(a - b) <= 1e-9 * Math.abs(b);
  const isRescaling = first?.outboundLayer.getClassName() === "Rescaling";
  if (!isRescaling || !near(c?.scale, p.rescale.scale) || !near(c?.offset ?? 0, p.rescale.offset)) {
    const found = isRescaling
      ? `Rescaling(scale ${c?.scale}, offset ${c?.offset ?? 0})`
      : `${first?.outboundLayer.getClassName()} "${first?.outboundLayer.name}"`;
    throw new Error(
      `exportOnnx: the preprocessing given is x·${p.rescale.scale} + ${p.rescale.offset}, but the model's first ` +
        `layer is ${found}: the exported model would not compute what the classifier does`,
    );
  }
}

/**
 * The ONNX `ModelProto` bytes of `model` (a classifier built by `buildClassifier`, loaded or in memory; or
 * any functional model of the layer kinds in `lib/graph/`'s ONNX table, one image input, one
 * `[batch, logits]` output). Throws, naming the layers and their kinds, when it cannot be written.
 *
 * @example A tiny classifier to ONNX
 * ```ts
 * import assert from "node:assert";
 * import { tf } from "../runtime/mod.ts";
 * import type { SymbolicTensor } from "../runtime/mod.ts";
 * import { exportOnnx } from "./mod.ts";
 *
 * const input = tf.input({ shape: [8, 8, 3] });
 * let x = tf.layers.rescaling({ scale: 1 / 127.5, offset: -1 }).apply(input) as SymbolicTensor;
 * x = tf.layers.conv2d({ filters: 4, kernelSize: 3, padding: "same" }).apply(x) as SymbolicTensor;
 * x = tf.layers.globalAveragePooling2d({}).apply(x) as SymbolicTensor;
 * const model = tf.model({ inputs: input, outputs: tf.layers.dense({ units: 3 }).apply(x) as SymbolicTensor });
 * const bytes = await exportOnnx(model, { preprocessing: { rescale: { scale: 1 / 127.5, offset: -1 } } });
 * assert.ok(bytes.length > 100);
 * model.dispose();
 * ```
 */
export async function exportOnnx(model: LayersModel, options: OnnxExportOptions = {}): Promise<Uint8Array> {
  const { opset = 13 } = options;
  if (!ONNX_OPSETS.includes(opset)) {
    throw new Error(`exportOnnx: opset ${opset} is not supported; use one of ${ONNX_OPSETS.join(", ")}`);
  }
  const copy = await inferenceCopy(model);
  try {
    if (options.preprocessing) checkPreprocessing(copy, options.preprocessing);
    const w = new OnnxWriter();
    const [, height, width, channels] = copy.inputs[0].shape as number[];
    const logits = writeOnnxForward(w, copy, w.input(ONNX_INPUT, ["N", height, width, channels]));
    const units = copy.outputs[0].shape[1] as number;
    const output = outputKindFor(units, options.output);
    checkClassNames(options.classNames, units);
    const y = output === "logits"
      ? w.node("logits", "Identity", [logits])
      : w.node("probabilities", output === "softmax" ? "Softmax" : "Sigmoid", [logits], {
        ...(output === "softmax" ? { axis: { i: -1 } } : {}),
      });
    w.output(y, ["N", units]);
    const metadata: OnnxMetadataProps = {
      input: "NHWC float32 RGB 0..255",
      imageSize: JSON.stringify([height, width]),
      output,
      ...(options.classNames ? { classNames: JSON.stringify(options.classNames) } : {}),
      ...(options.preprocessing ? { preprocessing: JSON.stringify(options.preprocessing) } : {}),
    };
    return await w.encode({
      opset,
      irVersion: irVersionFor(opset),
      graphName: model.name,
      producer: "transfer-learning-ts",
      docString:
        `Image classifier: ${ONNX_INPUT} [N, ${height}, ${width}, ${channels}] float32 RGB 0..255 → ${y} ` +
        `[N, ${units}] (${output}).`,
      metadata: { ...metadata },
    });
  } finally {
    copy.dispose();
  }
}

/** Throws when `classNames` does not fit a head of `units` logits (one logit: two classes). */
function checkClassNames(classNames: string[] | undefined, units: number): void {
  const expected = units === 1 ? 2 : units;
  if (classNames && classNames.length !== expected) {
    throw new Error(
      `exportOnnx: ${classNames.length} class names for a head of ${units} logit(s) (${expected} classes)`,
    );
  }
}

/**
 * The largest |ONNX Runtime − TensorFlow.js| over `images` (`[b, h, w, 3]`, 0..255): `model.predict`'s
 * logits through the same `output` (softmax, sigmoid or none) against the exported `onnx` bytes run by
 * ONNX Runtime.
 */
export async function onnxMaxDifference(
  model: LayersModel,
  onnx: Uint8Array,
  images: Tensor4D,
  output: OnnxOutputKind,
): Promise<number> {
  const expected = tf.tidy(() => {
    const logits = model.predict(images) as Tensor;
    const y = output === "softmax" ? tf.softmax(logits) : output === "sigmoid" ? tf.sigmoid(logits) : logits;
    return y.dataSync() as Float32Array;
  });
  const session = await OnnxSession.create(onnx);
  try {
    const got = await session.run(images.dataSync() as Float32Array, images.shape);
    if (got.data.length !== expected.length) {
      throw new Error(
        `onnxMaxDifference: ONNX output [${got.dims}] has not the ${expected.length} values expected`,
      );
    }
    let max = 0;
    for (let i = 0; i < expected.length; i++) max = Math.max(max, Math.abs(got.data[i] - expected[i]));
    return max;
  } finally {
    await session.release();
  }
}
