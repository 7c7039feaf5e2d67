/**
 * Keras' `ModelCheckpoint` for {@link fit}: saves the model (or its weights) at the end of every epoch, or
 * every `saveFreq` batches, or — with `saveBestOnly` — only when the monitored quantity improves.
 *
 * Same options, decisions and log lines as Keras 3.15 (`Epoch 3: val_loss improved from 0.41250 to
 * 0.39870, saving model to …`, `Epoch 4: val_loss did not improve from 0.39870`), and the same
 * placeholders in `filepath` (`{epoch:02d}` is the 1-based epoch, `{val_loss:.2f}` any epoch log, in
 * Python's format syntax). Like Keras' callback, the best value is not reset between `fit` calls: the same
 * instance passed to both stages of the tutorial keeps the best across them (`initialValueThreshold` starts
 * a new one from a known best).
 *
 * Deviations, because this project saves as TensorFlow.js does: a whole model is a folder (`model.json` +
 * `weights.bin`, `saveModel`), so `filepath` names a folder where Keras wants a `.keras` file;
 * `saveWeightsOnly` writes Keras-2 `save_weights` HDF5 (`.weights.h5`, `saveKerasH5Weights`). Both are
 * written atomically. Keras prints its lines after a line break, because its progress bar is still open
 * then; here the epoch's progress line is finished first, so the lines come without it.
 *
 * @module
 */
import { print } from "../runtime/mod.ts";
import type { Logs } from "../runtime/mod.ts";
import { saveModel } from "../model/mod.ts";
import { saveKerasH5Weights } from "../io/mod.ts";
import { MonitorCallback, type MonitorOptions } from "./monitor_callback.ts";
import { pythonFormat } from "./python_format.ts";

/** Options of {@link modelCheckpoint}, Keras' `ModelCheckpoint` arguments in camelCase. */
export interface ModelCheckpointOptions extends MonitorOptions {
  /**
   * Where to save: a folder for the whole model, or a path ending in `.weights.h5` with `saveWeightsOnly`;
   * may hold `{epoch}`-style placeholders (Python format syntax) filled from the epoch and its logs.
   */
  filepath: string;
  /** 0 silent (default), 1: the log lines. */
  verbose?: 0 | 1;
  /** Save only when the monitored quantity improves on the best so far; default false. */
  saveBestOnly?: boolean;
  /** Save the weights only (`.weights.h5`); default false: the whole model. */
  saveWeightsOnly?: boolean;
  /** `"epoch"` (default): at each epoch's end; a number: every that many batches. */
  saveFreq?: "epoch" | number;
  /** The best value to beat at first (`saveBestOnly`); default none. */
  initialValueThreshold?: number;
}

/** Throws unless `filepath` suits what is saved (a folder for a model, `.weights.h5` for weights). */
function checkFilepath(filepath: string, weightsOnly: boolean): void {
  if (typeof filepath !== "string" || filepath.trim() === "") {
    throw new Error(`modelCheckpoint: filepath must be a path, got ${JSON.stringify(filepath)}`);
  }
  if (weightsOnly && !filepath.endsWith(".weights.h5")) {
    throw new Error(
      `When using \`saveWeightsOnly: true\` in \`modelCheckpoint\`, the filepath provided must end in ` +
        `\`.weights.h5\` (Keras weights format). Received: filepath=${filepath}`,
    );
  }
  if (!weightsOnly && /\.(keras|h5|json)$/i.test(filepath)) {
    throw new Error(
      `modelCheckpoint: filepath ${filepath} names a file, but a whole model is saved as a folder ` +
        `(model.json + weights.bin, TensorFlow.js' format): pass a folder such as ` +
        `"checkpoints/epoch_{epoch:02d}", or saveWeightsOnly: true with a path ending in .weights.h5`,
    );
  }
}

/** Keras' `ModelCheckpoint`; see the module notes. */
export class ModelCheckpoint extends MonitorCallback {
  /** The path pattern (`{epoch:02d}` placeholders). */
  readonly filepath: string;
  /** 1: the log lines. */
  readonly verbose: 0 | 1;
  /** Save only improvements. */
  readonly saveBestOnly: boolean;
  /** Save the weights only (`.weights.h5`). */
  readonly saveWeightsOnly: boolean;
  /** `"epoch"`, or every that many batches. */
  readonly saveFreq: "epoch" | number;
  /** The epoch (0-based) of the last save, and where it went; `undefined` before the first. */
  lastSaved: { epoch: number; filepath: string } | undefined;
  private currentEpoch = 0;
  private batchesSinceSave = 0;
  private lastBatch: number | undefined;

