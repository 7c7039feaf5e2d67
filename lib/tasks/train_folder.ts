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
import path from "node:path";
import process from "node:process";
import { DEFAULT_ALPHA, print } from "../runtime/mod.ts";
import type { LayersModel } from "../runtime/mod.ts";
import {
  buildClassifier,
  compileForFineTuning,
  compileForTransferLearning,
  countTrainableVariables,
  FINE_TUNE_AT,
  mobileNetV2,
  unfreezeForFineTuning,
} from "../model/mod.ts";
import { fit } from "../train/mod.ts";
import type { History, ProgressSink } from "../train/mod.ts";
import { interpret } from "../analysis/mod.ts";
import { loadFolderDatasets, resolveDataFolder } from "./data_folder.ts";
import type { DataFolder, FolderDatasets } from "./data_folder.ts";
import { FOLDER_DEFAULTS } from "./folder_defaults.ts";
import { METADATA_FILE } from "./metadata.ts";
import type { ClassifierMetadata, StageTime, TrainingRecord } from "./metadata.ts";
import { saveClassifier } from "./save_classifier.ts";

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
  /** Output folder (default `models/<data folder name>`). */
  out?: string;
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

/** Runs `fn` and measures its wall and CPU time. */
async function timed<T>(fn: () => Promise<T>): Promise<[T, StageTime]> {
  const cpu0 = process.cpuUsage(), t0 = performance.now();
  const result = await fn();
  const cpu = process.cpuUsage(cpu0);
  return [result, { wallSeconds: (performance.now() - t0) / 1e3, cpuSeconds: (cpu.user + cpu.system) / 1e6 }];
}

const lastValAccuracy = (h: History) => (h.history.val_accuracy?.at(-1) ?? NaN).toFixed(4);

/** How each stage runs: the data, the verbosity and progress, the log. */
interface StageRun {
  data: FolderDatasets;
  verbose: 0 | 1 | 2;
  progressSink?: () => ProgressSink;
  log: (message: string) => void;
}

/** One `fit` from `initialEpoch` to `epochs`, timed. */
function runStage(model: LayersModel, run: StageRun, epochs: number, initialEpoch: number) {
  return timed(() =>
    fit(model, run.data.train, {
      epochs,
      initialEpoch,
      validationData: run.data.validation,
      verbose: run.verbose,
      progressSink: run.progressSink?.(),
    })
  );
}

/** Both training stages on `model` (compiled here); histories and times. */
async function trainStages(model: LayersModel, base: LayersModel, s: Settings, run: StageRun) {
  compileForTransferLearning(model, s.learningRate);
  run.log(
    `Stage 1: the head trains, the base is frozen (${countTrainableVariables(model)} trainable variables)`,
  );
  const [frozen, frozenTime] = await runStage(model, run, s.epochs, 0);
  run.log(`Stage 1: val_accuracy ${lastValAccuracy(frozen)} in ${frozenTime.wallSeconds.toFixed(1)} s`);
  if (s.fineTuneEpochs === 0) return { frozen, fine: null, stages: { frozen: frozenTime } };
  unfreezeForFineTuning(base, s.fineTuneAt);
  // compile() does not free the optimizer it replaces (Adam's moments), and model.dispose() never does.
  model.optimizer.dispose();
  compileForFineTuning(model, s.fineTuneLearningRate);
  run.log(
    `Stage 2: fine-tuning from base layer ${s.fineTuneAt} (${
      countTrainableVariables(model)
    } trainable variables)`,
  );
  const [fine, fineTime] = await runStage(model, run, s.epochs + s.fineTuneEpochs, s.epochs);
  run.log(`Stage 2: val_accuracy ${lastValAccuracy(fine)} in ${fineTime.wallSeconds.toFixed(1)} s`);
  return { frozen, fine, stages: { frozen: frozenTime, fineTuning: fineTime } };
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

/** Trains `model` in both stages, interprets it on the validation images and saves it. */
async function trainAndSave(
  s: Settings,
  classifier: { model: LayersModel; base: LayersModel; baseName: string },
  run: StageRun & { folder: DataFolder; outDir: string },
): Promise<ClassifierMetadata> {
  const { model, base } = classifier;
  const { frozen, fine, stages } = await trainStages(model, base, s, run);
  const { data } = run;
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
  };
  try {
    return await saveClassifier(model, run.outDir, {
      classNames: data.classNames,
      alpha,
      data: { folder: run.folder, train: data.train, validation: data.validation },
      histories: { frozen, fineTuning: fine },
      interpretation,
      training,
    });
  } finally {
    interpretation.dispose();
  }
}

/**
 * Trains a classifier on `options.data` in the tutorial's two stages and saves it (model, metadata,
 * report) to `options.out` in one atomic step. See {@link TrainFolderOptions} for the defaults.
 */
export async function trainFolder(options: TrainFolderOptions): Promise<TrainFolderResult> {
  checkOptions(options);
  const log = options.log ?? ((m: string) => print(m));
  const s = settingsOf(options);
  const folder = await resolveDataFolder(options.data, {
    cacheDir: options.cacheDir,
    mirror: options.mirror,
  });
  const outDir = path.resolve(options.out ?? path.join("models", folder.name));
  log(`Data: ${folder.root}`);
  const data = await loadFolderDatasets(folder, { ...s, verbose: options.datasetMessages ?? true });
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
  try {
    const run = {
      data,
      folder,
      outDir,
      log,
      verbose: options.verbose ?? 1,
      progressSink: options.progressSink,
    };
    const metadata = await trainAndSave(s, { model, base, baseName: rawBase.name }, run);
    log(`Saved ${outDir} (model.json, weights.bin, ${METADATA_FILE}, report.html)`);
    return { outDir, metadata, model };
  } catch (e) {
    model.optimizer?.dispose();
    model.dispose();
    throw e;
  }
}
