/**
 * Saving a trained classifier in one call: {@link saveClassifier} gathers `metadata.json`
 * ({@link ClassifierMetadata}) from the model and what the caller has of its training — the data, the
 * histories, the interpretation — renders `report.html` from it, and writes the model, both files and
 * nothing else into the folder at once (`saveModel`: a temporary folder swapped in when complete).
 * `metadata.json` records the SHA-256 of the weights it belongs to. The folder is checked first
 * ({@link checkClassifierOutput}): a save replaces only what the project wrote there, a folder an earlier
 * version saved included ({@link isEarlierClassifierFolder}).
 * `deno task train` and the notebooks save through here; `loadClassifier` reads the folder back.
 *
 * @module
 */
import fs from "node:fs";
import path from "node:path";
import { print, tf } from "../runtime/mod.ts";
import type { LayersModel } from "../runtime/mod.ts";
import type { ImageDataset, OrientationMode } from "../data/mod.ts";
import { checkOutputFolder } from "../io/mod.ts";
import type { OutputPlan } from "../io/mod.ts";
import { headUnits, logitsFor, saveModel } from "../model/mod.ts";
import type { History } from "../train/mod.ts";
import { confusionMatrix, mostConfused, perClassMetrics } from "../analysis/mod.ts";
import type { Interpretation, TopLossTile } from "../analysis/mod.ts";
import { folderFingerprint } from "./data_folder.ts";
import { FOLDER_DEFAULTS } from "./folder_defaults.ts";
import type { DataFolder } from "./data_folder.ts";
import {
  METADATA_FILE,
  METADATA_FORMAT,
  METADATA_VERSION,
  metadataJson,
  outputKind,
  PREPROCESSING,
  testMetricsOf,
} from "./metadata.ts";
import type {
  ClassifierMetadata,
  DataRecord,
  MetricsRecord,
  SoftwareVersions,
  StageMetrics,
  TrainingRecord,
} from "./metadata.ts";
import { buildReport } from "./report.ts";
import type { TestSetResult } from "./report.ts";
import type { ReviewFindings } from "./review.ts";

/**
 * The data a classifier was trained on, as {@link SaveClassifierOptions.data}. A seeded split of the folder
 * is recorded with `training.validationSplit` and `training.seed` when given, else `loadFolderDatasets`'
 * defaults ({@link FOLDER_DEFAULTS}).
 */
export interface TrainingData {
  /** The data folder (`resolveDataFolder`). */
  folder: DataFolder;
  /** The training dataset (`loadFolderDatasets`): its image count and orientation are recorded. */
  train: Pick<ImageDataset, "filePaths"> & { readonly orientation?: OrientationMode };
  /** The validation dataset: its image count is recorded. */
  validation: Pick<ImageDataset, "filePaths">;
}

/**
 * What {@link saveClassifier} records besides the model: `classNames` and `alpha` always, the rest when
 * given (each becomes its part of `metadata.json` and of `report.html`).
 */
export interface SaveClassifierOptions {
  /** Class names in label order (the datasets' `classNames`); the model's head must fit them. */
  classNames: string[];
  /** MobileNetV2's width multiplier the base was built with. */
  alpha: number;
  /** The data folder and datasets: recorded as `data` (source, image counts, fingerprint, split). */
  data?: TrainingData;
  /** `fit`'s histories of both stages (`fineTuning` absent or `null`: not fine-tuned): `histories`, `metrics`. */
  histories?: { frozen: History; fineTuning?: History | null };
  /**
   * `interpret(model, validation)` after training: the confusion matrix and per-class metrics in
   * `metrics`, its top losses in the report. Its images stay the caller's to dispose.
   */
  interpretation?: Interpretation;
  /** The training settings and stage times, recorded as `training`. */
  training?: TrainingRecord;
  /** Free text on where the classifier comes from, recorded as `note`. */
  note?: string;
  /**
   * Photos to fix and the map of the data (`reviewFolder` after training): shown in `report.html`, not
   * recorded in `metadata.json` (`deno task review` writes them as JSON).
   */
  review?: ReviewFindings;
  /**
   * The test set's results (`trainFolder` with a `test/` folder): shown in `report.html`, recorded as
   * `metrics.test`.
   */
  testSet?: TestSetResult;
  /**
   * How the training photos were oriented (`preprocessing.orientation`; `predict` and the page decode the
   * same way). Default: the training dataset's (`data.train.orientation`), else `"ignore"`, the default of
   * `imageDatasetFromDirectory` (Keras').
   */
  orientation?: OrientationMode;
  /**
   * An existing `outDir` holding anything the project did not write is moved aside to
   * `<outDir>.old-<time>` (said through `log`) instead of refused (`deno task train --force`).
   */
  force?: boolean;
  /** Messages (default `print` from `lib/runtime/output.ts`): where the old content was moved with `force`. */
  log?: (message: string) => void;
}

