/**
 * A copy of an optimizer's whole state to go back to — its slots (created ones included), its
 * optimizer-wide variables (Adam's β1ᵗ, β2ᵗ), its step count and its learning rate — as the learning-rate
 * finder restores it, bit for bit. Like {@link WeightSnapshot} it holds second references, not copies;
 * slots created after the snapshot are freed and removed on restore, as if they had never been made.
 *
 * @module
 */
import { tf } from "../runtime/mod.ts";
import type { Optimizer, Tensor } from "../runtime/mod.ts";
import {
  iterationsOf,
  learningRateOf,
  optimizerVariables,
  setIterations,
  setLearningRate,
} from "../model/mod.ts";
import type { OptimizerVariables } from "../model/mod.ts";

/** An optimizer's state as it was; see the module notes. */
export class OptimizerSnapshot {
  private disposed = false;

  private constructor(
    private readonly optimizer: Optimizer,
    private readonly state: OptimizerVariables,
    private readonly slots: Tensor[][],
    private readonly globals: Tensor[],
    private readonly iterations: number,
    private readonly learningRate: number,
  ) {}

  /** The state of `optimizer` now (tfjs' Adam, RMSprop or SGD), or an error naming what is supported. */
  static take(optimizer: Optimizer, caller: string): OptimizerSnapshot {
    const state = optimizerVariables(optimizer);
    if (typeof state === "string") throw new Error(`${caller}: cannot save and restore the ${state}`);
    return new OptimizerSnapshot(
      optimizer,
      state,
      state.slotLists.map((list) => list.map((s) => s.variable.clone())),
      state.state.map((v) => v.clone()),
      iterationsOf(optimizer),
      learningRateOf(optimizer),
    );
  }

  /** Puts the optimizer back as it was (the snapshot stays usable). */
  restore(): void {
    if (this.disposed) throw new Error("OptimizerSnapshot.restore: the snapshot was disposed");
    this.state.slotLists.forEach((list, k) => {
      const kept = this.slots[k];
      for (const extra of list.splice(kept.length)) extra.variable.dispose();
      kept.forEach((value, i) => list[i].variable.assign(value));
    });
    this.state.state.forEach((v, i) => v.assign(this.globals[i]));
    setIterations(this.optimizer, this.iterations);
    setLearningRate(this.optimizer, this.learningRate);
  }

  /** Frees the kept values. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    tf.dispose([...this.slots.flat(), ...this.globals]);
  }
}
