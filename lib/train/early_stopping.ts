/**
 * Keras' `EarlyStopping` for {@link fit}: stops training when the monitored quantity has not improved for
 * `patience` epochs, and with `restoreBestWeights` puts back the weights of the best epoch when training
 * ends — whether it stopped early or ran out of epochs, as Keras 3 does.
 *
 * Same options, defaults, decisions and log lines as Keras 3.15 (`Epoch 7: early stopping`, `Restoring
 * model weights from the end of the best epoch: 4.`). The best weights are a {@link WeightSnapshot} (no
 * copy until training changes them), freed when training ends. `bestEpoch`, `best`, `stoppedEpoch` and
 * `wait` stay readable after `fit` (0-based epochs, as Keras keeps them), so a caller can say which epoch
 * was kept. Like Keras' callback, it starts afresh at each `fit`: the two stages of the tutorial each get
 * their own best.
 *
 * @module
 */
import { print } from "../runtime/mod.ts";
import type { Logs } from "../runtime/mod.ts";
import { MonitorCallback, type MonitorOptions } from "./monitor_callback.ts";
import { WeightSnapshot } from "./weight_snapshot.ts";

/** Options of {@link earlyStopping}, Keras' `EarlyStopping` arguments in camelCase. */
export interface EarlyStoppingOptions extends MonitorOptions {
  /** The smallest change that counts as an improvement; default 0. */
  minDelta?: number;
  /** Epochs without improvement before stopping; default 0. */
  patience?: number;
  /** 0 silent (default), 1: the log lines. */
  verbose?: 0 | 1;
  /** Stop unless the quantity beats this value (the wait only restarts when it does); default none. */
  baseline?: number;
  /** Put back the best epoch's weights when training ends; default false. */
  restoreBestWeights?: boolean;
  /** Epochs to wait before watching (a warm-up in which no improvement is expected); default 0. */
  startFromEpoch?: number;
}

function checkCount(name: string, value: number): number {
  if (!Number.isInteger(value) || value < 0) {
    throw new Error(`earlyStopping: ${name} must be a whole number ≥ 0, got ${value}`);
  }
  return value;
}

/** Keras' `EarlyStopping`; see the module notes. */
export class EarlyStopping extends MonitorCallback {
  /** Epochs without improvement before stopping. */
  readonly patience: number;
  /** 1: the log lines. */
  readonly verbose: 0 | 1;
  /** The value to beat, if any. */
  readonly baseline: number | undefined;
  /** Whether the best epoch's weights are put back at the end. */
  readonly restoreBestWeights: boolean;
  /** Epochs not watched at the start. */
  readonly startFromEpoch: number;
  /** Epochs since the last improvement (that also beat `baseline`). */
  wait = 0;
  /** The epoch training was stopped at (0-based), or 0 when it was not stopped. */
  stoppedEpoch = 0;
  /** The epoch of `best` (0-based). */
  bestEpoch = 0;
  private bestWeights: WeightSnapshot | null = null;

  /** Checks the options (an error names a bad one). */
  constructor(options: EarlyStoppingOptions = {}) {
    super("EarlyStopping", options);
    this.patience = checkCount("patience", options.patience ?? 0);
    this.startFromEpoch = checkCount("startFromEpoch", options.startFromEpoch ?? 0);
    this.verbose = options.verbose ?? 0;
    this.baseline = options.baseline;
    this.restoreBestWeights = options.restoreBestWeights ?? false;
  }

  /** Starts afresh (Keras allows re-using the callback across `fit` calls). */
  override onTrainBegin(): Promise<void> {
    this.wait = 0;
    this.stoppedEpoch = 0;
    this.best = undefined;
    this.bestEpoch = 0;
    this.dropBestWeights();
    return Promise.resolve();
  }

  /** Keras' decision at the end of each epoch. */
  override async onEpochEnd(epoch: number, logs?: Logs): Promise<void> {
    const current = await this.monitorValue(
      logs,
      (available) =>
        `Early stopping conditioned on metric \`${this.monitor}\` which is not available. ` +
        `Available metrics are: ${available}`,
    );
    if (current === undefined || epoch < this.startFromEpoch) return;
    if (this.restoreBestWeights && this.bestWeights === null) {
      // If the best weights were never set, the current weights are the best.
      this.bestWeights = WeightSnapshot.take(this.model);
      this.bestEpoch = epoch;
    }
    this.wait += 1;
    if (this.isImprovement(current, this.best)) {
      this.best = current;
      this.bestEpoch = epoch;
      if (this.restoreBestWeights) {
        this.dropBestWeights();
        this.bestWeights = WeightSnapshot.take(this.model);
      }
      // The wait restarts only when the value beats both the baseline and the previous best.
      if (this.baseline === undefined || this.isImprovement(current, this.baseline)) this.wait = 0;
      return;
    }
    if (this.wait >= this.patience && epoch > 0) {
      this.stoppedEpoch = epoch;
      this.model.stopTraining = true;
    }
  }

  /** Says that it stopped, and restores the best weights (with `restoreBestWeights`). */
  override onTrainEnd(): Promise<void> {
    if (this.stoppedEpoch > 0 && this.verbose > 0) print(`Epoch ${this.stoppedEpoch + 1}: early stopping`);
    if (this.restoreBestWeights && this.bestWeights !== null) {
      if (this.verbose > 0) {
        print(`Restoring model weights from the end of the best epoch: ${this.bestEpoch + 1}.`);
      }
      this.bestWeights.restore();
    }
    this.dropBestWeights();
    return Promise.resolve();
  }

  /** `fit` failed or was interrupted (no `onTrainEnd` comes): frees the best weights without restoring. */
  onTrainAbort(): void {
    this.dropBestWeights();
  }

  /** Frees the best weights held (if any). */
  private dropBestWeights(): void {
    this.bestWeights?.dispose();
    this.bestWeights = null;
  }
}

/**
 * Keras' `keras.callbacks.EarlyStopping(...)` for {@link fit}'s `callbacks`.
 *
 * @example Stop when the validation loss has not improved for 2 epochs; keep the best epoch's weights
 * ```ts ignore
 * const stop = earlyStopping({ monitor: "val_loss", patience: 2, restoreBestWeights: true, verbose: 1 });
 * await fit(model, train, { epochs: 20, validationData: validation, callbacks: [stop] });
 * console.log(`kept epoch ${stop.bestEpoch + 1} (val_loss ${stop.best})`);
 * ```
 */
export function earlyStopping(options: EarlyStoppingOptions = {}): EarlyStopping {
  return new EarlyStopping(options);
}
