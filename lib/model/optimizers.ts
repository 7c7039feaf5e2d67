/**
 * RMSprop (the tutorial's fine-tuning optimizer) with the update of all variables as one TensorFlow graph.
 *
 * tfjs' `RMSPropOptimizer` updates each variable with about fifteen eager ops and four scalar uploads —
 * for the 56 variables the tutorial fine-tunes, ≈ 900 native calls per step.
 * {@link GraphRMSPropOptimizer} is that class (same constructor, slots, config, weights and serialization
 * name) with the same arithmetic written once as a graph ({@link GraphSession}) over every variable and run
 * as one call per step.
 *
 * {@link graphUpdate} writes tfjs' Adam and RMSprop updates into another graph — the compiled training
 * step (`train_graph.ts`) — with the optimizer's own slots and state, so either path can continue the other.
 *
 * {@link optimizerVariables}, {@link learningRateOf} / {@link setLearningRate} and
 * {@link iterationsOf} / {@link setIterations} are an optimizer's whole state, read and written in place:
 * `lib/train/` snapshots and restores it (learning-rate finder), saves it (checkpoints) and lowers the rate
 * between steps (`reduceLROnPlateau`; the compiled step feeds the rate each step, so it sees the change).
 *
 * @module
 */
import { tf } from "../runtime/mod.ts";
import type { NamedTensorMap, Optimizer, Tensor, Variable } from "../runtime/mod.ts";
import { FLOAT_T, GraphSession, GraphWriter } from "../graph/mod.ts";
import { adamInternals, optimizerInternals, type OptimizerSlot, rmspropInternals } from "./tfjs_internals.ts";

export type { OptimizerSlot } from "./tfjs_internals.ts";

const HYPERPARAMETERS = ["learning_rate", "decay", "one_minus_decay", "momentum", "epsilon"];

/**
 * tfjs' non-centered RMSprop update of one variable, written into `g`: `ms' = ms·decay + g²·(1 − decay)`,
 * `mom' = mom·momentum + g·lr / √(ms' + ε)`, `value' = value − mom'`; hyperparameters in
 * {@link HYPERPARAMETERS} order. Returns `[ms', mom', value']`.
 */
function writeRmsprop(
  g: GraphWriter,
  prefix: string,
  hyper: string[],
  vars: string[],
  grad: string,
): string[] {
  const [lr, decay, oneMinusDecay, momentum, epsilon] = hyper;
  const [value, ms, mom] = vars;
  const op = (name: string, type: string, inputs: string[]) =>
    g.op(`${prefix}/${name}`, type, inputs, FLOAT_T);
  const newMs = op(
    "new_ms",
    "AddV2",
    [op("ms_decay", "Mul", [ms, decay]), op("g2", "Mul", [op("square", "Square", [grad]), oneMinusDecay])],
  );
  const step = op("step", "RealDiv", [
    op("g_lr", "Mul", [grad, lr]),
    op("sqrt", "Sqrt", [op("ms_eps", "AddV2", [newMs, epsilon])]),
  ]);
  const newMom = op("new_mom", "AddV2", [op("mom_momentum", "Mul", [mom, momentum]), step]);
  return [newMs, newMom, op("new_value", "Sub", [value, newMom])];
}

/** The update graph for one list of variable shapes: per variable (value, ms, mom, g) → (ms', mom', value'). */
function updateGraph(shapes: number[][]): GraphSession {
  const g = new GraphWriter();
  // Scalars computed in JS, as tfjs computes them (1 − decay in double precision, then float32).
  const hyper = HYPERPARAMETERS.map((n) => g.placeholder(n, []));
  const outputs: string[] = [];
  shapes.forEach((shape, i) => {
    const [value, ms, mom, grad] = ["value", "ms", "mom", "grad"].map((n) =>
      g.placeholder(`v${i}/${n}`, shape)
    );
    outputs.push(...writeRmsprop(g, `v${i}`, hyper, [value, ms, mom], grad));
  });
  return GraphSession.load(g, outputs);
}

/**
 * An optimizer's update written into a graph (for the compiled training step, `train_graph.ts`): the same
 * slots (created by position, with tfjs' names), hyperparameters and arithmetic as tfjs' own class, so its
 * weights, checkpoints and `getWeights()` stay interchangeable with an eager run.
 */
