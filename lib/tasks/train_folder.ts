/**
 * The tutorial's recipe on any folder of class sub-folders — the step from the tutorial to one's own
 * photos (`deno task train`): the data (the folder's `train/` and `validation/` when present, else a seeded
 * split), MobileNetV2 frozen while the head trains, then fine-tuned from `fineTuneAt`; then where the
 * model errs on the validation images, and one atomic save of the model, `metadata.json` and
 * `report.html`.
 *
 * The data may also be a zip archive's path or URL: `getFile` fetches it into the cache and unpacks it.
 *
 * @module
 */
import { createHash } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import process from "node:process";
import { DEFAULT_ALPHA, loadConfig, print, tf } from "../runtime/mod.ts";
import type { LayersModel } from "../runtime/mod.ts";
import { getFile } from "../io/mod.ts";
import {
  ALLOWED_FORMATS,
  classFolders,
  imageDatasetFromDirectory,
  isDirectory,
  listImages,
} from "../data/mod.ts";
import type { ImageDataset } from "../data/mod.ts";
import {
  buildClassifier,
  compileForFineTuning,
  compileForTransferLearning,
  countTrainableVariables,
  FINE_TUNE_AT,
  headUnits,
  imagenetAlpha,
  mobileNetV2,
  saveModel,
  unfreezeForFineTuning,
} from "../model/mod.ts";
import { fit } from "../train/mod.ts";
import type { History, ProgressSink } from "../train/mod.ts";
import { confusionMatrix, interpret, mostConfused, perClassMetrics } from "../analysis/mod.ts";
import type { Interpretation } from "../analysis/mod.ts";
import {
  METADATA_FILE,
  METADATA_FORMAT,
  METADATA_VERSION,
  outputKind,
  PREPROCESSING,
} from "./saved_classifier.ts";
import type { ClassifierMetadata } from "./saved_classifier.ts";
import { buildReport } from "./report.ts";

/**
 * Defaults for one's own photos; two differ from the tutorial's, which the tutorial notebook keeps. The
 * tutorial's Adam rate for the head, 1e-4, suits its 2,000 images × 10 epochs (630 steps); a folder of a
 * few hundred photos gets a fraction of those steps and stops far short, so the head trains at Keras'
 * default for Adam, 1e-3. Fine-tuning stays at the tutorial's 1e-5: a tenth of the new rate made the
 * validation accuracy jump from epoch to epoch, and the saved model is the last epoch's. 224 × 224 is the
 * size the ImageNet weights were trained at: about twice the time of 160 × 160, a few points more
 * accuracy. The measurements are in README's "Your own images".
 */
export const FOLDER_DEFAULTS = {
  epochs: 10,
  learningRate: 1e-3,
  fineTuneLearningRate: 1e-5,
  imageSize: [224, 224] as [number, number],
  batchSize: 32,
  seed: 42,
  validationSplit: 0.2,
} as const;

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
  /** MobileNetV2 width multiplier (default 1.0). */
  alpha?: number;
  /** `"imagenet"` (default: Keras' file, or `TL_WEIGHTS_URL`), a weights file path/URL, or `null` (random). */
  weights?: string | null;
  /** `[height, width]` (default `[224, 224]`, the ImageNet weights' size). */
  imageSize?: [number, number];
  /** Default 32. */
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
  /** Messages (default `print` from `output.ts`). */
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

/** Where a data argument's images are. */
export interface DataFolder {
  /** The data as given. */
  source: string;
  /** The folder holding the class folders (or `train/` + `validation/`). */
  root: string;
  /** A short name for the output folder. */
  name: string;
  trainDir: string;
  /** `null`: split `trainDir` by `validationSplit`. */
  validationDir: string | null;
}

/** Time of one training stage. */
export interface StageTime {
  wallSeconds: number;
  cpuSeconds: number;
}

