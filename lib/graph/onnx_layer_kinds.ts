/**
 * The one table of Keras layer kinds that can be written into an ONNX graph ({@link ONNX_LAYER_KINDS}):
 * for each kind, the check of its configuration and the writer of its ONNX nodes — as `layer_kinds.ts` is
 * for TensorFlow graphs. Adding a layer kind is one entry.
 *
 * Layout: image tensors (rank 4) are NCHW inside the ONNX graph — ONNX's `Conv`, `Pad` and
 * `GlobalAveragePool` take that layout — so the model's NHWC input is transposed once, before the first
 * layer (`onnx_forward.ts`), and kernels are rearranged here. Element-wise kinds do not care; a kind whose
 * result depends on the element order (Flatten, Reshape) would have to transpose back first, which is why
 * none is in the table yet.
 *
 * @module
 */
import type { LayerConfig } from "./layer_kinds.ts";
import type { GraphNode, Layer } from "./model_nodes.ts";
import type { OnnxWriter } from "./onnx_writer.ts";
import type { Tensor } from "./tfjs_types.ts";

/** One layer kind: its check and its ONNX writer. */
export interface OnnxLayerKind {
  /** Why this layer call cannot be written, or `null`. */
  check(c: LayerConfig, node: GraphNode): string | null;
  /**
   * Writes the layer call's nodes on inputs `xs` (NCHW for images); returns its output's name. `folded` is a
   * following inference BatchNormalization to fold into a convolution's weights.
   */
  write(w: OnnxWriter, node: GraphNode, xs: string[], folded?: Layer): string;
}

const ACTIVATIONS = new Set(["linear", "relu", "relu6"]);
const channelsLast = (c: LayerConfig) => c.dataFormat === undefined || c.dataFormat === "channelsLast";
const valuesOf = (w: Tensor) => w.dataSync() as Float32Array;
const lname = (n: GraphNode) => n.outboundLayer.name;
const configOf = (n: GraphNode) => n.outboundLayer.getConfig() as LayerConfig;
const pair = (v: number | number[]) => Array.isArray(v) ? v : [v, v];

/** `relu` → `Relu`, `relu6` → `Clip(0, 6)`, `linear` → `x` itself. */
function activate(w: OnnxWriter, name: string, activation: string, x: string): string {
  if (activation === "relu") return w.node(`${name}/Relu`, "Relu", [x]);
  if (activation === "relu6") return clip(w, name, x, 6);
  return x;
}

/** `min(max(x, 0), max)` (Clip takes its bounds as inputs from opset 11 on). */
function clip(w: OnnxWriter, name: string, x: string, max: number): string {
  return w.node(`${name}/Clip`, "Clip", [x, w.scalar(`${name}/min`, 0), w.scalar(`${name}/max`, max)]);
}

/** BatchNormalization's per-channel `s = γ/√(var + ε)` and `t = β − mean·s` (inference statistics). */
function batchNormScaleShift(layer: Layer): { s: Float32Array; t: Float32Array } {
  const c = layer.getConfig() as LayerConfig;
  const ws = layer.getWeights();
  let i = 0;
  const gamma = c.scale ? valuesOf(ws[i++]) : null;
  const beta = c.center ? valuesOf(ws[i++]) : null;
  const mean = valuesOf(ws[i]);
  const variance = valuesOf(ws[i + 1]);
  const s = new Float32Array(mean.length);
  const t = new Float32Array(mean.length);
  for (let j = 0; j < s.length; j++) {
    s[j] = (gamma ? gamma[j] : 1) / Math.sqrt(variance[j] + c.epsilon);
    t[j] = (beta ? beta[j] : 0) - mean[j] * s[j];
  }
  return { s, t };
}

// ---------------------------------------------------------------------------------------------------
// Convolutions

