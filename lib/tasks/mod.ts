/**
 * What the command-line tasks (`deno task train`, `predict`, `serve`, `export`; `tools/cli/`) and the
 * own-images notebook are made of — the top layer, built on `lib/train/`, `lib/model/`, `lib/analysis/`
 * and below:
 *
 * - **Training a folder** (`train_folder.ts`): {@link trainFolder} runs the tutorial's two stages
 *   (`train_stages.ts`: each stage's `fit` with its callbacks, resumed where a checkpoint stopped) on a
 *   folder of class folders and saves the result: by default the epoch with the lowest validation loss
 *   ({@link BestEpochKeeper}, `kept_epoch.ts`), with balanced class weights when the classes are
 *   imbalanced (`class_balance.ts`). Its data comes from `data_folder.ts`
 *   ({@link resolveDataFolder}: a folder or a zip archive; {@link loadFolderDatasets}; {@link folderFingerprint}),
 *   its defaults from {@link FOLDER_DEFAULTS}.
 *   Each epoch ends with a checkpoint in `<out>.checkpoint/` (`train_resume.ts`, {@link RunCheckpoint});
 *   `resume: true` continues from it, as if the run had not stopped.
 * - **The saved classifier**: a folder holding the model, `metadata.json` and `report.html`.
 *   `metadata.ts` owns the file's schema ({@link ClassifierMetadata}) and is the only place that writes
 *   ({@link writeMetadata}, {@link metadataJson}) and reads it ({@link readMetadata}), checking its version;
 *   {@link saveClassifier} (`save_classifier.ts`) saves a trained model in one call, with the report
 *   (`report.ts`, {@link buildReport}); `saved_classifier.ts` finds ({@link resolveModelDir}) and loads
 *   ({@link loadClassifier}) one.
 * - **Using it**: {@link predictFiles} classifies image files (`deno task predict`); {@link reviewClassifier}
 *   lists photos to fix in its data (`review.ts`, `review_report.ts`, `review_script.ts`; `deno task review`); {@link buildSite} makes
 *   the web page's fixed set of files (`site.ts`, the page itself in `web/`), which {@link serveSite}
 *   serves and {@link writeSite} writes as a folder.
 * - **Elsewhere**: {@link exportOnnxFile} (`onnx_export_file.ts`) writes it as one ONNX file, checked in ONNX
 *   Runtime (`deno task export -- --format onnx`).
 *
 * Not here: the command-line conventions (`lib/cli/`), the command lines themselves and reading the `TL_*` settings (`tools/cli/`, which pass them on
 * as options), the training loop (`lib/train/`), the model (`lib/model/`).
 *
 * @example Save a classifier in one call and read its metadata back
 * ```ts
 * import { loadClassifier, readMetadata, saveClassifier } from "./mod.ts";
 * import { tf } from "../runtime/mod.ts";
 * import type { SymbolicTensor } from "../runtime/mod.ts";
 * import assert from "node:assert";
 *
 * // A stand-in for a trained classifier: 8×8 RGB images in, one logit (two classes) out.
 * const input = tf.input({ shape: [8, 8, 3] });
 * const pooled = tf.layers.globalAveragePooling2d({}).apply(input) as SymbolicTensor;
 * const logit = tf.layers.dense({ units: 1 }).apply(pooled) as SymbolicTensor;
 * const model = tf.model({ inputs: input, outputs: logit });
 *
 * const dir = await Deno.makeTempDir();
 * await saveClassifier(model, dir, { classNames: ["cats", "dogs"], alpha: 1.0 });
 * const metadata = readMetadata(dir);
 * assert.deepEqual([metadata.output, metadata.imageSize], ["sigmoid", [8, 8]]);
 *
 * const saved = await loadClassifier(dir);
 * assert.equal(saved.metadata.numClasses, 2);
 * saved.model.dispose();
 * model.dispose();
 * await Deno.remove(dir, { recursive: true });
 * ```
 *
 * @example Train on a folder of class folders (minutes: not run here)
 * ```ts ignore
 * import { trainFolder } from "./mod.ts";
 *
 * const { outDir, metadata, model } = await trainFolder({ data: "photos/", epochs: 5, alpha: 0.35 });
 * console.log(outDir, metadata.metrics?.final?.val_accuracy);
 * model.optimizer.dispose();
 * model.dispose();
 * ```
 *
 * @module
 */
