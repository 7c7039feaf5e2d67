/**
 * One training step — forward pass, loss, backward pass and optimizer update — as one TensorFlow graph,
 * run as one session call.
 *
 * tfjs trains op by op: the forward pass, its autodiff tape and the optimizer's update are each a
 * native call per op (≈ 2,500 per fine-tuning step of the tutorial's model), and an eager op cannot be
 * fused or planned. {@link TrainGraph} writes the whole step from the layer table (`lib/graph/layer_kinds.ts`:
 * each kind's forward and backward writer) and the optimizer's update (`lib/model/optimizers.ts`: tfjs'
 * Adam and RMSprop arithmetic and slots, whichever class the optimizer is — `tf.train.rmsprop` or
 * `GraphRMSPropOptimizer`), so TensorFlow's optimizer sees the step whole. The frozen layers are
 * constants (inference BatchNormalization folded into the convolutions, as `lib/graph/frozen_graph.ts`
 * does).
 *
 * The tfjs Variables stay the truth: each step feeds the trainable variables, the optimizer's slots and
 * its hyperparameters, and assigns the updated values the graph returns — the model, `getWeights()`,
 * saving and the optimizer's weights see exactly what an eager step would leave. Random inputs stay
 * where they were: the weightless layers before the graph (data augmentation) run eagerly with their
 * seeded generators, and dropout's uniform draws are made by tfjs as its `Dropout` layer makes them
 * (`randomUniform`) and fed — a seeded layer's `t`-th mask with `dropoutSeed(seed, t)`, as the eager step
 * draws it too (`random_state.ts`). The learning rate and the other hyperparameters are fed every step,
 * so a rate changed between steps (`reduceLROnPlateau`, the learning-rate finder) takes effect at once.
 * With class weights (`fit`'s `classWeight`) the weight vector is fed and each example's weight gathered
 * by its label in the graph (`class_weight.ts`).
 *
 * {@link useCompiledStep} makes `fitDataset` use it (it replaces tfjs' `makeTrainFunction` for the run,
 * `lib/model/tfjs_internals.ts`); a model it cannot express trains with tfjs' own step, as before: a layer
 * kind with no backward writer, regularizers, sample weights, another optimizer (or centered RMSprop), or
 * a loss and metrics other than the classifier's own (`lossAndMetricFor(units)`, compared by identity —
 * e.g. `metrics: ["accuracy"]` is tfjs' `binaryAccuracy` at 0.5 and is not).
 *
 * @module
 */
