/**
 * The one table of Keras layer kinds that can be written into a TensorFlow graph: for each kind, the check
 * of its configuration, the forward writer and the backward (gradient) writer. The frozen part of a base
 * (`frozen_graph.ts`, through `forward_writer.ts`) uses the checks and forward writers; the compiled
 * training step (`lib/train/train_graph.ts`) uses all three. Adding a layer kind is one entry in
 * {@link LAYER_KINDS}.
 *
 * The gradients are those TensorFlow registers for the same ops (`Conv2DBackpropInput/Filter`,
 * `DepthwiseConv2dNativeBackpropInput/Filter`, `Relu6Grad`, `BiasAddGrad`, …), which are also what tfjs
 * computes eagerly, so the compiled step's gradients equal tfjs' own.
 *
 * @module
 */
import { type Attr, DT_INT32, FLOAT_T, type GraphWriter } from "./graph_writer.ts";
import type { GraphNode, Layer } from "./model_nodes.ts";
import type { Tensor } from "./tfjs_types.ts";

/**
 * A layer's configuration as `layer.getConfig()` returns it (tfjs' camelCase keys: `activation`,
 * `padding`, `useBias`, …), read loosely: each kind's check decides what it accepts.
 */
// deno-lint-ignore no-explicit-any
export type LayerConfig = Record<string, any>;

/** How the graph being written holds weights and per-step random numbers. */
export interface Emitter {
  /** The graph being written. */
  g: GraphWriter;
  /** The graph node holding weight `i` of `layer`: a constant of its current value, or a fed variable. */
  weight(layer: Layer, i: number): string;
  /** Whether every weight of `layer` is a constant (its values may then be folded in JS). */
  constant(layer: Layer): boolean;
  /** Training mode (dropout active). */
  training: boolean;
  /**
   * A fed float32 tensor of uniform [0, 1) draws of `shape` (−1: the batch), for dropout; `seed` is the
   * layer's. The caller draws a new tensor every step — for a seeded layer from a seed that advances per
   * step (`lib/train/`'s `dropoutSeed`), where tfjs' own `Dropout` would reuse one mask.
   */
  uniform?(name: string, shape: number[], seed?: number): string;
}

/** What a forward writer produced: the output node and any intermediate nodes its backward reuses. */
export interface Forward {
  /** The node holding the layer call's output. */
  y: string;
  /** Intermediate nodes by name (e.g. `pre`: the value before the activation), for the backward writer. */
  saved?: Record<string, string>;
}

/** Gradients of one layer call: per input (null: not needed) and per weight (null: not trainable). */
export interface Backward {
  /** The gradient node of each input, in input order; `null` when not needed. */
  dxs: (string | null)[];
  /** The gradient node of each weight, in `layer.weights` order; `null` when the weight does not train. */
  dws: (string | null)[];
}

/** One layer kind: its check, forward and backward writers. */
export interface LayerKind {
  /** Why this layer call cannot be written, or `null`. */
  check(c: LayerConfig, node: GraphNode): string | null;
  /** Writes the forward pass; `folded` is a following inference BatchNormalization (constants only). */
  forward(e: Emitter, node: GraphNode, xs: string[], folded?: Layer): Forward;
  /** Writes the gradients for `dy`; `null` when the kind has no backward writer for this call. */
  backward: ((e: Emitter, node: GraphNode, xs: string[], fwd: Forward, dy: string) => Backward) | null;
  /** Forward can fold a following inference BatchNormalization into its weights. */
  foldsBatchNorm?: boolean;
}

const ACTIVATIONS: Record<string, string | null> = { linear: null, relu: "Relu", relu6: "Relu6" };
const GRADS: Record<string, string> = { Relu: "ReluGrad", Relu6: "Relu6Grad" };
const NHWC = { s: "NHWC" } as Attr;
const T = FLOAT_T;

const channelsLast = (c: LayerConfig) => c.dataFormat === undefined || c.dataFormat === "channelsLast";
const valuesOf = (w: Tensor) => w.dataSync() as Float32Array;
const lname = (n: GraphNode) => n.outboundLayer.name;

