/**
 * Which epoch's weights `deno task train` saves ({@link KeepEpoch}): by default the one with the lowest
 * validation loss over both stages, not simply the last — fine-tuning can make the model worse, and a
 * frozen stage can overshoot. {@link BestEpochKeeper} is a `fit` callback that watches `val_loss` across
 * the stages (one instance for both `fit` calls, unlike Keras' `EarlyStopping`, which starts afresh at each)
 * and holds a `WeightSnapshot` of the best epoch, put back by {@link BestEpochKeeper.restore}.
 *
 * @module
 */
import { tf } from "../runtime/mod.ts";
import type { LayersModel, Logs } from "../runtime/mod.ts";
import { WeightSnapshot } from "../train/mod.ts";
import type { KeptEpochRecord } from "./metadata.ts";

/** `"best"`: the epoch with the lowest `val_loss` over both stages; `"last"`: the last epoch run. */
export type KeepEpoch = "best" | "last";

/** Keeps the weights of the epoch with the lowest `val_loss` seen, over every `fit` it is passed to. */
export class BestEpochKeeper extends tf.Callback {
  /** The lowest finite `val_loss` seen; `undefined` before the first. */
  best: number | undefined;
  /** Its epoch (0-based, as `fit` counts over both stages); -1 before the first. */
  bestEpoch: number = -1;
  private snapshot: WeightSnapshot | null = null;

  /** Takes a snapshot when the epoch's `val_loss` is lower than any before. */
  override onEpochEnd(epoch: number, logs?: Logs): Promise<void> {
    const value = logs?.val_loss;
    if (
      typeof value === "number" && Number.isFinite(value) && (this.best === undefined || value < this.best)
    ) {
      this.best = value;
      this.bestEpoch = epoch;
      this.snapshot?.dispose();
      this.snapshot = WeightSnapshot.take(this.model);
    }
    return Promise.resolve();
  }

  /** Puts the best epoch's weights back (none seen: nothing changes) and frees them. */
  restore(): void {
    this.snapshot?.restore();
    this.dispose();
  }

  /**
   * Continues a keeper of an interrupted run (`trainFolder`'s resume): its best `val_loss` and epoch, with
   * `model`'s current weights as that epoch's (the caller has just loaded them).
   */
  adopt(model: LayersModel, best: number, bestEpoch: number): void {
    this.dispose();
    this.best = best;
    this.bestEpoch = bestEpoch;
    this.snapshot = WeightSnapshot.take(model);
  }

  /** Frees the snapshot without restoring it. */
  dispose(): void {
    this.snapshot?.dispose();
    this.snapshot = null;
  }
}

/** What {@link keptEpochRecord} needs: the policy, the keeper, the epochs each stage ran. */
export interface KeptEpochInput {
  /** The policy. */
  keep: KeepEpoch;
  /** The keeper that watched both stages. */
  keeper: BestEpochKeeper;
  /** `val_loss` of every epoch run, over both stages. */
  valLoss: readonly number[];
  /** Epochs the frozen stage ran. */
  frozenEpochs: number;
}

/** The record of the kept epoch for `metadata.json`, with its reason in words. */
export function keptEpochRecord(input: KeptEpochInput): KeptEpochRecord {
  const { keep, keeper, valLoss, frozenEpochs } = input;
  const epochsRun = valLoss.length;
  const useBest = keep === "best" && keeper.bestEpoch >= 0;
  const epoch = (useBest ? keeper.bestEpoch : epochsRun - 1) + 1;
  const value = valLoss[epoch - 1];
  const last = valLoss.at(-1);
  const reason = !useBest
    ? keep === "last"
      ? "the last epoch (--keep last)"
      : "the last epoch: no epoch had a finite validation loss to compare"
    : epoch === epochsRun
    ? "the lowest validation loss of both stages, at the last epoch"
    : `the lowest validation loss of both stages (${value.toFixed(4)}; the last epoch's was ${
      Number.isFinite(last) ? last!.toFixed(4) : "not finite"
    })`;
  return {
    keep,
    epoch,
    stage: epoch <= frozenEpochs ? "frozen" : "fineTuning",
    monitor: "val_loss",
    value: Number.isFinite(value) ? value : null,
    epochsRun,
    reason,
  };
}
