/**
 * Saving a trained classifier in one call: {@link saveClassifier} gathers `metadata.json`
 * ({@link ClassifierMetadata}) from the model and what the caller has of its training — the data, the
 * histories, the interpretation — renders `report.html` from it, and writes the model, both files and
 * nothing else into the folder at once (`saveModel`: a temporary folder swapped in when complete).
 * `deno task train` and the notebooks save through here; `loadClassifier` reads the folder back.
 *
 * @module
 */
import path from "node:path";
import { tf } from "../runtime/mod.ts";
import type { LayersModel } from "../runtime/mod.ts";
import type { ImageDataset } from "../data/mod.ts";
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

/**
 * The data a classifier was trained on, as {@link SaveClassifierOptions.data}. A seeded split of the folder
 * is recorded with `training.validationSplit` and `training.seed` when given, else `loadFolderDatasets`'
 * defaults ({@link FOLDER_DEFAULTS}).
 */
export interface TrainingData {
  /** The data folder (`resolveDataFolder`). */
  folder: DataFolder;
  /** The training dataset (`loadFolderDatasets`): its image count is recorded. */
  train: Pick<ImageDataset, "filePaths">;
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

function metricsRecord(options: SaveClassifierOptions): MetricsRecord | undefined {
  const { histories, interpretation: errs, classNames } = options;
  const fine = histories?.fineTuning ?? null;
  const matrix = errs && confusionMatrix(errs.labels, errs.predicted, classNames.length);
  if (!histories && !matrix) return undefined;
  return {
    ...(histories ? { frozen: stageMetrics(histories.frozen) } : {}),
    ...(fine ? { fineTuning: stageMetrics(fine) } : {}),
    ...(histories ? { final: stageMetrics(fine ?? histories.frozen) } : {}),
    ...(matrix
      ? {
        confusionMatrix: matrix,
        perClass: perClassMetrics(matrix, classNames),
        mostConfused: mostConfused(matrix, classNames),
      }
      : {}),
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
    preprocessing: PREPROCESSING,
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

/** Writes the model, `metadata` and its report into `outDir` in one atomic save. */
async function writeClassifierFolder(
  model: LayersModel,
  outDir: string,
  metadata: ClassifierMetadata,
  topLosses: readonly TopLossTile[],
): Promise<void> {
  const json = metadataJson(metadata);
  const report = await buildReport({ metadata, topLosses });
  await saveModel(model, outDir, { files: { [METADATA_FILE]: json, "report.html": report } });
}

/**
 * Saves a trained classifier into the folder `outDir` in one atomic step: the model (TensorFlow.js
 * layers format), `metadata.json` and `report.html`, replacing a previous save there only once the new one
 * is complete. Returns the metadata written.
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
  if ("format" in options) {
    await writeClassifierFolder(model, outDir, options, topLosses);
    return options;
  }
  const metadata = classifierMetadataOf(model, options);
  await writeClassifierFolder(model, outDir, metadata, options.interpretation?.topLosses ?? []);
  return metadata;
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
