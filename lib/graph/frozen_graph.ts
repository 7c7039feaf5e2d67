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
 * {@link FrozenGraph.run} feeds a batch and returns the region's boundary tensors. `runFrom` (`run_from.ts`)
 * continues eagerly from them through the trainable layers, so gradients reach every trainable weight.
 *
 * The weights are constants of the graph: it is a snapshot, valid while the region's weights keep their
 * values (see {@link FrozenGraph.matches}).
 *
 * @module
 */
import type { LayersModel, SymbolicTensor, Tensor } from "./tfjs_types.ts";
import { FLOAT_T, GraphWriter } from "./graph_writer.ts";
import { GraphSession } from "./graph_session.ts";
import { type Emitter, unsupported } from "./layer_kinds.ts";
import { type GraphNode, type Layer, nodesInOrder } from "./model_nodes.ts";
import { foldableConvolutions, useCounts, writeForward } from "./forward_writer.ts";

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
 * when it has no trainable weights, it can be compiled (a kind of `LAYER_KINDS`, `layer_kinds.ts`, whose
 * check passes) and all its inputs come from the model's input or from the region. `null` when the region
 * holds no weights (nothing worth compiling).
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

/** Writes the region as a graph with one float32 input `input` and outputs in boundary order. */
function writeFrozenGraph(
  model: LayersModel,
  region: FrozenRegion,
): { graph: GraphWriter; outputs: string[] } {
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
    const { graph, outputs } = writeFrozenGraph(model, region);
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