/** `Shape(x)` as int32. */
function shapeOf(g: GraphWriter, name: string, x: string): string {
  return g.op(name, "Shape", [x], { ...T, out_type: { type: DT_INT32 } });
}

/** Sum over `axes` (not keeping them). */
function sum(g: GraphWriter, name: string, x: string, axes: number[]): string {
  const a = g.constant(`${name}/axes`, new Int32Array(axes), [axes.length]);
  return g.op(name, "Sum", [x, a], { ...T, Tidx: { type: DT_INT32 }, keep_dims: { b: false } });
}

/** Constant per-channel (or scalar, `shape` `[]`) values of {@link scaleShift}. */
interface ScaleShift {
  scale: Float32Array;
  shift: Float32Array;
  shape: number[];
}

/** `x · scale + shift` with constant values. */
function scaleShift(g: GraphWriter, name: string, x: string, { scale, shift, shape }: ScaleShift): string {
  const y = g.op(`${name}/mul`, "Mul", [x, g.constant(`${name}/scale`, scale, shape)], T);
  return g.op(`${name}/add`, "AddV2", [y, g.constant(`${name}/shift`, shift, shape)], T);
}

/** Index of gamma, beta, moving mean and moving variance among a BatchNormalization's weights. */
function batchNormIndices(c: LayerConfig) {
  let i = 0;
  const gamma = c.scale ? i++ : -1;
  const beta = c.center ? i++ : -1;
  return { gamma, beta, mean: i, variance: i + 1 };
}

/** BatchNormalization's per-channel `s = γ/√(var + ε)` and `t = β − mean·s` (inference statistics). */
function batchNormScaleShift(layer: Layer): { s: Float32Array; t: Float32Array } {
  const c = layer.getConfig() as LayerConfig;
  const ws = layer.getWeights();
  const k = batchNormIndices(c);
  const gamma = k.gamma >= 0 ? valuesOf(ws[k.gamma]) : null;
  const beta = k.beta >= 0 ? valuesOf(ws[k.beta]) : null;
  const mean = valuesOf(ws[k.mean]);
  const variance = valuesOf(ws[k.variance]);
  const s = new Float32Array(mean.length);
  const t = new Float32Array(mean.length);
  for (let j = 0; j < s.length; j++) {
    s[j] = (gamma ? gamma[j] : 1) / Math.sqrt(variance[j] + c.epsilon);
    t[j] = (beta ? beta[j] : 0) - mean[j] * s[j];
  }
  return { s, t };
}

/** The gradient before an activation from `[dy, x]`, `x` its input (`dy` itself for linear). */
function activationGrad(g: GraphWriter, name: string, activation: string, [dy, x]: [string, string]): string {
  const op = ACTIVATIONS[activation];
  return op ? g.op(`${name}/${GRADS[op]}`, GRADS[op], [dy, x], T) : dy;
}

// ---------------------------------------------------------------------------------------------------
// Convolutions

function convCheck(c: LayerConfig): string | null {
  if (!channelsLast(c)) return "channels-first";
  if (!(c.activation in ACTIVATIONS)) return `activation ${c.activation}`;
  if (c.padding !== "same" && c.padding !== "valid") return `padding ${c.padding}`;
  return null;
}

function convAttrs(c: LayerConfig): Record<string, Attr> {
  const [sh, sw] = c.strides;
  const [dh, dw] = Array.isArray(c.dilationRate) ? c.dilationRate : [c.dilationRate, c.dilationRate];
  return {
    ...T,
    strides: { ints: [1, sh, sw, 1] },
    padding: { s: c.padding.toUpperCase() },
    data_format: NHWC,
    dilations: { ints: [1, dh, dw, 1] },
  };
}

function convOp(layer: Layer) {
  return layer.getClassName() === "Conv2D" ? "Conv2D" : "DepthwiseConv2dNative";
}