/** What {@link trainFolder} did. */
export interface TrainFolderResult {
  outDir: string;
  metadata: ClassifierMetadata;
  /** The trained model, compiled with the last stage's optimizer: the caller disposes both. */
  model: LayersModel;
}

const isRemote = (s: string) => /^[a-z][a-z0-9+.-]*:\/\//i.test(s);
const isImage = (name: string) => ALLOWED_FORMATS.includes(path.extname(name).toLowerCase());

/**
 * Finds the images of `data`: a folder as is; a zip archive (path or URL) fetched and unpacked by
 * `getFile` into the cache. A wrapper folder — no images, one sub-folder that itself holds folders, as
 * archives often have — is entered; `train/` with `validation/` (or `val/`) inside are used as the two parts.
 */
export async function resolveDataFolder(data: string): Promise<DataFolder> {
  if (typeof data !== "string" || data === "") {
    throw new Error("data: expected a folder of class folders, or a zip archive's path or URL");
  }
  let root: string;
  let name: string;
  if (!isRemote(data) && isDirectory(data)) {
    root = path.resolve(data);
    name = path.basename(root);
  } else if (isRemote(data) || data.toLowerCase().endsWith(".zip")) {
    if (!isRemote(data) && !fs.existsSync(data)) throw new Error(`data: ${data} does not exist`);
    const file = path.basename(new URL(data, "file:///").pathname);
    if (!file.toLowerCase().endsWith(".zip")) {
      throw new Error(`data: ${data} is not a folder, and a URL must name a .zip archive`);
    }
    root = await getFile(file, data, { extract: true });
    name = file.slice(0, -4);
  } else {
    throw new Error(
      `data: ${data} ${fs.existsSync(data) ? "is not a folder or a .zip archive" : "does not exist"}` +
        " (expected a folder of class folders, or a zip archive's path or URL)",
    );
  }
  for (;;) {
    const entries = fs.readdirSync(root, { withFileTypes: true }).filter((e) => !e.name.startsWith("."));
    // A symbolic link to a folder counts as a folder, as the data loader follows it (`classFolders`).
    const dirs = entries.filter((e) => isDirectory(path.join(root, e.name)));
    // A wrapper folder (as archives often have): one sub-folder, itself holding folders, and no images.
    if (dirs.length !== 1 || entries.some((e) => e.isFile() && isImage(e.name))) break;
    if (classFolders(path.join(root, dirs[0].name)).length === 0) break;
    root = path.join(root, dirs[0].name);
    name = dirs[0].name;
  }
  const folders = classFolders(root);
  const validation = ["validation", "val"].find((v) => folders.includes(v));
  if (folders.includes("train") && validation) {
    return {
      source: data,
      root,
      name,
      trainDir: path.join(root, "train"),
      validationDir: path.join(root, validation),
    };
  }
  return { source: data, root, name, trainDir: root, validationDir: null };
}

/** The image files under `dir` (count, bytes) and a fingerprint over their relative paths and sizes. */
export function folderFingerprint(dir: string): { files: number; bytes: number; sha256: string } {
  const entries: string[] = [];
  let bytes = 0;
  // Listed as the datasets list them: linked folders followed (each real folder once).
  for (const file of listImages(dir, true).files) {
    const size = fs.statSync(file, { throwIfNoEntry: false })?.size;
    if (size === undefined) continue; // a dangling link: no image the datasets could read either
    bytes += size;
    entries.push(`${path.relative(dir, file).split(path.sep).join("/")}\0${size}`);
  }
  entries.sort();
  const sha256 = createHash("sha256").update(entries.join("\n")).digest("hex");
  return { files: entries.length, bytes, sha256 };
}

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

/** Options of {@link loadFolderDatasets}. */
export interface FolderDatasetOptions {
  /** `[height, width]` (default `[224, 224]`). */
  imageSize?: [number, number];
  /** Default 32. */
  batchSize?: number;
  /** Default 42. */
  seed?: number;
  /** Held-out fraction when the folder has no `validation/` (default 0.2). */
  validationSplit?: number;
  /** `imageDatasetFromDirectory`'s messages (default true; `"details"`: with the cache's budget). */
  verbose?: boolean | "details";
}