/** TensorFlow's padding for `same` along one axis: `[before, after]`, the odd pixel after. */
function samePads(size: number, kernel: number, stride: number, dilation: number): [number, number] {
  const out = Math.ceil(size / stride);
  const total = Math.max((out - 1) * stride + (kernel - 1) * dilation + 1 - size, 0);
  return [Math.floor(total / 2), total - Math.floor(total / 2)];
}

/**
 * A Keras kernel as ONNX's `[out, in / group, kh, kw]` with `scale` per output channel applied:
 * Conv2D's `[kh, kw, in, out]`; DepthwiseConv2D's `[kh, kw, in, multiplier]`, output channel
 * `i·multiplier + m` (TensorFlow's order), one group per input channel.
 */
function onnxKernel(kernel: Tensor, depthwise: boolean, scale: Float32Array | null) {
  const [kh, kw, cin, last] = kernel.shape as number[];
  const cout = depthwise ? cin * last : last;
  const perGroup = depthwise ? 1 : cin;
  const src = valuesOf(kernel);
  const out = new Float32Array(src.length);
  for (let y = 0; y < kh; y++) {
    for (let x = 0; x < kw; x++) {
      for (let i = 0; i < cin; i++) {
        for (let o = 0; o < last; o++) {
          const from = ((y * kw + x) * cin + i) * last + o;
          const oc = depthwise ? i * last + o : o;
          const ic = depthwise ? 0 : i;
          out[((oc * perGroup + ic) * kh + y) * kw + x] = src[from] * (scale ? scale[oc] : 1);
        }
      }
    }
  }
  return { values: out, dims: [cout, perGroup, kh, kw], channels: cout };
}

/** Kernel and bias (null: none), a following BatchNormalization `bn` folded in: `W·s`, `b·s + t`. */
function convWeights(w: OnnxWriter, layer: Layer, bn: Layer | undefined) {
  const c = layer.getConfig() as LayerConfig;
  const ws = layer.getWeights();
  const depthwise = layer.getClassName() === "DepthwiseConv2D";
  const fold = bn ? batchNormScaleShift(bn) : null;
  const k = onnxKernel(ws[0], depthwise, fold?.s ?? null);
  if (fold && fold.s.length !== k.channels) {
    throw new Error(`${bn!.name}: ${fold.s.length} channels after ${k.channels}`);
  }
  const bias = c.useBias ? valuesOf(ws[1]) : null;
  let b: Float32Array | null = bias;
  if (fold) {
    b = new Float32Array(k.channels);
    for (let j = 0; j < k.channels; j++) b[j] = (bias ? bias[j] : 0) * fold.s[j] + fold.t[j];
  }
  return {
    kernel: w.floats(`${layer.name}/kernel`, k.values, k.dims),
    bias: b ? w.floats(`${(bn ?? layer).name}/bias`, b, [k.channels]) : null,
    group: depthwise ? ws[0].shape[2] as number : 1,
  };
}

const convolution: OnnxLayerKind = {
  check(c, node) {
    if (!channelsLast(c)) return "channels-first";
    if (!ACTIVATIONS.has(c.activation)) return `activation ${c.activation}`;
    if (c.padding !== "same" && c.padding !== "valid") return `padding ${c.padding}`;
    const [, h, wd] = node.inputTensors[0].shape;
    if (c.padding === "same" && !(h && wd)) return "padding same with an input of unknown height or width";
    // tfjs-layers' DepthwiseConv2D drops its dilationRate (it computes the undilated convolution), Keras
    // does not: no export could match both.
    const dilated = pair(c.dilationRate ?? 1).some((d) => d !== 1);
    if (dilated && node.outboundLayer.getClassName() === "DepthwiseConv2D") {
      const rate = JSON.stringify(c.dilationRate);
      return `dilationRate ${rate} (which TensorFlow.js ignores in DepthwiseConv2D and Keras applies)`;
    }
    return null;
  },
  write(w, node, xs, bn) {
    const layer = node.outboundLayer;
    const c = layer.getConfig() as LayerConfig;
    const { kernel, bias, group } = convWeights(w, layer, bn);
    const [kh, kw] = pair(c.kernelSize);
    const [sh, sw] = pair(c.strides);
    const [dh, dw] = pair(c.dilationRate ?? 1);
    const [, h, wd] = node.inputTensors[0].shape as number[];
    const [top, bottom] = c.padding === "same" ? samePads(h, kh, sh, dh) : [0, 0];
    const [left, right] = c.padding === "same" ? samePads(wd, kw, sw, dw) : [0, 0];
    const name = bn ? bn.name : layer.name;
    const y = w.node(`${name}/Conv`, "Conv", bias ? [xs[0], kernel, bias] : [xs[0], kernel], {
      kernel_shape: { ints: [kh, kw] },
      strides: { ints: [sh, sw] },
      dilations: { ints: [dh, dw] },
      pads: { ints: [top, left, bottom, right] },
      group: { i: group },
    });
    return activate(w, name, c.activation, y);
  },
};

