/**
 * Resuming `trainFolder` (`deno task train --resume`): a checkpoint written at the end of every epoch — and
 * on an interrupt at the batch where training stopped, resumed within that epoch — in
 * `<out>.checkpoint/`, beside the output folder — never inside it: that folder is written once, whole, at
 * the end. The folder holds
 * - `train-checkpoint.json` ({@link CheckpointDirMarker}): says the folder is ours — only a folder with it
 *   is ever cleared or removed, and then only the files listed here;
 * - `checkpoint.tlckpt` (`saveCheckpoint`, lib/train): weights, optimizer slots and iterations, the epoch
 *   and stage, the random state (seeded generator, dropout masks, augmentation draws), the fingerprint of
 *   the run and {@link TrainProgress} (histories, the dataset's shuffles, the best epoch, early stopping);
 * - `best-<epoch>/checkpoint.tlckpt`: the weights of the best epoch so far (`--keep best`), written before
 *   the main checkpoint that names it; any other `best-*` is stale and removed.
 *
 * Every file is written to a temporary sibling and renamed, so a kill at any moment leaves the previous
 * checkpoint whole; the next run removes the temporary files a killed process left.
 *
 * @module
 */
import fs from "node:fs";
import path from "node:path";
import { createHash } from "node:crypto";
import { tf } from "../runtime/mod.ts";
import type { LayersModel, Logs } from "../runtime/mod.ts";
import { removeDeadLeftovers, tempSibling, writeFileAtomic } from "../io/mod.ts";
import type { ImageDataset } from "../data/mod.ts";
import {
  CHECKPOINT_FILE,
  fingerprintDifference,
  loadCheckpoint,
  readCheckpoint,
  saveCheckpoint,
} from "../train/mod.ts";
import type { CheckpointFingerprint, EarlyStopping, EpochInProgress, History } from "../train/mod.ts";
import type { BestEpochKeeper } from "./kept_epoch.ts";
import { METADATA_FILE } from "./metadata.ts";

/** The marker file's name in a checkpoint folder. */
export const CHECKPOINT_DIR_MARKER = "train-checkpoint.json";
const MARKER_FORMAT: CheckpointDirMarker["format"] = "transfer-learning-train-checkpoint-folder";

/** The marker file: this folder holds a `trainFolder` checkpoint of the run saving to `out`. */
export interface CheckpointDirMarker {
  /** What the file is. */
  format: "transfer-learning-train-checkpoint-folder";
  /** 1. */
  version: 1;
  /** The output folder of the run (absolute). */
  out: string;
}

/** The checkpoint folder of a run saving to `outDir`: `<outDir>.checkpoint`, beside it. */
export function checkpointDirOf(outDir: string): string {
  return `${path.resolve(outDir)}.checkpoint`;
}

/** The training stages as checkpoints name them. */
export type TrainStage = "frozen" | "fineTuning";

/** `trainFolder`'s own state in a checkpoint (the checkpoint file's `extra`). */
export interface TrainProgress {
  /** The checkpoint's stage has no epoch left (all run, or early stopping ended it). */
  stageDone: boolean;
  /** The frozen stage's history so far (whole once fine-tuning started). */
  frozen: History;
  /** Fine-tuning's history so far; null before it. */
  fineTuning: History | null;
  /**
   * Epochs the training dataset has started: its per-epoch shuffles continue from there. For an epoch in
   * progress (`inEpoch`), those before it: the resumed run draws that epoch's shuffle again.
   */
  datasetEpochs: number;
  /**
   * The checkpoint's epoch is in progress (a checkpoint written on an interrupt): `batches` of it are done,
   * and `seen`/`totals` are its running metric sums (`fit`'s `resumeEpoch`). Absent or null: the epoch is
   * complete.
   */
  inEpoch?: Omit<EpochInProgress, "epoch"> | null;
  /** The lowest `val_loss` so far and its epoch (0-based), whose weights are in `best-<epoch>/`; null: none. */
  best: { value: number; epoch: number } | null;
  /** The stage's early stopping (Keras' `wait`, `best`, `best_epoch`); null when off. */
  earlyStopping: { wait: number; best: number | null; bestEpoch: number } | null;
}

/** A checkpoint read back for resuming: where the run stood. */
export interface ResumePoint {
  /** The stage of the checkpoint's epoch. */
  stage: TrainStage;
  /**
   * The checkpoint's epoch (0-based, counted over both stages): the last one run, or, with
   * `progress.inEpoch`, the one in progress.
   */
  epoch: number;
  /** The rest of the run's state. */
  progress: TrainProgress;
}