/**
 * The training and validation datasets of a data folder (`resolveDataFolder`): `train/` and
 * `validation/` when present (the same class folders in both), else a seeded `validationSplit` of the
 * folder. The validation set is unshuffled: its `filePaths` are in the order of its images.
 */
export async function loadFolderDatasets(
  folder: DataFolder,
  options: FolderDatasetOptions = {},
): Promise<{ train: ImageDataset; validation: ImageDataset; classNames: string[] }> {
  const common = {
    imageSize: options.imageSize ?? [...FOLDER_DEFAULTS.imageSize] as [number, number],
    batchSize: options.batchSize ?? FOLDER_DEFAULTS.batchSize,
    seed: options.seed ?? FOLDER_DEFAULTS.seed,
    verbose: options.verbose ?? true,
  };
  let train: ImageDataset, validation: ImageDataset;
  if (folder.validationDir === null) {
    [train, validation] = await imageDatasetFromDirectory(folder.trainDir, {
      ...common,
      validationSplit: options.validationSplit ?? FOLDER_DEFAULTS.validationSplit,
      subset: "both",
    });
  } else {
    train = await imageDatasetFromDirectory(folder.trainDir, { ...common, shuffle: true });
    const classNames = train.classNames;
    const found = classFolders(folder.validationDir);
    const missing = classNames.filter((c) => !found.includes(c));
    const extra = found.filter((c) => !classNames.includes(c));
    if (missing.length || extra.length) {
      throw new Error(
        `data: ${folder.validationDir} must hold the same class folders as ${folder.trainDir} ` +
          `(${classNames.join(", ")})` + (missing.length ? `; missing: ${missing.join(", ")}` : "") +
          (extra.length ? `; not in train: ${extra.join(", ")}` : ""),
      );
    }
    validation = await imageDatasetFromDirectory(folder.validationDir, {
      ...common,
      shuffle: false,
      classNames,
    });
  }
  const classNames = train.classNames;
  if (classNames.length < 2) {
    throw new Error(`data: ${folder.trainDir} has ${classNames.length} class folder(s); expected at least 2`);
  }
  return { train, validation, classNames };
}

/** Runs `fn` and measures its wall and CPU time. */
async function timed<T>(fn: () => Promise<T>): Promise<[T, StageTime]> {
  const cpu0 = process.cpuUsage(), t0 = performance.now();
  const result = await fn();
  const cpu = process.cpuUsage(cpu0);
  return [result, { wallSeconds: (performance.now() - t0) / 1e3, cpuSeconds: (cpu.user + cpu.system) / 1e6 }];
}

const last = (h: History, key: string) => h.history[key]?.at(-1) ?? NaN;
const finalMetrics = (h: History) => ({
  val_loss: last(h, "val_loss"),
  val_accuracy: last(h, "val_accuracy"),
});

/** What {@link classifierMetadata} records about a run. */
export interface MetadataInput {
  model: LayersModel;
  folder: DataFolder;
  train: ImageDataset;
  validation: ImageDataset;
  alpha: number;
  /** Settings of the run (epochs, fineTuneAt, batchSize, learningRate, seed, weights, …) and `stages` times. */
  training: Record<string, unknown>;
  histories: { frozen: History; fineTuning?: History | null };
  /** `interpret(model, validation)` after training. */
  interpretation: Interpretation;
}

