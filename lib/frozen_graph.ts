/**
 * The frozen part of a functional model as one TensorFlow graph, run by a TensorFlow session.
 *
 * tfjs-node executes a model op by op (eager mode): every convolution, batch normalization and activation
 * is a separate native call with its own output buffer. Keras runs the tutorial's model as a graph that
 * TensorFlow's optimizer (grappler) rewrites first — BatchNormalization with fixed statistics folded into
 * the convolution before it, convolution + bias + ReLU6 fused into one oneDNN kernel. For the part of a
 * model that nothing trains, this module does the same: {@link frozenRegion} finds the layers whose output
 * depends on no trainable weight, {@link FrozenGraph.compile} writes them as a GraphDef (inference-mode
 * BatchNormalization folded into the preceding convolution's kernel and bias: `W·s`, `(b − mean)·s + β`
 * with `s = γ/√(var + ε)`), loads it into a session through tfjs-node's SavedModel support, and
 * {@link FrozenGraph.run} feeds a batch and returns the region's boundary tensors. {@link runFrom}
 * continues eagerly from them through the trainable layers, so gradients reach every trainable weight.
 *
 * The weights are constants of the graph: it is a snapshot, valid while the region's weights keep their
 * values (see {@link FrozenGraph.matches}).
 *
 * @module
 */
import { tf } from "./tf.ts";
import type { LayersModel, SymbolicTensor, Tensor } from "./tf.ts";
import { DT_FLOAT, DT_INT32, FLOAT_T, GraphSession, GraphWriter } from "./graph_session.ts";

type Layer = LayersModel["layers"][number];
/** tfjs-layers' graph node (one call of a layer inside a functional model). */
interface GraphNode {
  outboundLayer: Layer;
  inputTensors: SymbolicTensor[];
  outputTensors: SymbolicTensor[];
  callArgs?: Record<string, unknown>;
}
type Functional = LayersModel & { nodesByDepth: Record<string, GraphNode[]> };
type Config = Record<string, any>;

/** The nodes of `model`'s graph in execution order (deepest first, as tfjs-layers runs them). */
function nodesInOrder(model: LayersModel): GraphNode[] {
  const byDepth = (model as Functional).nodesByDepth;
  return Object.keys(byDepth).map(Number).sort((a, b) => b - a).flatMap((d) => byDepth[d]);
}

// ---------------------------------------------------------------------------------------------------
// Which layers can be compiled

const CONVOLUTIONS = new Set(["Conv2D", "DepthwiseConv2D"]);
const ACTIVATIONS: Record<string, string | null> = { linear: null, relu: "Relu", relu6: "Relu6" };

/** Why `layer` cannot be part of a compiled graph, or `null` if it can. */
function unsupported(layer: Layer): string | null {
  const c = layer.getConfig() as Config;
  const cls = layer.getClassName();
  const channelsLast = c.dataFormat === undefined || c.dataFormat === "channelsLast";
  switch (cls) {
    case "InputLayer":
    case "Add":
      return null;
    case "Conv2D":
    case "DepthwiseConv2D":
      if (!channelsLast) return "channels-first";
      if (!(c.activation in ACTIVATIONS)) return `activation ${c.activation}`;
      if (c.padding !== "same" && c.padding !== "valid") return `padding ${c.padding}`;
      return null;
    case "BatchNormalization": {
      const axis = Array.isArray(c.axis) ? c.axis : [c.axis];
      return axis.length === 1 && (axis[0] === -1 || axis[0] === 3) ? null : `axis ${c.axis}`;
    }
    case "ReLU":
      return c.maxValue == null || c.maxValue === 6 ? null : `maxValue ${c.maxValue}`;
    case "Activation":
      return c.activation in ACTIVATIONS ? null : `activation ${c.activation}`;
    case "ZeroPadding2D":
      return channelsLast ? null : "channels-first";
    case "GlobalAveragePooling2D":
      return channelsLast && !c.keepDims ? null : "keepDims or channels-first";
    case "Rescaling":
      return null;
    default:
      return `layer class ${cls}`;
  }
}