/** The files an earlier version of `saveClassifier` wrote, before the folder's manifest. */
const EARLIER_FILES = ["model.json", "weights.bin", METADATA_FILE, "report.html"];

/**
 * Whether the folder `dir` is a classifier an earlier version saved, before the manifest: a `model.json`
 * beside a `metadata.json` of this project's format (another tool's model folder — a Teachable Machine
 * export has a `metadata.json` too — is not). Of its files, only `model.json`, `weights.bin`,
 * `metadata.json` and `report.html` are the project's.
 */
export function isEarlierClassifierFolder(dir: string): boolean {
  if (!fs.existsSync(path.join(dir, "model.json"))) return false;
  try {
    return JSON.parse(fs.readFileSync(path.join(dir, METADATA_FILE), "utf8")).format === METADATA_FORMAT;
  } catch {
    return false;
  }
}

/**
 * Checks the folder a classifier is to be saved in, before any work (`checkOutputFolder` of `lib/io/`):
 * not a link, writable, apart from `dataFolder`, and new, empty or holding only what the project wrote
 * there — unless `force`. Throws an `OutputFolderError` (one line, the fix) otherwise.
 */
export function checkClassifierOutput(
  outDir: string,
  options: { force?: boolean; dataFolder?: string } = {},
): OutputPlan {
  return checkOutputFolder(outDir, { kind: "model", ...classifierFolderOptions(options) });
}

function classifierFolderOptions(o: { force?: boolean; dataFolder?: string }) {
  return {
    ...(o.force ? { force: true } : {}),
    earlierVersion: { files: EARLIER_FILES, is: isEarlierClassifierFolder },
    ...(o.dataFolder ? { separateFrom: [{ path: o.dataFolder, what: "the data folder" }] } : {}),
  };
}

const versions = (): SoftwareVersions => ({
  tfjs: tf.version.tfjs,
  "tfjs-node": (tf.version as Record<string, string>)["tfjs-node"] ?? "",
  deno: Deno.version.deno,
  typescript: Deno.version.typescript,
});

function dataRecord({ folder, train, validation }: TrainingData, training?: TrainingRecord): DataRecord {
  const fingerprint = folderFingerprint(folder.root);
  return {
    source: folder.source,
    folder: folder.root,
    files: fingerprint.files,
    bytes: fingerprint.bytes,
    fingerprint: `sha256:${fingerprint.sha256}`,
    split: folder.validationDir === null
      ? {
        validationSplit: training?.validationSplit ?? FOLDER_DEFAULTS.validationSplit,
        seed: training?.seed ?? FOLDER_DEFAULTS.seed,
      }
      : {
        train: path.relative(folder.root, folder.trainDir),
        validation: path.relative(folder.root, folder.validationDir),
      },
    trainImages: train.filePaths.length,
    validationImages: validation.filePaths.length,
  };
}

/** A stage's validation loss and accuracy at its last epoch. */
function stageMetrics(h: History): StageMetrics {
  const last = (key: string) => h.history[key]?.at(-1) ?? null;
  return { val_loss: last("val_loss"), val_accuracy: last("val_accuracy") };
}

/** The validation loss and accuracy at `epoch` (1-based over both stages): the kept epoch's. */
function keptMetrics(frozen: History, fine: History | null, epoch: number): StageMetrics {
  const h = epoch <= frozen.epoch.length ? frozen : fine!;
  const i = epoch <= frozen.epoch.length ? epoch - 1 : epoch - 1 - frozen.epoch.length;
  const at = (key: string) => h.history[key]?.[i] ?? null;
  return { val_loss: at("val_loss"), val_accuracy: at("val_accuracy") };
}