import { tf } from "../runtime/mod.ts";
import type { LayersModel, SymbolicTensor, Tensor, Variable } from "../runtime/mod.ts";
import type { ClassWeighting } from "./class_weight.ts";
import { nextDropoutSeed, peekDropoutSeed, seededDropouts, withDropoutSeeds } from "./random_state.ts";
import {
  DT_BOOL,
  DT_FLOAT,
  DT_INT32,
  type Emitter,
  FLOAT_T,
  foldableConvolutions,
  type Forward,
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
import {
  type GraphUpdate,
  graphUpdate,
  InferenceModel,
  lossAndMetricFor,
  tfjsInternals,
} from "../model/mod.ts";

type LayerVariable = tfjsInternals.LayerVariable;
type Ref = { id: number; shape: (number | null)[] };
/** A layer call of the flattened model (nested inference-mode bases inlined) with its training mode. */
interface FlatNode extends GraphNode {
  training: boolean;
}
type Feed =
  | { kind: "x" | "y" | "classWeight" }
  | { kind: "uniform"; shape: number[]; layer: Layer }
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

/**
 * What a compiled step is written from: the model's layer calls split into the eager prefix and the graph's
 * part, the trainable variables, the optimizer's update, and `key` to tell whether the model still has it.
 */
interface StepParts {
  /** Weightless layers that run eagerly before the graph (data augmentation). */
  prefix: FlatNode[];
  /** The layer calls written into the graph. */
  nodes: FlatNode[];
  graphInput: Ref;
  output: Ref;
  /** The trainable variables, in `compile`'s order. */
  variables: LayerVariable[];
  update: GraphUpdate;
  /** Logits per example (1, or n ≥ 3). */
  units: number;
  /** Identities of everything the graph holds as constants, and of what it feeds. */
  key: unknown[];
}

/** What the compiled step takes from `model.compile`: the head width, the variables and the update. */
interface CompiledSetup {
  units: number;
  variables: LayerVariable[];
  update: GraphUpdate;
}

/** The compile settings the step can write (the loss and metric the classifier compiles with, Adam or RMSprop), or why not. */
function compiledSetup(model: LayersModel): CompiledSetup | string {
  const variables = tfjsInternals.collectedTrainableWeights(model);
  if (!variables || !model.optimizer) return "the model is not compiled";
  if (model.inputs.length !== 1 || model.outputs.length !== 1) return "not one input and one output";
  const units = model.outputs[0].shape.at(-1);
  if (model.outputs[0].shape.length !== 2 || !(units === 1 || (units! >= 3 && Number.isInteger(units)))) {
    return "the output is not [batch, 1] or [batch, n ≥ 3] logits";
  }
  if (model.calculateLosses().length > 0) return "the model has regularization losses";
  // The very functions the classifier compiles with (`lossAndMetricFor`): one of the same name is not it.
  const expected = lossAndMetricFor(units!);
  const loss = model.lossFunctions?.[0] as { name?: string } | undefined;
  if (loss !== expected.loss) return `loss ${loss?.name} (the compiled step writes ${expected.loss.name})`;
  const metrics = (model.metricsTensors ?? []).map(([fn]) => fn);
  if (metrics.length !== 1 || metrics[0] !== expected.metric) {
    return `metrics [${metrics.map((m) => m.name)}] (the compiled step writes [accuracy]: ` +
      `lossAndMetricFor(${units}).metric)`;
  }
  const update = graphUpdate(model.optimizer);
  if (typeof update === "string") return update;
  if (variables.length === 0) return "no trainable weights";
  return { units: units!, variables, update };
}

/** Splits the flattened layer calls into the eager prefix and the graph's part, or says why it cannot. */
function splitEagerPrefix(
  model: LayersModel,
  flat: FlatNode[],
): { prefix: FlatNode[]; nodes: FlatNode[]; graphInput: Ref } | string {
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
  return { prefix, nodes, graphInput: [...entering.values()][0] };
}

/** The parts of `model`'s training step, or why it cannot be compiled. */
function stepParts(model: LayersModel): StepParts | string {
  const setup = compiledSetup(model);
  if (typeof setup === "string") return setup;
  const { variables, update, units } = setup;
  const flat: FlatNode[] = [];
  const alias = new Map<number, Ref>();
  flatten(model, true, alias, flat);
  let output: Ref = model.outputs[0];
  while (alias.has(output.id)) output = alias.get(output.id)!;
  const split = splitEagerPrefix(model, flat);
  if (typeof split === "string") return split;
  const inGraph = new Set(split.nodes.flatMap((n) => n.outboundLayer.weights));
  const outside = variables.find((v) => !inGraph.has(v));
  if (outside) return `trainable weight ${outside.name} is outside the compiled part`;
  const fed = new Set(variables);
  const key: unknown[] = [model.optimizer, ...variables];
  for (const n of split.nodes) {
    for (const w of n.outboundLayer.weights) if (!fed.has(w)) key.push(w.read().dataId);
  }
  return { ...split, output, variables, update, units, key };
}

/** The written graph: what to feed each placeholder, the output layout and the gradients' names. */
interface Written {
  graph: GraphWriter;
  feeds: Feed[];
  outputs: string[];
  gradients: string[];
}

/** Writes the forward pass, loss, backward pass and update of a model's {@link StepParts}. */
class StepWriter {
  readonly g = new GraphWriter();
  readonly feeds: Feed[] = [];
  /** Trainable variable → its index in `parts.variables` (fed each step; all other weights are constants). */
  private readonly fedIndex: Map<LayerVariable, number>;
  private readonly weightNodes = new Map<LayerVariable, string>();
  /** Graph name of each tensor written so far. */
  private readonly names = new Map<number, string>();
  /** Tensors that need a gradient: a fed weight is upstream of them. */
  private readonly live = new Set<number>();
  private forwards = new Map<GraphNode, Forward>();

  constructor(private readonly parts: StepParts, private readonly classWeighted: boolean) {
    this.fedIndex = new Map(parts.variables.map((v, i) => [v, i]));
  }

  /** A placeholder fed with `feed` each step. */
  private input(name: string, shape: number[], feed: Feed): string {
    this.feeds.push(feed);
    return this.g.placeholder(name, shape);
  }

  /**
   * How layers write their weights: fed placeholders for trainable variables, constants otherwise; `layer`'s
   * random draws (dropout) are fed per step.
   */
  private emitter(training: boolean, layer?: Layer): Emitter {
    const { g, fedIndex, weightNodes } = this;
    return {
      g,
      training,
      weight: (layer: Layer, i: number) => {
        const w = layer.weights[i];
        let name = weightNodes.get(w);
        if (name) return name;
        const k = fedIndex.get(w);
        const value = w.read();
        name = k === undefined
          ? g.constant(
            `${layer.name}/${w.originalName.split("/").pop()}`,
            value.dataSync() as Float32Array,
            value.shape,
          )
          : this.input(`var${k}`, value.shape, { kind: "var", index: k });
        weightNodes.set(w, name);
        return name;
      },
      constant: (layer: Layer) => !layer.weights.some((w) => fedIndex.has(w)),
      uniform: (name: string, shape: number[]) => {
        if (!layer) throw new Error(`${name}: random draws outside a layer call`);
        return this.input(name, shape, { kind: "uniform", shape, layer });
      },
    };
  }

  /** The whole step, or why a layer cannot be written. */
  write(): Written | string {
    const p = this.parts;
    const x = this.input("input", p.graphInput.shape.map((d) => d ?? -1), { kind: "x" });
    const labels = this.input("labels", [-1], { kind: "y" });
    const weights = this.classWeighted
      ? this.input("class_weights", [p.units === 1 ? 2 : p.units], { kind: "classWeight" })
      : undefined;
    this.names.set(p.graphInput.id, x);
    this.forward();
    const logits = this.names.get(p.output.id)!;
    const { loss, accuracy, dlogits } = writeLoss(this.g, logits, labels, p.units, weights);
    const gradients = this.backward(dlogits);
    if (typeof gradients === "string") return gradients;
    const outputs = [loss, accuracy, ...this.update(gradients)];
    return { graph: this.g, feeds: this.feeds, outputs, gradients };
  }

  /** The forward pass, convolutions folded with the inference BatchNormalizations that follow them. */
  private forward(): void {
    const { nodes, output } = this.parts;
    const isConstant = (n: GraphNode) =>
      !n.outboundLayer.weights.some((w) => this.fedIndex.has(w)) &&
      n.inputTensors.every((t) => !this.live.has(t.id));
    for (const n of nodes) if (!isConstant(n)) { for (const t of n.outputTensors) this.live.add(t.id); }
    const uses = useCounts(nodes, [output]);
    const folds = foldableConvolutions(nodes, uses, isConstant, new Set([output.id]));
    this.forwards = writeForward(
      nodes,
      folds,
      this.names,
      (node) => this.emitter((node as FlatNode).training, node.outboundLayer),
    );
  }

  /**
   * The backward pass from `dlogits`, in reverse order, summing the gradients of tensors used more than
   * once; one gradient per trainable variable, or why one is missing.
   */
  private backward(dlogits: string): string[] | string {
    const { g, live, names } = this;
    const p = this.parts;
    const grads = new Map<number, string[]>([[p.output.id, [dlogits]]]);
    const varGrads = new Map<number, string[]>();
    for (const node of [...p.nodes].reverse()) {
      const out = node.outputTensors[0].id;
      if (!live.has(out) || !grads.has(out)) continue;
      const kind = LAYER_KINDS[node.outboundLayer.getClassName()];
      if (!kind.backward) {
        return `${node.outboundLayer.name}: no backward writer for ${node.outboundLayer.getClassName()}`;
      }
      const dy = sumOf(g, `${node.outboundLayer.name}_grad/sum`, grads.get(out)!);
      const xs = node.inputTensors.map((t) => names.get(t.id)!);
      const { dxs, dws } = kind.backward(this.emitter(false), node, xs, this.forwards.get(node)!, dy);
      node.inputTensors.forEach((t, i) => {
        if (!live.has(t.id) || !dxs[i]) return;
        grads.set(t.id, [...(grads.get(t.id) ?? []), dxs[i]!]);
      });
      node.outboundLayer.weights.forEach((w, i) => {
        const k = this.fedIndex.get(w);
        if (k === undefined || !dws[i]) return;
        varGrads.set(k, [...(varGrads.get(k) ?? []), dws[i]!]);
      });
    }
    const missing = p.variables.findIndex((_, k) => !varGrads.has(k));
    if (missing >= 0) return `no gradient reaches ${p.variables[missing].name}`;
    return p.variables.map((_, k) => sumOf(g, `grad${k}/sum`, varGrads.get(k)!));
  }

  /** The optimizer's update: per variable `[value', ...slots']`, then its state's new values. */
  private update(gradients: string[]): string[] {
    const { update, variables } = this.parts;
    const hyper = update.hyperparameters().map((_, i) =>
      this.input(`hyper${i}`, [], { kind: "hyper", index: i })
    );
    const state = update.state().map((_, i) => this.input(`state${i}`, [], { kind: "state", index: i }));
    const slots = update.slots(variables.map((v) => varName(v)));
    const outputs: string[] = [];
    variables.forEach((v, k) => {
      const vars = [this.weightNodes.get(v)!];
      slots[k].forEach((s, j) =>
        vars.push(this.input(`var${k}/slot${j}`, s.shape, { kind: "slot", index: k, slot: j }))
      );
      outputs.push(...update.write(this.g, `update${k}`, hyper, state, vars, gradients[k]));
    });
    outputs.push(...update.writeState(this.g, hyper, state));
    return outputs;
  }
}

/** `parts` summed (`AddN`), or the one part as it is. */
function sumOf(g: GraphWriter, name: string, parts: string[]): string {
  return parts.length === 1 ? parts[0] : g.op(name, "AddN", parts, { ...T, N: { i: parts.length } });
}

/**
 * The loss's outputs: mean loss, mean accuracy and the gradient of the mean loss for the logits. The
 * accuracy is not class-weighted: Keras weights only `weighted_metrics`, not the compiled `metrics`.
 */
interface LossNodes {
  loss: string;
  accuracy: string;
  dlogits: string;
}

/** What the two losses share: the batch size, a mean over all axes, and the sample weights if any. */
interface LossContext {
  count: string;
  mean: (name: string, v: string, rank: number) => string;
  /** `[b]` sample weights (the class weight of each label), or undefined. */
  w?: string;
}

/**
 * The mean loss, the accuracy and the loss's gradient for the logits: binary cross-entropy from one logit
 * (`σ(z) − y`, over the batch), or sparse categorical cross-entropy from `n` (`softmax(z) − onehot`). With
 * `classWeights` (`[classes]`) each example's loss and gradient are scaled by its label's weight and the
 * loss is `Σ w·l / batch` (Keras' `sum_over_batch_size`).
 */
function writeLoss(
  g: GraphWriter,
  z: string,
  labels: string,
  units: number,
  classWeights?: string,
): LossNodes {
  const count = g.op("loss/count", "Cast", [
    g.op("loss/size", "Size", [labels], { ...T, out_type: { type: DT_INT32 } }),
  ], cast(DT_INT32, DT_FLOAT));
  const mean = (name: string, v: string, rank: number) =>
    g.op(name, "Mean", [v, g.constant(`${name}/axes`, new Int32Array([...Array(rank).keys()]), [rank])], {
      ...T,
      Tidx: { type: DT_INT32 },
      keep_dims: { b: false },
    });
  const w = classWeights === undefined ? undefined : writeSampleWeights(g, labels, classWeights);
  const context = { count, mean, w };
  return units === 1 ? writeBinaryLoss(g, z, labels, context) : writeCategoricalLoss(g, z, labels, context);
}

/** Each example's weight `[b]`: the class weight of its label. */
function writeSampleWeights(g: GraphWriter, labels: string, classWeights: string): string {
  const index = g.op("weights/labels_int", "Cast", [labels], cast(DT_FLOAT, DT_INT32));
  return g.op("weights/sample", "GatherV2", [
    classWeights,
    index,
    g.constant("weights/axis", new Int32Array([0]), []),
  ], {
    Tparams: { type: DT_FLOAT },
    Tindices: { type: DT_INT32 },
    Taxis: { type: DT_INT32 },
    batch_dims: { i: 0 },
  });
}

/** `x · w` with `w` `[b]` reshaped to `[b, 1]` (for `[b, 1]` or `[b, n]` values). */
function timesColumn(g: GraphWriter, name: string, x: string, w: string): string {
  const column = g.op(`${name}/w_column`, "Reshape", [
    w,
    g.constant(`${name}/shape`, new Int32Array([-1, 1]), [2]),
  ], {
    ...T,
    Tshape: { type: DT_INT32 },
  });
  return g.op(name, "Mul", [x, column], T);
}

/** Binary cross-entropy from one logit and accuracy at logit 0 (see {@link writeLoss}). */
function writeBinaryLoss(
  g: GraphWriter,
  z: string,
  labels: string,
  { count, mean, w }: LossContext,
): LossNodes {
  const y = g.op("loss/labels", "Reshape", [labels, g.constant("loss/shape", new Int32Array([-1, 1]), [2])], {
    ...T,
    Tshape: { type: DT_INT32 },
  });
  // max(z, 0) − z·y + log(1 + e^−|z|)
  let perExample = g.op("loss/bce", "AddV2", [
    g.op("loss/relu_minus_zy", "Sub", [
      g.op("loss/relu", "Relu", [z], T),
      g.op("loss/zy", "Mul", [z, y], T),
    ], T),
    g.op("loss/log1p", "Log1p", [
      g.op("loss/exp", "Exp", [g.op("loss/neg_abs", "Neg", [g.op("loss/abs", "Abs", [z], T)], T)], T),
    ], T),
  ], T);
  let residual = g.op("loss/residual", "Sub", [g.op("loss/sigmoid", "Sigmoid", [z], T), y], T);
  if (w) {
    perExample = timesColumn(g, "loss/bce_weighted", perExample, w);
    residual = timesColumn(g, "loss/residual_weighted", residual, w);
  }
  const dlogits = g.op("loss/dlogits", "RealDiv", [residual, count], T);
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

/** Sparse categorical cross-entropy from `n` logits and argmax accuracy (see {@link writeLoss}). */
function writeCategoricalLoss(
  g: GraphWriter,
  z: string,
  labels: string,
  { count, mean, w }: LossContext,
): LossNodes {
  const y = g.op("loss/labels_int", "Cast", [labels], cast(DT_FLOAT, DT_INT32));
  const xent = g.op("loss/xent", "SparseSoftmaxCrossEntropyWithLogits", [z, y], {
    ...T,
    Tlabels: { type: DT_INT32 },
  });
  const perExample = w ? g.op("loss/xent_weighted", "Mul", [xent, w], T) : xent;
  const backprop = w ? timesColumn(g, "loss/backprop_weighted", `${xent}:1`, w) : `${xent}:1`;
  const dlogits = g.op("loss/dlogits", "RealDiv", [backprop, count], T);
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
  return { loss: mean("loss/mean", perExample, 1), accuracy: mean("accuracy/mean", hit, 1), dlogits };
}

/** Options of {@link TrainGraph.compile}. */
export interface TrainGraphOptions {
  /** Write the loss with per-class weights fed each step (`fit`'s `classWeight`); default false. */
  classWeighted?: boolean;
}

/** One compiled training step of a model (see the module notes). */
export class TrainGraph {
  private disposed = false;

  private constructor(
    private readonly parts: StepParts,
    private readonly session: GraphSession,
    private readonly feeds: Feed[],
    private readonly gradientNames: string[],
    /** Whether the graph takes class weights. */
    readonly classWeighted: boolean,
  ) {}

  /** Compiles `model`'s training step (compiled model, Adam or RMSprop), or says why it cannot. */
  static compile(model: LayersModel, options: TrainGraphOptions = {}): TrainGraph | string {
    const parts = stepParts(model);
    if (typeof parts === "string") return parts;
    const classWeighted = options.classWeighted ?? false;
    const written = new StepWriter(parts, classWeighted).write();
    if (typeof written === "string") return written;
    const session = GraphSession.load(written.graph, written.outputs);
    return new TrainGraph(parts, session, written.feeds, written.gradients, classWeighted);
  }

  /** Whether this step still computes `model`'s step: same optimizer, trainable list and constant weights. */
  matches(model: LayersModel): boolean {
    if (this.disposed) return false;
    const now = stepParts(model);
    return typeof now !== "string" && now.key.length === this.parts.key.length &&
      now.key.every((k, i) => k === this.parts.key[i]);
  }

  /** Whether `x` is a batch the graph takes: float32 of the model's input shape, labels one per image. */
  accepts(x: Tensor, y: Tensor): boolean {
    return x.dtype === "float32" && y.size === x.shape[0] && (y.dtype === "float32" || y.dtype === "int32");
  }

  /** The eager prefix's output (augmentation) for batch `x`: the graph's input. */
  private prefixOutput(x: Tensor): Tensor {
    const values = new Map<number, Tensor>([[
      this.parts.prefix[0]?.inputTensors[0].id ?? this.parts.graphInput.id,
      x,
    ]]);
    for (const node of this.parts.prefix) {
      const ins = node.inputTensors.map((t) => values.get(t.id)!);
      const out = node.outboundLayer.apply(ins.length === 1 ? ins[0] : ins, {
        ...node.callArgs,
        training: node.training,
      });
      values.set(node.outputTensors[0].id, out as Tensor);
    }
    return values.get(this.parts.graphInput.id)!;
  }

  /**
   * The feeds for batch `x`, `y`: the eager prefix (augmentation) run, dropout's draws made (a seeded
   * layer's next mask; `advance` false: without counting it), the class weights when the graph takes them.
   */
  private inputs(x: Tensor, y: Tensor, hyper: Tensor[], advance: boolean, classWeights?: Tensor): Tensor[] {
    if (this.classWeighted && !classWeights) throw new Error("TrainGraph: this step needs the class weights");
    const input = this.prefixOutput(x);
    const slots = this.parts.update.slots(this.parts.variables.map((v) => varName(v)));
    const state = this.parts.update.state();
    const batch = x.shape[0];
    return this.feeds.map((f) => {
      switch (f.kind) {
        case "x":
          return input;
        case "y":
          return tf.cast(tf.reshape(y, [-1]), "float32");
        case "classWeight":
          return classWeights!;
        case "uniform": {
          const seed = advance ? nextDropoutSeed(f.layer) : peekDropoutSeed(f.layer);
          return tf.randomUniform(f.shape.map((d) => d === -1 ? batch : d), 0, 1, "float32", seed);
        }
        case "var":
          return this.parts.variables[f.index].read();
        case "slot":
          return slots[f.index][f.slot];
        case "state":
          return state[f.index];
        case "hyper":
          return hyper[f.index];
      }
    });
  }

  /**
   * One training step on batch `x`, `y` (and the class weights, `[classes]`, when the graph takes them):
   * updates the variables and the optimizer; `[loss, accuracy]`.
   */
  step(x: Tensor, y: Tensor, classWeights?: Tensor): Tensor[] {
    if (this.disposed) throw new Error("TrainGraph.step: the graph was disposed");
    const update = this.parts.update;
    const outs = tf.tidy(() => {
      const hyper = update.hyperparameters().map((v) => tf.scalar(v));
      return this.session.run(this.inputs(x, y, hyper, true, classWeights));
    });
    const metrics = outs.splice(0, 2);
    const slots = update.slots(this.parts.variables.map((v) => varName(v)));
    let i = 0;
    this.parts.variables.forEach((v, k) => {
      (v.read() as Variable).assign(outs[i++]);
      for (const s of slots[k]) s.assign(outs[i++]);
    });
    for (const s of update.state()) s.assign(outs[i++]);
    tf.dispose(outs);
    update.finish();
    return metrics;
  }

  /**
   * The gradients of the mean loss for batch `x`, `y`, one per trainable variable; nothing is updated
   * (seeded dropout draws the mask its next step will draw).
   */
  gradients(x: Tensor, y: Tensor, classWeights?: Tensor): Tensor[] {
    if (this.disposed) throw new Error("TrainGraph.gradients: the graph was disposed");
    return tf.tidy(() => {
      const hyper = this.parts.update.hyperparameters().map((v) => tf.scalar(v));
      return this.session.run(this.inputs(x, y, hyper, false, classWeights), this.gradientNames);
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

/** Options of {@link useCompiledStep}. */
export interface TrainStepOptions {
  /** Compile the step (default true); false: tfjs' own step, still with class weights and dropout seeds. */
  compiled?: boolean;
  /** `fit`'s class weights, for each step's sample weights. */
  classWeighting?: ClassWeighting;
}

/**
 * Makes `model.fitDataset` / `model.fit` train with a {@link TrainGraph} step (compiled on the first
 * batch, recompiled when the trainable weights, the optimizer or a constant weight change), falling back
 * to tfjs' own step for what it cannot compile — which then gets the class weights as sample weights and
 * seeded dropout's per-step seeds. Returns the function that undoes it and closes the graph.
 */
export function useCompiledStep(model: LayersModel, options: TrainStepOptions = {}): () => void {
  const { compiled = true, classWeighting } = options;
  let graph: TrainGraph | null = null;
  let failed: string | null = compiled ? null : "compiledStep: false";
  const dropouts = seededDropouts(model);
  const restore = tfjsInternals.replaceTrainFunction(model, (eager) => (data: Tensor[]) => {
    if (data.length === 2 && failed === null && !graph?.matches(model)) {
      graph?.dispose();
      const made = TrainGraph.compile(model, { classWeighted: classWeighting !== undefined });
      graph = typeof made === "string" ? null : made;
      if (typeof made === "string") failed = made;
    }
    if (graph && data.length === 2 && graph.accepts(data[0], data[1])) {
      compiledStepStatus.set(model, { compiled: true });
      return graph.step(data[0], data[1], classWeighting?.weights);
    }
    compiledStepStatus.set(model, { compiled: false, reason: failed ?? "sample weights or input type" });
    return eagerStep(eager, data, dropouts, classWeighting);
  });
  if (!restore) return () => {};
  return () => {
    restore();
    graph?.dispose();
    graph = null;
  };
}

/** tfjs' own step on `data`, with the class weights as sample weights and seeded dropout's next seeds. */
function eagerStep(
  eager: (data: Tensor[]) => Tensor[],
  data: Tensor[],
  dropouts: ReturnType<typeof seededDropouts>,
  classWeighting?: ClassWeighting,
): Tensor[] {
  if (!classWeighting || data.length !== 2) return withDropoutSeeds(dropouts, () => eager(data));
  const weights = classWeighting.sampleWeights(data[1]);
  try {
    return withDropoutSeeds(dropouts, () => eager([...data, weights]));
  } finally {
    weights.dispose();
  }
}