/** The compilable frozen part of a model: its graph nodes and the tensors that leave it. */
export interface FrozenRegion {
  /** Nodes in execution order. */
  nodes: GraphNode[];
  /** Tensors computed inside the region and used outside it (or model outputs), in a fixed order. */
  boundary: SymbolicTensor[];
  /** Layers of the region (for weight fingerprints). */
  layers: Layer[];
}

/**
 * The layers of single-input `model` computable without any trainable weight: a layer belongs to the region
 * when it has no trainable weights, it can be compiled (convolutions, BatchNormalization along the last
 * axis, ReLU/ReLU6, Add, ZeroPadding2D, GlobalAveragePooling2D, Rescaling) and all its inputs come from
 * the model's input or from the region. `null` when the region holds no weights (nothing worth compiling).
 */
export function frozenRegion(model: LayersModel): FrozenRegion | null {
  if (model.inputs.length !== 1) return null;
  const available = new Set<number>([model.inputs[0].id]);
  const nodes: GraphNode[] = [];
  const outside: GraphNode[] = [];
  for (const node of nodesInOrder(model)) {
    const layer = node.outboundLayer;
    if (layer.getClassName() === "InputLayer") continue;
    const inRegion = layer.trainableWeights.length === 0 && unsupported(layer) === null &&
      node.inputTensors.every((t) => available.has(t.id));
    if (inRegion) {
      nodes.push(node);
      for (const t of node.outputTensors) available.add(t.id);
    } else {
      outside.push(node);
    }
  }
  if (!nodes.some((n) => n.outboundLayer.weights.length > 0)) return null;
  const produced = new Set(nodes.flatMap((n) => n.outputTensors.map((t) => t.id)));
  const boundary = new Map<number, SymbolicTensor>();
  for (const t of [...outside.flatMap((n) => n.inputTensors), ...model.outputs]) {
    if (produced.has(t.id)) boundary.set(t.id, t);
  }
  return { nodes, boundary: [...boundary.values()], layers: nodes.map((n) => n.outboundLayer) };
}

// ---------------------------------------------------------------------------------------------------
// GraphDef writing

/** `x · scale + shift` per channel (BatchNormalization / Rescaling without a convolution to fold into). */
function scaleShift(
  g: GraphWriter,
  name: string,
  x: string,
  scale: Float32Array,
  shift: Float32Array,
  shape: number[],
) {
  const y = g.op(`${name}/mul`, "Mul", [x, g.constant(`${name}/scale`, scale, shape)], FLOAT_T);
  return g.op(`${name}/add`, "AddV2", [y, g.constant(`${name}/shift`, shift, shape)], FLOAT_T);
}

const valuesOf = (w: Tensor) => w.dataSync() as Float32Array;

/** A convolution whose output goes only into a BatchNormalization: emitted by the BN with folded weights. */
interface PendingConv {
  layer: Layer;
  input: string;
}

/** BatchNormalization's per-channel `s = γ/√(var + ε)` and `t = β − mean·s` (inference statistics). */
function batchNormScaleShift(layer: Layer): { s: Float32Array; t: Float32Array } {
  const c = layer.getConfig() as Config;
  const ws = layer.getWeights();
  let i = 0;
  const gamma = c.scale ? valuesOf(ws[i++]) : null;
  const beta = c.center ? valuesOf(ws[i++]) : null;
  const mean = valuesOf(ws[i++]);
  const variance = valuesOf(ws[i++]);
  const s = new Float32Array(mean.length);
  const t = new Float32Array(mean.length);
  for (let k = 0; k < s.length; k++) {
    s[k] = (gamma ? gamma[k] : 1) / Math.sqrt(variance[k] + c.epsilon);
    t[k] = (beta ? beta[k] : 0) - mean[k] * s[k];
  }
  return { s, t };
}

