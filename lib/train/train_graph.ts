/**
 * One training step — forward pass, loss, backward pass and optimizer update — as one TensorFlow graph,
 * run as one session call.
 *
 * tfjs trains op by op: the forward pass, its autodiff tape and the optimizer's update are each a
 * native call per op (≈ 2,500 per fine-tuning step of the tutorial's model), and an eager op cannot be
 * fused or planned. {@link TrainGraph} writes the whole step from the layer table (`graph_layers.ts`:
 * each kind's forward and backward writer) and the optimizer's update (`optimizers.ts`: tfjs' Adam and
 * RMSprop arithmetic and slots), so TensorFlow's optimizer sees the step whole. The frozen layers are
 * constants (inference BatchNormalization folded into the convolutions, as `frozen_graph.ts` does).
 *
 * The tfjs Variables stay the truth: each step feeds the trainable variables, the optimizer's slots and
 * its hyperparameters, and assigns the updated values the graph returns — the model, `getWeights()`,
 * saving and the optimizer's weights see exactly what an eager step would leave. Random inputs stay
 * where they were: the weightless layers before the graph (data augmentation) run eagerly with their
 * seeded generators, and dropout's uniform draws are made by tfjs as its `Dropout` layer makes them
 * (`randomUniform` with the layer's seed) and fed.
 *
 * {@link useCompiledStep} makes `fitDataset` use it; a model the table cannot express (a layer kind with
 * no backward writer, regularizers, sample weights, another optimizer) trains as before.
 *
 * @module
 */
import { tf } from "../runtime/mod.ts";
import type { LayersModel, SymbolicTensor, Tensor, Variable } from "../runtime/mod.ts";
import {
  DT_BOOL,
  DT_FLOAT,
  DT_INT32,
  type Emitter,
  FLOAT_T,
  foldableConvolutions,
  type GraphNode,
  GraphSession,
  GraphWriter,
  type Layer,
  LAYER_KINDS,
  nodesInOrder,
  unsupported,
  useCounts,
  writeForward,
} from "../graph/mod.ts";
import type { Attr } from "../graph/mod.ts";
import { type GraphUpdate, graphUpdate, InferenceModel, lossAndMetricFor } from "../model/mod.ts";

type LayerVariable = LayersModel["weights"][number];
type Ref = { id: number; shape: (number | null)[] };
/** A layer call of the flattened model (nested inference-mode bases inlined) with its training mode. */
interface FlatNode extends GraphNode {
  training: boolean;
}
type Feed =
  | { kind: "x" | "y" }
  | { kind: "uniform"; shape: number[]; seed?: number }
  | { kind: "var" | "state" | "hyper"; index: number }
  | { kind: "slot"; index: number; slot: number };

const T = FLOAT_T;
/** The tfjs variable name of a layer weight (the optimizer's slots are named after it). */
const varName = (v: LayerVariable) => (v.read() as Variable).name;
const cast = (src: number, dst: number): Record<string, Attr> => ({
  SrcT: { type: src },
  DstT: { type: dst },
  Truncate: { b: false },
});

/** The model's layer calls in execution order, nested {@link InferenceModel}s inlined with training off. */
function flatten(model: LayersModel, training: boolean, alias: Map<number, Ref>, out: FlatNode[]): void {
  const resolve = (t: Ref): Ref => {
    let r = t;
    while (alias.has(r.id)) r = alias.get(r.id)!;
    return r;
  };
  for (const node of nodesInOrder(model)) {
    const layer = node.outboundLayer;
    if (layer.getClassName() === "InputLayer") continue;
    const inputs = node.inputTensors.map(resolve);
    if (layer instanceof InferenceModel && layer.inputs.length === 1 && layer.outputs.length === 1) {
      alias.set(layer.inputs[0].id, inputs[0]);
      flatten(layer, false, alias, out);
      alias.set(node.outputTensors[0].id, resolve(layer.outputs[0]));
      continue;
    }
    out.push({ ...node, inputTensors: inputs as SymbolicTensor[], training });
  }
}

/** What a compiled step is built from; `matches` compares it with the model's state now. */
interface Plan {
  prefix: FlatNode[];
  nodes: FlatNode[];
  graphInput: Ref;
  output: Ref;
  variables: LayerVariable[];
  update: GraphUpdate;
  /** Identities of everything the graph holds as constants, and of what it feeds. */
  key: unknown[];
}

