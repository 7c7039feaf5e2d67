/**
 * A copy of a model's weights to go back to (Keras' `model.get_weights()` … `set_weights()`), as
 * `EarlyStopping({ restoreBestWeights })` and the learning-rate finder keep one.
 *
 * The copy costs no copying: it holds a second reference to each variable's current values, which stay
 * alive when training gives the variable new ones. Restoring writes back only the weights that changed
 * since, so frozen weights keep their identity (the compiled frozen graph and the validation cache stay
 * valid), and {@link WeightSnapshot.dispose} frees the held values.
 *
 * @module
 */
import type { LayersModel, Tensor } from "../runtime/mod.ts";

type LayerVariable = LayersModel["weights"][number];

/** All weights of a model (trainable or not, nested models included) as they were; see the module notes. */
export class WeightSnapshot {
  private disposed = false;

  private constructor(
    private readonly weights: LayerVariable[],
    private readonly values: Tensor[],
  ) {}

  /** The weights of `model` now. */
  static take(model: LayersModel): WeightSnapshot {
    const weights = [...model.weights];
    return new WeightSnapshot(weights, weights.map((w) => w.read().clone()));
  }

  /** Writes the kept values back into the weights that changed since (the snapshot stays usable). */
  restore(): void {
    if (this.disposed) throw new Error("WeightSnapshot.restore: the snapshot was disposed");
    this.weights.forEach((w, i) => {
      if (w.read().dataId !== this.values[i].dataId) w.write(this.values[i]);
    });
  }

  /** Frees the kept values. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const v of this.values) v.dispose();
  }
}