export interface GraphUpdate {
  /** Hyperparameter values for this step, fed as scalars in this order. */
  hyperparameters(): number[];
  /** The slot variables of each variable (created as tfjs creates them when missing). */
  slots(names: string[]): Variable[][];
  /** Optimizer-wide state variables fed each step and replaced by the graph's outputs (Adam's β powers). */
  state(): Variable[];
  /** Writes one variable's update: `[value, ...slots]` → `[value', ...slots']`. */
  write(
    g: GraphWriter,
    prefix: string,
    hyper: string[],
    state: string[],
    vars: string[],
    grad: string,
  ): string[];
  /** Writes the new values of {@link state}. */
  writeState(g: GraphWriter, hyper: string[], state: string[]): string[];
  /** After the step (tfjs' `incrementIterations`). */
  finish(): void;
}

/** Slot variables by position, created as tfjs creates them (`zerosLike(value).variable(false)`). */
function slotsOf(lists: OptimizerSlot[][], suffixes: string[], names: string[]): Variable[][] {
  return names.map((name, i) =>
    lists.map((list, k) => {
      list[i] ??= {
        originalName: `${name}/${suffixes[k]}`,
        variable: tf.tidy(() => tf.zerosLike(tf.engine().registeredVariables[name]).variable(false)),
      };
      return list[i].variable;
    })
  );
}

/** The graph update of `optimizer` (tfjs' Adam, or RMSprop without `centered`), or why there is none. */
export function graphUpdate(optimizer: Optimizer | undefined): GraphUpdate | string {
  // tfjs' optimizer classes answer `instanceof` for any optimizer (Symbol.hasInstance): ask the class name.
  const className = optimizer?.getClassName?.();
  if (className === "Adam") {
    const o = adamInternals(optimizer!);
    return {
      hyperparameters: () => [o.beta1, 1 - o.beta1, o.beta2, 1 - o.beta2, o.epsilon, -o.learningRate],
      slots: (names) => slotsOf([o.accumulatedFirstMoment, o.accumulatedSecondMoment], ["m", "v"], names),
      state: () => [o.accBeta1, o.accBeta2],
      write(g, prefix, hyper, state, [value, m, v], grad) {
        const [beta1, oneMinusBeta1, beta2, oneMinusBeta2, epsilon, negLr] = hyper;
        const op = (name: string, type: string, inputs: string[]) =>
          g.op(`${prefix}/${name}`, type, inputs, FLOAT_T);
        // tfjs: m' = m·β1 + g·(1 − β1); v' = v·β2 + g²·(1 − β2); value' = m'/(1 − β1ᵗ) / (√(v'/(1 − β2ᵗ)) + ε)·(−lr) + value
        const newM = op("new_m", "AddV2", [
          op("m_b1", "Mul", [m, beta1]),
          op("g_b1", "Mul", [grad, oneMinusBeta1]),
        ]);
        const newV = op("new_v", "AddV2", [
          op("v_b2", "Mul", [v, beta2]),
          op("g2_b2", "Mul", [op("square", "Square", [grad]), oneMinusBeta2]),
        ]);
        const one = g.scalar(`${prefix}/one`, 1);
        const mHat = op("m_hat", "RealDiv", [newM, op("one_minus_acc_beta1", "Sub", [one, state[0]])]);
        const vHat = op("v_hat", "RealDiv", [newV, op("one_minus_acc_beta2", "Sub", [one, state[1]])]);
        const denominator = op("denominator", "AddV2", [op("sqrt", "Sqrt", [vHat]), epsilon]);
        const step = op("step", "Mul", [op("ratio", "RealDiv", [mHat, denominator]), negLr]);
        return [op("new_value", "AddV2", [step, value]), newM, newV];
      },
      writeState(g, hyper, [accBeta1, accBeta2]) {
        return [
          g.op("adam/acc_beta1", "Mul", [accBeta1, hyper[0]], FLOAT_T),
          g.op("adam/acc_beta2", "Mul", [accBeta2, hyper[2]], FLOAT_T),
        ];
      },
      finish: () => o.incrementIterations(),
    };
  }
  if (className === "RMSProp") {
    const o = rmspropInternals(optimizer!);
    if (o.centered) return "centered RMSprop";
    return {
      hyperparameters: () => [o.learningRate, o.decay, 1 - o.decay, o.momentum, o.epsilon],
      slots: (names) => slotsOf([o.accumulatedMeanSquares, o.accumulatedMoments], ["rms", "momentum"], names),
      state: () => [],
      write(g, prefix, hyper, _state, [value, ms, mom], grad) {
        const [newMs, newMom, newValue] = writeRmsprop(g, prefix, hyper, [value, ms, mom], grad);
        return [newValue, newMs, newMom];
      },
      writeState: () => [],
      finish: () => o.incrementIterations(),
    };
  }
  return `optimizer ${className ?? typeof optimizer} (Adam or RMSprop expected)`;
}