export { FOLDER_DEFAULTS } from "./folder_defaults.ts";
export { folderFingerprint, loadFolderDatasets, resolveDataFolder } from "./data_folder.ts";
export type {
  DataFolder,
  FolderDatasetOptions,
  FolderDatasets,
  FolderFingerprint,
  ResolveDataFolderOptions,
} from "./data_folder.ts";
export {
  METADATA_FILE,
  METADATA_FORMAT,
  METADATA_VERSION,
  metadataJson,
  orientationOf,
  outputKind,
  parseMetadata,
  PREPROCESSING,
  readMetadata,
  SUPPORTED_METADATA_VERSIONS,
  testMetricsOf,
  writeMetadata,
} from "./metadata.ts";
export type {
  ClassifierMetadata,
  ClassWeightRecord,
  DataRecord,
  EarlyStoppingRecord,
  HistoriesRecord,
  KeptEpochRecord,
  MetricsRecord,
  Preprocessing,
  SoftwareVersions,
  StageMetrics,
  StageTime,
  TestMetrics,
  TrainingRecord,
  WeightFileRecord,
} from "./metadata.ts";
export {
  checkClassifierOutput,
  classifierMetadata,
  isEarlierClassifierFolder,
  saveClassifier,
} from "./save_classifier.ts";
export type { MetadataInput, SaveClassifierOptions, TrainingData } from "./save_classifier.ts";
export {
  buildReport,
  escapeHtml,
  MAP_THUMBNAILS,
  mapThumbnailPicks,
  usageCode,
  withThumbnails,
} from "./report.ts";
export type { MapThumbnailOptions, ReportInput, TestSetResult } from "./report.ts";
export { listModels, loadClassifier, MODELS_DIR, resolveModelDir } from "./saved_classifier.ts";
export type { ModelArgument, SavedClassifier } from "./saved_classifier.ts";
export {
  checkExplanationFolder,
  expandInputs,
  explanationNames,
  predictFiles,
  writeExplanationFolder,
} from "./predict_files.ts";
export type {
  ClassProbability,
  ExpandedInputs,
  ExplanationFolderOptions,
  FilePrediction,
  PredictFilesOptions,
} from "./predict_files.ts";
export { readingOf, reviewClassifier, reviewFolder, writeReview } from "./review.ts";
export type { ReviewFindings, ReviewOptions, ReviewReading } from "./review.ts";
export { REVIEW_FORMAT } from "./review_report.ts";
export type { ReviewDuplicate, ReviewedImage, ReviewMislabel, ReviewReport } from "./review_report.ts";
export { reviewScript, SAME_PHOTO_SIMILARITY, shellQuote } from "./review_script.ts";
export {
  buildSite,
  checkSiteOutput,
  CONTENT_TYPES,
  isEarlierExport,
  latestModelDir,
  readEntry,
  staticEntries,
  WEB_DIR,
  writeSite,
} from "./site.ts";
export type { BuildSiteOptions, PageMetadata, Site, SiteEntry, WriteSiteOptions } from "./site.ts";
export { rawPath, SECURITY_HEADERS, serveSite, siteHandler } from "./serve.ts";
export type { ServeOptions } from "./serve.ts";
export { exportOnnxFile } from "./onnx_export_file.ts";
export type { OnnxExportFileOptions, OnnxExportFileResult } from "./onnx_export_file.ts";
export { findFolderLearningRate, keptEpochLine, trainFolder } from "./train_folder.ts";
export type { FolderLrFindResult, TrainFolderOptions, TrainFolderResult } from "./train_folder.ts";
export { BestEpochKeeper, keptEpochRecord } from "./kept_epoch.ts";
export type { KeepEpoch, KeptEpochInput } from "./kept_epoch.ts";
export {
  CHECKPOINT_DIR_MARKER,
  checkpointDirOf,
  EpochCheckpointer,
  ResumeRefused,
  RunCheckpoint,
  runFingerprint,
  TrainInterrupted,
} from "./train_resume.ts";
export type {
  CheckpointDirMarker,
  FingerprintInput,
  ResumePoint,
  StageCheckpointing,
  TrainProgress,
  TrainStage,
} from "./train_resume.ts";
export { classCounts, classWeighting, IMBALANCE_RATIO, imbalanceWarning } from "./class_balance.ts";
export type { ClassWeightMode } from "./class_balance.ts";
// The types of the folders below that this folder's API takes or returns (and those they refer to), so
// that callers — and `deno doc --lint` on this file alone — can name them from here.
export type { LayersModel, Logs, Tensor3D } from "../runtime/mod.ts";
export type { OnnxOutputKind } from "../model/mod.ts";
export type { OutputPlan } from "../io/mod.ts";
export type { CacheInfo, CacheMode, ImageBatch, ImageDataset } from "../data/mod.ts";
export type { History, LrFindResult, ProgressSink } from "../train/mod.ts";
export type { ClassMetrics, ConfusedPair, Interpretation, TopLoss, TopLossTile } from "../analysis/mod.ts";