/** A checkpoint that cannot be used by this run: the message names the difference and what to do. */
export class ResumeRefused extends Error {
  /** `message`: one line, what differs and what to do. */
  constructor(message: string) {
    super(message);
    this.name = "ResumeRefused";
  }
}

/** What a run depends on, for its fingerprint. */
export interface FingerprintInput {
  /** The data folder (resolved). */
  dataRoot: string;
  /** The training and validation files. */
  files: string[];
  /** The class names. */
  classNames: string[];
  /** The settings and steering options: numbers, strings, booleans, null or arrays of those. */
  options: Record<string, string | number | boolean | null | number[]>;
}

/** The fingerprint of a run: the data folder, its files (count and hash of the list), the options. */
export function runFingerprint(input: FingerprintInput): CheckpointFingerprint {
  // Sorted: the list's seeded order is the seed's business, checked as such.
  const files = JSON.stringify([...input.files].sort());
  const hash = createHash("sha256").update(files).digest("hex").slice(0, 16);
  const out: CheckpointFingerprint = {
    data: input.dataRoot,
    dataFiles: `${input.files.length} files, list sha256 ${hash}`,
    classNames: input.classNames.join(","),
  };
  for (const [key, value] of Object.entries(input.options)) {
    out[key] = typeof value === "object" ? JSON.stringify(value) : value ?? "none";
  }
  return out;
}

/** Throws {@link ResumeRefused} unless `saved` and `now` agree on every key, either's. */
function checkSameRun(dir: string, saved: CheckpointFingerprint, now: CheckpointFingerprint): void {
  const d = fingerprintDifference(saved, now, { everyKey: true });
  if (d === undefined) return;
  const show = (v: unknown) => v === undefined ? "unset" : JSON.stringify(v);
  throw new ResumeRefused(
    `${dir} is the checkpoint of another run: its ${d.key} is ${show(d.saved)}, this run's is ` +
      `${show(d.expected)} — resume with the options of that run, or leave out --resume to start over`,
  );
}

const isBestDir = (name: string) => /^best-\d+$/.test(name);

/** Throws unless `dir` is absent or a folder holding our marker. */
function checkOurs(dir: string): boolean {
  const stat = fs.lstatSync(dir, { throwIfNoEntry: false });
  if (!stat) return false;
  const marker = path.join(dir, CHECKPOINT_DIR_MARKER);
  let ours = false;
  try {
    ours = stat.isDirectory() && JSON.parse(fs.readFileSync(marker, "utf8")).format === MARKER_FORMAT;
  } catch {
    ours = false;
  }
  if (!ours) {
    throw new Error(
      `${dir} exists and was not written by train (no ${CHECKPOINT_DIR_MARKER}): move it away, or choose ` +
        `another --out (the checkpoint folder is <out>.checkpoint)`,
    );
  }
  return true;
}

/** The checkpoint folder of one `trainFolder` run: opening, saving at epoch ends, resuming, removing. */
export class RunCheckpoint {
  private constructor(readonly dir: string, readonly outDir: string) {}

  /**
   * The checkpoint folder for `outDir`, checked (absent, or ours) and cleaned of dead processes' temporary
   * files. With `resume`, a checkpoint must be there; without, an earlier one is cleared (`log` says so).
   */
  static async open(outDir: string, resume: boolean, log: (m: string) => void): Promise<RunCheckpoint> {
    const dir = checkpointDirOf(outDir);
    await removeDeadLeftovers(dir, ["writing"]); // a folder being made when its process was killed
    const exists = checkOurs(dir);
    const c = new RunCheckpoint(dir, path.resolve(outDir));
    if (exists) await c.removeLeftovers();
    const has = exists && fs.existsSync(path.join(dir, CHECKPOINT_FILE));
    if (resume && !has) {
      const saved = fs.existsSync(path.join(outDir, METADATA_FILE))
        ? `; ${outDir} holds a saved model (a finished run removes its checkpoint)`
        : "";
      throw new ResumeRefused(
        `--resume: there is no checkpoint to resume in ${dir} (a run writes one at the end of each epoch` +
          `${saved}) — leave out --resume to start the training`,
      );
    }
    if (!resume && has) {
      log(`Starting over: the checkpoint of an earlier run in ${dir} is cleared (--resume continues it)`);
      await c.clear();
    }
    return c;
  }

  /** Removes the temporary files of killed writes and the `best-*` folders the checkpoint does not name. */
  private async removeLeftovers(): Promise<void> {
    await removeDeadLeftovers(path.join(this.dir, CHECKPOINT_FILE), ["writing"]);
    await removeDeadLeftovers(path.join(this.dir, CHECKPOINT_DIR_MARKER), ["writing"]);
    let keep: string | null = null;
    try {
      const best = ((await readCheckpoint(this.dir)).header.extra as TrainProgress | null)?.best;
      keep = best ? `best-${best.epoch}` : null;
    } catch {
      keep = null; // no checkpoint yet, or a damaged one: no best weights are named
    }
    await this.removeBestDirs(keep);
  }