/** Emits a Conv2D / DepthwiseConv2D layer, optionally followed by a folded BatchNormalization. */
function emitConvolution(g: GraphWriter, layer: Layer, x: string, bn?: Layer): string {
  const c = layer.getConfig() as Config;
  const ws = layer.getWeights();
  const kernel = valuesOf(ws[0]).slice();
  const [, , inChannels, outOrMultiplier] = ws[0].shape;
  const channels = layer.getClassName() === "Conv2D" ? outOrMultiplier : inChannels * outOrMultiplier;
  let bias: Float32Array | null = c.useBias ? valuesOf(ws[1]).slice() : null;
  if (bn) {
    const { s, t } = batchNormScaleShift(bn);
    if (s.length !== channels) throw new Error(`${bn.name}: ${s.length} channels after ${channels}`);
    for (let k = 0; k < kernel.length; k++) kernel[k] *= s[k % channels];
    const b = new Float32Array(channels);
    for (let k = 0; k < channels; k++) b[k] = (bias ? bias[k] : 0) * s[k] + t[k];
    bias = b;
  }
  const [sh, sw] = c.strides;
  const [dh, dw] = Array.isArray(c.dilationRate) ? c.dilationRate : [c.dilationRate, c.dilationRate];
  const op = layer.getClassName() === "Conv2D" ? "Conv2D" : "DepthwiseConv2dNative";
  let y = g.op(`${layer.name}/${op}`, op, [x, g.constant(`${layer.name}/kernel`, kernel, ws[0].shape)], {
    T: { type: DT_FLOAT },
    strides: { ints: [1, sh, sw, 1] },
    padding: { s: c.padding.toUpperCase() },
    data_format: { s: "NHWC" },
    dilations: { ints: [1, dh, dw, 1] },
  });
  const name = bn?.name ?? layer.name;
  if (bias) {
    y = g.op(`${name}/BiasAdd`, "BiasAdd", [y, g.constant(`${name}/bias`, bias, [channels])], {
      T: { type: DT_FLOAT },
      data_format: { s: "NHWC" },
    });
  }
  const activation = ACTIVATIONS[c.activation];
  return activation ? g.op(`${layer.name}/${activation}`, activation, [y], { T: { type: DT_FLOAT } }) : y;
}