function metricsRecord(options: SaveClassifierOptions): MetricsRecord | undefined {
  const { histories, interpretation: errs, classNames } = options;
  const fine = histories?.fineTuning ?? null;
  // The saved model's: the kept epoch's when training kept one (`training.kept`), else the last one's.
  const kept = options.training?.kept;
  const final = histories &&
    (kept ? keptMetrics(histories.frozen, fine, kept.epoch) : stageMetrics(fine ?? histories.frozen));
  const matrix = errs && confusionMatrix(errs.labels, errs.predicted, classNames.length);
  const test = options.testSet && { test: testMetricsOf(options.testSet) };
  if (!histories && !matrix && !test) return undefined;
  return {
    ...(histories ? { frozen: stageMetrics(histories.frozen) } : {}),
    ...(fine ? { fineTuning: stageMetrics(fine) } : {}),
    ...(final ? { final } : {}),
    ...(matrix
      ? {
        confusionMatrix: matrix,
        perClass: perClassMetrics(matrix, classNames),
        mostConfused: mostConfused(matrix, classNames),
      }
      : {}),
    ...test,
  };
}

/** The model's input size and head, checked against the class names (the reader checks them again). */
function modelShape(
  model: LayersModel,
  classNames: string[],
): { imageSize: [number, number]; units: number } {
  const [, h, w, c] = model.inputs[0].shape;
  const units = headUnits(model);
  if (!(typeof h === "number" && typeof w === "number" && c === 3)) {
    throw new Error(`saveClassifier: the model's input must be [height, width, 3], got [${[h, w, c]}]`);
  }
  if (units !== logitsFor(classNames.length)) {
    throw new Error(
      `saveClassifier: the model has ${units} logit(s), ${classNames.length} classNames need ` +
        `${logitsFor(classNames.length)}`,
    );
  }
  return { imageSize: [h, w], units };
}

/** `metadata.json` for `model` and what `options` record of its training. */
function classifierMetadataOf(model: LayersModel, options: SaveClassifierOptions): ClassifierMetadata {
  const { classNames, histories, training, note } = options;
  if (options.interpretation && options.interpretation.classNames.join("\n") !== classNames.join("\n")) {
    throw new Error(
      `saveClassifier: interpretation.classNames (${options.interpretation.classNames}) differ from ` +
        `classNames (${classNames})`,
    );
  }
  const { imageSize, units } = modelShape(model, classNames);
  const metrics = metricsRecord(options);
  return {
    format: METADATA_FORMAT,
    formatVersion: METADATA_VERSION,
    classNames: [...classNames],
    numClasses: classNames.length,
    imageSize,
    channels: 3,
    alpha: options.alpha,
    output: outputKind(units),
    preprocessing: {
      ...PREPROCESSING,
      orientation: options.orientation ?? options.data?.train.orientation ?? "ignore",
    },
    versions: versions(),
    ...(note !== undefined ? { note } : {}),
    ...(options.data ? { data: dataRecord(options.data, training) } : {}),
    ...(training ? { training } : {}),
    ...(histories
      ? {
        histories: {
          frozen: histories.frozen,
          ...(histories.fineTuning ? { fineTuning: histories.fineTuning } : {}),
        },
      }
      : {}),
    ...(metrics ? { metrics } : {}),
    created: new Date().toISOString(),
  };
}

/** How {@link writeClassifierFolder} treats an existing folder, and says what it did. */
type FolderOptions = Pick<SaveClassifierOptions, "force" | "log"> & {
  dataFolder?: string;
  /** Correctly classified images (`interpret`'s `correct`): with them, the report shows Grad-CAM heatmaps. */
  correct?: readonly TopLossTile[];
  /** Photos to fix and the map of the data, for the report. */
  review?: ReviewFindings;
  /** The test set's results, for the report. */
  testSet?: TestSetResult;
};

/**
 * Writes the model, `metadata` (with the SHA-256 of the weights written) and its report into `outDir` in
 * one atomic save. Returns the metadata written.
 */
