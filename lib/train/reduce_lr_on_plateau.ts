/**
 * Keras' `ReduceLROnPlateau` for {@link fit}: multiplies the learning rate by `factor` when the monitored
 * quantity has not improved for `patience` epochs, then waits `cooldown` epochs, never going below `minLR`.
 *
 * Same options, defaults, decisions and log line as Keras 3.15 (`Epoch 6: ReduceLROnPlateau reducing
 * learning rate to 0.00010000000474974513.`). As Keras keeps the rate in a float32 variable, the rate is
 * read back as float32 before it is compared and multiplied, so the printed numbers are Keras' own. Each
 * epoch's logs get `learning_rate` (in the History, as in Keras). The change reaches the next step
 * whichever path trains: the compiled step feeds the rate at every step, tfjs' own update reads it too.
 *
 * One difference in what is shown: Keras' progress bar prints its epoch line after the callbacks, so that
 * line shows `learning_rate`; here the progress line is drawn before them and does not.
 *
 * @module
 */
import { print } from "../runtime/mod.ts";
import type { Logs } from "../runtime/mod.ts";
import { learningRateOf, setLearningRate } from "../model/mod.ts";
import { MonitorCallback, type MonitorOptions, pythonFloat } from "./monitor_callback.ts";

/** Options of {@link reduceLROnPlateau}, Keras' `ReduceLROnPlateau` arguments in camelCase. */
export interface ReduceLROnPlateauOptions extends MonitorOptions {
  /** `newLR = lr · factor`; default 0.1, must be < 1. */
  factor?: number;
  /** Epochs without improvement before the rate is reduced; default 10. */
  patience?: number;
  /** 0 silent (default), 1: the log line. */
  verbose?: 0 | 1;
  /** The smallest change that counts as an improvement; default 1e-4. */
  minDelta?: number;
  /** Epochs to wait after a reduction before counting again; default 0. */
  cooldown?: number;
  /** The lowest rate; default 0. */
  minLR?: number;
}

function checkOptions(o: ReduceLROnPlateauOptions): void {
  const factor = o.factor ?? 0.1;
  if (!(factor < 1)) {
    throw new Error(`ReduceLROnPlateau does not support a factor >= 1.0. Received factor=${factor}`);
  }
  if (!(factor >= 0)) throw new Error(`reduceLROnPlateau: factor must be in [0, 1), got ${factor}`);
  for (const key of ["patience", "cooldown"] as const) {
    const v = o[key];
    if (v !== undefined && !(Number.isInteger(v) && v >= 0)) {
      throw new Error(`reduceLROnPlateau: ${key} must be a whole number ≥ 0, got ${v}`);
    }
  }
  if (o.minLR !== undefined && !(o.minLR >= 0)) {
    throw new Error(`reduceLROnPlateau: minLR must be ≥ 0, got ${o.minLR}`);
  }
}

/** Keras' `ReduceLROnPlateau`; see the module notes. */
export class ReduceLROnPlateau extends MonitorCallback {
  /** `newLR = lr · factor`. */
  readonly factor: number;
  /** Epochs without improvement before a reduction. */
  readonly patience: number;
  /** 1: the log line. */
  readonly verbose: 0 | 1;
  /** Epochs to wait after a reduction. */
  readonly cooldown: number;
  /** The lowest rate. */
  readonly minLR: number;
  /** Epochs left in the cooldown. */
  cooldownCounter = 0;
  /** Epochs without improvement. */
  wait = 0;

  /** Checks the options (an error names a bad one). */
  constructor(options: ReduceLROnPlateauOptions = {}) {
    checkOptions(options);
    super("ReduceLROnPlateau", { ...options, minDelta: options.minDelta ?? 1e-4 });
    this.factor = options.factor ?? 0.1;
    this.patience = options.patience ?? 10;
    this.verbose = options.verbose ?? 0;
    this.cooldown = options.cooldown ?? 0;
    this.minLR = options.minLR ?? 0;
  }

  /** Starts afresh at each `fit`. */
  override onTrainBegin(): Promise<void> {
    this.best = undefined;
    this.cooldownCounter = 0;
    this.wait = 0;
    return Promise.resolve();
  }

  /** Whether the cooldown after a reduction is still running. */
  inCooldown(): boolean {
    return this.cooldownCounter > 0;
  }

  /** Keras' decision at the end of each epoch (and `learning_rate` into the logs). */
  override async onEpochEnd(epoch: number, logs?: Logs): Promise<void> {
    if (logs) logs.learning_rate = Math.fround(learningRateOf(this.model.optimizer));
    const current = await this.monitorValue(
      logs,
      (available) =>
        `Learning rate reduction is conditioned on metric \`${this.monitor}\` which is not available. ` +
        `Available metrics are: ${available}.`,
    );
    if (current === undefined) return;
    if (this.inCooldown()) {
      this.cooldownCounter -= 1;
      this.wait = 0;
    }
    if (this.isImprovement(current, this.best)) {
      this.best = current;
      this.wait = 0;
    } else if (!this.inCooldown()) {
      this.wait += 1;
      if (this.wait >= this.patience && this.reduce(epoch)) {
        this.cooldownCounter = this.cooldown;
        this.wait = 0;
      }
    }
  }

  /** Lowers the rate unless it is at `minLR` already; whether it did. */
  private reduce(epoch: number): boolean {
    const optimizer = this.model.optimizer;
    // Keras keeps the rate in a float32 variable: read it as one.
    const old = Math.fround(learningRateOf(optimizer));
    if (!(old > Math.fround(this.minLR))) return false;
    const rate = Math.max(old * this.factor, this.minLR);
    setLearningRate(optimizer, rate);
    if (this.verbose > 0) {
      print(`Epoch ${epoch + 1}: ReduceLROnPlateau reducing learning rate to ${pythonFloat(rate)}.`);
    }
    return true;
  }
}

/**
 * Keras' `keras.callbacks.ReduceLROnPlateau(...)` for {@link fit}'s `callbacks`.
 *
 * @example Divide the rate by 5 after 2 epochs without a better validation loss
 * ```ts ignore
 * const plateau = reduceLROnPlateau({ monitor: "val_loss", factor: 0.2, patience: 2, minLR: 1e-6 });
 * const history = await fit(model, train, { epochs: 20, validationData: validation, callbacks: [plateau] });
 * console.log(history.history.learning_rate);
 * ```
 */
export function reduceLROnPlateau(options: ReduceLROnPlateauOptions = {}): ReduceLROnPlateau {
  return new ReduceLROnPlateau(options);
}