/** Writes the region as a graph with one float32 input `input` and outputs in boundary order. */
function writeGraph(model: LayersModel, region: FrozenRegion): { graph: GraphWriter; outputs: string[] } {
  const g = new GraphWriter();
  const input = model.inputs[0];
  const T = FLOAT_T;
  const names = new Map<number, string>();
  names.set(input.id, g.placeholder("input", input.shape.map((d) => d ?? -1)));
  // How many times each tensor is consumed, inside the model or as its output.
  const uses = new Map<number, number>();
  for (const n of nodesInOrder(model)) {
    for (const t of n.inputTensors) uses.set(t.id, (uses.get(t.id) ?? 0) + 1);
  }
  for (const t of model.outputs) uses.set(t.id, (uses.get(t.id) ?? 0) + 1);
  const boundaryIds = new Set(region.boundary.map((t) => t.id));
  const consumers = new Map<number, Layer>();
  for (const n of region.nodes) for (const t of n.inputTensors) consumers.set(t.id, n.outboundLayer);
  const pending = new Map<number, PendingConv>();

  for (const node of region.nodes) {
    const layer = node.outboundLayer;
    const cls = layer.getClassName();
    const out = node.outputTensors[0];
    const xs = node.inputTensors.map((t) => names.get(t.id)!);
    const c = layer.getConfig() as Config;
    let y: string;
    if (CONVOLUTIONS.has(cls)) {
      const next = consumers.get(out.id);
      const foldable = c.activation === "linear" && uses.get(out.id) === 1 && !boundaryIds.has(out.id) &&
        next?.getClassName() === "BatchNormalization";
      if (foldable) {
        pending.set(out.id, { layer, input: xs[0] });
        continue;
      }
      y = emitConvolution(g, layer, xs[0]);
    } else if (cls === "BatchNormalization") {
      const conv = pending.get(node.inputTensors[0].id);
      if (conv) {
        y = emitConvolution(g, conv.layer, conv.input, layer);
      } else {
        const { s, t } = batchNormScaleShift(layer);
        y = scaleShift(g, layer.name, xs[0], s, t, [s.length]);
      }
    } else if (cls === "ReLU" || cls === "Activation") {
      const op = cls === "ReLU" ? (c.maxValue === 6 ? "Relu6" : "Relu") : ACTIVATIONS[c.activation];
      y = op ? g.op(`${layer.name}/${op}`, op, xs, T) : g.op(`${layer.name}/Identity`, "Identity", xs, T);
    } else if (cls === "Add") {
      y = xs.slice(1).reduce(
        (a, b, i) => g.op(`${layer.name}/add${i ? `_${i}` : ""}`, "AddV2", [a, b], T),
        xs[0],
      );
    } else if (cls === "ZeroPadding2D") {
      const [[top, bottom], [left, right]] = c.padding as number[][];
      const paddings = g.constant(
        `${layer.name}/paddings`,
        new Int32Array([0, 0, top, bottom, left, right, 0, 0]),
        [4, 2],
      );
      y = g.op(`${layer.name}/Pad`, "Pad", [xs[0], paddings], { ...T, Tpaddings: { type: DT_INT32 } });
    } else if (cls === "GlobalAveragePooling2D") {
      const axes = g.constant(`${layer.name}/axes`, new Int32Array([1, 2]), [2]);
      y = g.op(`${layer.name}/Mean`, "Mean", [xs[0], axes], {
        ...T,
        Tidx: { type: DT_INT32 },
        keep_dims: { b: false },
      });
    } else if (cls === "Rescaling") {
      y = scaleShift(
        g,
        layer.name,
        xs[0],
        new Float32Array([c.scale]),
        new Float32Array([c.offset ?? 0]),
        [],
      );
    } else {
      throw new Error(`frozen graph: no emitter for ${cls} (${layer.name})`);
    }
    names.set(out.id, y);
  }
  const outputs = region.boundary.map((t, i) => g.op(`output_${i}`, "Identity", [names.get(t.id)!], T));
  return { graph: g, outputs };
}

/** Identity of each weight's current value (a tfjs `Variable` gets a new `dataId` on every `assign`). */
export function weightFingerprint(layers: Layer[]): unknown[] {
  return layers.flatMap((l) => l.weights.map((w) => (w as unknown as { read(): Tensor }).read().dataId));
}

/** A compiled frozen region: a TensorFlow session that maps the model's input to the boundary tensors. */
export class FrozenGraph {
  private constructor(
    private readonly session: GraphSession,
    /** The region this graph computes. */
    readonly region: FrozenRegion,
    private readonly weightIds: unknown[],
    private readonly inputShape: number[],
  ) {}

  /**
   * Compiles `region` of `model` (default: {@link frozenRegion}); `null` when the model has no frozen
   * region worth compiling.
   */
  static compile(model: LayersModel, region = frozenRegion(model)): FrozenGraph | null {
    if (!region) return null;
    const { graph, outputs } = writeGraph(model, region);
    const inputShape = model.inputs[0].shape.map((d) => d ?? -1);
    return new FrozenGraph(
      GraphSession.load(graph, outputs),
      region,
      weightFingerprint(region.layers),
      inputShape,
    );
  }

  /** Nodes in the written graph (before TensorFlow's own optimizations). */
  get graphNodes(): number {
    return this.session.nodes;
  }

  /** Whether this graph still computes `region` with the weights its layers hold now. */
  matches(region: FrozenRegion | null): boolean {
    if (this.disposed || !region || region.nodes.length !== this.region.nodes.length) return false;
    if (region.nodes.some((n, i) => n !== this.region.nodes[i])) return false;
    const now = weightFingerprint(region.layers);
    return now.length === this.weightIds.length && now.every((id, i) => id === this.weightIds[i]);
  }

