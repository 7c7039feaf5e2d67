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
import { tf } from "../runtime/mod.ts";
import type { LayersModel, SymbolicTensor, Tensor } from "../runtime/mod.ts";
import { FLOAT_T, GraphSession, GraphWriter } from "./graph_session.ts";
import {
  type Config,
  type Emitter,
  type Forward,
  type GraphNode,
  type Layer,
  LAYER_KINDS,
  nodesInOrder,
  unsupported,
} from "./layer_kinds.ts";

// ---------------------------------------------------------------------------------------------------
// Which layers can be compiled: the layer kinds of LAYER_KINDS (graph_layers.ts)

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
 * when it has no trainable weights, it can be compiled (a kind of `LAYER_KINDS`, `graph_layers.ts`, whose
 * check passes) and all its inputs come from the model's input or from the region. `null` when the region holds no weights (nothing worth compiling).
 */
export function frozenRegion(model: LayersModel): FrozenRegion | null {
  if (model.inputs.length !== 1) return null;
  const available = new Set<number>([model.inputs[0].id]);
  const nodes: GraphNode[] = [];
  const outside: GraphNode[] = [];
  for (const node of nodesInOrder(model)) {
    const layer = node.outboundLayer;
    if (layer.getClassName() === "InputLayer") continue;
    const inRegion = layer.trainableWeights.length === 0 && unsupported(node) === null &&
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

/** How many times each tensor is consumed by `nodes` or as one of the `outputs`. */
export function useCounts(nodes: GraphNode[], outputs: { id: number }[]): Map<number, number> {
  const uses = new Map<number, number>();
  for (const n of nodes) for (const t of n.inputTensors) uses.set(t.id, (uses.get(t.id) ?? 0) + 1);
  for (const t of outputs) uses.set(t.id, (uses.get(t.id) ?? 0) + 1);
  return uses;
}

/**
 * The convolutions of `nodes` whose output goes only into an inference BatchNormalization, which their
 * forward writer then folds (`W·s`, `(b − mean)·s + β`): convolution node → that BatchNormalization node.
 * Both must be constant (`constant`), the convolution linear, its output used once (`uses`: consumers per
 * tensor id) and not `needed` elsewhere.
 */
export function foldableConvolutions(
  nodes: GraphNode[],
  uses: ReadonlyMap<number, number>,
  constant: (node: GraphNode) => boolean,
  needed: ReadonlySet<number> = new Set(),
): Map<GraphNode, GraphNode> {
  const consumer = new Map<number, GraphNode>();
  for (const n of nodes) for (const t of n.inputTensors) consumer.set(t.id, n);
  const folds = new Map<GraphNode, GraphNode>();
  for (const node of nodes) {
    const layer = node.outboundLayer;
    if (!LAYER_KINDS[layer.getClassName()]?.foldsBatchNorm || !constant(node)) continue;
    const out = node.outputTensors[0];
    const next = consumer.get(out.id);
    if (
      (layer.getConfig() as Config).activation === "linear" && uses.get(out.id) === 1 &&
      !needed.has(out.id) &&
      next?.outboundLayer.getClassName() === "BatchNormalization" && constant(next)
    ) folds.set(node, next);
  }
  return folds;
}

/**
 * Writes the forward pass of `nodes` in order, each convolution of `folds` together with the
 * BatchNormalization it folds into (written where that BatchNormalization stands). `names` maps tensor ids
 * to graph names (the inputs must be there) and receives each node's output; returns each written node's
 * {@link Forward}.
 */
export function writeForward(
  nodes: GraphNode[],
  folds: ReadonlyMap<GraphNode, GraphNode>,
  names: Map<number, string>,
  emitterFor: (node: GraphNode) => Emitter,
): Map<GraphNode, Forward> {
  const foldedInto = new Map([...folds].map(([conv, bn]) => [bn, conv]));
  const forwards = new Map<GraphNode, Forward>();
  for (const node of nodes) {
    if (folds.has(node)) continue;
    const source = foldedInto.get(node) ?? node;
    const xs = source.inputTensors.map((t) => names.get(t.id)!);
    const fwd = LAYER_KINDS[source.outboundLayer.getClassName()].forward(
      emitterFor(node),
      source,
      xs,
      source === node ? undefined : node.outboundLayer,
    );
    forwards.set(node, fwd);
    names.set(node.outputTensors[0].id, fwd.y);
  }
  return forwards;
}

/** Writes the region as a graph with one float32 input `input` and outputs in boundary order. */
function writeGraph(model: LayersModel, region: FrozenRegion): { graph: GraphWriter; outputs: string[] } {
  const g = new GraphWriter();
  const input = model.inputs[0];
  const names = new Map<number, string>();
  names.set(input.id, g.placeholder("input", input.shape.map((d) => d ?? -1)));
  const emitter: Emitter = {
    g,
    weight: (layer, i) => {
      const w = layer.getWeights()[i];
      return g.constant(
        `${layer.name}/${layer.weights[i].originalName.split("/").pop()}`,
        w.dataSync() as Float32Array,
        w.shape,
      );
    },
    constant: () => true,
    training: false,
  };
  const folds = foldableConvolutions(
    region.nodes,
    useCounts(nodesInOrder(model), model.outputs),
    () => true,
    new Set(region.boundary.map((t) => t.id)),
  );
  writeForward(region.nodes, folds, names, () => emitter);
  const outputs = region.boundary.map((t, i) => g.op(`output_${i}`, "Identity", [names.get(t.id)!], FLOAT_T));
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
