/**
 * Keras-shaped training helpers over `tf.data` datasets of `{xs, ys}` batches: `fit` (with validation,
 * `initialEpoch` continuation and a Keras progress line), `evaluate` → `[loss, accuracy]`,
 * `predictOnBatch` → logits, and `History` objects that concatenate across the frozen and fine-tuning
 * phases.
 *
 * Training runs through tfjs' `fitDataset`: per-step losses and metrics stay on the backend (no
 * synchronous read per step); the progress line reads running sums only when it redraws.
 *
 * @module
 */
import {
  BatchTracker,
  disposeLogsOnThrow,
  disposeScalarsOnFailure,
  interruptRequested,
  InterruptWatch,
  KeyboardInterrupt,
  tf,
} from "../runtime/mod.ts";
import type { CustomCallbackArgs, LayersModel, Logs, Tensor } from "../runtime/mod.ts";
import { EpochSums, ProgressLogger } from "./progress.ts";
import type { EpochInProgress } from "./progress.ts";
import { CachedValidation } from "./validation_cache.ts";
import { useCompiledStep } from "./train_graph.ts";
import { type ClassWeight, ClassWeighting, classWeightVector } from "./class_weight.ts";
import { checkedDataset, checkImages, emptyDataset, ensureNotEmpty } from "./batch_checks.ts";
import type { BatchDataset } from "./batch_checks.ts";
import type { ProgressSink } from "./progress.ts";

type CallbackInstance = InstanceType<typeof tf.Callback> | InstanceType<typeof tf.CustomCallback>;
/**
 * A callback for {@link fit}: a `tf.Callback`, a `tf.CustomCallback`, or the hooks of one (`{ onEpochEnd, … }`).
 * When training fails or is interrupted, `fit` calls a callback's `onTrainAbort()` if it has one (no
 * `onTrainEnd` comes then): `earlyStopping` frees its best weights there.
 */
export type FitCallback =
  | InstanceType<typeof tf.Callback>
  | InstanceType<typeof tf.CustomCallback>
  | CustomCallbackArgs;

/** Keras' `History`: per-epoch `history.loss / accuracy / val_loss / val_accuracy` and the `epoch` indices. */
export interface History {
  /** The epochs run (0-based; from `initialEpoch`). */
  epoch: number[];
  /** Per metric (`loss`, `accuracy`, `val_loss`, `val_accuracy`), one value per epoch. */
  history: Record<string, number[]>;
  /** The run's `epochs`, `initialEpoch` and steps per epoch (when known). */
  params: { epochs: number; initialEpoch: number; steps?: number };
}

