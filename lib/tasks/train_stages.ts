/**
 * The two stages of {@link trainFolder}'s training — the head on the frozen base, then fine-tuning from
 * `fineTuneAt` — each one `fit` with the run's callbacks: the best-epoch keeper, early stopping, and the
 * checkpoint written at every epoch's end and at a Ctrl-C (`train_resume.ts`). A resumed run starts the
 * stage its checkpoint was written in where it stopped, with early stopping's count put back, and skips a
 * stage it had finished.
 *
 * @module
 */
import process from "node:process";
import type { LayersModel } from "../runtime/mod.ts";
import {
  compileForFineTuning,
  compileForTransferLearning,
  countTrainableVariables,
  unfreezeForFineTuning,
} from "../model/mod.ts";
import { concatHistories, earlyStopping, fit } from "../train/mod.ts";
import type {
  CheckpointFingerprint,
  EarlyStopping,
  FitCallback,
  History,
  ProgressSink,
} from "../train/mod.ts";
import type { FolderDatasets } from "./data_folder.ts";
import type { EarlyStoppingRecord, StageTime } from "./metadata.ts";
import type { BestEpochKeeper } from "./kept_epoch.ts";
import { EpochCheckpointer } from "./train_resume.ts";
import type { ResumePoint, RunCheckpoint, TrainStage } from "./train_resume.ts";

/** What the stages take of a run's settings: epochs, the fine-tuning cut and the two learning rates. */
export interface StageSettings {
  /** Epochs with the base frozen. */
  epochs: number;
  /** Fine-tuning epochs after those (0: none). */
  fineTuneEpochs: number;
  /** Base layers before this one stay frozen while fine-tuning. */
  fineTuneAt: number;
  /** Adam's rate while the base is frozen. */
  learningRate: number;
  /** RMSprop's rate while fine-tuning. */
  fineTuneLearningRate: number;
}

/** Runs `fn` and measures its wall and CPU time. */
export async function timed<T>(fn: () => Promise<T>): Promise<[T, StageTime]> {
  const cpu0 = process.cpuUsage(), t0 = performance.now();
  const result = await fn();
  const cpu = process.cpuUsage(cpu0);
  return [result, { wallSeconds: (performance.now() - t0) / 1e3, cpuSeconds: (cpu.user + cpu.system) / 1e6 }];
}

const lastValAccuracy = (h: History) => (h.history.val_accuracy?.at(-1) ?? NaN).toFixed(4);

/** How each stage runs: the data, the verbosity and progress, the log, the callbacks and class weights. */
export interface StageRun {
  data: FolderDatasets;
  verbose: 0 | 1 | 2;
  progressSink?: () => ProgressSink;
  log: (message: string) => void;
  /** Callbacks of both stages (the best-epoch keeper). */
  callbacks: FitCallback[];
  /** `earlyStopping`'s patience, or null when off. */
  patience: number | null;
  /** The class weights, or null for none. */
  classWeight: number[] | null;
  /** The checkpoints written at epoch ends: where, the run's fingerprint, the keeper (if any). */
  checkpointing: {
    checkpoint: RunCheckpoint;
    fingerprint: CheckpointFingerprint;
    keeper: BestEpochKeeper | null;
  };
  /** The checkpoint resumed, or null for a new run. */
  resume: ResumePoint | null;
}

/** A stage's `fit` epochs (Keras' `initialEpoch` and `epochs`) and the frozen stage's history during fine-tuning. */
interface StageSpan {
  stage: TrainStage;
  start: number;
  end: number;
  frozen: History | null;
}

/** Loads the checkpoint resumed: the best epoch's weights into the keeper, then the run's state. */
async function restoreCheckpoint(model: LayersModel, run: StageRun, r: ResumePoint): Promise<void> {
  const { checkpoint, fingerprint, keeper } = run.checkpointing;
  const best = r.progress.best;
  if (best && keeper) {
    await checkpoint.loadBest(model, best.epoch);
    keeper.adopt(model, best.value, best.epoch);
  }
  await checkpoint.load(model, fingerprint);
  run.data.train.epochsStarted = r.progress.datasetEpochs;
  const inEpoch = r.progress.inEpoch;
  // The epoch in progress: its shuffle is drawn again, the batches it had done are skipped unread.
  if (inEpoch) run.data.train.skipInNextEpoch(inEpoch.batches);
  const done = inEpoch
    ? `${r.epoch} epoch(s) and ${inEpoch.batches}/${run.data.train.size} batch(es) of epoch ${
      r.epoch + 1
    } done`
    : `${r.epoch + 1} epoch(s) done`;
  run.log(
    `Resumed from ${checkpoint.dir}: ${done} (${
      r.stage === "frozen" ? "stage 1" : "stage 2"
    }), optimizer and random state restored`,
  );
}

/** Where a stage starts: at its beginning, or after the last epoch of the checkpoint resumed (its stage). */
async function stageStart(model: LayersModel, run: StageRun, span: StageSpan) {
  const r = run.resume;
  if (r?.stage === "fineTuning" && span.stage === "frozen") {
    return { initial: span.end, prefix: r.progress.frozen as History | null, skip: true };
  }
  if (!r || r.stage !== span.stage) return { initial: span.start, prefix: null, skip: false };
  await restoreCheckpoint(model, run, r);
  const saved = span.stage === "frozen" ? r.progress.frozen : r.progress.fineTuning;
  // Stopped in the stage's first epoch: no epoch of it to join the rest to.
  const prefix = saved && saved.epoch.length > 0 ? saved : null;
  const inEpoch = r.progress.inEpoch;
  if (inEpoch) return { initial: r.epoch, prefix, skip: false, resumeEpoch: { epoch: r.epoch, ...inEpoch } };
  return { initial: r.epoch + 1, prefix, skip: r.progress.stageDone || r.epoch + 1 >= span.end };
}

