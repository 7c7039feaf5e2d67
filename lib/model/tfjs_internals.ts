/**
 * The TensorFlow.js internals this project reads or replaces, typed in one place. Each is TypeScript-private
 * or protected in tfjs-layers 4.22.0 (pinned in `deno.json`) and the same object at run time; this module
 * says which and why, so that a tfjs upgrade has one file to check and no other module casts into tfjs.
 *
 * | Internal (tfjs-layers) | Used by | Why |
 * | --- | --- | --- |
 * | `LayersModel.collectedTrainableWeights` (private) | `lib/train/train_graph.ts` | the variables `compile` collected: the compiled step feeds and updates exactly these, as tfjs' own step does |
 * | `LayersModel.makeTrainFunction` (protected) | `lib/train/train_graph.ts` (`useCompiledStep`) | where `fit`/`fitDataset` get their training step: replaced for the duration of `fit` by the compiled step |
 * | `AdamOptimizer`'s moments, `accBeta1/2`, hyperparameters (private) | `optimizers.ts` (`graphUpdate`) | the compiled step updates the optimizer's own slots and state, so its weights and checkpoints stay tfjs' |
 * | `RMSPropOptimizer`'s `accumulatedMeanSquares` / `accumulatedMoments`, hyperparameters (private) | `optimizers.ts` | the same, and `GraphRMSPropOptimizer`'s one-call update |
 * | `RMSPropOptimizer.accumulatedMeanGrads`, `Optimizer.iterations_`, the `learningRate` field (private or protected) | `optimizers.ts` (`optimizerVariables`, `setIterations`, `setLearningRate`) | `lib/train/`'s checkpoints, learning-rate finder and `reduceLROnPlateau` read and restore an optimizer's whole state and change its rate between steps |
 *
 * Public tfjs API is used directly elsewhere (`model.lossFunctions`, `metricsTensors`, `metricsNames`,
 * `nodesByDepth`, `LayerVariable.read()`, `tf.engine().registeredVariables`).
 *
 * @module
 */
import type { LayersModel, Optimizer, Tensor, Variable } from "../runtime/mod.ts";

/** A layer weight (`LayerVariable`), as `model.weights` lists them. */
export type LayerVariable = LayersModel["weights"][number];

/** The weights `model.compile` collected for training (tfjs' private `collectedTrainableWeights`); undefined before compile. */
export function collectedTrainableWeights(model: LayersModel): LayerVariable[] | undefined {
  return (model as unknown as { collectedTrainableWeights?: LayerVariable[] }).collectedTrainableWeights;
}

/** One training step as tfjs runs it: `[x, y]` (and sample weights) in, `[loss, ...metrics]` out. */
export type TrainFunction = (data: Tensor[]) => Tensor[];

type TrainFunctionMaker = { makeTrainFunction(): TrainFunction };

/**
 * Makes `model`'s training step `wrap(tfjs' own step)` (tfjs' protected `makeTrainFunction`, which
 * `fit`/`fitDataset` call once per run). Returns the function that restores tfjs' own, or `null` when the
 * step is already replaced (a nested `fit`): the outer replacement stays in charge.
 */
export function replaceTrainFunction(
  model: LayersModel,
  wrap: (eager: TrainFunction) => TrainFunction,
): (() => void) | null {
  const m = model as unknown as TrainFunctionMaker;
  if (Object.prototype.hasOwnProperty.call(m, "makeTrainFunction")) return null;
  const eagerMaker = m.makeTrainFunction;
  m.makeTrainFunction = () => wrap(eagerMaker.call(m));
  return () => void delete (m as Partial<TrainFunctionMaker>).makeTrainFunction;
}

/** One optimizer slot as tfjs keeps it: the variable and the name it is saved under (`<variable>/<slot>`). */
export interface OptimizerSlot {
  /** `<variable name>/<slot>`, e.g. `dense/kernel/rms`. */
  originalName: string;
  /** The slot's values. */
  variable: Variable;
}

/** tfjs' `AdamOptimizer` fields (private in its typings). */
export interface AdamInternals {
  /** The step size. */
  learningRate: number;
  /** Decay of the first moment. */
  beta1: number;
  /** Decay of the second moment. */
  beta2: number;
  /** Added to the denominator. */
  epsilon: number;
  /** β1ᵗ, updated every step. */
  accBeta1: Variable;
  /** β2ᵗ, updated every step. */
  accBeta2: Variable;
  /** First-moment slots by variable position, created on the first step. */
  accumulatedFirstMoment: OptimizerSlot[];
  /** Second-moment slots by variable position. */
  accumulatedSecondMoment: OptimizerSlot[];
  /** Counts a step (`optimizer.iterations`). */
  incrementIterations(): void;
}

/** tfjs' `RMSPropOptimizer` fields (private in its typings). */
export interface RMSPropInternals {
  /** The step size. */
  learningRate: number;
  /** Decay of the mean square. */
  decay: number;
  /** Momentum of the update. */
  momentum: number;
  /** Mean-gradient slots of centered RMSprop, by variable position. */
  accumulatedMeanGrads: OptimizerSlot[];
  /** Added under the square root. */
  epsilon: number;
  /** Centered RMSprop (also keeps the mean gradient). */
  centered: boolean;
  /** Mean-square slots by variable position, created on the first step. */
  accumulatedMeanSquares: OptimizerSlot[];
  /** Momentum slots by variable position. */
  accumulatedMoments: OptimizerSlot[];
  /** Counts a step (`optimizer.iterations`). */
  incrementIterations(): void;
}

/** Fields every tfjs optimizer has (private or protected in its typings). */
export interface OptimizerInternals {
  /** The step count behind `optimizer.iterations` (undefined before the first step). */
  iterations_?: number;
  /** The step size of the optimizers that have one (all of tfjs' built-in ones). */
  learningRate?: number;
  /** SGD's and Momentum's public setter, which also replaces their cached `−lr` scalar. */
  setLearningRate?: (learningRate: number) => void;
}

/** `optimizer`'s common fields. */
export function optimizerInternals(optimizer: Optimizer): OptimizerInternals {
  return optimizer as unknown as OptimizerInternals;
}

/** `optimizer`'s Adam fields; the caller has checked `getClassName() === "Adam"`. */
export function adamInternals(optimizer: Optimizer): AdamInternals {
  return optimizer as unknown as AdamInternals;
}

/** `optimizer`'s RMSprop fields; the caller has checked `getClassName() === "RMSProp"`. */
export function rmspropInternals(optimizer: Optimizer): RMSPropInternals {
  return optimizer as unknown as RMSPropInternals;
}