/** Options of {@link fit}, in Keras' names. */
export interface FitOptions {
  /** Index of the last epoch to run (Keras' meaning: with `initialEpoch: 10, epochs: 20`, 10 more epochs). */
  epochs: number;
  /** Default 0. */
  initialEpoch?: number;
  /** Evaluated after each epoch (`val_loss`, `val_accuracy`); default none. */
  validationData?: BatchDataset;
  /** Called as Keras calls them, after the progress line. */
  callbacks?: FitCallback[];
  /** 0 silent, 1 live progress bar (default), 2 one line per epoch. */
  verbose?: 0 | 1 | 2;
  /** Steps per epoch for the progress bar; default the dataset's `size` when known. */
  steps?: number;
  /** Where the progress goes (default: notebook output, terminal or plain lines). */
  progressSink?: ProgressSink;
  /**
   * Compute the frozen part of the model once for the validation images and validate each epoch from there
   * (`CachedValidation`): on the head alone while the base is frozen, from the base's frozen layers' outputs
   * while fine-tuning — same numbers, a fraction of the time; default true.
   */
  cacheValidation?: boolean;
  /**
   * Run each training step as one TensorFlow graph (`TrainGraph`, `train_graph.ts`: forward, backward and
   * the Adam/RMSprop update in one session call, same arithmetic as tfjs'); models it cannot express
   * train op by op as before. Default true; false: tfjs' own step (the bench's A/B).
   */
  compiledStep?: boolean;
  /**
   * Keras' `class_weight`: the weight of each class index (`{ 0: 1, 1: 4 }` or `[1, 4]`; missing classes
   * weigh 1). Each training example's loss (and so its gradient) is scaled by its label's weight — the
   * batch loss is `Σ w·loss / batch size`, as Keras reduces it. The accuracy and the validation are not
   * weighted, as in Keras. See `balancedClassWeights` for "balanced" weights.
   */
  classWeight?: ClassWeight;
  /**
   * Continue epoch `initialEpoch` part-way, as Keras' `BackupAndRestore(save_freq=…)` does after a restore
   * (it skips the steps of the epoch already done): `batches` of it were trained before, so the dataset's
   * first iteration must yield only the rest of that epoch (`ImageDataset.skipInNextEpoch`), and the epoch's
   * logged metrics continue the running sums `totals` (Σ value·batch size over `seen` examples), so that its
   * `loss` and `accuracy` equal an uninterrupted epoch's. Comes from {@link FitOptions.onInterrupt}.
   */
  resumeEpoch?: EpochInProgress;
  /**
   * Called when an interrupt (Ctrl-C, the kernel's Interrupt) stopped training after a batch, before `fit`
   * throws its `KeyboardInterrupt`: where the epoch stands, for a later `resumeEpoch`. The model's weights,
   * optimizer and random state are those after that batch — save them here to continue mid-epoch.
   */
  onInterrupt?: (at: EpochInProgress) => void | Promise<void>;
}

/**
 * The epoch's running sums ({@link EpochSums}, which the progress line reads too), and what `fit` does with
 * them: an epoch an interrupt stopped is recorded where it stood (for `onInterrupt`), and a resumed epoch's
 * logs get the means over the whole epoch — `BaseLogger`'s operations on the same float32 values, so the
 * resumed epoch logs bit for bit what the uninterrupted one logs.
 */
class EpochTotals extends EpochSums {
  /** Where the epoch stopped by an interrupt stood; null: none was. */
  interrupted: EpochInProgress | null = null;
  /** The epoch ending now was stopped part-way by an interrupt. */
  stopped = false;

  override onEpochBegin(epoch: number): Promise<void> {
    this.stopped = false;
    return super.onEpochBegin(epoch);
  }

  /** An epoch stopped by an interrupt is recorded; a resumed one gets the averages over the whole epoch. */
  override async onEpochEnd(epoch: number, logs?: Logs): Promise<void> {
    // Before any callback that may stop training at the epoch's end: only the interrupt has set it then.
    if (this.model.stopTraining && interruptRequested()) {
      this.stopped = true;
      this.interrupted = { epoch, batches: this.batches, seen: this.seen, totals: await this.totals() };
    } else if (this.resumed && logs) {
      const metrics = (this.params?.metrics as string[] | undefined) ?? [];
      for (const [key, total] of this.sums) {
        if (!metrics.includes(key)) continue;
        const mean = tf.tidy(() => tf.mul(tf.div(1, this.seen), total)); // BaseLogger's arithmetic
        logs[key] = (await mean.data())[0];
        mean.dispose();
      }
    }
    this.clear();
  }

  /** Frees the sums when training fails. */
  onTrainAbort(): void {
    this.clear();
  }
}

/**
 * `callback` without the end of an epoch an interrupt stopped part-way. In Keras the interrupt ends `fit`
 * before `on_epoch_end`; tfjs still calls `onEpochEnd`, with the means of the batches run: validating
 * that, or letting early stopping or a best-epoch keeper judge it, would take part of an epoch for one.
 */
function completeEpochsOnly(callback: CallbackInstance, totals: EpochTotals): CallbackInstance {
  return new Proxy(callback, {
    get(target, key) {
      const value = Reflect.get(target, key, target);
      if (typeof value !== "function") return value;
      if (key !== "onEpochEnd") return value.bind(target);
      return (...args: unknown[]) => totals.stopped ? Promise.resolve() : value.apply(target, args);
    },
  });
}