/** `metadata.json` for a trained classifier (the saved classifier folder's contract). */
export function classifierMetadata(input: MetadataInput): ClassifierMetadata {
  const { model, folder, train, validation, histories, interpretation } = input;
  const classNames = interpretation.classNames;
  const [, h, w] = model.inputs[0].shape as number[];
  const fingerprint = folderFingerprint(folder.root);
  const matrix = confusionMatrix(interpretation.labels, interpretation.predicted, classNames.length);
  const fine = histories.fineTuning ?? null;
  return {
    format: METADATA_FORMAT,
    formatVersion: METADATA_VERSION,
    classNames,
    numClasses: classNames.length,
    imageSize: [h, w],
    channels: 3,
    alpha: input.alpha,
    output: outputKind(headUnits(model)),
    preprocessing: PREPROCESSING,
    versions: {
      tfjs: tf.version.tfjs,
      "tfjs-node": (tf.version as Record<string, string>)["tfjs-node"] ?? "",
      deno: Deno.version.deno,
      typescript: Deno.version.typescript,
    },
    data: {
      source: folder.source,
      folder: folder.root,
      files: fingerprint.files,
      bytes: fingerprint.bytes,
      fingerprint: `sha256:${fingerprint.sha256}`,
      split: folder.validationDir === null
        ? { validationSplit: input.training.validationSplit, seed: input.training.seed }
        : {
          train: path.relative(folder.root, folder.trainDir),
          validation: path.relative(folder.root, folder.validationDir),
        },
      trainImages: train.filePaths.length,
      validationImages: validation.filePaths.length,
    },
    training: input.training,
    histories: { frozen: histories.frozen, ...(fine ? { fineTuning: fine } : {}) },
    metrics: {
      frozen: finalMetrics(histories.frozen),
      ...(fine ? { fineTuning: finalMetrics(fine) } : {}),
      final: finalMetrics(fine ?? histories.frozen),
      confusionMatrix: matrix,
      perClass: perClassMetrics(matrix, classNames),
      mostConfused: mostConfused(matrix, classNames),
    },
    created: new Date().toISOString(),
  };
}

/** Saves the model, `metadata.json` and `report.html` into `outDir`, all at once (`saveModel`). */
export async function saveClassifier(
  model: LayersModel,
  outDir: string,
  metadata: ClassifierMetadata,
  topLosses: Interpretation["topLosses"],
): Promise<void> {
  const report = await buildReport({ metadata, topLosses });
  await saveModel(model, outDir, {
    files: { [METADATA_FILE]: JSON.stringify(metadata, null, 1), "report.html": report },
  });
}

/** Both training stages on `model` (compiled here); histories and times. */
async function trainStages(
  model: LayersModel,
  base: LayersModel,
  data: { train: ImageDataset; validation: ImageDataset },
  o:
    & Required<
      Pick<
        TrainFolderOptions,
        "epochs" | "fineTuneEpochs" | "fineTuneAt" | "learningRate" | "fineTuneLearningRate" | "verbose"
      >
    >
    & {
      log: (m: string) => void;
      progressSink?: () => ProgressSink;
    },
) {
  const run = (epochs: number, initialEpoch: number) =>
    timed(() =>
      fit(model, data.train, {
        epochs,
        initialEpoch,
        validationData: data.validation,
        verbose: o.verbose,
        progressSink: o.progressSink?.(),
      })
    );
  compileForTransferLearning(model, o.learningRate);
  o.log(
    `Stage 1: the head trains, the base is frozen (${countTrainableVariables(model)} trainable variables)`,
  );
  const [frozen, frozenTime] = await run(o.epochs, 0);
  o.log(
    `Stage 1: val_accuracy ${last(frozen, "val_accuracy").toFixed(4)} in ${
      frozenTime.wallSeconds.toFixed(1)
    } s`,
  );
  if (o.fineTuneEpochs === 0) return { frozen, fine: null, stages: { frozen: frozenTime } };
  unfreezeForFineTuning(base, o.fineTuneAt);
  // compile() does not free the optimizer it replaces (Adam's moments), and model.dispose() never does.
  model.optimizer.dispose();
  compileForFineTuning(model, o.fineTuneLearningRate);
  o.log(
    `Stage 2: fine-tuning from base layer ${o.fineTuneAt} (${
      countTrainableVariables(model)
    } trainable variables)`,
  );
  const [fine, fineTime] = await run(o.epochs + o.fineTuneEpochs, o.epochs);
  o.log(
    `Stage 2: val_accuracy ${last(fine, "val_accuracy").toFixed(4)} in ${fineTime.wallSeconds.toFixed(1)} s`,
  );
  return { frozen, fine, stages: { frozen: frozenTime, fineTuning: fineTime } };
}