/** The plan for `model`'s training step, or why it cannot be compiled. */
function plan(model: LayersModel): Plan | string {
  const m = model as unknown as {
    collectedTrainableWeights?: LayerVariable[];
    optimizer?: unknown;
    calculateLosses(): unknown[];
    lossFunctions?: unknown[];
  };
  if (!m.collectedTrainableWeights || !m.optimizer) return "the model is not compiled";
  if (model.inputs.length !== 1 || model.outputs.length !== 1) return "not one input and one output";
  const units = model.outputs[0].shape.at(-1);
  if (model.outputs[0].shape.length !== 2 || !(units === 1 || (units! >= 3 && Number.isInteger(units)))) {
    return "the output is not [batch, 1] or [batch, n ≥ 3] logits";
  }
  if (m.calculateLosses().length > 0) return "the model has regularization losses";
  // The very function the classifier compiles with (`lossAndMetricFor`): a loss of the same name is not it.
  const expected = lossAndMetricFor(units!).loss;
  const loss = m.lossFunctions?.[0] as { name?: string } | undefined;
  if (loss !== expected) return `loss ${loss?.name} (the compiled step writes ${expected.name})`;
  const update = graphUpdate(m.optimizer);
  if (typeof update === "string") return update;
  const variables = m.collectedTrainableWeights;
  if (variables.length === 0) return "no trainable weights";
  const fed = new Set(variables);

  const flat: FlatNode[] = [];
  const alias = new Map<number, Ref>();
  flatten(model, true, alias, flat);
  let output: Ref = model.outputs[0];
  while (alias.has(output.id)) output = alias.get(output.id)!;
  // The weightless layers the table cannot write that run first (data augmentation) stay eager.
  const available = new Set([model.inputs[0].id]);
  const prefix: FlatNode[] = [];
  const nodes: FlatNode[] = [];
  for (const node of flat) {
    const eager = nodes.length === 0 && node.outboundLayer.weights.length === 0 &&
      unsupported(node) !== null &&
      node.inputTensors.every((t) => available.has(t.id));
    if (eager) {
      prefix.push(node);
      for (const t of node.outputTensors) available.add(t.id);
      continue;
    }
    const why = unsupported(node);
    if (why) return `${node.outboundLayer.name}: ${why}`;
    nodes.push(node);
  }
  const entering = new Map<number, Ref>();
  for (const n of nodes) for (const t of n.inputTensors) if (available.has(t.id)) entering.set(t.id, t);
  if (entering.size !== 1) return `${entering.size} tensors enter the compiled part (one expected)`;
  const inGraph = new Set(nodes.flatMap((n) => n.outboundLayer.weights));
  const outside = variables.find((v) => !inGraph.has(v));
  if (outside) return `trainable weight ${outside.name} is outside the compiled part`;
  const key: unknown[] = [m.optimizer, ...variables];
  for (const n of nodes) {
    for (const w of n.outboundLayer.weights) {
      if (!fed.has(w)) key.push((w as unknown as { read(): Tensor }).read().dataId);
    }
  }
  return { prefix, nodes, graphInput: [...entering.values()][0], output, variables, update, key };
}

/** The written graph: its session, what to feed each placeholder, and the output layout. */
interface Written {
  graph: GraphWriter;
  feeds: Feed[];
  outputs: string[];
  gradients: string[];
}

