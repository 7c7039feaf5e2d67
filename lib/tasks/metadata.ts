/**
 * `metadata.json`, the file beside a saved classifier's `model.json` that says how to use the model —
 * class names, input size, what the output means, how images were decoded — and records how it was
 * trained. {@link ClassifierMetadata} is its schema; this module alone turns it into JSON
 * ({@link writeMetadata}, {@link metadataJson}) and back ({@link readMetadata}, {@link parseMetadata}), checking
 * on the way in what the readers rely on, the format's version first.
 *
 * What goes into the file is gathered by `save_classifier.ts`; `deno task predict`, the web page
 * (`site.ts`), `report.ts` and the notebooks read it through here.
 *
 * Versions: `formatVersion` changes when a reader of the previous version would misread a new file. A
 * field older readers can ignore is added without a new version and is optional, so that files written
 * before it stay readable: {@link ClassifierMetadata.weightFiles} is one (absent: the weights are not
 * checked).
 *
 * @module
 */
import fs from "node:fs";
import path from "node:path";
import { interruptedSaveHint, isInsidePath, writeFileAtomic } from "../io/mod.ts";
import { ORIENTATION_MODES, type OrientationMode } from "../data/mod.ts";
import { logitsFor } from "../model/mod.ts";
import type { History } from "../train/mod.ts";
import type { ClassMetrics, ConfusedPair } from "../analysis/mod.ts";
import { FOLDER_DEFAULTS } from "./folder_defaults.ts";

/** The value of {@link ClassifierMetadata.format}: marks the file as this project's saved classifier. */
export const METADATA_FORMAT = "transfer-learning-ts/classifier";
/** The {@link ClassifierMetadata.formatVersion} written. */
export const METADATA_VERSION = 1;
/** The versions {@link readMetadata} reads. */
export const SUPPORTED_METADATA_VERSIONS: readonly number[] = [1];
/** The metadata's file name inside a saved classifier's folder. */
export const METADATA_FILE = "metadata.json";

/** How an image becomes the model's input (the model itself holds the rescaling). */
export interface Preprocessing {
  /** Resize method: bilinear, as TensorFlow's `tf.image.resize`. */
  resize: "bilinear";
  /** Pixel centres at +0.5 when resizing (TensorFlow 2's `resize`, not tfjs' default). */
  halfPixelCenters: true;
  /** The whole image is resized (the aspect ratio is not kept by cropping). */
  cropToAspectRatio: false;
  /** Pixel values the model takes: RGB 0..255. */
  inputRange: [0, 255];
  /** MobileNetV2's `preprocess_input` (`x * scale + offset`), done by the model's `Rescaling` layer. */
  rescale: { scale: number; offset: number };
  /**
   * The photo's EXIF Orientation before resizing: `"exif"` turns it upright (as photo viewers and browsers
   * show it), `"ignore"` keeps the pixels as stored (Keras'). Absent from files written before it was
   * recorded, whose models saw photos as stored: read it with {@link orientationOf}.
   */
  orientation?: OrientationMode;
}

/**
 * The decoding every saved classifier's images get: `loadFolderDatasets`' (`imageDatasetFromDirectory`'s
 * defaults, and photos turned upright by their EXIF Orientation, `FOLDER_DEFAULTS.orientation`).
 */
export const PREPROCESSING: Preprocessing = {
  resize: "bilinear",
  halfPixelCenters: true,
  cropToAspectRatio: false,
  inputRange: [0, 255],
  rescale: { scale: 1 / 127.5, offset: -1 },
  orientation: FOLDER_DEFAULTS.orientation,
};

/**
 * How the classifier's photos are to be oriented: as it was trained (`preprocessing.orientation`;
 * `"ignore"` when absent, for files written before it was recorded).
 */
export function orientationOf(metadata: Pick<ClassifierMetadata, "preprocessing">): OrientationMode {
  return metadata.preprocessing.orientation ?? "ignore";
}

/** The software that wrote a `metadata.json`. */
export interface SoftwareVersions {
  /** TensorFlow.js' version (`tf.version.tfjs`). */
  tfjs: string;
  /** `@tensorflow/tfjs-node`'s version; `""` when another backend wrote the file. */
  "tfjs-node": string;
  /** Deno's version. */
  deno: string;
  /** The TypeScript version of that Deno. */
  typescript: string;
}

