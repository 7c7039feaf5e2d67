/**
 * The tutorial's recipe on any folder of class sub-folders — the step from the tutorial to one's own
 * photos (`deno task train`): the data (`data_folder.ts`: the folder's `train/` and `validation/` when
 * present, else a seeded split), MobileNetV2 frozen while the head trains, then fine-tuned from
 * `fineTuneAt`; then where the model errs on the validation images, and one atomic save of the model,
 * `metadata.json` and `report.html` (`save_classifier.ts`).
 *
 * Settings come as options: the tool (`tools/cli/train.ts`) reads the environment and passes them on.
 *
 * @module
 */
import fs from "node:fs";
import path from "node:path";
import { DEFAULT_ALPHA, KeyboardInterrupt, print } from "../runtime/mod.ts";
import type { LayersModel } from "../runtime/mod.ts";
import { buildClassifier, compileForTransferLearning, FINE_TUNE_AT, mobileNetV2 } from "../model/mod.ts";
import { enableDeterminism, lrFind } from "../train/mod.ts";
import type { CheckpointFingerprint, LrFindResult, ProgressSink } from "../train/mod.ts";
import { confusionMatrix, interpret, lrFindSpec, matrixAccuracy, renderSvg } from "../analysis/mod.ts";
import { writeFileAtomic } from "../io/mod.ts";
import { disposeFolderDatasets, loadFolderDatasets, resolveDataFolder } from "./data_folder.ts";
import type { DataFolder, FolderDatasets } from "./data_folder.ts";
import { FOLDER_DEFAULTS } from "./folder_defaults.ts";
import { METADATA_FILE, testMetricsOf } from "./metadata.ts";
import type { ClassifierMetadata, ClassWeightRecord, KeptEpochRecord, TrainingRecord } from "./metadata.ts";
import { BestEpochKeeper, type KeepEpoch, keptEpochRecord } from "./kept_epoch.ts";
import { classCounts, classWeighting, type ClassWeightMode, imbalanceWarning } from "./class_balance.ts";
import { checkClassifierOutput, saveClassifier } from "./save_classifier.ts";
import { partDataset, reviewFolder } from "./review.ts";
import type { ReviewFindings, ReviewReading } from "./review.ts";
import type { TestSetResult } from "./report.ts";
import { RunCheckpoint, runFingerprint, TrainInterrupted } from "./train_resume.ts";
import { type StageRun, timed, trainStages } from "./train_stages.ts";