function isDataset(x: unknown): x is BatchDataset {
  return typeof x === "object" && x !== null && typeof (x as BatchDataset).iterator === "function";
}

function knownSize(ds: BatchDataset): number | undefined {
  const n = (ds as { size?: number }).size;
  return typeof n === "number" && Number.isFinite(n) && n > 0 ? n : undefined;
}

/** Keras' `model.fit(train_dataset, epochs=…, initial_epoch=…, validation_data=…)`. The model must be compiled. */
export async function fit(model: LayersModel, dataset: BatchDataset, options: FitOptions): Promise<History> {
  const { epochs, initialEpoch = 0, validationData } = options;
  checkFitArguments(model, dataset, options);
  const steps = options.steps ?? knownSize(dataset);
  // Every batch is checked against the model (image size, labels fitting the head) on its way in.
  const train = checkedDataset("fit", model, dataset);
  const validation = validationData === undefined
    ? undefined
    : checkedDataset("fit (validationData)", model, validationData);
  if (validationData !== undefined) await ensureNotEmpty("fit (validationData)", validationData);
  const totals = new EpochTotals(options.resumeEpoch);
  const cached = validationData !== undefined && options.cacheValidation !== false
    ? CachedValidation.create(model, validation!.dataset)
    : null;
  // Kernel → Interrupt stops after the current batch and throws KeyboardInterrupt (lib/runtime/interrupt.ts).
  const watch = new InterruptWatch("fit", model);
  const callbacks = fitCallbacks(options, steps, { totals, cached, watch });
  // A failed step, dataset or callback leaves its batch and logs to us (lib/runtime/failure_cleanup.ts).
  const batches = new BatchTracker();
  const weighting = options.classWeight === undefined
    ? undefined
    : new ClassWeighting(model, options.classWeight);
  const undoCompiledStep = useCompiledStep(model, {
    compiled: options.compiledStep !== false,
    classWeighting: weighting,
  });
  let h;
  let failed = true;
  try {
    h = await disposeScalarsOnFailure(() =>
      model.fitDataset(watch.dataset(batches.track(train.dataset)), {
        epochs,
        initialEpoch,
        validationData: cached ? undefined : validation && batches.track(validation.dataset),
        callbacks: (callbacks as InstanceType<typeof tf.Callback>[]).map(disposeLogsOnThrow),
        verbose: 0,
      })
    );
    failed = false;
  } catch (e) {
    batches.disposeLeft();
    // No onTrainEnd comes: callbacks holding tensors (EarlyStopping's best weights) free them here.
    for (const c of callbacks) (c as { onTrainAbort?: () => void }).onTrainAbort?.();
    throw e;
  } finally {
    undoCompiledStep();
    cached?.dispose();
    weighting?.dispose();
    await endWatch(watch, { epochs, steps }, failed ? null : totals.interrupted, options.onInterrupt);
  }
  // A resumed epoch whose batches were all done before has none left: not an empty dataset.
  if (train.batches === 0 && options.resumeEpoch === undefined) throw emptyDataset("fit");
  if (validation && validation.batches === 0) throw emptyDataset("fit (validationData)");
  const history: Record<string, number[]> = {};
  for (const [key, values] of Object.entries(h.history)) history[key] = values.map(Number);
  return { epoch: [...h.epoch], history, params: { epochs, initialEpoch, ...(steps ? { steps } : {}) } };
}

/** The callbacks of a `fit` run, in the order they run. */
function fitCallbacks(
  options: FitOptions,
  steps: number | undefined,
  parts: { totals: EpochTotals; cached: CachedValidation | null; watch: InterruptWatch },
): CallbackInstance[] {
  const { totals, cached, watch } = parts;
  const callbacks = userAndProgressCallbacks(options, steps, totals);
  // First, so that the progress line and the History see the validation results.
  if (cached) callbacks.unshift(completeEpochsOnly(cached.callback(), totals));
  // Right after the logs are resolved: the epoch's averages are right before anyone reads them.
  callbacks.unshift(totals);
  // tfjs hands each callback the epoch logs as scalar tensors and disposes them only at the end of fit
  // unless a CustomCallback resolves them to numbers: resolve them first, every epoch.
  callbacks.unshift(new tf.CustomCallback({ onEpochEnd: () => {} }));
  callbacks.push(new tf.CustomCallback(eventLoopTurns()), watch.callback());
  return callbacks;
}