// ---------------------------------------------------------------------------------------------------
// The other kinds

const batchNormalization: OnnxLayerKind = {
  check(c, node) {
    const axis = Array.isArray(c.axis) ? c.axis : [c.axis];
    const rank = node.inputTensors[0].shape.length;
    return axis.length === 1 && (axis[0] === -1 || axis[0] === rank - 1) ? null : `axis ${c.axis}`;
  },
  write(w, node, xs) {
    const n = lname(node);
    const { s, t } = batchNormScaleShift(node.outboundLayer);
    // Per channel: along axis 1 of NCHW images, the last axis of [batch, features].
    const dims = node.inputTensors[0].shape.length === 4 ? [s.length, 1, 1] : [s.length];
    const y = w.node(`${n}/mul`, "Mul", [xs[0], w.floats(`${n}/scale`, s, dims)]);
    return w.node(`${n}/add`, "Add", [y, w.floats(`${n}/shift`, t, dims)]);
  },
};

const reluLayer: OnnxLayerKind = {
  check: (c) => c.maxValue == null || c.maxValue > 0 ? null : `maxValue ${c.maxValue}`,
  write(w, node, xs) {
    const { maxValue } = configOf(node);
    return maxValue == null
      ? w.node(`${lname(node)}/Relu`, "Relu", xs)
      : clip(w, lname(node), xs[0], maxValue);
  },
};

const activation: OnnxLayerKind = {
  check: (c) => ACTIVATIONS.has(c.activation) ? null : `activation ${c.activation}`,
  write: (w, node, xs) => activate(w, lname(node), configOf(node).activation, xs[0]),
};

const add: OnnxLayerKind = {
  check: () => null,
  write(w, node, xs) {
    return xs.slice(1).reduce(
      (a, b, i) => w.node(`${lname(node)}/add${i ? `_${i}` : ""}`, "Add", [a, b]),
      xs[0],
    );
  },
};

const zeroPadding: OnnxLayerKind = {
  check: (c) => channelsLast(c) ? null : "channels-first",
  write(w, node, xs) {
    const [[top, bottom], [left, right]] = configOf(node).padding as number[][];
    const n = lname(node);
    const pads = w.ints(`${n}/pads`, [0, 0, top, left, 0, 0, bottom, right], [8]);
    return w.node(`${n}/Pad`, "Pad", [xs[0], pads], { mode: { s: "constant" } });
  },
};

const globalAveragePooling: OnnxLayerKind = {
  check: (c) => channelsLast(c) && !c.keepDims ? null : "keepDims or channels-first",
  write(w, node, xs) {
    const n = lname(node);
    const pooled = w.node(`${n}/GlobalAveragePool`, "GlobalAveragePool", xs);
    return w.node(`${n}/Flatten`, "Flatten", [pooled], { axis: { i: 1 } });
  },
};