/** The data a classifier was trained on (`deno task train`, or the notebook with its data folder). */
export interface DataRecord {
  /** The data as given: a folder, or a zip archive's path or URL. */
  source: string;
  /** Absolute path of the folder holding the class folders (for an archive: where it was unpacked). */
  folder: string;
  /** Image files under `folder` (both parts). */
  files: number;
  /** Their total size, in bytes. */
  bytes: number;
  /** `"sha256:<hex>"` over the files' relative paths and sizes (`folderFingerprint`): same files, same value. */
  fingerprint: string;
  /**
   * How the validation images were chosen: a seeded fraction of `folder` (`validationSplit`, `seed`),
   * or its two sub-folders (`train`, `validation`: paths relative to `folder`).
   */
  split: { validationSplit: number; seed: number } | { train: string; validation: string };
  /** Images the model was trained on. */
  trainImages: number;
  /** Images it was validated on. */
  validationImages: number;
}

/** Wall and CPU time of one training stage. */
export interface StageTime {
  /** Elapsed time, in seconds. */
  wallSeconds: number;
  /** CPU time of this process (user + system, all threads), in seconds. */
  cpuSeconds: number;
}

/** The settings a classifier was trained with; each field present when the saver knew it. */
export interface TrainingRecord {
  /** Epochs with the base frozen (stage 1). */
  epochs?: number;
  /** Fine-tuning epochs after those (stage 2); 0: none. */
  fineTuneEpochs?: number;
  /** Base layers before this index stayed frozen while fine-tuning. */
  fineTuneAt?: number;
  /** Images per batch. */
  batchSize?: number;
  /** Adam's learning rate for the head (stage 1). */
  learningRate?: number;
  /** RMSprop's learning rate while fine-tuning (stage 2). */
  fineTuneLearningRate?: number;
  /** Seed of the shuffles, the split, the augmentation and the head's initial weights. */
  seed?: number;
  /** Held-out fraction of a folder without `validation/`. */
  validationSplit?: number;
  /** The base's weights: `"imagenet"`, a weights file's path or URL, or `"none"` (random). */
  weights?: string;
  /** The base model's name (e.g. `mobilenetv2_1.00_224`). */
  baseName?: string;
  /** Time of each stage that ran. */
  stages?: { frozen?: StageTime; fineTuning?: StageTime };
  /** Which epoch's weights were saved, and why; absent in files written before it was recorded (the last). */
  kept?: KeptEpochRecord;
  /** `--early-stopping`: the patience, and the epoch each stage stopped at; absent when it was off. */
  earlyStopping?: EarlyStoppingRecord;
  /** The class weights of the training loss (`--class-weight`); absent in files written before it was recorded. */
  classWeight?: ClassWeightRecord;
  /** `--deterministic`: trained to be bit-identical to a run with the same settings; absent otherwise. */
  deterministic?: true;
}

/** Where the saved weights come from ({@link TrainingRecord.kept}). */
export interface KeptEpochRecord {
  /** `"best"`: the epoch with the lowest `val_loss` over both stages; `"last"`: the last epoch run. */
  keep: "best" | "last";
  /** The epoch whose weights were saved, 1-based over both stages (as on the learning curves). */
  epoch: number;
  /** The stage that epoch belongs to. */
  stage: "frozen" | "fineTuning";
  /** The quantity compared: always `val_loss`. */
  monitor: "val_loss";
  /** Its value at that epoch; null when it was not finite. */
  value: number | null;
  /** Epochs run over both stages. */
  epochsRun: number;
  /** Why this epoch, in one sentence (shown in the report and the train summary). */
  reason: string;
}

/** `--early-stopping` ({@link TrainingRecord.earlyStopping}). */
export interface EarlyStoppingRecord {
  /** Epochs without a lower `val_loss` before a stage stops. */
  patience: number;
  /** The 1-based epoch (over both stages) each stage stopped at; absent: the stage ran all its epochs. */
  stoppedAt: { frozen?: number; fineTuning?: number };
}

/** The class weights of the training loss ({@link TrainingRecord.classWeight}). */
export interface ClassWeightRecord {
  /** `"balanced"`: `n / (k · count)` per class (Keras' and scikit-learn's); `"none"`: every class weighs 1. */
  mode: "balanced" | "none";
  /** Whether the mode was chosen by the user or by the default (balanced when largest ≥ 3 × smallest). */
  chosenBy: "user" | "default";
  /** Training images per class, in `classNames`' order. */
  counts: number[];
  /** The weight of each class, in `classNames`' order (all 1 for `"none"`). */
  weights: number[];
  /** Largest class over smallest class. */
  imbalanceRatio: number;
}

/** A weights file of the saved model, as `metadata.json` records it ({@link ClassifierMetadata.weightFiles}). */
export interface WeightFileRecord {
  /** Path relative to the classifier's folder, `/`-separated (`weights.bin`). */
  path: string;
  /** SHA-256 of the file's content, lowercase hex. */
  sha256: string;
}