  /** Removes the `best-*` folders (our files in them only) except `keep`. */
  private async removeBestDirs(keep: string | null): Promise<void> {
    for (const name of fs.readdirSync(this.dir)) {
      if (!isBestDir(name) || name === keep) continue;
      const sub = path.join(this.dir, name);
      await removeDeadLeftovers(path.join(sub, CHECKPOINT_FILE), ["writing"]);
      await Deno.remove(path.join(sub, CHECKPOINT_FILE)).catch(() => {});
      await Deno.remove(sub).catch(() => {}); // not empty: something else is in it, left alone
    }
  }

  /** Removes our files from the folder, then the folder itself when nothing else is in it. */
  async clear(): Promise<void> {
    if (!fs.existsSync(this.dir)) return;
    await this.removeBestDirs(null);
    await removeDeadLeftovers(path.join(this.dir, CHECKPOINT_FILE), ["writing"]);
    await Deno.remove(path.join(this.dir, CHECKPOINT_FILE)).catch(() => {});
    await Deno.remove(path.join(this.dir, CHECKPOINT_DIR_MARKER)).catch(() => {});
    await Deno.remove(this.dir).catch(() => {});
  }

  /** Whether a checkpoint file is there. */
  exists(): boolean {
    return fs.existsSync(path.join(this.dir, CHECKPOINT_FILE));
  }

  /**
   * Where the checkpoint stands, of a run of `epochs` epochs of `steps` batches: `batch 3/16 of epoch 4/4`
   * (written on an interrupt) or `the end of epoch 3/4`; null when there is none or it cannot be read.
   */
  async position(epochs: number, steps: number): Promise<string | null> {
    if (!this.exists()) return null;
    try {
      const { header } = await readCheckpoint(this.dir);
      const inEpoch = (header.extra as TrainProgress | null)?.inEpoch;
      const epoch = `epoch ${header.epoch + 1}/${epochs}`;
      return inEpoch ? `batch ${inEpoch.batches}/${steps} of ${epoch}` : `the end of ${epoch}`;
    } catch {
      return null;
    }
  }

  /** Reads the checkpoint's header and checks that it is this run's (`fingerprint`). */
  async point(fingerprint: CheckpointFingerprint): Promise<ResumePoint> {
    const { header } = await readCheckpoint(this.dir).catch((e) => {
      throw new ResumeRefused(`${e instanceof Error ? e.message : e} — leave out --resume to start over`);
    });
    checkSameRun(this.dir, header.fingerprint, fingerprint);
    const progress = header.extra as TrainProgress | null;
    if (!progress || (header.stage !== "frozen" && header.stage !== "fineTuning")) {
      throw new ResumeRefused(`${this.dir}: not a checkpoint of train — leave out --resume to start over`);
    }
    return { stage: header.stage, epoch: header.epoch, progress };
  }

  /** Puts the best epoch's weights into `model` (the caller then keeps a snapshot and loads the rest). */
  async loadBest(model: LayersModel, epoch: number): Promise<void> {
    await loadCheckpoint(path.join(this.dir, `best-${epoch}`), {
      model,
      optimizer: null,
      restoreRandomState: false,
    });
  }

  /** Loads weights, optimizer state and random state into `model`, compiled for the checkpoint's stage. */
  async load(model: LayersModel, fingerprint: CheckpointFingerprint): Promise<void> {
    await loadCheckpoint(this.dir, { model, fingerprint });
  }

  /** Writes the checkpoint of `epoch` (and the best epoch's weights when `epoch` is the best). */
  async save(
    model: LayersModel,
    at: { stage: TrainStage; epoch: number; fingerprint: CheckpointFingerprint; progress: TrainProgress },
  ): Promise<void> {
    await this.ensureFolder();
    const { stage, epoch, fingerprint, progress } = at;
    if (progress.best?.epoch === epoch) {
      await saveCheckpoint(path.join(this.dir, `best-${epoch}`), {
        model,
        optimizer: null,
        randomState: null,
        epoch,
        stage,
        fingerprint,
      });
    }
    await saveCheckpoint(this.dir, { model, epoch, stage, fingerprint, extra: progress });
    await this.removeBestDirs(progress.best ? `best-${progress.best.epoch}` : null);
  }

