/**
 * RMSprop (the tutorial's fine-tuning optimizer) with the update of all variables as one TensorFlow graph.
 *
 * tfjs' `RMSPropOptimizer` updates each variable with about fifteen eager ops and four scalar uploads —
 * for the 56 variables the tutorial fine-tunes, ≈ 900 native calls and 18 ms per step on the build machine.
 * {@link GraphRMSPropOptimizer} is that class (same constructor, slots, config, weights and serialization
 * name) with the same arithmetic written once as a graph ({@link GraphSession}) over every variable and run
 * as one call per step.
 *
 * @module
 */
import { tf } from "./tf.ts";
import type { NamedTensorMap, Tensor, Variable } from "./tf.ts";

type NamedTensor = { name: string; tensor: Tensor };
import { FLOAT_T, GraphSession, GraphWriter } from "./graph_session.ts";

type Slot = { originalName: string; variable: Variable };
/** The parent's slot fields (TypeScript-private in tfjs, the same objects at run time). */
type Slots = {
  learningRate: number;
  decay: number;
  momentum: number;
  epsilon: number;
  centered: boolean;
  accumulatedMeanSquares: Slot[];
  accumulatedMoments: Slot[];
  incrementIterations(): void;
};

const HYPERPARAMETERS = ["learning_rate", "decay", "one_minus_decay", "momentum", "epsilon"];

/** The update graph for one list of variable shapes: per variable (value, ms, mom, g) → (ms', mom', value'). */
function updateGraph(shapes: number[][]): GraphSession {
  const g = new GraphWriter();
  // Scalars computed in JS, as tfjs computes them (1 − decay in double precision, then float32).
  const [lr, decay, oneMinusDecay, momentum, epsilon] = HYPERPARAMETERS.map((n) => g.placeholder(n, []));
  const outputs: string[] = [];
  shapes.forEach((shape, i) => {
    const [value, ms, mom, grad] = ["value", "ms", "mom", "grad"].map((n) =>
      g.placeholder(`v${i}/${n}`, shape)
    );
    const op = (name: string, type: string, inputs: string[]) => g.op(`v${i}/${name}`, type, inputs, FLOAT_T);
    // tfjs: ms' = ms·decay + g²·(1 − decay); mom' = mom·momentum + g·lr / √(ms' + ε); value' = value − mom'
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
    const newValue = op("new_value", "Sub", [value, newMom]);
    outputs.push(newMs, newMom, newValue);
  });
  return GraphSession.load(g, outputs);
}

/** tfjs' `RMSPropOptimizer`, updating all variables in one native call (see the module notes). */
export class GraphRMSPropOptimizer extends tf.RMSPropOptimizer {
  private session: GraphSession | null = null;
  private sessionKey = "";

  override applyGradients(variableGradients: NamedTensorMap | NamedTensor[]): void {
    const self = this as unknown as Slots;
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