/** Kernel and bias as constants with a following BatchNormalization folded in (`W·s`, `b·s + t`). */
function foldedWeights(e: Emitter, layer: Layer, bn: Layer): { kernel: string; bias: string } {
  const c = layer.getConfig() as LayerConfig;
  const ws = layer.getWeights();
  const kernel = valuesOf(ws[0]).slice();
  const [, , inChannels, outOrMultiplier] = ws[0].shape;
  const channels = layer.getClassName() === "Conv2D" ? outOrMultiplier : inChannels * outOrMultiplier;
  const bias = c.useBias ? valuesOf(ws[1]) : null;
  const { s, t } = batchNormScaleShift(bn);
  if (s.length !== channels) throw new Error(`${bn.name}: ${s.length} channels after ${channels}`);
  for (let k = 0; k < kernel.length; k++) kernel[k] *= s[k % channels];
  const b = new Float32Array(channels);
  for (let k = 0; k < channels; k++) b[k] = (bias ? bias[k] : 0) * s[k] + t[k];
  return {
    kernel: e.g.constant(`${layer.name}/kernel`, kernel, ws[0].shape),
    bias: e.g.constant(`${bn.name}/bias`, b, [channels]),
  };
}

const convolution: LayerKind = {
  check: convCheck,
  foldsBatchNorm: true,
  forward(e, node, xs, bn) {
    const layer = node.outboundLayer;
    const c = layer.getConfig() as LayerConfig;
    const op = convOp(layer);
    let kernel: string, bias: string | null;
    if (bn) ({ kernel, bias } = foldedWeights(e, layer, bn));
    else {
      kernel = e.weight(layer, 0);
      bias = c.useBias ? e.weight(layer, 1) : null;
    }
    let y = e.g.op(`${layer.name}/${op}`, op, [xs[0], kernel], convAttrs(c));
    if (bias) {
      y = e.g.op(`${bn?.name ?? layer.name}/BiasAdd`, "BiasAdd", [y, bias], { ...T, data_format: NHWC });
    }
    const act = ACTIVATIONS[c.activation];
    const out = act ? e.g.op(`${layer.name}/${act}`, act, [y], T) : y;
    return { y: out, saved: { kernel, pre: y } };
  },
  backward(e, node, xs, fwd, dy) {
    const layer = node.outboundLayer;
    const c = layer.getConfig() as LayerConfig;
    const g = e.g;
    const n = lname(node);
    const dz = activationGrad(g, `${n}_grad`, c.activation, [dy, fwd.saved!.pre]);
    const op = convOp(layer);
    const attrs = convAttrs(c);
    const dx = g.op(`${n}_grad/${op}BackpropInput`, `${op}BackpropInput`, [
      shapeOf(g, `${n}_grad/input_shape`, xs[0]),
      fwd.saved!.kernel,
      dz,
    ], attrs);
    const kernelShape = layer.getWeights()[0].shape;
    const dw = g.op(`${n}_grad/${op}BackpropFilter`, `${op}BackpropFilter`, [
      xs[0],
      g.constant(`${n}_grad/filter_shape`, new Int32Array(kernelShape), [4]),
      dz,
    ], attrs);
    const dws = [dw];
    if (c.useBias) dws.push(g.op(`${n}_grad/BiasAddGrad`, "BiasAddGrad", [dz], { ...T, data_format: NHWC }));
    return { dxs: [dx], dws };
  },
};

// ---------------------------------------------------------------------------------------------------
// The other kinds