/** tfjs' `RMSPropOptimizer`, updating all variables in one native call (see the module notes). */
export class GraphRMSPropOptimizer extends tf.RMSPropOptimizer {
  private session: GraphSession | null = null;
  private sessionKey = "";

  /** tfjs' RMSprop update of every variable with a gradient, as one session call (centered: tfjs' own). */
  override applyGradients(variableGradients: NamedTensorMap | { name: string; tensor: Tensor }[]): void {
    const self = rmspropInternals(this);
    if (self.centered) return super.applyGradients(variableGradients);
    const items = Array.isArray(variableGradients)
      ? variableGradients.map((v) => ({ name: v.name, grad: v.tensor as Tensor | null }))
      : Object.keys(variableGradients).map((name) => ({
        name,
        grad: variableGradients[name] as Tensor | null,
      }));
    const updates: { value: Variable; ms: Variable; mom: Variable; grad: Tensor }[] = [];
    items.forEach(({ name, grad }, i) => {
      const value = tf.engine().registeredVariables[name];
      if (!value) throw new Error(`GraphRMSPropOptimizer: no variable named "${name}"`);
      // Slots by position, created as tfjs creates them.
      self.accumulatedMeanSquares[i] ??= {
        originalName: `${name}/rms`,
        variable: tf.tidy(() => tf.zerosLike(value).variable(false)),
      };
      self.accumulatedMoments[i] ??= {
        originalName: `${name}/momentum`,
        variable: tf.tidy(() => tf.zerosLike(value).variable(false)),
      };
      if (grad == null) return;
      if (value.dtype !== "float32" || grad.dtype !== "float32") {
        throw new Error(`GraphRMSPropOptimizer: variable "${name}" and its gradient must be float32`);
      }
      updates.push({
        value,
        ms: self.accumulatedMeanSquares[i].variable,
        mom: self.accumulatedMoments[i].variable,
        grad,
      });
    });
    if (updates.length > 0) {
      const key = updates.map((u) => u.value.shape.join("x")).join(",");
      if (key !== this.sessionKey) {
        this.session?.dispose();
        this.session = updateGraph(updates.map((u) => u.value.shape));
        this.sessionKey = key;
      }
      const hyper = [self.learningRate, self.decay, 1 - self.decay, self.momentum, self.epsilon].map((v) =>
        tf.scalar(v)
      );
      const out = this.session!.run([...hyper, ...updates.flatMap((u) => [u.value, u.ms, u.mom, u.grad])]);
      updates.forEach((u, k) => {
        u.ms.assign(out[3 * k]);
        u.mom.assign(out[3 * k + 1]);
        u.value.assign(out[3 * k + 2]);
      });
      tf.dispose([...hyper, ...out]);
    }
    self.incrementIterations();
  }

  /** Closes the update graph's session, then frees the slots (tfjs' `dispose`). */
  override dispose(): void {
    this.session?.dispose();
    this.session = null;
    this.sessionKey = "";
    super.dispose();
  }
}

/** `tf.train.rmsprop` as a {@link GraphRMSPropOptimizer}: Keras' `RMSprop(learning_rate)` defaults otherwise. */
export function rmsprop(
  learningRate: number,
  options: { decay?: number; momentum?: number; epsilon?: number } = {},
): GraphRMSPropOptimizer {
  if (!(learningRate > 0)) throw new Error(`rmsprop: learningRate must be > 0, got ${learningRate}`);
  return new GraphRMSPropOptimizer(
    learningRate,
    options.decay ?? 0.9,
    options.momentum ?? 0,
    options.epsilon,
  );
}

/** Slot suffixes of each optimizer class whose state {@link optimizerVariables} can read, in tfjs' `getWeights` order. */
const SLOT_SUFFIXES: Readonly<Record<string, string[]>> = {
  Adam: ["m", "v"],
  RMSProp: ["rms", "momentum"],
  SGD: [],
};