/** The callbacks that write each epoch's checkpoint and, in a resumed stage, put early stopping's count back. */
function checkpointCallbacks(
  run: StageRun,
  span: StageSpan,
  prefix: History | null,
  stop: EarlyStopping | null,
) {
  const { checkpoint, fingerprint, keeper } = run.checkpointing;
  const empty: History = {
    epoch: [],
    history: {},
    params: { epochs: span.end, initialEpoch: span.start, steps: run.data.train.size },
  };
  const writer = new EpochCheckpointer({
    checkpoint,
    fingerprint,
    stage: span.stage,
    end: span.end,
    history: prefix ?? empty,
    frozen: span.frozen,
    train: run.data.train,
    keeper,
    earlyStopping: stop,
  });
  const saved = prefix ? run.resume?.progress.earlyStopping : null;
  // EarlyStopping starts afresh in onTrainBegin: its count is put back after that, for the same decisions.
  const again: FitCallback[] = stop && saved
    ? [{
      onTrainBegin: () => {
        stop.wait = saved.wait;
        stop.best = saved.best ?? undefined;
        stop.bestEpoch = saved.bestEpoch;
      },
    }]
    : [];
  return { callbacks: [...again, writer], writer };
}

/**
 * One stage's `fit` (from the checkpoint when it is the one resumed), timed; `stoppedAt`: the 1-based epoch
 * early stopping ended it.
 */
async function runStage(model: LayersModel, run: StageRun, span: StageSpan) {
  const from = await stageStart(model, run, span);
  if (from.skip) {
    const last = (from.prefix?.epoch.at(-1) ?? span.end - 1) + 1;
    const history = from.prefix!;
    return {
      history,
      time: { wallSeconds: 0, cpuSeconds: 0 },
      stoppedAt: last < span.end ? last : undefined,
      skipped: true,
    };
  }
  const stop = run.patience === null ? null : earlyStopping({ monitor: "val_loss", patience: run.patience });
  const checkpointing = checkpointCallbacks(run, span, from.prefix, stop);
  const [fitted, time] = await timed(() =>
    fit(model, run.data.train, {
      epochs: span.end,
      initialEpoch: from.initial,
      validationData: run.data.validation,
      verbose: run.verbose,
      progressSink: run.progressSink?.(),
      callbacks: [...run.callbacks, ...(stop ? [stop] : []), ...checkpointing.callbacks],
      ...(run.classWeight ? { classWeight: run.classWeight } : {}),
      ...(from.resumeEpoch ? { resumeEpoch: from.resumeEpoch } : {}),
      // Ctrl-C: the checkpoint at the batch where training stopped.
      onInterrupt: (at) => checkpointing.writer.saveInterrupted(at),
    })
  );
  const history = from.prefix ? concatHistories(from.prefix, fitted) : fitted;
  const stoppedAt = stop && stop.stoppedEpoch > 0 ? stop.stoppedEpoch + 1 : undefined;
  if (stop && stoppedAt !== undefined) {
    run.log(
      `Early stopping at epoch ${stoppedAt}: val_loss did not improve on ${stop.best?.toFixed(4)} (epoch ${
        stop.bestEpoch + 1
      }) for ${stop.wait} epoch(s), patience ${stop.patience}`,
    );
  }
  return { history, time, stoppedAt, skipped: false };
}

/** `Stage 1: val_accuracy 0.8123 in 41.2 s`, or for a stage the resumed run found done, `… (before resuming)`. */
function stageLine(n: 1 | 2, r: { history: History; time: StageTime; skipped: boolean }): string {
  const when = r.skipped ? "(before resuming)" : `in ${r.time.wallSeconds.toFixed(1)} s`;
  return `Stage ${n}: val_accuracy ${lastValAccuracy(r.history)} ${when}`;
}

/** Both training stages on `model` (compiled here); histories, times, where early stopping ended them. */
export async function trainStages(model: LayersModel, base: LayersModel, s: StageSettings, run: StageRun) {
  compileForTransferLearning(model, s.learningRate);
  run.log(
    `Stage 1: the head trains, the base is frozen (${countTrainableVariables(model)} trainable variables)`,
  );
  const frozen = await runStage(model, run, { stage: "frozen", start: 0, end: s.epochs, frozen: null });
  const stopped: EarlyStoppingRecord["stoppedAt"] = frozen.stoppedAt ? { frozen: frozen.stoppedAt } : {};
  run.log(stageLine(1, frozen));
  if (s.fineTuneEpochs === 0) {
    return { frozen: frozen.history, fine: null, stages: { frozen: frozen.time }, stopped };
  }
  unfreezeForFineTuning(base, s.fineTuneAt);
  // compile() does not free the optimizer it replaces (Adam's moments), and model.dispose() never does.
  model.optimizer.dispose();
  compileForFineTuning(model, s.fineTuneLearningRate);
  run.log(
    `Stage 2: fine-tuning from base layer ${s.fineTuneAt} (${
      countTrainableVariables(model)
    } trainable variables)`,
  );
  // After early stopping, the frozen stage ran fewer epochs: fine-tuning numbers on from there.
  const done = frozen.history.epoch.length;
  const fine = await runStage(model, run, {
    stage: "fineTuning",
    start: done,
    end: done + s.fineTuneEpochs,
    frozen: frozen.history,
  });
  if (fine.stoppedAt) stopped.fineTuning = fine.stoppedAt;
  run.log(stageLine(2, fine));
  return {
    frozen: frozen.history,
    fine: fine.history,
    stages: { frozen: frozen.time, fineTuning: fine.time },
    stopped,
  };
}