/** Options of {@link trainFolder}; defaults in {@link FOLDER_DEFAULTS}, the rest the tutorial's. */
export interface TrainFolderOptions {
  /** A folder of class folders (or with `train/` and `validation/` inside), or a zip archive's path or URL. */
  data: string;
  /** Epochs with the base frozen (default 10). */
  epochs?: number;
  /** Fine-tuning epochs after those (default: `epochs`); 0 skips fine-tuning. */
  fineTuneEpochs?: number;
  /** Base layers before this index stay frozen while fine-tuning (default 100). */
  fineTuneAt?: number;
  /**
   * MobileNetV2 width multiplier (default 1.0, Keras'). `deno task train` passes `--alpha`, else
   * `TL_ALPHA`, else the alpha of the ImageNet weights at hand (`imagenetAlpha`).
   */
  alpha?: number;
  /** `"imagenet"` (default: Keras' file, or `weightsUrl`), a weights file path/URL, or `null` (random). */
  weights?: string | null;
  /** With `weights: "imagenet"`: the base's weights file instead of Keras' URL (`deno task train`: `TL_WEIGHTS_URL`). */
  weightsUrl?: string;
  /**
   * A folder of local copies used, by file name, when a URL (the data, the weights) cannot be reached;
   * default none (`deno task train`: `TL_MIRROR`, else `../shared`).
   */
  mirror?: string | null;
  /** Cache root for downloads (the data archive, the weights); default `getFile`'s (`deno task train`: `TL_CACHE_DIR`). */
  cacheDir?: string;
  /** `[height, width]` (default `[224, 224]`, the ImageNet weights' size). */
  imageSize?: [number, number];
  /** Images per batch (default 32). */
  batchSize?: number;
  /** Adam's learning rate for the head (default 1e-3, Keras' default). */
  learningRate?: number;
  /** RMSprop's learning rate while fine-tuning (default 1e-5, the tutorial's). */
  fineTuneLearningRate?: number;
  /** Held-out fraction when the folder has no `validation/` (default 0.2). */
  validationSplit?: number;
  /** Seed of the shuffles, the split, the augmentation and the head's initial weights (default 42). */
  seed?: number;
  /**
   * Output folder (default `models/<data folder name>`): checked before the data is loaded — not a
   * symbolic link, writable, not inside the data folder, and new, empty or holding only what the project
   * wrote there (`checkClassifierOutput`).
   */
  out?: string;
  /** An `out` holding anything else is moved aside to `<out>.old-<time>` instead of refused (`--force`). */
  force?: boolean;
  /** Keras' fit verbosity: 0 silent, 1 progress bar (default), 2 one line per epoch. */
  verbose?: 0 | 1 | 2;
  /** Another base instead of MobileNetV2 (tests use a tiny one); `alpha` and `weights` are then only recorded. */
  makeBase?: (inputShape: [number, number, number]) => LayersModel | Promise<LayersModel>;
  /** Messages (default `print` from `lib/runtime/output.ts`). */
  log?: (message: string) => void;
  /**
   * Makes the sink of each stage's progress, called once per stage: a sink keeps count of the lines it
   * has shown, so one sink shared by both stages would hide the second (default: notebook output,
   * terminal or plain lines).
   */
  progressSink?: () => ProgressSink;
  /**
   * `imageDatasetFromDirectory`'s own messages ("Found … files …", printed to stdout); default true;
   * `"details"` adds how the cache's memory budget was chosen.
   */
  datasetMessages?: boolean | "details";
  /**
   * A class folder without images (empty, or holding only other files) is left out with a warning instead
   * of being an error (default false; `deno task train --skip-empty-classes`).
   */
  skipEmptyClasses?: boolean;
  /**
   * Which epoch's weights are saved: `"best"` (default), the epoch with the lowest validation loss over
   * both stages; `"last"`, the last epoch run (`deno task train --keep`).
   */
  keep?: KeepEpoch;
  /**
   * Stop a stage when its validation loss has not improved for `patience` epochs (Keras' `EarlyStopping`
   * on `val_loss`, `--early-stopping --patience N`); default off. Fine-tuning then starts where the frozen
   * stage stopped.
   */
  earlyStopping?: { patience: number };
  /**
   * Class weights of the training loss: `"balanced"` (`n / (k · count)`) or `"none"`; default balanced when
   * the largest class has ≥ 3× the training images of the smallest (`--class-weight`).
   */
  classWeight?: ClassWeightMode;
  /**
   * Two runs with the same settings end with bit-identical weights (`enableDeterminism` with `seed`): the
   * process must have been started with `determinismEnv()`'s variables — `deno task train --deterministic`
   * does that — else an error names them.
   */
  deterministic?: boolean;
  /**
   * After training, embed every training and validation image once with the trained model and show the
   * photos to fix and the map of the data in `report.html` (`reviewFolder`; default true).
   */
  review?: boolean;
  /**
   * Continue the run whose checkpoint is in `<out>.checkpoint/` (`deno task train --resume`): its epochs
   * are not run again, and the run ends as it would have. The options, the data folder and its files must
   * be the checkpoint's, else a `ResumeRefused` names the difference. Default false: a new run (an earlier
   * checkpoint is cleared). Either way a checkpoint is written at the end of each epoch, and removed once
   * the model is saved (`train_resume.ts`).
   */
  resume?: boolean;
}

/** What {@link trainFolder} did. */
export interface TrainFolderResult {
  /** The folder the classifier was saved in (absolute). */
  outDir: string;
  /** Its `metadata.json`, as written. */
  metadata: ClassifierMetadata;
  /** The trained model, compiled with the last stage's optimizer: the caller disposes both. */
  model: LayersModel;
}

/** The settings of a run, defaults filled in. */
type Settings =
  & Required<
    Pick<
      TrainFolderOptions,
      | "epochs"
      | "fineTuneEpochs"
      | "fineTuneAt"
      | "batchSize"
      | "learningRate"
      | "fineTuneLearningRate"
      | "seed"
      | "validationSplit"
      | "alpha"
      | "imageSize"
    >
  >
  & { weights: string | null };