/** Writes the forward pass, loss, backward pass and update of `p`. */
function writeStep(p: Plan, units: number): Written | string {
  const g = new GraphWriter();
  const feeds: Feed[] = [];
  const input = (name: string, shape: number[], feed: Feed) => {
    feeds.push(feed);
    return g.placeholder(name, shape);
  };
  const fedIndex = new Map(p.variables.map((v, i) => [v, i]));
  const weightNodes = new Map<LayerVariable, string>();
  const emitter = (training: boolean): Emitter => ({
    g,
    training,
    weight(layer: Layer, i: number) {
      const w = layer.weights[i];
      let name = weightNodes.get(w);
      if (name) return name;
      const k = fedIndex.get(w);
      const value = (w as unknown as { read(): Tensor }).read();
      name = k === undefined
        ? g.constant(
          `${layer.name}/${w.originalName.split("/").pop()}`,
          value.dataSync() as Float32Array,
          value.shape,
        )
        : input(`var${k}`, value.shape, { kind: "var", index: k });
      weightNodes.set(w, name);
      return name;
    },
    constant: (layer: Layer) => !layer.weights.some((w) => fedIndex.has(w)),
    uniform: (name: string, shape: number[], seed?: number) =>
      input(name, shape, { kind: "uniform", shape, seed }),
  });

  const x = input("input", p.graphInput.shape.map((d) => d ?? -1), { kind: "x" });
  const labels = input("labels", [-1], { kind: "y" });
  // Forward. A tensor needs a gradient when a fed weight is upstream of it.
  const names = new Map<number, string>([[p.graphInput.id, x]]);
  const live = new Set<number>();
  const isConstant = (n: GraphNode) =>
    !n.outboundLayer.weights.some((w) => fedIndex.has(w)) && n.inputTensors.every((t) => !live.has(t.id));
  for (const n of p.nodes) if (!isConstant(n)) { for (const t of n.outputTensors) live.add(t.id); }
  const uses = useCounts(p.nodes, [p.output]);
  const folds = foldableConvolutions(p.nodes, uses, isConstant, new Set([p.output.id]));
  const forwards = writeForward(p.nodes, folds, names, (node) => emitter((node as FlatNode).training));
  const logits = names.get(p.output.id)!;
  const { loss, accuracy, dlogits } = writeLoss(g, logits, labels, units);

  // Backward, in reverse order, summing the gradients of tensors used more than once.
  const grads = new Map<number, string[]>([[p.output.id, [dlogits]]]);
  const varGrads = new Map<number, string[]>();
  const sumOf = (name: string, parts: string[]) =>
    parts.length === 1 ? parts[0] : g.op(name, "AddN", parts, { ...T, N: { i: parts.length } });
  for (const node of [...p.nodes].reverse()) {
    const out = node.outputTensors[0].id;
    if (!live.has(out) || !grads.has(out)) continue;
    const kind = LAYER_KINDS[node.outboundLayer.getClassName()];
    if (!kind.backward) {
      return `${node.outboundLayer.name}: no backward writer for ${node.outboundLayer.getClassName()}`;
    }
    const dy = sumOf(`${node.outboundLayer.name}_grad/sum`, grads.get(out)!);
    const xs = node.inputTensors.map((t) => names.get(t.id)!);
    const { dxs, dws } = kind.backward(emitter(false), node, xs, forwards.get(node)!, dy);
    node.inputTensors.forEach((t, i) => {
      if (!live.has(t.id) || !dxs[i]) return;
      grads.set(t.id, [...(grads.get(t.id) ?? []), dxs[i]!]);
    });
    node.outboundLayer.weights.forEach((w, i) => {
      const k = fedIndex.get(w);
      if (k === undefined || !dws[i]) return;
      varGrads.set(k, [...(varGrads.get(k) ?? []), dws[i]!]);
    });
  }
  const missing = p.variables.findIndex((_, k) => !varGrads.has(k));
  if (missing >= 0) return `no gradient reaches ${p.variables[missing].name}`;
  const gradients = p.variables.map((_, k) => sumOf(`grad${k}/sum`, varGrads.get(k)!));

  // The optimizer's update.
  const hyper = p.update.hyperparameters().map((_, i) => input(`hyper${i}`, [], { kind: "hyper", index: i }));
  const state = p.update.state().map((_, i) => input(`state${i}`, [], { kind: "state", index: i }));
  const slots = p.update.slots(p.variables.map((v) => varName(v)));
  const outputs = [loss, accuracy];
  p.variables.forEach((_, k) => {
    const vars = [weightNodes.get(p.variables[k])!];
    slots[k].forEach((s, j) =>
      vars.push(input(`var${k}/slot${j}`, s.shape, { kind: "slot", index: k, slot: j }))
    );
    outputs.push(...p.update.write(g, `update${k}`, hyper, state, vars, gradients[k]));
  });
  outputs.push(...p.update.writeState(g, hyper, state));
  return { graph: g, feeds, outputs, gradients };
}

/**
 * The mean loss, the mean accuracy and the loss's gradient for the logits: binary cross-entropy from one
 * logit (`σ(z) − y`, over the batch), or sparse categorical cross-entropy from `n` (`softmax(z) − onehot`).
 */