const rescaling: OnnxLayerKind = {
  check: (c) =>
    Number.isFinite(c.scale) && Number.isFinite(c.offset ?? 0) ? null : "non-numeric scale or offset",
  write(w, node, xs) {
    const { scale, offset = 0 } = configOf(node);
    const n = lname(node);
    const y = w.node(`${n}/mul`, "Mul", [xs[0], w.scalar(`${n}/scale`, scale)]);
    return w.node(`${n}/add`, "Add", [y, w.scalar(`${n}/offset`, offset)]);
  },
};

/** Identity in inference: the output is the input (no node). */
const passThrough: OnnxLayerKind = { check: () => null, write: (_w, _node, xs) => xs[0] };

const dense: OnnxLayerKind = {
  check(c, node) {
    if (node.inputTensors[0]?.shape.length !== 2) return "input of rank other than 2";
    return ACTIVATIONS.has(c.activation) ? null : `activation ${c.activation}`;
  },
  write(w, node, xs) {
    const layer = node.outboundLayer;
    const c = layer.getConfig() as LayerConfig;
    const ws = layer.getWeights();
    const n = layer.name;
    const kernel = w.floats(`${n}/kernel`, valuesOf(ws[0]), ws[0].shape as number[]);
    const inputs = [xs[0], kernel];
    if (c.useBias) inputs.push(w.floats(`${n}/bias`, valuesOf(ws[1]), ws[1].shape as number[]));
    return activate(w, n, c.activation, w.node(`${n}/Gemm`, "Gemm", inputs));
  },
};

/**
 * Every layer kind that can be written into an ONNX graph, by Keras class name: Conv2D and DepthwiseConv2D
 * (channels-last, activation linear/relu/relu6, padding same/valid; a following BatchNormalization folded
 * in), BatchNormalization along the last axis, ReLU (any `maxValue`), Activation (linear/relu/relu6), Add,
 * ZeroPadding2D, GlobalAveragePooling2D, Rescaling, Dense (rank-2 input, activation linear/relu/relu6), and
 * Dropout and InputLayer (nothing to write in inference).
 */
export const ONNX_LAYER_KINDS: Record<string, OnnxLayerKind> = {
  InputLayer: passThrough,
  Conv2D: convolution,
  DepthwiseConv2D: convolution,
  BatchNormalization: batchNormalization,
  ReLU: reluLayer,
  Activation: activation,
  Add: add,
  ZeroPadding2D: zeroPadding,
  GlobalAveragePooling2D: globalAveragePooling,
  Rescaling: rescaling,
  Dropout: passThrough,
  Dense: dense,
};

/**
 * Why `node`'s layer cannot be written into an ONNX graph — `layer "NAME" (KIND): reason` — or `null`.
 *
 * @example A layer kind the table lacks is named with its layer
 * ```ts
 * import assert from "node:assert";
 * import { tf } from "../runtime/mod.ts";
 * import type { SymbolicTensor } from "../runtime/mod.ts";
 * import { nodesInOrder, onnxUnsupported } from "./mod.ts";
 *
 * const input = tf.input({ shape: [2, 2, 1] });
 * const flat = tf.layers.flatten({ name: "flat" }).apply(input) as SymbolicTensor;
 * const model = tf.model({ inputs: input, outputs: flat });
 * assert.deepStrictEqual(nodesInOrder(model).map(onnxUnsupported), [
 *   null,
 *   'layer "flat" (Flatten): no ONNX writer for this layer kind',
 * ]);
 * ```
 */
export function onnxUnsupported(node: GraphNode): string | null {
  const layer = node.outboundLayer;
  const what = `layer "${layer.name}" (${layer.getClassName()})`;
  const kind = ONNX_LAYER_KINDS[layer.getClassName()];
  if (!kind) return `${what}: no ONNX writer for this layer kind`;
  const why = kind.check(layer.getConfig() as LayerConfig, node);
  return why === null ? null : `${what}: ${why} is not supported`;
}