const batchNormalization: LayerKind = {
  check(c) {
    const axis = Array.isArray(c.axis) ? c.axis : [c.axis];
    return axis.length === 1 && (axis[0] === -1 || axis[0] === 3) ? null : `axis ${c.axis}`;
  },
  forward(e, node, xs) {
    const layer = node.outboundLayer;
    const n = layer.name;
    if (e.constant(layer)) {
      const { s, t } = batchNormScaleShift(layer);
      return { y: scaleShift(e.g, n, xs[0], { scale: s, shift: t, shape: [s.length] }) };
    }
    // Trainable γ/β over fixed statistics: s = γ·r, t = β − mean·s with r = 1/√(var + ε) (as lib/runtime/tf.ts).
    const c = layer.getConfig() as LayerConfig;
    const k = batchNormIndices(c);
    const g = e.g;
    const ws = layer.getWeights();
    const variance = valuesOf(ws[k.variance]);
    const r = new Float32Array(variance.length);
    for (let j = 0; j < r.length; j++) r[j] = 1 / Math.sqrt(Math.fround(variance[j] + c.epsilon));
    const rn = g.constant(`${n}/rsqrt`, r, [r.length]);
    const mean = e.weight(layer, k.mean);
    const s = k.gamma >= 0 ? g.op(`${n}/s`, "Mul", [rn, e.weight(layer, k.gamma)], T) : rn;
    const ms = g.op(`${n}/mean_s`, "Mul", [mean, s], T);
    const t = k.beta >= 0
      ? g.op(`${n}/t`, "Sub", [e.weight(layer, k.beta), ms], T)
      : g.op(`${n}/t`, "Neg", [ms], T);
    const y = g.op(`${n}/add`, "AddV2", [g.op(`${n}/mul`, "Mul", [xs[0], s], T), t], T);
    return { y, saved: { s, r: rn, mean } };
  },
  backward(e, node, xs, fwd, dy) {
    const layer = node.outboundLayer;
    const c = layer.getConfig() as LayerConfig;
    const k = batchNormIndices(c);
    const g = e.g;
    const n = `${layer.name}_grad`;
    const { s, r, mean } = fwd.saved!;
    const dx = g.op(`${n}/dx`, "Mul", [dy, s], T);
    const dws: (string | null)[] = layer.weights.map(() => null);
    if (k.gamma >= 0) {
      const centered = g.op(`${n}/centered`, "Sub", [xs[0], mean], T);
      const dyc = sum(g, `${n}/sum_dy_centered`, g.op(`${n}/dy_centered`, "Mul", [dy, centered], T), [
        0,
        1,
        2,
      ]);
      dws[k.gamma] = g.op(`${n}/dgamma`, "Mul", [dyc, r], T);
    }
    if (k.beta >= 0) dws[k.beta] = sum(g, `${n}/dbeta`, dy, [0, 1, 2]);
    return { dxs: [dx], dws };
  },
};

const reluLayer: LayerKind = {
  check: (c) => c.maxValue == null || c.maxValue === 6 ? null : `maxValue ${c.maxValue}`,
  forward(e, node, xs) {
    const op = (node.outboundLayer.getConfig() as LayerConfig).maxValue === 6 ? "Relu6" : "Relu";
    return { y: e.g.op(`${lname(node)}/${op}`, op, xs, T) };
  },
  backward(e, node, xs, _fwd, dy) {
    const act = (node.outboundLayer.getConfig() as LayerConfig).maxValue === 6 ? "relu6" : "relu";
    return { dxs: [activationGrad(e.g, `${lname(node)}_grad`, act, [dy, xs[0]])], dws: [] };
  },
};

const activation: LayerKind = {
  check: (c) => c.activation in ACTIVATIONS ? null : `activation ${c.activation}`,
  forward(e, node, xs) {
    const op = ACTIVATIONS[(node.outboundLayer.getConfig() as LayerConfig).activation];
    const n = lname(node);
    return { y: op ? e.g.op(`${n}/${op}`, op, xs, T) : e.g.op(`${n}/Identity`, "Identity", xs, T) };
  },
  backward(e, node, xs, _fwd, dy) {
    const act = (node.outboundLayer.getConfig() as LayerConfig).activation;
    return { dxs: [activationGrad(e.g, `${lname(node)}_grad`, act, [dy, xs[0]])], dws: [] };
  },
};

const add: LayerKind = {
  check: () => null,
  forward(e, node, xs) {
    const n = lname(node);
    return {
      y: xs.slice(1).reduce((a, b, i) => e.g.op(`${n}/add${i ? `_${i}` : ""}`, "AddV2", [a, b], T), xs[0]),
    };
  },
  backward: (_e, _node, xs, _fwd, dy) => ({ dxs: xs.map(() => dy), dws: [] }),
};