function checkOptions(o: TrainFolderOptions) {
  const fail = (m: string) => {
    throw new Error(`trainFolder: ${m}`);
  };
  const intAtLeast = (key: keyof TrainFolderOptions, min: number) => {
    const v = o[key];
    if (v !== undefined && !(Number.isInteger(v) && (v as number) >= min)) {
      fail(`${key} must be an integer ≥ ${min}, got ${v}`);
    }
  };
  intAtLeast("epochs", 1);
  intAtLeast("fineTuneEpochs", 0);
  intAtLeast("fineTuneAt", 0);
  intAtLeast("batchSize", 1);
  intAtLeast("seed", 0);
  if (o.validationSplit !== undefined && !(o.validationSplit > 0 && o.validationSplit < 1)) {
    fail(`validationSplit must be between 0 and 1, got ${o.validationSplit}`);
  }
  for (const key of ["learningRate", "fineTuneLearningRate"] as const) {
    const rate = o[key];
    if (rate !== undefined && !(rate > 0 && rate < 1)) fail(`${key} must be between 0 and 1, got ${rate}`);
  }
  if (o.alpha !== undefined && !(o.alpha > 0)) {
    fail(`alpha must be a positive width multiplier, got ${o.alpha}`);
  }
  if (o.keep !== undefined && o.keep !== "best" && o.keep !== "last") {
    fail(`keep must be "best" or "last", got ${JSON.stringify(o.keep)}`);
  }
  if (o.classWeight !== undefined && o.classWeight !== "balanced" && o.classWeight !== "none") {
    fail(`classWeight must be "balanced" or "none", got ${JSON.stringify(o.classWeight)}`);
  }
  const patience = o.earlyStopping?.patience;
  if (o.earlyStopping !== undefined && !(Number.isInteger(patience) && patience! >= 0)) {
    fail(`earlyStopping.patience must be a whole number ≥ 0, got ${patience}`);
  }
  const size = o.imageSize;
  if (size !== undefined && !(size.length === 2 && size.every((d) => Number.isInteger(d) && d >= 8))) {
    fail(`imageSize must be [height, width] with whole numbers ≥ 8, got ${JSON.stringify(size)}`);
  }
}

function settingsOf(o: TrainFolderOptions): Settings {
  const epochs = o.epochs ?? FOLDER_DEFAULTS.epochs;
  return {
    epochs,
    fineTuneEpochs: o.fineTuneEpochs ?? epochs,
    fineTuneAt: o.fineTuneAt ?? FINE_TUNE_AT,
    batchSize: o.batchSize ?? FOLDER_DEFAULTS.batchSize,
    learningRate: o.learningRate ?? FOLDER_DEFAULTS.learningRate,
    fineTuneLearningRate: o.fineTuneLearningRate ?? FOLDER_DEFAULTS.fineTuneLearningRate,
    seed: o.seed ?? FOLDER_DEFAULTS.seed,
    validationSplit: o.validationSplit ?? FOLDER_DEFAULTS.validationSplit,
    alpha: o.alpha ?? DEFAULT_ALPHA,
    imageSize: o.imageSize ?? [...FOLDER_DEFAULTS.imageSize] as [number, number],
    weights: o.weights === undefined ? "imagenet" : o.weights,
  };
}

/** The base: `makeBase`'s, else MobileNetV2 without its top, with the run's alpha and weights. */
async function makeBaseModel(o: TrainFolderOptions, s: Settings): Promise<LayersModel> {
  const inputShape: [number, number, number] = [s.imageSize[0], s.imageSize[1], 3];
  if (o.makeBase) return await o.makeBase(inputShape);
  const { weightsUrl, mirror, cacheDir } = o;
  return await mobileNetV2({
    inputShape,
    alpha: s.alpha,
    includeTop: false,
    weights: s.weights,
    ...(weightsUrl !== undefined ? { weightsUrl } : {}),
    ...(mirror !== undefined ? { mirror } : {}),
    ...(cacheDir !== undefined ? { cacheDir } : {}),
  });
}

/** How the run is steered: which epoch to keep, early stopping, class weights. */
interface Steering {
  keep: KeepEpoch;
  earlyStopping: { patience: number } | null;
  classWeight: ClassWeightRecord;
  deterministic: boolean;
}

/** What the caller of the stages gives: the keeper, callbacks, patience and class weights are made here. */
type StagesInput = Omit<StageRun, "callbacks" | "patience" | "classWeight" | "checkpointing"> & {
  checkpointing: Omit<StageRun["checkpointing"], "keeper">;
};