async function writeClassifierFolder(
  model: LayersModel,
  outDir: string,
  metadata: ClassifierMetadata,
  topLosses: readonly TopLossTile[],
  folder: FolderOptions = {},
): Promise<ClassifierMetadata> {
  const explain = folder.correct ? { explain: { model, correct: folder.correct } } : {};
  const extra = {
    ...(folder.review ? { review: folder.review } : {}),
    ...(folder.testSet ? { testSet: folder.testSet } : {}),
  };
  const report = await buildReport({ metadata, topLosses, ...explain, ...extra, modelDir: outDir });
  let written = metadata;
  const { movedAside } = await saveModel(model, outDir, {
    ...classifierFolderOptions(folder),
    files: (weightFiles) => {
      written = { ...metadata, weightFiles };
      return { [METADATA_FILE]: metadataJson(written), "report.html": report };
    },
  });
  if (movedAside) {
    (folder.log ?? print)(`Moved the previous content of ${outDir} aside to ${movedAside} (nothing deleted)`);
  }
  return written;
}

/**
 * Saves a trained classifier into the folder `outDir` in one atomic step: the model (TensorFlow.js
 * layers format), `metadata.json` and `report.html`, replacing a previous save there only once the new one
 * is complete. Returns the metadata written. A folder holding anything the project did not write is
 * refused before anything is written ({@link checkClassifierOutput}; `force` moves it aside), as is one
 * inside the data folder.
 *
 * The model's input size and output kind are read from the model; `options` give the class names, alpha
 * and whatever else of the training should be recorded ({@link SaveClassifierOptions}).
 */
export async function saveClassifier(
  model: LayersModel,
  outDir: string,
  options: SaveClassifierOptions,
): Promise<ClassifierMetadata>;
/**
 * @deprecated The former form: `metadata` built by {@link classifierMetadata}. Pass
 * {@link SaveClassifierOptions} instead.
 */
export async function saveClassifier(
  model: LayersModel,
  outDir: string,
  metadata: ClassifierMetadata,
  topLosses?: readonly TopLossTile[],
): Promise<ClassifierMetadata>;
export async function saveClassifier(
  model: LayersModel,
  outDir: string,
  options: SaveClassifierOptions | ClassifierMetadata,
  topLosses: readonly TopLossTile[] = [],
): Promise<ClassifierMetadata> {
  if ("format" in options) return await writeClassifierFolder(model, outDir, options, topLosses);
  const metadata = classifierMetadataOf(model, options);
  return await writeClassifierFolder(model, outDir, metadata, options.interpretation?.topLosses ?? [], {
    ...(options.interpretation ? { correct: options.interpretation.correct } : {}),
    ...(options.force ? { force: true } : {}),
    ...(options.review ? { review: options.review } : {}),
    ...(options.testSet ? { testSet: options.testSet } : {}),
    ...(options.log ? { log: options.log } : {}),
    ...(options.data ? { dataFolder: options.data.folder.root } : {}),
  });
}

/**
 * The former input of {@link classifierMetadata}.
 *
 * @deprecated Use {@link SaveClassifierOptions} with {@link saveClassifier}.
 */
export interface MetadataInput {
  /** The trained classifier. */
  model: LayersModel;
  /** The data folder. */
  folder: DataFolder;
  /** The training dataset. */
  train: ImageDataset;
  /** The validation dataset. */
  validation: ImageDataset;
  /** MobileNetV2's width multiplier. */
  alpha: number;
  /** The training settings and stage times. */
  training: TrainingRecord;
  /** Both stages' histories. */
  histories: { frozen: History; fineTuning?: History | null };
  /** `interpret(model, validation)` after training. */
  interpretation: Interpretation;
}

/**
 * `metadata.json` for a trained classifier, in the former form.
 *
 * @deprecated `saveClassifier(model, outDir, { classNames, alpha, data, histories, interpretation,
 * training })` builds it and saves in one call.
 */
export function classifierMetadata(input: MetadataInput): ClassifierMetadata {
  const { model, folder, train, validation, ...rest } = input;
  return classifierMetadataOf(model, {
    ...rest,
    classNames: input.interpretation.classNames,
    data: { folder, train, validation },
  });
}