/** The training histories, as `fit` returned them (Keras' `History`: `epoch`, `history`, `params`). */
export interface HistoriesRecord {
  /** Stage 1, the base frozen. */
  frozen: History;
  /** Stage 2, fine-tuning; absent when the classifier was not fine-tuned. */
  fineTuning?: History;
}

/** A stage's validation results at its last epoch; `null` when the stage had no validation data. */
export interface StageMetrics {
  /** Validation loss (cross-entropy). */
  val_loss: number | null;
  /** Validation accuracy, 0..1. */
  val_accuracy: number | null;
}

/** How well the classifier does on its validation images. */
export interface MetricsRecord {
  /** At the end of stage 1; present with the histories. */
  frozen?: StageMetrics;
  /** At the end of stage 2; present when it was fine-tuned. */
  fineTuning?: StageMetrics;
  /**
   * The saved model's: at the kept epoch ({@link TrainingRecord.kept}) when recorded, else at the end of
   * the last stage; present with the histories.
   */
  final?: StageMetrics;
  /** Image counts, rows the actual class, columns the predicted one, in `classNames`' order; present with the interpretation. */
  confusionMatrix?: number[][];
  /** Precision, recall and support per class; present with the interpretation. */
  perClass?: ClassMetrics[];
  /** The off-diagonal cells of the confusion matrix, most frequent first; present with the interpretation. */
  mostConfused?: ConfusedPair[];
  /**
   * On the data folder's `test/` images, evaluated once after training: images used neither to train nor to
   * choose the kept epoch, so the estimate to quote. Present when the folder has `test/` (files written
   * before it was recorded have none).
   */
  test?: TestMetrics;
}

/** How well the classifier does on a test set ({@link MetricsRecord.test}). */
export interface TestMetrics {
  /** Share of the images classified right, 0..1. */
  accuracy: number;
  /** Mean cross-entropy. */
  loss: number;
  /** The mean of the per-class recalls (classes without test images left out), 0..1. */
  balancedAccuracy: number;
  /** Test images. */
  count: number;
}

/**
 * {@link TestMetrics} from a test set's confusion matrix (rows: actual class, columns: predicted) and mean
 * loss.
 *
 * @example
 * ```ts
 * import { testMetricsOf } from "./mod.ts";
 * import assert from "node:assert";
 *
 * // 8 of class 0 (6 right), 2 of class 1 (both right), none of class 2.
 * const m = testMetricsOf({ confusionMatrix: [[6, 2, 0], [0, 2, 0], [0, 0, 0]], loss: 0.5 });
 * assert.deepEqual(m, { accuracy: 0.8, loss: 0.5, balancedAccuracy: 0.875, count: 10 });
 * ```
 */
export function testMetricsOf(t: { confusionMatrix: number[][]; loss: number }): TestMetrics {
  const rows = t.confusionMatrix.map((row) => row.reduce((a, b) => a + b, 0));
  const count = rows.reduce((a, b) => a + b, 0);
  const right = t.confusionMatrix.reduce((sum, row, i) => sum + row[i], 0);
  const recalls = t.confusionMatrix.flatMap((row, i) => rows[i] ? [row[i] / rows[i]] : []);
  return {
    accuracy: count ? right / count : NaN,
    loss: t.loss,
    balancedAccuracy: recalls.reduce((a, b) => a + b, 0) / recalls.length,
    count,
  };
}

/**
 * `metadata.json`, a saved classifier's contract: what a reader needs to use the model (the required
 * fields, checked by {@link readMetadata}) and the record of its training (optional: present in what
 * `deno task train` and the notebooks save, absent from a classifier saved without it).
 */
