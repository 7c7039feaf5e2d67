/**
 * What the command-line tasks (`deno task train`, `predict`, `serve`, `export`; `tools/cli/`) and the
 * own-images notebook are made of — the top layer, built on `lib/train/`, `lib/model/`, `lib/analysis/`
 * and below:
 *
 * - **Training a folder** (`train_folder.ts`): {@link trainFolder} runs the tutorial's two stages on a
 *   folder of class folders and saves the result. Its data comes from `data_folder.ts`
 *   ({@link resolveDataFolder}: a folder or a zip archive; {@link loadFolderDatasets}; {@link folderFingerprint}),
 *   its defaults from {@link FOLDER_DEFAULTS}.
 * - **The saved classifier**: a folder holding the model, `metadata.json` and `report.html`.
 *   `metadata.ts` owns the file's schema ({@link ClassifierMetadata}) and is the only place that writes
 *   ({@link writeMetadata}, {@link metadataJson}) and reads it ({@link readMetadata}), checking its version;
 *   {@link saveClassifier} (`save_classifier.ts`) saves a trained model in one call, with the report
 *   (`report.ts`, {@link buildReport}); `saved_classifier.ts` finds ({@link resolveModelDir}) and loads
 *   ({@link loadClassifier}) one.
 * - **Using it**: {@link predictFiles} classifies image files (`deno task predict`); {@link buildSite} makes
 *   the web page's fixed set of files (`site.ts`, the page itself in `web/`), which {@link serveSite}
 *   serves and {@link writeSite} writes as a folder.
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
  outputKind,
  parseMetadata,
  PREPROCESSING,
  readMetadata,
  SUPPORTED_METADATA_VERSIONS,
  writeMetadata,
} from "./metadata.ts";
export type {
  ClassifierMetadata,
  DataRecord,
  HistoriesRecord,
  MetricsRecord,
  Preprocessing,
  SoftwareVersions,
  StageMetrics,
  StageTime,
  TrainingRecord,
} from "./metadata.ts";
export { classifierMetadata, saveClassifier } from "./save_classifier.ts";
export type { MetadataInput, SaveClassifierOptions, TrainingData } from "./save_classifier.ts";
export { buildReport, escapeHtml } from "./report.ts";
export type { ReportInput } from "./report.ts";
export { listModels, loadClassifier, MODELS_DIR, resolveModelDir } from "./saved_classifier.ts";
export type { ModelArgument, SavedClassifier } from "./saved_classifier.ts";
export { expandInputs, predictFiles } from "./predict_files.ts";
export type { ClassProbability, FilePrediction, PredictFilesOptions } from "./predict_files.ts";
export {
  buildSite,
  CONTENT_TYPES,
  latestModelDir,
  readEntry,
  staticEntries,
  WEB_DIR,
  writeSite,
} from "./site.ts";
export type { BuildSiteOptions, PageMetadata, Site, SiteEntry } from "./site.ts";
export { rawPath, SECURITY_HEADERS, serveSite, siteHandler } from "./serve.ts";
export type { ServeOptions } from "./serve.ts";
export { trainFolder } from "./train_folder.ts";
export type { TrainFolderOptions, TrainFolderResult } from "./train_folder.ts";
// The types of the folders below that this folder's API takes or returns (and those they refer to), so
// that callers — and `deno doc --lint` on this file alone — can name them from here.
export type { LayersModel, Tensor3D } from "../runtime/mod.ts";
export type { CacheInfo, CacheMode, ImageBatch, ImageDataset } from "../data/mod.ts";
export type { History, ProgressSink } from "../train/mod.ts";
export type { ClassMetrics, ConfusedPair, Interpretation, TopLoss, TopLossTile } from "../analysis/mod.ts";
