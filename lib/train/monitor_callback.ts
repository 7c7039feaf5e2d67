/**
 * What Keras' `EarlyStopping`, `ModelCheckpoint` and `ReduceLROnPlateau` share (Keras 3's
 * `MonitorCallback`): the monitored quantity of the epoch logs, its direction (`mode`), what counts as an
 * improvement (`minDelta`), and Python's way of printing the numbers in their log lines.
 *
 * One deviation: Keras resolves `mode: "auto"` at the first epoch's end from the model's metric objects
 * and warns about an unknown `mode`; here the direction follows from the name when the callback is made
 * (`loss` and losses/errors go down, accuracy, AUC, precision and recall go up) and anything else is an
 * error at once, naming the fix.
 *
 * @module
 */
import { print, tf } from "../runtime/mod.ts";
import type { Logs } from "../runtime/mod.ts";

/** Keras' `mode`: which way the monitored quantity improves; `"auto"` infers it from the name. */
export type MonitorMode = "auto" | "min" | "max";

/** Options every monitoring callback takes, in Keras' names. */
export interface MonitorOptions {
  /** The epoch log to watch (`val_loss`, `val_accuracy`, `loss`, …); default `"val_loss"`. */
  monitor?: string;
  /** Which way is better; default `"auto"` (from the name). */
  mode?: MonitorMode;
}

/** Whether the monitored quantity improves upwards, from its name (Keras' `"auto"`), or an error. */
export function monitorDirection(caller: string, monitor: string, mode: MonitorMode = "auto"): "min" | "max" {
  if (mode === "min" || mode === "max") return mode;
  if (mode !== "auto") {
    throw new Error(`${caller}: mode must be "auto", "min" or "max", got ${JSON.stringify(mode)}`);
  }
  const name = monitor.replace(/^val_/, "");
  if (name === "loss" || /(loss|crossentropy|error|^mse$|^mae$)/.test(name)) return "min";
  if (/(acc|auc|precision|recall)/.test(name)) return "max";
  throw new Error(
    `${caller} callback received monitor=${monitor}, but it isn't able to automatically determine ` +
      `whether that metric should be maximized or minimized. Pass \`mode: "max"\` in order to monitor ` +
      `based on the highest metric value, or pass \`mode: "min"\` in order to use the lowest value.`,
  );
}

/**
 * Python's `repr` of a float (what Keras prints for a learning rate): the shortest digits that read back
 * the same, in scientific notation below 1e-4 and from 1e16 (`1e-05`, `0.0001`, `1e+16`).
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { pythonFloat } from "./mod.ts";
 *
 * assert.strictEqual(pythonFloat(0.00010000000474974513), "0.00010000000474974513");
 * assert.strictEqual(pythonFloat(1e-5), "1e-05");
 * assert.strictEqual(pythonFloat(0.5), "0.5");
 * assert.strictEqual(pythonFloat(3), "3.0");
 * ```
 */
export function pythonFloat(x: number): string {
  if (!Number.isFinite(x)) return Number.isNaN(x) ? "nan" : x > 0 ? "inf" : "-inf";
  if (x === 0) return Object.is(x, -0) ? "-0.0" : "0.0";
  const [digits, exp] = x.toExponential().split("e");
  const e = Number(exp);
  if (e < -4 || e >= 16) {
    return `${digits}e${e < 0 ? "-" : "+"}${String(Math.abs(e)).padStart(2, "0")}`;
  }
  const s = String(x);
  return /[.e]/.test(s) ? s : `${s}.0`;
}

/** A callback that watches one epoch log (Keras' `MonitorCallback`); see the module notes. */
export abstract class MonitorCallback extends tf.Callback {
  /** The watched epoch log. */
  readonly monitor: string;
  /** `"min"` or `"max"`: the resolved direction. */
  readonly mode: "min" | "max";
  /** The best value seen (or the starting threshold); `undefined` before the first. */
  best: number | undefined;
  /** The smallest change that counts as an improvement, signed in the direction of improvement. */
  protected readonly minDelta: number;
  private readonly warned = new Set<string>();

  /** `caller` names the callback in errors. */
  constructor(caller: string, options: MonitorOptions & { minDelta?: number; best?: number }) {
    super();
    this.monitor = options.monitor ?? "val_loss";
    if (typeof this.monitor !== "string" || this.monitor === "") {
      throw new Error(`${caller}: monitor must name an epoch log such as "val_loss", got ${this.monitor}`);
    }
    this.mode = monitorDirection(caller, this.monitor, options.mode);
    const delta = Math.abs(options.minDelta ?? 0);
    if (!Number.isFinite(delta)) throw new Error(`${caller}: minDelta must be a finite number`);
    this.minDelta = this.mode === "min" ? -delta : delta;
    this.best = options.best;
  }

  /** Keras' `_is_improvement`: `current − minDelta` beats `reference` (anything beats no reference). */
  protected isImprovement(current: number, reference: number | undefined): boolean {
    if (reference === undefined) return true;
    const shifted = current - this.minDelta;
    return this.mode === "min" ? shifted < reference : shifted > reference;
  }

  /**
   * The monitored value in `logs` (a number, or a scalar tensor outside `fit`), or `undefined` after
   * printing `warning(available logs)` (once each).
   */
  protected async monitorValue(
    logs: Logs | undefined,
    warning: (available: string) => string,
  ): Promise<number | undefined> {
    const value: unknown = logs?.[this.monitor];
    if (typeof value === "number") return value;
    if (value instanceof tf.Tensor && value.size === 1) return (await value.data())[0];
    this.warnOnce(warning(Object.keys(logs ?? {}).join(",")));
    return undefined;
  }

  /** Prints `message` as Python prints a `UserWarning`, the first time only (as Python's warning filter does). */
  protected warnOnce(message: string): void {
    if (this.warned.has(message)) return;
    this.warned.add(message);
    print(`UserWarning: ${message}`);
  }
}