/** Both stages with the best-epoch keeper; then the kept epoch's weights are put back (`keep: "best"`). */
async function trainKeeping(
  model: LayersModel,
  base: LayersModel,
  s: Settings,
  run: StagesInput & { steering: Steering },
) {
  const { keep, earlyStopping, classWeight } = run.steering;
  const keeper = new BestEpochKeeper();
  try {
    const trained = await trainStages(model, base, s, {
      ...run,
      callbacks: keep === "best" ? [keeper] : [],
      checkpointing: { ...run.checkpointing, keeper: keep === "best" ? keeper : null },
      patience: earlyStopping?.patience ?? null,
      classWeight: classWeight.mode === "balanced" ? classWeight.weights : null,
    });
    const valLoss = [...trained.frozen.history.val_loss ?? [], ...trained.fine?.history.val_loss ?? []];
    const kept = keptEpochRecord({ keep, keeper, valLoss, frozenEpochs: trained.frozen.epoch.length });
    if (keep === "best") keeper.restore();
    run.log(keptEpochLine(kept));
    return { ...trained, kept };
  } finally {
    keeper.dispose();
  }
}

/** The summary line of the kept epoch: `Kept epoch 7 of 10 (stage 1, val_loss 0.3123): the lowest …`. */
export function keptEpochLine(kept: KeptEpochRecord): string {
  const stage = kept.stage === "frozen" ? "stage 1" : "stage 2";
  const value = kept.value === null ? "" : `, val_loss ${kept.value.toFixed(4)}`;
  return `Kept epoch ${kept.epoch} of ${kept.epochsRun} (${stage}${value}): ${kept.reason}`;
}

/** How the review and the test set read the images: as training did. */
function readingFor(s: Settings, folder: DataFolder, data: FolderDatasets): ReviewReading {
  return {
    imageSize: s.imageSize,
    classNames: data.classNames,
    orientation: data.train.orientation ?? "ignore",
    ...(folder.validationDir ? {} : { split: { validationSplit: s.validationSplit, seed: s.seed } }),
  };
}

/** The trained model on the folder's `test/` images: accuracy, loss and confusion matrix. */
async function evaluateTestSet(
  model: LayersModel,
  s: Settings,
  run: { folder: DataFolder; data: FolderDatasets; log: (message: string) => void },
): Promise<TestSetResult> {
  const dir = run.folder.testDir!;
  const dataset = await partDataset(dir, readingFor(s, run.folder, run.data), s.batchSize);
  let errs;
  try {
    errs = await interpret(model, dataset, { classNames: run.data.classNames, topK: 0, correctPerClass: 0 });
  } finally {
    dataset.dispose();
  }
  errs.dispose();
  const matrix = confusionMatrix(errs.labels, errs.predicted, run.data.classNames.length);
  const loss = errs.losses.reduce((a, b) => a + b, 0) / errs.losses.length;
  const result = {
    dir,
    images: errs.labels.length,
    accuracy: matrixAccuracy(matrix),
    loss,
    confusionMatrix: matrix,
  };
  run.log(
    `Test set: accuracy ${result.accuracy.toFixed(4)}, balanced accuracy ${
      testMetricsOf(result).balancedAccuracy.toFixed(4)
    }, loss ${loss.toFixed(4)} on ${result.images} images`,
  );
  return result;
}

/**
 * Photos to fix and the map of the data for the report: every image read again unshuffled and embedded
 * once by the trained model (`reviewFolder`, as `deno task review` does); its time is logged.
 */
async function reviewAfterTraining(
  model: LayersModel,
  s: Settings,
  run: { folder: DataFolder; data: FolderDatasets; log: (message: string) => void },
): Promise<ReviewFindings> {
  const { folder, data } = run;
  const reading = readingFor(s, folder, data);
  const [findings, time] = await timed(() =>
    reviewFolder(model, folder, reading, { batchSize: s.batchSize })
  );
  run.log(
    `Photos to fix: ${findings.mislabels.length} likely mislabel(s), ${findings.duplicates.length} ` +
      `near-duplicate pair(s) (${findings.duplicates.filter((d) => d.kind === "leak").length} leak(s)); ` +
      `${time.wallSeconds.toFixed(1)} s`,
  );
  return findings;
}