/**
 * An optimizer's state, live (the optimizer's own variables, not copies): its slot lists in tfjs'
 * `getWeights` order, each by trainable-variable position (a slot is created on the variable's first
 * update, so a list may be shorter than the variables), and its optimizer-wide variables (Adam's β1ᵗ and
 * β2ᵗ, which tfjs' `setWeights` would recompute from the step count rather than restore).
 */
export interface OptimizerVariables {
  /** tfjs' class name: `Adam`, `RMSProp` or `SGD`. */
  className: string;
  /** Suffix of each slot list (`m`, `v`; `rms`, `momentum`, `mg` when centered). */
  suffixes: string[];
  /** The slot lists themselves (tfjs' arrays: growing or shortening them changes the optimizer). */
  slotLists: OptimizerSlot[][];
  /** Optimizer-wide variables, in a fixed order. */
  state: Variable[];
}

/** The live state of `optimizer` (tfjs' Adam, RMSprop — centered too — or SGD), or why it cannot be read. */
export function optimizerVariables(optimizer: Optimizer): OptimizerVariables | string {
  const className = optimizer?.getClassName?.();
  if (className === "Adam") {
    const o = adamInternals(optimizer);
    return {
      className,
      suffixes: SLOT_SUFFIXES.Adam,
      slotLists: [o.accumulatedFirstMoment, o.accumulatedSecondMoment],
      state: [o.accBeta1, o.accBeta2],
    };
  }
  if (className === "RMSProp") {
    const o = rmspropInternals(optimizer);
    const lists = [o.accumulatedMeanSquares, o.accumulatedMoments];
    if (o.centered) lists.push(o.accumulatedMeanGrads);
    return {
      className,
      suffixes: o.centered ? [...SLOT_SUFFIXES.RMSProp, "mg"] : SLOT_SUFFIXES.RMSProp,
      slotLists: lists,
      state: [],
    };
  }
  if (className === "SGD") return { className, suffixes: [], slotLists: [], state: [] };
  return `optimizer ${className ?? typeof optimizer} (Adam, RMSprop or SGD expected)`;
}

/**
 * The slot variable of list `list` for the variable at `position` named `name` (tfjs' variable name),
 * created as tfjs creates it (zeros of the variable's shape, named `<name>/<suffix>`) when missing.
 */
export function ensureSlot(
  state: OptimizerVariables,
  list: number,
  position: number,
  name: string,
): Variable {
  const slots = state.slotLists[list];
  slots[position] ??= {
    originalName: `${name}/${state.suffixes[list]}`,
    variable: tf.tidy(() => tf.zerosLike(tf.engine().registeredVariables[name]).variable(false)),
  };
  return slots[position].variable;
}

/** The step size `optimizer` uses now. */
export function learningRateOf(optimizer: Optimizer): number {
  const rate = optimizerInternals(optimizer).learningRate;
  if (typeof rate !== "number") {
    throw new Error(`optimizer ${optimizer.getClassName()} has no learning rate field`);
  }
  return rate;
}

/**
 * Sets the step size of `optimizer` for its next steps (the eager update and the compiled step both read it
 * at every step; SGD's cached `−lr` scalar is replaced through its own setter).
 */
export function setLearningRate(optimizer: Optimizer, learningRate: number): void {
  if (!(learningRate >= 0) || !Number.isFinite(learningRate)) {
    throw new Error(`setLearningRate: expected a finite rate ≥ 0, got ${learningRate}`);
  }
  const o = optimizerInternals(optimizer);
  learningRateOf(optimizer);
  if (typeof o.setLearningRate === "function") o.setLearningRate(learningRate);
  else o.learningRate = learningRate;
}

/** `optimizer.iterations`: the steps it has taken. */
export function iterationsOf(optimizer: Optimizer): number {
  return optimizerInternals(optimizer).iterations_ ?? 0;
}

/** Sets the step count (restoring a checkpoint or a snapshot); Adam's β powers are separate state. */
export function setIterations(optimizer: Optimizer, iterations: number): void {
  if (!Number.isInteger(iterations) || iterations < 0) {
    throw new Error(`setIterations: expected a whole number ≥ 0, got ${iterations}`);
  }
  optimizerInternals(optimizer).iterations_ = iterations;
}