const zeroPadding: LayerKind = {
  check: (c) => channelsLast(c) ? null : "channels-first",
  forward(e, node, xs) {
    const [[top, bottom], [left, right]] = (node.outboundLayer.getConfig() as LayerConfig)
      .padding as number[][];
    const n = lname(node);
    const paddings = e.g.constant(`${n}/paddings`, new Int32Array([0, 0, top, bottom, left, right, 0, 0]), [
      4,
      2,
    ]);
    return { y: e.g.op(`${n}/Pad`, "Pad", [xs[0], paddings], { ...T, Tpaddings: { type: DT_INT32 } }) };
  },
  backward(e, node, xs, _fwd, dy) {
    const [[top], [left]] = (node.outboundLayer.getConfig() as LayerConfig).padding as number[][];
    const n = `${lname(node)}_grad`;
    const begin = e.g.constant(`${n}/begin`, new Int32Array([0, top, left, 0]), [4]);
    const dx = e.g.op(`${n}/Slice`, "Slice", [dy, begin, shapeOf(e.g, `${n}/size`, xs[0])], {
      ...T,
      Index: { type: DT_INT32 },
    });
    return { dxs: [dx], dws: [] };
  },
};

const globalAveragePooling: LayerKind = {
  check: (c) => channelsLast(c) && !c.keepDims ? null : "keepDims or channels-first",
  forward(e, node, xs) {
    const n = lname(node);
    const axes = e.g.constant(`${n}/axes`, new Int32Array([1, 2]), [2]);
    return {
      y: e.g.op(`${n}/Mean`, "Mean", [xs[0], axes], {
        ...T,
        Tidx: { type: DT_INT32 },
        keep_dims: { b: false },
      }),
    };
  },
  backward(e, node, xs, _fwd, dy) {
    const [, h, w, ch] = node.inputTensors[0].shape;
    if (!h || !w || !ch) {
      throw new Error(`${lname(node)}: backward needs a static height, width and channels`);
    }
    const g = e.g;
    const n = `${lname(node)}_grad`;
    const shape = g.constant(`${n}/shape`, new Int32Array([-1, 1, 1, ch]), [4]);
    const r = g.op(`${n}/Reshape`, "Reshape", [dy, shape], { ...T, Tshape: { type: DT_INT32 } });
    const tiled = g.op(`${n}/BroadcastTo`, "BroadcastTo", [r, shapeOf(g, `${n}/x_shape`, xs[0])], {
      ...T,
      Tidx: { type: DT_INT32 },
    });
    return { dxs: [g.op(`${n}/div`, "RealDiv", [tiled, g.scalar(`${n}/count`, h * w)], T)], dws: [] };
  },
};

const rescaling: LayerKind = {
  check: () => null,
  forward(e, node, xs) {
    const c = node.outboundLayer.getConfig() as LayerConfig;
    const scale = new Float32Array([c.scale]);
    const shift = new Float32Array([c.offset ?? 0]);
    return { y: scaleShift(e.g, lname(node), xs[0], { scale, shift, shape: [] }) };
  },
  backward(e, node, _xs, _fwd, dy) {
    const c = node.outboundLayer.getConfig() as LayerConfig;
    const n = `${lname(node)}_grad`;
    return { dxs: [e.g.op(`${n}/mul`, "Mul", [dy, e.g.scalar(`${n}/scale`, c.scale)], T)], dws: [] };
  },
};

/** tfjs' dropout: `x · ⌊u + keep⌋ / keep` with `u` uniform in [0, 1) drawn per step (fed by the caller). */
const dropout: LayerKind = {
  check: (c) => c.noiseShape == null ? null : "noiseShape",
  forward(e, node, xs) {
    const c = node.outboundLayer.getConfig() as LayerConfig;
    const n = lname(node);
    if (!e.training || !(c.rate > 0)) return { y: e.g.op(`${n}/Identity`, "Identity", xs, T) };
    if (!e.uniform) throw new Error(`${n}: training-mode dropout needs per-step random numbers`);
    const u = e.uniform(`${n}/uniform`, node.inputTensors[0].shape.map((d) => d ?? -1), c.seed);
    const keep = e.g.scalar(`${n}/keep`, 1 - c.rate);
    const kept = e.g.op(`${n}/Floor`, "Floor", [e.g.op(`${n}/u_keep`, "AddV2", [u, keep], T)], T);
    const mask = e.g.op(`${n}/mask`, "RealDiv", [kept, keep], T);
    return { y: e.g.op(`${n}/mul`, "Mul", [xs[0], mask], T), saved: { mask } };
  },
  backward(e, node, _xs, fwd, dy) {
    const mask = fwd.saved?.mask;
    return { dxs: [mask ? e.g.op(`${lname(node)}_grad/mul`, "Mul", [dy, mask], T) : dy], dws: [] };
  },
};