export interface ClassifierMetadata {
  /** Always {@link METADATA_FORMAT}. */
  format: typeof METADATA_FORMAT;
  /** The schema's version: {@link METADATA_VERSION} when written; one of {@link SUPPORTED_METADATA_VERSIONS} to be read. */
  formatVersion: number;
  /** Class names in label order: logit `i` is `classNames[i]`; with one logit, its sigmoid is P(`classNames[1]`). At least 2. */
  classNames: string[];
  /** `classNames.length`. */
  numClasses: number;
  /** `[height, width]` of the model's input, in pixels: every image is resized to it. */
  imageSize: [number, number];
  /** Colour channels of the input: always 3 (RGB). */
  channels: 3;
  /** MobileNetV2's width multiplier the base was built with (0.35 … 1.4; 1.0 the tutorial's). */
  alpha: number;
  /** One logit (two classes): sigmoid = P(`classNames[1]`); else softmax over one logit per class. */
  output: "sigmoid" | "softmax";
  /** How images are decoded and resized before the model: {@link PREPROCESSING}, but for `orientation`. */
  preprocessing: Preprocessing;
  /**
   * The weights this metadata belongs to: each weights file of the model beside it, with its SHA-256.
   * `loadClassifier` refuses a folder whose weights differ (a `metadata.json` copied from another model).
   * Present in files written by `saveClassifier` since it was added; absent in older ones (not checked).
   */
  weightFiles?: WeightFileRecord[];
  /** When it was saved: ISO 8601, UTC; present in files written by `saveClassifier`. */
  created?: string;
  /** The software that saved it; present in files written by `saveClassifier`. */
  versions?: SoftwareVersions;
  /** Free text on where the classifier comes from (e.g. a generated fixture); present when given. */
  note?: string;
  /** The data it was trained on; present when saved with its data folder. */
  data?: DataRecord;
  /** The training settings and stage times; present when saved with them. */
  training?: TrainingRecord;
  /** Both stages' histories; present when saved with them. */
  histories?: HistoriesRecord;
  /** Validation results; present when saved with the histories or the interpretation. */
  metrics?: MetricsRecord;
}

/**
 * The output kind for a head of `units` logits: one logit is a sigmoid, more a softmax.
 *
 * @example
 * ```ts
 * import { outputKind } from "./mod.ts";
 * import assert from "node:assert";
 *
 * assert.equal(outputKind(1), "sigmoid");
 * assert.equal(outputKind(5), "softmax");
 * ```
 */
export function outputKind(units: number): "sigmoid" | "softmax" {
  return units === 1 ? "sigmoid" : "softmax";
}