/**
 * Ends `watch` (which throws the `KeyboardInterrupt` of a stopped run), after `onInterrupt` has seen where
 * the interrupted epoch stood. A failed `onInterrupt` (the checkpoint could not be written) is the error
 * thrown: the user must hear of it rather than of the interrupt alone.
 */
async function endWatch(
  watch: InterruptWatch,
  run: { epochs: number; steps?: number },
  at: EpochInProgress | null,
  onInterrupt: FitOptions["onInterrupt"],
): Promise<void> {
  let failure: { error: unknown } | null = null;
  if (at && onInterrupt) {
    try {
      await onInterrupt(at);
    } catch (error) {
      failure = { error };
    }
  }
  try {
    await watch.finish(run);
  } catch (e) {
    if (failure) throw failure.error;
    // The watch counts the batches of this run; a resumed epoch had done some before.
    if (at && e instanceof KeyboardInterrupt) {
      const where = `fit interrupted after batch ${at.batches}`;
      throw new KeyboardInterrupt(e.message.replace(/^fit interrupted after batch \d+/, where));
    }
    throw e;
  }
  if (failure) throw failure.error;
}

/**
 * A callback giving the event loop a turn between batches, at most every 100 ms: `fitDataset` awaits only
 * promises, which never let timers or signal listeners run, so without it a Ctrl-C (SIGINT → the interrupt
 * flag) would be seen only when the epoch reads files or writes a checkpoint. Timing only: the numbers
 * are the same.
 */
function eventLoopTurns(): CustomCallbackArgs {
  let last = performance.now();
  return {
    onBatchEnd: async () => {
      if (performance.now() - last < 100) return;
      await new Promise((resolve) => setTimeout(resolve, 0));
      last = performance.now();
    },
  };
}

/** Throws, naming the argument, unless `fit` can run: a compiled model, datasets, epochs Keras-style. */
function checkFitArguments(model: LayersModel, dataset: BatchDataset, options: FitOptions): void {
  const { epochs, initialEpoch = 0, validationData } = options;
  if (!model.optimizer) {
    throw new Error(
      `fit: model "${model.name}" is not compiled (compile it: model.compile({ optimizer, loss, metrics }), ` +
        `e.g. compileForTransferLearning(model))`,
    );
  }
  if (!isDataset(dataset)) throw new Error("fit: dataset must be a tf.data.Dataset of {xs, ys} batches");
  if (validationData !== undefined && !isDataset(validationData)) {
    throw new Error("fit: validationData must be a tf.data.Dataset of {xs, ys} batches");
  }
  if (!Number.isInteger(epochs) || epochs < 1) {
    throw new Error(`fit: epochs must be a positive integer, got ${epochs}`);
  }
  if (options.classWeight !== undefined) classWeightVector(model, options.classWeight);
  const r = options.resumeEpoch;
  if (r && (r.epoch !== initialEpoch || !Number.isInteger(r.batches) || r.batches < 0 || !(r.seen >= 0))) {
    throw new Error(
      `fit: resumeEpoch must continue epoch initialEpoch (${initialEpoch}) after a whole number of batches, ` +
        `got epoch ${r.epoch} after ${r.batches} batch(es), ${r.seen} example(s)`,
    );
  }
  if (!Number.isInteger(initialEpoch) || initialEpoch < 0 || initialEpoch >= epochs) {
    throw new Error(
      `fit: initialEpoch must be an integer in [0, epochs) — epochs is the index to stop at, as in Keras — ` +
        `got initialEpoch ${initialEpoch} with epochs ${epochs}`,
    );
  }
}