const dense: LayerKind = {
  check(c, node) {
    if (node.inputTensors[0]?.shape.length !== 2) return "input of rank other than 2";
    return c.activation in ACTIVATIONS ? null : `activation ${c.activation}`;
  },
  forward(e, node, xs) {
    const layer = node.outboundLayer;
    const c = layer.getConfig() as LayerConfig;
    const n = layer.name;
    const kernel = e.weight(layer, 0);
    let y = e.g.op(`${n}/MatMul`, "MatMul", [xs[0], kernel], {
      ...T,
      transpose_a: { b: false },
      transpose_b: { b: false },
    });
    if (c.useBias) {
      y = e.g.op(`${n}/BiasAdd`, "BiasAdd", [y, e.weight(layer, 1)], { ...T, data_format: NHWC });
    }
    const act = ACTIVATIONS[c.activation];
    return { y: act ? e.g.op(`${n}/${act}`, act, [y], T) : y, saved: { kernel, pre: y } };
  },
  backward(e, node, xs, fwd, dy) {
    const c = node.outboundLayer.getConfig() as LayerConfig;
    const g = e.g;
    const n = `${lname(node)}_grad`;
    const dz = activationGrad(g, n, c.activation, [dy, fwd.saved!.pre]);
    const mm = (name: string, a: string, b: string, ta: boolean, tb: boolean) =>
      g.op(`${n}/${name}`, "MatMul", [a, b], { ...T, transpose_a: { b: ta }, transpose_b: { b: tb } });
    const dws = [mm("dkernel", xs[0], dz, true, false)];
    if (c.useBias) dws.push(g.op(`${n}/BiasAddGrad`, "BiasAddGrad", [dz], { ...T, data_format: NHWC }));
    return { dxs: [mm("dx", dz, fwd.saved!.kernel, false, true)], dws };
  },
};

const inputLayer: LayerKind = {
  check: () => null,
  forward: (_e, _node, xs) => ({ y: xs[0] }),
  backward: null,
};

/**
 * Every layer kind that can be written into a graph, by Keras class name: convolutions (channels-last,
 * activation linear/relu/relu6, padding same/valid), BatchNormalization along the last axis, ReLU / ReLU6,
 * Activation, Add, ZeroPadding2D, GlobalAveragePooling2D, Rescaling, Dropout and Dense.
 */
export const LAYER_KINDS: Record<string, LayerKind> = {
  InputLayer: inputLayer,
  Conv2D: convolution,
  DepthwiseConv2D: convolution,
  BatchNormalization: batchNormalization,
  ReLU: reluLayer,
  Activation: activation,
  Add: add,
  ZeroPadding2D: zeroPadding,
  GlobalAveragePooling2D: globalAveragePooling,
  Rescaling: rescaling,
  Dropout: dropout,
  Dense: dense,
};

/**
 * Why `node`'s layer cannot be written into a graph, or `null` if it can.
 *
 * @example A layer kind the table lacks is named
 * ```ts
 * import assert from "node:assert";
 * import { tf } from "../runtime/mod.ts";
 * import type { SymbolicTensor } from "../runtime/mod.ts";
 * import { nodesInOrder, unsupported } from "./mod.ts";
 *
 * const input = tf.input({ shape: [2, 2, 1] });
 * const model = tf.model({ inputs: input, outputs: tf.layers.flatten().apply(input) as SymbolicTensor });
 * assert.deepStrictEqual(nodesInOrder(model).map(unsupported), [null, "layer class Flatten"]);
 * ```
 */
export function unsupported(node: GraphNode): string | null {
  const layer = node.outboundLayer;
  const kind = LAYER_KINDS[layer.getClassName()];
  if (!kind) return `layer class ${layer.getClassName()}`;
  return kind.check(layer.getConfig() as LayerConfig, node);
}