/** What to do about a `formatVersion` this version cannot read. */
function versionAdvice(version: unknown): string {
  const newest = Math.max(...SUPPORTED_METADATA_VERSIONS);
  return typeof version === "number" && version > newest
    ? "the classifier was saved by a newer version of this project: update the project, or train it again " +
      "with this one (`deno task train`)"
    : "train the classifier again (`deno task train`, or save it again from the notebook)";
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

/** The version check: the first thing read, as the rest of the file's meaning depends on it. */
function checkVersion(meta: Record<string, unknown>, fail: (what: string) => never) {
  if (meta.format !== METADATA_FORMAT) {
    fail(`format must be "${METADATA_FORMAT}", got ${JSON.stringify(meta.format)}`);
  }
  const version = meta.formatVersion;
  if (!SUPPORTED_METADATA_VERSIONS.includes(version as number)) {
    fail(
      `formatVersion ${JSON.stringify(version)} is not supported: this version of the project reads ` +
        `formatVersion ${SUPPORTED_METADATA_VERSIONS.join(", ")}; ${versionAdvice(version)}`,
    );
  }
}

/** What predicting needs: classes, input size and output kind, agreeing with each other. */
function checkUsage(meta: Record<string, unknown>, fail: (what: string) => never) {
  const names = meta.classNames;
  if (!Array.isArray(names) || names.length < 2 || names.some((c) => typeof c !== "string")) {
    fail(`classNames must be a list of at least 2 names, got ${JSON.stringify(names)}`);
  }
  if (meta.numClasses !== names.length) {
    fail(`numClasses ${meta.numClasses} differs from the ${names.length} classNames`);
  }
  const size = meta.imageSize;
  if (!Array.isArray(size) || size.length !== 2 || size.some((d) => !(Number.isInteger(d) && d > 0))) {
    fail(`imageSize must be [height, width] in pixels, got ${JSON.stringify(size)}`);
  }
  if (meta.channels !== 3) fail(`channels must be 3 (RGB), got ${JSON.stringify(meta.channels)}`);
  if (typeof meta.alpha !== "number" || !(meta.alpha > 0)) {
    fail(`alpha must be a positive width multiplier, got ${JSON.stringify(meta.alpha)}`);
  }
  if (meta.output !== outputKind(logitsFor(names.length))) {
    fail(`output ${JSON.stringify(meta.output)} does not fit ${names.length} classes`);
  }
}

/** The decoding must be the one this project does: another would silently give wrong predictions. */
function checkPreprocessing(meta: Record<string, unknown>, fail: (what: string) => never) {
  const p = meta.preprocessing;
  const { rescale: _, orientation: __, ...fixed } = PREPROCESSING;
  const same = isObject(p) && isObject(p.rescale) && typeof p.rescale.scale === "number" &&
    typeof p.rescale.offset === "number" &&
    Object.entries(fixed).every(([k, v]) => JSON.stringify(p[k]) === JSON.stringify(v));
  if (!same) {
    fail(
      `preprocessing must be ${JSON.stringify(PREPROCESSING)} (the decoding this project does), got ${
        JSON.stringify(p)
      }`,
    );
  }
  const orientation = (p as Record<string, unknown>).orientation;
  if (orientation !== undefined && !ORIENTATION_MODES.includes(orientation as OrientationMode)) {
    fail(`preprocessing.orientation must be "exif" or "ignore", got ${JSON.stringify(orientation)}`);
  }
  for (const key of ["versions", "data", "training", "histories", "metrics"]) {
    if (meta[key] !== undefined && !isObject(meta[key])) {
      fail(`${key} must be an object when present, got ${JSON.stringify(meta[key])}`);
    }
  }
}

/** `weightFiles`, when present: files inside the folder, each with a SHA-256. */
function checkWeightFiles(meta: Record<string, unknown>, fail: (what: string) => never) {
  const files = meta.weightFiles;
  if (files === undefined) return;
  const ok = Array.isArray(files) && files.length > 0 &&
    files.every((f) =>
      isObject(f) && isInsidePath(f.path as string) && typeof f.sha256 === "string" &&
      /^[0-9a-f]{64}$/.test(f.sha256)
    );
  if (!ok) {
    fail(
      `weightFiles must list the weights files (path inside the folder, sha256 in hex), got ${
        JSON.stringify(files)?.slice(0, 120)
      }`,
    );
  }
}

/**
 * Checks parsed `metadata.json` content: format and version first (an unknown version is an error saying
 * which versions are read and what to do), then what a reader relies on. `file` names the file in errors.
 *
 * @example
 * ```ts
 * import { METADATA_FORMAT, parseMetadata, PREPROCESSING } from "./mod.ts";
 * import assert from "node:assert";
 *
 * const text = JSON.stringify({
 *   format: METADATA_FORMAT, formatVersion: 1, classNames: ["cats", "dogs"], numClasses: 2,
 *   imageSize: [160, 160], channels: 3, alpha: 1, output: "sigmoid", preprocessing: PREPROCESSING,
 * });
 * assert.deepEqual(parseMetadata(text, "metadata.json").classNames, ["cats", "dogs"]);
 * assert.throws(
 *   () => parseMetadata(text.replace('"formatVersion":1', '"formatVersion":9'), "m/metadata.json"),
 *   /m\/metadata.json: formatVersion 9 is not supported/,
 * );
 * ```
 */
export function parseMetadata(text: string, file: string): ClassifierMetadata {
  let meta: unknown;
  try {
    meta = JSON.parse(text);
  } catch (e) {
    throw new Error(`${file}: not valid JSON (${(e as Error).message})`, { cause: e });
  }
  const fail = (what: string): never => {
    throw new Error(`${file}: ${what}`);
  };
  if (!isObject(meta)) fail(`expected a JSON object, got ${JSON.stringify(meta)?.slice(0, 40)}`);
  const record = meta as Record<string, unknown>;
  checkVersion(record, fail);
  checkUsage(record, fail);
  checkPreprocessing(record, fail);
  checkWeightFiles(record, fail);
  return record as unknown as ClassifierMetadata;
}

/** Reads and checks `dir/metadata.json` ({@link parseMetadata}); a missing file is an error naming it. */
export function readMetadata(dir: string): ClassifierMetadata {
  const file = path.join(path.resolve(dir), METADATA_FILE);
  if (!fs.existsSync(file)) {
    const interrupted = interruptedSaveHint(path.dirname(file));
    throw new Error(
      interrupted
        ? `${path.dirname(file)} does not exist: ${interrupted}`
        : `${file} does not exist: expected a classifier folder written by \`deno task train\``,
    );
  }
  return parseMetadata(fs.readFileSync(file, "utf8"), file);
}

/**
 * The file's text for `metadata`, checked as {@link readMetadata} will check it, so that a save never
 * writes what cannot be read back. Non-finite numbers are written as `null`.
 */
export function metadataJson(metadata: ClassifierMetadata): string {
  const text = JSON.stringify(metadata, null, 1);
  parseMetadata(text, `${METADATA_FILE} to write`);
  return text;
}

/**
 * Writes `dir/metadata.json` on its own, atomically (a temporary file renamed when complete). A classifier
 * saved with its model (`saveClassifier`) gets it within the folder's one atomic save instead.
 */
export async function writeMetadata(dir: string, metadata: ClassifierMetadata): Promise<void> {
  await writeFileAtomic(path.join(path.resolve(dir), METADATA_FILE), metadataJson(metadata));
}