function writeLoss(g: GraphWriter, z: string, labels: string, units: number) {
  const count = g.op("loss/count", "Cast", [
    g.op("loss/size", "Size", [labels], { ...T, out_type: { type: DT_INT32 } }),
  ], cast(DT_INT32, DT_FLOAT));
  const mean = (name: string, v: string, rank: number) =>
    g.op(name, "Mean", [v, g.constant(`${name}/axes`, new Int32Array([...Array(rank).keys()]), [rank])], {
      ...T,
      Tidx: { type: DT_INT32 },
      keep_dims: { b: false },
    });
  if (units === 1) {
    const y = g.op(
      "loss/labels",
      "Reshape",
      [labels, g.constant("loss/shape", new Int32Array([-1, 1]), [2])],
      {
        ...T,
        Tshape: { type: DT_INT32 },
      },
    );
    // max(z, 0) − z·y + log(1 + e^−|z|)
    const perExample = g.op("loss/bce", "AddV2", [
      g.op("loss/relu_minus_zy", "Sub", [
        g.op("loss/relu", "Relu", [z], T),
        g.op("loss/zy", "Mul", [z, y], T),
      ], T),
      g.op("loss/log1p", "Log1p", [
        g.op("loss/exp", "Exp", [g.op("loss/neg_abs", "Neg", [g.op("loss/abs", "Abs", [z], T)], T)], T),
      ], T),
    ], T);
    const dlogits = g.op("loss/dlogits", "RealDiv", [
      g.op("loss/residual", "Sub", [g.op("loss/sigmoid", "Sigmoid", [z], T), y], T),
      count,
    ], T);
    const predicted = g.op("accuracy/predicted", "Cast", [
      g.op("accuracy/positive", "Greater", [z, g.scalar("accuracy/zero", 0)], T),
    ], cast(DT_BOOL, DT_FLOAT));
    const hit = g.op(
      "accuracy/hit",
      "Cast",
      [g.op("accuracy/equal", "Equal", [predicted, y], T)],
      cast(DT_BOOL, DT_FLOAT),
    );
    return { loss: mean("loss/mean", perExample, 2), accuracy: mean("accuracy/mean", hit, 2), dlogits };
  }
  const y = g.op("loss/labels_int", "Cast", [labels], cast(DT_FLOAT, DT_INT32));
  const xent = g.op("loss/xent", "SparseSoftmaxCrossEntropyWithLogits", [z, y], {
    ...T,
    Tlabels: { type: DT_INT32 },
  });
  const dlogits = g.op("loss/dlogits", "RealDiv", [`${xent}:1`, count], T);
  const argmax = g.op(
    "accuracy/argmax",
    "ArgMax",
    [z, g.constant("accuracy/axis", new Int32Array([1]), [])],
    {
      ...T,
      Tidx: { type: DT_INT32 },
      output_type: { type: DT_INT32 },
    },
  );
  const hit = g.op("accuracy/hit", "Cast", [
    g.op("accuracy/equal", "Equal", [argmax, y], { T: { type: DT_INT32 } }),
  ], cast(DT_BOOL, DT_FLOAT));
  return { loss: mean("loss/mean", xent, 1), accuracy: mean("accuracy/mean", hit, 1), dlogits };
}

/** One compiled training step of a model (see the module notes). */
export class TrainGraph {
  private disposed = false;

  private constructor(
    private readonly plan: Plan,
    private readonly session: GraphSession,
    private readonly feeds: Feed[],
    private readonly gradientNames: string[],
  ) {}

  /** Compiles `model`'s training step (compiled model, Adam or RMSprop), or says why it cannot. */
  static compile(model: LayersModel): TrainGraph | string {
    const p = plan(model);
    if (typeof p === "string") return p;
    const written = writeStep(p, model.outputs[0].shape.at(-1)!);
    if (typeof written === "string") return written;
    const session = GraphSession.load(written.graph, written.outputs);
    return new TrainGraph(p, session, written.feeds, written.gradients);
  }

  /** Whether this step still computes `model`'s step: same optimizer, trainable list and constant weights. */
  matches(model: LayersModel): boolean {
    if (this.disposed) return false;
    const now = plan(model);
    return typeof now !== "string" && now.key.length === this.plan.key.length &&
      now.key.every((k, i) => k === this.plan.key[i]);
  }

  /** Whether `x` is a batch the graph takes: float32 of the model's input shape, labels one per image. */
  accepts(x: Tensor, y: Tensor): boolean {
    return x.dtype === "float32" && y.size === x.shape[0] && (y.dtype === "float32" || y.dtype === "int32");
  }