  /** Whether `x` is a batch this graph was written for: float32, of the model's input shape. */
  accepts(x: Tensor): boolean {
    const expected = this.inputShape;
    return x.dtype === "float32" && x.rank === expected.length &&
      expected.every((d, i) => d === -1 || d === x.shape[i]);
  }

  /** The boundary tensors for a float32 batch `x` of the model's input shape, in `region.boundary` order. */
  run(x: Tensor): Tensor[] {
    if (this.disposed) throw new Error("FrozenGraph.run: the graph was disposed");
    if (!this.accepts(x)) {
      const expected = this.inputShape;
      throw new Error(
        `FrozenGraph.run: expected a float32 tensor of shape [${expected.map((d) => d === -1 ? "*" : d)}], ` +
          `got ${x.dtype} [${x.shape}]`,
      );
    }
    return this.session.run([x]);
  }

  private disposed = false;

  /** Closes the TensorFlow session. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.session.dispose();
  }
}

/**
 * Runs `model` from `feeds` (boundary tensors by symbolic-tensor id) through the layers that are not
 * fed, as tfjs-layers' own executor does; returns the model's outputs. `kwargs` go to every layer call.
 * The nodes of `skip` (a compiled region, whose used outputs are fed) are never run.
 */
export function runFrom(
  model: LayersModel,
  feeds: Map<number, Tensor>,
  kwargs: Record<string, unknown>,
  skip: ReadonlySet<unknown> = new Set(),
): Tensor[] {
  const values = new Map(feeds);
  const needed = new Set(model.outputs.map((t) => t.id));
  for (const node of nodesInOrder(model)) {
    if (skip.has(node) || node.outputTensors.every((t) => values.has(t.id))) continue;
    if (node.outboundLayer.getClassName() === "InputLayer") continue;
    const inputs = node.inputTensors.map((t) => values.get(t.id));
    if (inputs.some((t) => t === undefined)) continue;
    const args = { ...node.callArgs, ...kwargs };
    const y = node.outboundLayer.apply(inputs.length === 1 ? inputs[0]! : inputs as Tensor[], args);
    const ys = Array.isArray(y) ? y : [y];
    node.outputTensors.forEach((t, i) => values.set(t.id, ys[i] as Tensor));
  }
  return [...needed].map((id) => {
    const t = values.get(id);
    if (!t) {
      throw new Error(`runFrom: model "${model.name}" output ${id} could not be computed from the feeds`);
    }
    return t;
  });
}

/**
 * Whether `x` was computed (on the active gradient tape) from a trainable variable — then gradients must
 * flow through the frozen part and it has to run eagerly. Outside a gradient computation: `false`.
 */
export function dependsOnTrainableVariable(x: Tensor): boolean {
  const state = (tf.engine() as unknown as {
    state?: { gradientDepth: number; activeTape?: { inputs: Record<string, Tensor>; outputs: Tensor[] }[] };
  }).state;
  if (!state || state.gradientDepth === 0) return false;
  if (!state.activeTape) return true;
  const trainable = new Set<number>();
  for (const v of Object.values(tf.engine().registeredVariables)) if (v.trainable) trainable.add(v.id);
  if (trainable.has(x.id)) return true;
  const producer = new Map<number, Tensor[]>();
  for (const node of state.activeTape) {
    for (const o of node.outputs) if (o) producer.set(o.id, Object.values(node.inputs));
  }
  const seen = new Set<number>();
  const stack = [x.id];
  while (stack.length) {
    const id = stack.pop()!;
    if (seen.has(id)) continue;
    seen.add(id);
    for (const input of producer.get(id) ?? []) {
      if (!input) continue;
      if (trainable.has(input.id)) return true;
      stack.push(input.id);
    }
  }
  return false;
}