/** Trains `model` in both stages, interprets it on the validation images and saves it. */
async function trainAndSave(
  s: Settings,
  classifier: { model: LayersModel; base: LayersModel; baseName: string },
  run: StagesInput & {
    folder: DataFolder;
    outDir: string;
    force: boolean;
    steering: Steering;
    review: boolean;
  },
): Promise<ClassifierMetadata> {
  const { model, base } = classifier;
  const { frozen, fine, stages, stopped, kept } = await trainKeeping(model, base, s, run);
  const { data, steering } = run;
  // Before `interpret`, whose images must be disposed whatever happens next.
  const review = run.review ? { review: await reviewAfterTraining(model, s, run) } : {};
  const testSet = run.folder.testDir ? { testSet: await evaluateTestSet(model, s, run) } : {};
  const interpretation = await interpret(model, data.validation, {
    classNames: data.classNames,
    files: data.validation.filePaths,
  });
  const { alpha, imageSize: _, weights, ...settings } = s;
  const training: TrainingRecord = {
    ...settings,
    weights: weights ?? "none",
    baseName: classifier.baseName,
    stages,
    kept,
    ...(steering.earlyStopping ? { earlyStopping: { ...steering.earlyStopping, stoppedAt: stopped } } : {}),
    classWeight: steering.classWeight,
    ...(steering.deterministic ? { deterministic: true } : {}),
  };
  try {
    return await saveClassifier(model, run.outDir, {
      classNames: data.classNames,
      alpha,
      data: { folder: run.folder, train: data.train, validation: data.validation },
      histories: { frozen, fineTuning: fine },
      interpretation,
      training,
      ...review,
      ...testSet,
      force: run.force,
      log: run.log,
    });
  } finally {
    interpretation.dispose();
  }
}

/** The run's class weighting from the training images per class; warns when they are imbalanced. */
function classWeightOf(
  folder: DataFolder,
  data: FolderDatasets,
  o: TrainFolderOptions,
  log: (m: string) => void,
) {
  const counts = classCounts(data.train.filePaths, folder.trainDir, data.classNames);
  const record = classWeighting(counts, o.classWeight);
  const warning = imbalanceWarning(record, data.classNames);
  if (warning) log(warning);
  return record;
}

/**
 * Everything before training: the settings, the checked output folder (and, `withCheckpoint`, its
 * checkpoint folder: a missing checkpoint to resume is said before the data loads), the data, the model.
 */
async function prepareRun(options: TrainFolderOptions, withCheckpoint = false) {
  checkOptions(options);
  const log = options.log ?? ((m: string) => print(m));
  const s = settingsOf(options);
  // Before the datasets and the model, whose shuffles and initial weights draw random numbers.
  if (options.deterministic) enableDeterminism({ seed: s.seed });
  const force = options.force ?? false;
  // Before any work (a download, the data): a bad --out is refused in seconds, not after training.
  if (options.out !== undefined) {
    const local = fs.statSync(options.data, { throwIfNoEntry: false })?.isDirectory();
    checkClassifierOutput(options.out, { force, ...(local ? { dataFolder: options.data } : {}) });
  }
  const folder = await resolveDataFolder(options.data, {
    cacheDir: options.cacheDir,
    mirror: options.mirror,
  });
  const outDir = path.resolve(options.out ?? path.join("models", folder.name));
  checkClassifierOutput(outDir, { force, dataFolder: folder.root });
  const checkpoint = withCheckpoint ? await RunCheckpoint.open(outDir, options.resume ?? false, log) : null;
  log(`Data: ${folder.root}`);
  const data = await loadFolderDatasets(folder, {
    ...s,
    verbose: options.datasetMessages ?? true,
    skipEmptyClasses: options.skipEmptyClasses ?? false,
    log, // the datasets' warnings too: to stderr under --json
  });
  try {
    log(
      `Training images: ${data.train.filePaths.length}, validation images: ${data.validation.filePaths.length}`,
    );
    log(`Classes (${data.classNames.length}): ${data.classNames.join(", ")}`);
    const rawBase = await makeBaseModel(options, s);
    const { model, base } = buildClassifier({
      base: rawBase,
      numClasses: data.classNames.length,
      seed: s.seed,
    });
    return { s, log, force, folder, outDir, data, rawBase, model, base, checkpoint };
  } catch (e) {
    disposeFolderDatasets(data); // the caller's finally owns them only once this returns
    throw e;
  }
}

/** What the run depends on, for its checkpoints: the data and its files, the settings, the steering. */
function fingerprintOf(
  s: Settings,
  steering: Steering,
  run: { folder: DataFolder; data: FolderDatasets },
): CheckpointFingerprint {
  const { keep, earlyStopping, classWeight, deterministic } = steering;
  return runFingerprint({
    dataRoot: run.folder.root,
    files: [...run.data.train.filePaths, ...run.data.validation.filePaths],
    classNames: run.data.classNames,
    options: {
      ...s,
      keep,
      patience: earlyStopping?.patience ?? null,
      classWeight: classWeight.mode,
      deterministic,
    },
  });
}