  /** Makes the folder with its marker, whole: made under a temporary name, renamed once the marker is in. */
  private async ensureFolder(): Promise<void> {
    if (fs.existsSync(path.join(this.dir, CHECKPOINT_DIR_MARKER))) return;
    const temp = tempSibling(this.dir, "writing");
    await Deno.mkdir(temp, { recursive: true }); // the parents too: --out may not exist yet
    const record: CheckpointDirMarker = { format: MARKER_FORMAT, version: 1, out: this.outDir };
    await writeFileAtomic(path.join(temp, CHECKPOINT_DIR_MARKER), JSON.stringify(record, null, 2) + "\n");
    await Deno.rename(temp, this.dir);
  }
}

/** Appends one epoch's logs to `history` (as `fit`'s History holds them). */
function appendEpoch(history: History, epoch: number, logs: Logs | undefined): void {
  history.epoch.push(epoch);
  for (const [key, value] of Object.entries(logs ?? {})) {
    if (typeof value !== "number") continue;
    (history.history[key] ??= []).push(value);
  }
}

/** What {@link EpochCheckpointer} writes for one stage. */
export interface StageCheckpointing {
  /** Where. */
  checkpoint: RunCheckpoint;
  /** The run's fingerprint. */
  fingerprint: CheckpointFingerprint;
  /** The stage. */
  stage: TrainStage;
  /** The stage's `fit` epochs (its end, Keras' `epochs`). */
  end: number;
  /** The stage's history before this `fit` (a resumed stage), and the frozen one's during fine-tuning. */
  history: History;
  /** The frozen stage's history (fine-tuning), else null. */
  frozen: History | null;
  /** The training dataset (its shuffle count). */
  train: ImageDataset;
  /** The best-epoch keeper, if one runs. */
  keeper: BestEpochKeeper | null;
  /** The stage's early stopping, if on. */
  earlyStopping: EarlyStopping | null;
}

/**
 * A `fit` callback writing the run's checkpoint at the end of each epoch — after the keeper and early
 * stopping have seen it — and, through `fit`'s `onInterrupt` ({@link EpochCheckpointer.saveInterrupted}),
 * the checkpoint of an epoch an interrupt stopped part-way (`fit` gives no epoch end for that one).
 */
export class EpochCheckpointer extends tf.Callback {
  /** The stage's history so far, as saved. */
  readonly history: History;

  /** Checkpoints one stage's epochs as `s` says. */
  constructor(private readonly s: StageCheckpointing) {
    super();
    this.history = structuredClone(s.history);
  }

  /** Writes the checkpoint of a complete epoch. */
  override async onEpochEnd(epoch: number, logs?: Logs): Promise<void> {
    appendEpoch(this.history, epoch, logs);
    await this.write(epoch, {
      stageDone: epoch + 1 >= this.s.end || this.model.stopTraining,
      datasetEpochs: this.s.train.epochsStarted,
      inEpoch: null,
    });
  }

  /**
   * Writes the checkpoint of the epoch an interrupt stopped after `at.batches` batches (`fit`'s
   * `onInterrupt`): the model after that batch, the epoch's progress, its dataset shuffle to draw again.
   */
  async saveInterrupted(at: EpochInProgress): Promise<void> {
    const { batches, seen, totals } = at;
    await this.write(at.epoch, {
      stageDone: false,
      datasetEpochs: this.s.train.epochsStarted - 1,
      inEpoch: { batches, seen, totals },
    });
  }

  /** Writes the checkpoint of `epoch` with the stage's history, best epoch and early stopping. */
  private async write(
    epoch: number,
    at: Pick<TrainProgress, "stageDone" | "datasetEpochs" | "inEpoch">,
  ): Promise<void> {
    const { s } = this;
    const stop = s.earlyStopping;
    const best = s.keeper && s.keeper.bestEpoch >= 0
      ? { value: s.keeper.best!, epoch: s.keeper.bestEpoch }
      : null;
    await s.checkpoint.save(this.model, {
      stage: s.stage,
      epoch,
      fingerprint: s.fingerprint,
      progress: {
        ...at,
        frozen: s.stage === "frozen" ? this.history : s.frozen!,
        fineTuning: s.stage === "fineTuning" ? this.history : null,
        best,
        earlyStopping: stop ? { wait: stop.wait, best: stop.best ?? null, bestEpoch: stop.bestEpoch } : null,
      },
    });
  }
}

/** Training stopped by an interrupt (Ctrl-C): where its checkpoint is, to say how to resume. */
export class TrainInterrupted extends Error {
  /**
   * `message`: where training stopped; `checkpointDir`: the checkpoint folder, null when none was written;
   * `checkpointAt`: where its checkpoint stands (`batch 3/16 of epoch 4/4`, `the end of epoch 3/4`).
   */
  constructor(
    message: string,
    readonly checkpointDir: string | null,
    readonly checkpointAt: string | null = null,
  ) {
    super(message);
    this.name = "TrainInterrupted";
  }
}