  /** Checks the options (an error names a bad one: a file path for a whole model, a bad `saveFreq`). */
  constructor(options: ModelCheckpointOptions) {
    super("ModelCheckpoint", { ...options, best: options.initialValueThreshold });
    this.saveWeightsOnly = options.saveWeightsOnly ?? false;
    checkFilepath(options.filepath, this.saveWeightsOnly);
    this.filepath = options.filepath;
    this.verbose = options.verbose ?? 0;
    this.saveBestOnly = options.saveBestOnly ?? false;
    this.saveFreq = options.saveFreq ?? "epoch";
    if (this.saveFreq !== "epoch" && !(Number.isInteger(this.saveFreq) && this.saveFreq > 0)) {
      throw new Error(
        `Unrecognized saveFreq: ${this.saveFreq}. Expected saveFreq are "epoch" or integer values`,
      );
    }
  }

  /** Notes the epoch (for saves every `saveFreq` batches). */
  override onEpochBegin(epoch: number): Promise<void> {
    this.currentEpoch = epoch;
    return Promise.resolve();
  }

  /** Counts batches and saves every `saveFreq` of them (when it is a number). */
  override async onBatchEnd(batch: number, logs?: Logs): Promise<void> {
    if (this.saveFreq === "epoch") return;
    // A batch index not above the last one: a new epoch began.
    this.batchesSinceSave += this.lastBatch === undefined || batch <= this.lastBatch
      ? batch + 1
      : batch - this.lastBatch;
    this.lastBatch = batch;
    if (this.batchesSinceSave < this.saveFreq) return;
    this.batchesSinceSave = 0;
    await this.save(this.currentEpoch, batch, logs);
  }

  /** Saves (or not, with `saveBestOnly`) at the end of each epoch. */
  override async onEpochEnd(epoch: number, logs?: Logs): Promise<void> {
    if (this.saveFreq === "epoch") await this.save(epoch, undefined, logs);
  }

  /** The path for this epoch (and batch): `filepath` with its placeholders filled. */
  private pathFor(epoch: number, batch: number | undefined, logs: Logs | undefined): string {
    const values: Record<string, number> = { ...logs as Record<string, number> };
    values.epoch = epoch + 1;
    if (batch !== undefined && !("batch" in (logs ?? {}))) values.batch = batch + 1;
    try {
      return pythonFormat(this.filepath, values);
    } catch (e) {
      throw new Error(
        `Failed to format this callback filepath: "${this.filepath}". Reason: ${(e as Error).message}`,
      );
    }
  }

  /** Keras' `_should_save_model`, with its log lines. */
  private async shouldSave(epoch: number, logs: Logs | undefined, filepath: string): Promise<boolean> {
    if (!this.saveBestOnly) {
      if (this.verbose > 0) print(`Epoch ${epoch + 1}: saving model to ${filepath}`);
      return true;
    }
    const current = await this.monitorValue(
      logs,
      () => `Can save best model only with ${this.monitor} available.`,
    );
    if (current === undefined) return true;
    const bestText = this.best === undefined ? "None" : this.best.toFixed(5);
    if (this.isImprovement(current, this.best)) {
      if (this.verbose > 0) {
        print(
          `Epoch ${epoch + 1}: ${this.monitor} improved from ${bestText} to ${current.toFixed(5)}, ` +
            `saving model to ${filepath}`,
        );
      }
      this.best = current;
      return true;
    }
    if (this.verbose > 0) print(`Epoch ${epoch + 1}: ${this.monitor} did not improve from ${bestText}`);
    return false;
  }

  /** Saves the model or its weights to this epoch's path, if {@link ModelCheckpoint.shouldSave} says so. */
  private async save(epoch: number, batch: number | undefined, logs: Logs | undefined): Promise<void> {
    const filepath = this.pathFor(epoch, batch, logs);
    if (!(await this.shouldSave(epoch, logs, filepath))) return;
    if (this.saveWeightsOnly) await saveKerasH5Weights(this.model, filepath);
    else await saveModel(this.model, filepath);
    this.lastSaved = { epoch, filepath };
    if (this.verbose > 0) print(`Epoch ${epoch + 1}: finished saving model to ${filepath}`);
  }
}

/**
 * Keras' `keras.callbacks.ModelCheckpoint(...)` for {@link fit}'s `callbacks`.
 *
 * @example Keep the model of the epoch with the best validation loss
 * ```ts ignore
 * const best = modelCheckpoint({ filepath: "out/best", monitor: "val_loss", saveBestOnly: true });
 * await fit(model, train, { epochs: 10, validationData: validation, callbacks: [best] });
 * console.log(best.lastSaved); // { epoch: 6, filepath: "out/best" }
 * ```
 */
export function modelCheckpoint(options: ModelCheckpointOptions): ModelCheckpoint {
  return new ModelCheckpoint(options);
}