/** An interrupt (Ctrl-C) as {@link TrainInterrupted}: where it stopped and the checkpoint to resume, if any. */
async function asInterrupted(
  e: unknown,
  checkpoint: RunCheckpoint,
  run: { s: Settings; data: FolderDatasets },
): Promise<unknown> {
  if (!(e instanceof KeyboardInterrupt)) return e;
  const where = e.message.split(". ")[0];
  // The epochs as `fit` counted them (fewer when early stopping ended the frozen stage).
  const epochs = Number(/of epoch \d+\/(\d+)/.exec(where)?.[1]) || run.s.epochs + run.s.fineTuneEpochs;
  const at = await checkpoint.position(epochs, run.data.train.size);
  return new TrainInterrupted(`Training stopped: ${where}`, at === null ? null : checkpoint.dir, at);
}

/**
 * Trains a classifier on `options.data` in the tutorial's two stages and saves it (model, metadata,
 * report) to `options.out` in one atomic step. See {@link TrainFolderOptions} for the defaults.
 */
export async function trainFolder(options: TrainFolderOptions): Promise<TrainFolderResult> {
  const prepared = await prepareRun(options, true);
  const { s, log, force, folder, outDir, data, rawBase, model, base } = prepared;
  const checkpoint = prepared.checkpoint!;
  try {
    const steering: Steering = {
      keep: options.keep ?? "best",
      earlyStopping: options.earlyStopping ?? null,
      classWeight: classWeightOf(folder, data, options, log),
      deterministic: options.deterministic ?? false,
    };
    // The base's architecture is checked weight by weight on loading; its name may carry a counter.
    const fingerprint = fingerprintOf(s, steering, { folder, data });
    const run = {
      data,
      folder,
      outDir,
      force,
      log,
      verbose: options.verbose ?? 1,
      progressSink: options.progressSink,
      steering,
      review: options.review ?? true,
      checkpointing: { checkpoint, fingerprint },
      resume: options.resume ? await checkpoint.point(fingerprint) : null,
    };
    const metadata = await trainAndSave(s, { model, base, baseName: rawBase.name }, run);
    log(`Saved ${outDir} (model.json, weights.bin, ${METADATA_FILE}, report.html)`);
    await checkpoint.clear(); // the model is saved: the checkpoint (ours) has served
    return { outDir, metadata, model };
  } catch (e) {
    model.optimizer?.dispose();
    model.dispose();
    throw await asInterrupted(e, checkpoint, { s, data });
  } finally {
    disposeFolderDatasets(data); // their decoded-image caches: TensorFlow memory
  }
}

/** What {@link findFolderLearningRate} found. */
export interface FolderLrFindResult {
  /** The curve and the suggested rates (`lrFind`'s). */
  result: LrFindResult;
  /** The curve's chart, written beside the output folder: `<out>.lr-find.svg`. */
  svgFile: string;
}

/**
 * The learning-rate finder (`lrFind`, fastai's range test) on the frozen stage of a `trainFolder` run with
 * the same options: the head's loss against Adam's rate, written as `<out>.lr-find.svg` beside the output
 * folder (never inside it: that folder holds only the saved classifier). Nothing is trained or saved.
 */
export async function findFolderLearningRate(options: TrainFolderOptions): Promise<FolderLrFindResult> {
  const { s, log, folder, outDir, data, model } = await prepareRun(options);
  try {
    compileForTransferLearning(model, s.learningRate);
    const weighting = classWeightOf(folder, data, options, log);
    log(`Learning-rate finder: the head, base frozen, Adam from 1e-7 to 10 over up to 100 batches`);
    const result = await lrFind(model, data.train, {
      ...(weighting.mode === "balanced" ? { classWeight: weighting.weights } : {}),
      // Progress: a line every 10 batches (a batch of the frozen stage takes seconds on MobileNetV2).
      onStep: ({ iteration, learningRate, smoothedLoss }) => {
        if ((iteration + 1) % 10 === 0) {
          log(
            `  batch ${iteration + 1}: rate ${learningRate.toExponential(2)}, loss ${
              smoothedLoss.toFixed(4)
            }`,
          );
        }
      },
    });
    const svgFile = `${outDir}.lr-find.svg`;
    await writeFileAtomic(svgFile, await renderSvg(lrFindSpec({ ...result })));
    return { result, svgFile };
  } finally {
    model.optimizer?.dispose();
    model.dispose();
    disposeFolderDatasets(data);
  }
}