/**
 * Trains a classifier on `options.data` in the tutorial's two stages and saves it (model, metadata,
 * report) to `options.out` in one atomic step. See {@link TrainFolderOptions} for the defaults.
 */
export async function trainFolder(options: TrainFolderOptions): Promise<TrainFolderResult> {
  checkOptions(options);
  const log = options.log ?? ((m: string) => print(m));
  const epochs = options.epochs ?? FOLDER_DEFAULTS.epochs;
  const learningRate = options.learningRate ?? FOLDER_DEFAULTS.learningRate;
  const weights = options.weights === undefined ? "imagenet" : options.weights;
  const imageSize = options.imageSize ?? [...FOLDER_DEFAULTS.imageSize] as [number, number];
  // Not given: TL_ALPHA, else the alpha of the ImageNet weights at hand (offline: the mirror's).
  const alpha = options.alpha ??
    (weights === "imagenet" && !options.makeBase
      ? await imagenetAlpha(loadConfig(), { rows: imageSize[0] })
      : DEFAULT_ALPHA);
  const settings = {
    epochs,
    fineTuneEpochs: options.fineTuneEpochs ?? epochs,
    fineTuneAt: options.fineTuneAt ?? FINE_TUNE_AT,
    batchSize: options.batchSize ?? FOLDER_DEFAULTS.batchSize,
    learningRate,
    fineTuneLearningRate: options.fineTuneLearningRate ?? FOLDER_DEFAULTS.fineTuneLearningRate,
    seed: options.seed ?? FOLDER_DEFAULTS.seed,
    validationSplit: options.validationSplit ?? FOLDER_DEFAULTS.validationSplit,
    weights: weights ?? "none",
  };

  const folder = await resolveDataFolder(options.data);
  const outDir = path.resolve(options.out ?? path.join("models", folder.name));
  log(`Data: ${folder.root}`);
  const data = await loadFolderDatasets(folder, {
    ...settings,
    imageSize,
    verbose: options.datasetMessages ?? true,
  });
  log(
    `Training images: ${data.train.filePaths.length}, validation images: ${data.validation.filePaths.length}`,
  );
  log(`Classes (${data.classNames.length}): ${data.classNames.join(", ")}`);

  const inputShape: [number, number, number] = [imageSize[0], imageSize[1], 3];
  const rawBase = options.makeBase
    ? await options.makeBase(inputShape)
    : await mobileNetV2({ inputShape, alpha, includeTop: false, weights });
  const { model, base } = buildClassifier({
    base: rawBase,
    numClasses: data.classNames.length,
    seed: settings.seed,
  });
  try {
    const { frozen, fine, stages } = await trainStages(model, base, data, {
      ...settings,
      verbose: options.verbose ?? 1,
      log,
      progressSink: options.progressSink,
    });
    const interpretation = await interpret(model, data.validation, {
      classNames: data.classNames,
      files: data.validation.filePaths,
    });
    try {
      const metadata = classifierMetadata({
        model,
        folder,
        ...data,
        alpha,
        training: { ...settings, baseName: rawBase.name, stages },
        histories: { frozen, fineTuning: fine },
        interpretation,
      });
      await saveClassifier(model, outDir, metadata, interpretation.topLosses);
      log(`Saved ${outDir} (model.json, weights.bin, ${METADATA_FILE}, report.html)`);
      return { outDir, metadata, model };
    } finally {
      interpretation.dispose();
    }
  } catch (e) {
    model.optimizer?.dispose();
    model.dispose();
    throw e;
  }
}