  /** The feeds for batch `x`, `y`: the eager prefix (augmentation) run, dropout's draws made. */
  private inputs(x: Tensor, y: Tensor, hyper: Tensor[]): Tensor[] {
    const values = new Map<number, Tensor>([[
      this.plan.prefix[0]?.inputTensors[0].id ?? this.plan.graphInput.id,
      x,
    ]]);
    for (const node of this.plan.prefix) {
      const ins = node.inputTensors.map((t) => values.get(t.id)!);
      const out = node.outboundLayer.apply(ins.length === 1 ? ins[0] : ins, {
        ...node.callArgs,
        training: node.training,
      });
      values.set(node.outputTensors[0].id, out as Tensor);
    }
    const slots = this.plan.update.slots(this.plan.variables.map((v) => varName(v)));
    const state = this.plan.update.state();
    const batch = x.shape[0];
    return this.feeds.map((f) => {
      switch (f.kind) {
        case "x":
          return values.get(this.plan.graphInput.id)!;
        case "y":
          return tf.cast(tf.reshape(y, [-1]), "float32");
        case "uniform":
          return tf.randomUniform(f.shape.map((d) => d === -1 ? batch : d), 0, 1, "float32", f.seed);
        case "var":
          return this.plan.variables[f.index].read();
        case "slot":
          return slots[f.index][f.slot];
        case "state":
          return state[f.index];
        case "hyper":
          return hyper[f.index];
      }
    });
  }

  /** One training step on batch `x`, `y`: updates the variables and the optimizer; `[loss, accuracy]`. */
  step(x: Tensor, y: Tensor): Tensor[] {
    if (this.disposed) throw new Error("TrainGraph.step: the graph was disposed");
    const update = this.plan.update;
    const outs = tf.tidy(() => {
      const hyper = update.hyperparameters().map((v) => tf.scalar(v));
      return this.session.run(this.inputs(x, y, hyper));
    });
    const [loss, accuracy, ...rest] = outs;
    const slots = update.slots(this.plan.variables.map((v) => varName(v)));
    let i = 0;
    this.plan.variables.forEach((v, k) => {
      (v.read() as Variable).assign(rest[i++]);
      for (const s of slots[k]) s.assign(rest[i++]);
    });
    for (const s of update.state()) s.assign(rest[i++]);
    tf.dispose(rest);
    update.finish();
    return [loss, accuracy];
  }

  /** The gradients of the mean loss for batch `x`, `y`, one per trainable variable; nothing is updated. */
  gradients(x: Tensor, y: Tensor): Tensor[] {
    if (this.disposed) throw new Error("TrainGraph.gradients: the graph was disposed");
    return tf.tidy(() => {
      const hyper = this.plan.update.hyperparameters().map((v) => tf.scalar(v));
      return this.session.run(this.inputs(x, y, hyper), this.gradientNames);
    });
  }

  /** Closes the session. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.session.dispose();
  }
}

/** Whether the last `fit` step of a model ran compiled, and why not when it did not. */
export const compiledStepStatus = new WeakMap<LayersModel, { compiled: boolean; reason?: string }>();

type TrainFunction = (data: Tensor[]) => Tensor[];

/**
 * Makes `model.fitDataset` / `model.fit` train with a {@link TrainGraph} step (compiled on the first
 * batch, recompiled when the trainable weights, the optimizer or a constant weight change), falling back
 * to tfjs' own step for what it cannot compile. Returns the function that undoes it and closes the graph.
 */
export function useCompiledStep(model: LayersModel): () => void {
  const m = model as unknown as { makeTrainFunction(): TrainFunction };
  if (Object.prototype.hasOwnProperty.call(m, "makeTrainFunction")) return () => {};
  let graph: TrainGraph | null = null;
  let failed: string | null = null;
  const eagerMaker = m.makeTrainFunction;
  m.makeTrainFunction = function () {
    const eager = eagerMaker.call(m);
    return (data: Tensor[]) => {
      if (data.length === 2 && failed === null && !graph?.matches(model)) {
        graph?.dispose();
        const compiled = TrainGraph.compile(model);
        graph = typeof compiled === "string" ? null : compiled;
        if (typeof compiled === "string") failed = compiled;
      }
      if (graph && data.length === 2 && graph.accepts(data[0], data[1])) {
        compiledStepStatus.set(model, { compiled: true });
        return graph.step(data[0], data[1]);
      }
      compiledStepStatus.set(model, { compiled: false, reason: failed ?? "sample weights or input type" });
      return eager(data);
    };
  };
  return () => {
    delete (m as Partial<typeof m>).makeTrainFunction;
    graph?.dispose();
    graph = null;
  };
}