/** The progress line (unless `verbose: 0`), then the caller's callbacks (no end of an interrupted epoch). */
function userAndProgressCallbacks(
  options: FitOptions,
  steps: number | undefined,
  totals: EpochTotals,
): CallbackInstance[] {
  const { epochs, verbose = 1 } = options;
  const callbacks: CallbackInstance[] = (options.callbacks ?? []).map((c) =>
    completeEpochsOnly(
      c instanceof tf.Callback || c instanceof tf.CustomCallback
        ? c
        : new tf.CustomCallback(c as CustomCallbackArgs),
      totals,
    )
  );
  if (verbose > 0) {
    callbacks.unshift(
      new ProgressLogger({
        epochs,
        steps,
        verbose: verbose as 1 | 2,
        sink: options.progressSink,
        sums: totals,
      }),
    );
  }
  return callbacks;
}

/**
 * Joins the histories of consecutive `fit` calls (the tutorial's `acc += history_fine.history['accuracy']`).
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { concatHistories } from "./mod.ts";
 *
 * const frozen = { epoch: [0, 1], history: { loss: [0.7, 0.5] }, params: { epochs: 2, initialEpoch: 0 } };
 * const fine = { epoch: [2, 3], history: { loss: [0.3, 0.2] }, params: { epochs: 4, initialEpoch: 2 } };
 * const all = concatHistories(frozen, fine);
 * assert.deepEqual(all.epoch, [0, 1, 2, 3]);
 * assert.deepEqual(all.history.loss, [0.7, 0.5, 0.3, 0.2]);
 * assert.deepEqual(all.params, { epochs: 4, initialEpoch: 0 });
 * ```
 */
export function concatHistories(...parts: History[]): History {
  if (parts.length === 0) throw new Error("concatHistories: expected at least one History");
  const keys = Object.keys(parts[0].history);
  for (const p of parts) {
    const k = Object.keys(p.history);
    if (k.length !== keys.length || !keys.every((key) => k.includes(key))) {
      throw new Error(`concatHistories: histories have different keys: [${keys}] vs [${k}]`);
    }
  }
  const history: Record<string, number[]> = {};
  for (const key of keys) history[key] = parts.flatMap((p) => p.history[key]);
  return {
    epoch: parts.flatMap((p) => p.epoch),
    history,
    params: { ...parts[parts.length - 1].params, initialEpoch: parts[0].params.initialEpoch },
  };
}

/** Keras' `model.evaluate(dataset)` → `[loss, accuracy]` (loss then the compiled metrics). */
export async function evaluate(model: LayersModel, dataset: BatchDataset): Promise<number[]> {
  if (!model.optimizer && !model.lossFunctions) {
    throw new Error(`evaluate: model "${model.name}" is not compiled`);
  }
  if (!isDataset(dataset)) throw new Error("evaluate: dataset must be a tf.data.Dataset of {xs, ys} batches");
  const checked = checkedDataset("evaluate", model, dataset);
  const watch = new InterruptWatch("evaluate", model);
  const batches = new BatchTracker();
  let out;
  try {
    out = await disposeScalarsOnFailure(() =>
      model.evaluateDataset(watch.dataset(batches.track(checked.dataset), true), {})
    );
  } catch (e) {
    batches.disposeLeft();
    await watch.finish().catch(() => {});
    throw e;
  }
  const scalars = Array.isArray(out) ? out : [out];
  const values: number[] = [];
  for (const s of scalars) values.push((await s.data())[0]);
  tf.dispose(scalars);
  await watch.finish({ steps: knownSize(dataset) });
  if (checked.batches === 0) throw emptyDataset("evaluate");
  return values;
}

/** Keras' `model.predict_on_batch(x)`: the logits `[b, units]` for a batch of images (inference mode). */
export function predictOnBatch(model: LayersModel, x: Tensor): Tensor {
  checkImages("predictOnBatch", model, x);
  return model.predictOnBatch(x) as Tensor;
}
