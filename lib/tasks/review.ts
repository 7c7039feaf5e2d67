/**
 * Photos to fix in the data a saved classifier was trained on (`deno task review`): every image of the
 * training and validation parts (and `test/` when there is one) embedded once by the classifier
 * (`embedDataset`), likely mislabels and near-duplicates found (`lib/analysis/review.ts`), written as a
 * {@link ReviewReport} (JSON, `review_report.ts`) and as a shell script of `mv`/`rm` lines the user edits and runs
 * ({@link reviewScript}). Nothing is moved here.
 *
 * @module
 */
import fs from "node:fs";
import path from "node:path";
import { writeFileAtomic } from "../io/mod.ts";
import { imageDatasetFromDirectory } from "../data/mod.ts";
import type { ImageDataset, OrientationMode } from "../data/mod.ts";
import type { LayersModel } from "../runtime/mod.ts";
import {
  dataMapSpec,
  embedDataset,
  likelyMislabels,
  nearDuplicates,
  projectMap,
  renderSvg,
  REVIEW_DEFAULTS,
} from "../analysis/mod.ts";
import type { DataPart, Embeddings, MapMethod, MapPoint } from "../analysis/mod.ts";
import { folderFingerprint, resolveDataFolder } from "./data_folder.ts";
import type { DataFolder } from "./data_folder.ts";
import { orientationOf } from "./metadata.ts";
import type { ClassifierMetadata, DataRecord } from "./metadata.ts";
import type { SavedClassifier } from "./saved_classifier.ts";
import { reviewScript } from "./review_script.ts";
import { REVIEW_FORMAT } from "./review_report.ts";
import type { ReviewedImage, ReviewReport } from "./review_report.ts";

/** Options of {@link reviewClassifier}. */
export interface ReviewOptions {
  /** The data folder or archive (default: the one in `metadata.json`, `data.folder` then `data.source`). */
  data?: string;
  /** See `REVIEW_DEFAULTS`. */
  minConfidence?: number;
  /** See `REVIEW_DEFAULTS`. */
  minSimilarity?: number;
  /** Images per batch (default 32). */
  batchSize?: number;
  /** The map's projection (default `"umap"`, PCA below `UMAP_MIN_POINTS` images; `projectMap`). */
  mapMethod?: MapMethod;
  /** Progress messages (default: none). */
  log?: (message: string) => void;
}

/** The data argument of a review: the option, else the recorded folder, else the recorded source. */
function dataArgument(metadata: ClassifierMetadata, data?: string): string {
  if (data !== undefined) return data;
  const record = metadata.data;
  if (!record) {
    throw new Error("metadata.json records no data folder (trained in a notebook?): give --data FOLDER");
  }
  return fs.existsSync(record.folder) ? record.folder : record.source;
}

/** The parts of `folder`: each part's folder, and for a split folder the validation files. */
function partsOf(folder: DataFolder): { part: DataPart; dir: string }[] {
  const parts: { part: DataPart; dir: string }[] = [{ part: "train", dir: folder.trainDir }];
  if (folder.validationDir) parts.push({ part: "validation", dir: folder.validationDir });
  if (folder.testDir) parts.push({ part: "test", dir: folder.testDir });
  return parts;
}

/** How the images of a review are read: as the model was trained on them. */
export interface ReviewReading {
  /** The model's input size, `[height, width]`. */
  imageSize: [number, number];
  /** Class names in label order (the class folders). */
  classNames: string[];
  /** EXIF orientation as in training. */
  orientation: OrientationMode;
  /** Training's split (`metadata.data.split`): a seeded split finds the validation files again. */
  split?: DataRecord["split"];
}

/** The reading of a saved classifier's data, from its metadata. */
export function readingOf(metadata: ClassifierMetadata): ReviewReading {
  return {
    imageSize: metadata.imageSize,
    classNames: metadata.classNames,
    orientation: orientationOf(metadata),
    ...(metadata.data?.split ? { split: metadata.data.split } : {}),
  };
}

/**
 * Loads the images of `dir`, unshuffled, decoded as the model was trained, for one pass: no decoded-image
 * cache. The caller disposes it.
 */
export function partDataset(dir: string, reading: ReviewReading, batchSize: number): Promise<ImageDataset> {
  return imageDatasetFromDirectory(dir, {
    imageSize: reading.imageSize,
    orientation: reading.orientation,
    formats: "decodable",
    classNames: reading.classNames,
    shuffle: false,
    batchSize,
    verbose: false,
    cache: false,
  });
}

/** For a folder split by `validationSplit`: the files training held out, as training chose them. */
async function heldOutFiles(folder: DataFolder, reading: ReviewReading): Promise<Set<string>> {
  const split = reading.split;
  if (!split || !("validationSplit" in split)) return new Set();
  const [, validation] = await imageDatasetFromDirectory(folder.trainDir, {
    imageSize: reading.imageSize,
    formats: "decodable",
    classNames: reading.classNames,
    validationSplit: split.validationSplit,
    seed: split.seed,
    subset: "both",
    verbose: false,
    cache: false,
  });
  const files = new Set(validation.filePaths);
  validation.dispose(); // only its file list is needed
  return files;
}

/** Every image of the data embedded, with its file and part. */
async function embedParts(
  model: LayersModel,
  folder: DataFolder,
  reading: ReviewReading,
  options: ReviewOptions,
) {
  const heldOut = await heldOutFiles(folder, reading);
  const images: ReviewedImage[] = [];
  const chunks: Embeddings[] = [];
  for (const { part, dir } of partsOf(folder)) {
    const dataset = await partDataset(dir, reading, options.batchSize ?? 32);
    options.log?.(`review: embedding ${dataset.filePaths.length} ${part} images in ${dir}`);
    let e: Embeddings;
    try {
      e = await embedDataset(model, dataset);
    } finally {
      dataset.dispose();
    }
    dataset.filePaths.forEach((file, i) => {
      images.push({
        file: path.relative(folder.root, file).split(path.sep).join("/"),
        part: heldOut.has(file) ? "validation" : part,
        label: reading.classNames[e.labels[i]],
      });
    });
    chunks.push(e);
  }
  return { images, embeddings: joinEmbeddings(chunks) };
}

function joinEmbeddings(chunks: Embeddings[]): Embeddings {
  const join = <T extends Float32Array | Int32Array>(arrays: T[], make: (n: number) => T): T => {
    const out = make(arrays.reduce((n, a) => n + a.length, 0));
    let at = 0;
    for (const a of arrays) {
      out.set(a, at);
      at += a.length;
    }
    return out;
  };
  return {
    count: chunks.reduce((n, c) => n + c.count, 0),
    dim: chunks[0].dim,
    numClasses: chunks[0].numClasses,
    features: join(chunks.map((c) => c.features), (n) => new Float32Array(n)),
    probabilities: join(chunks.map((c) => c.probabilities), (n) => new Float32Array(n)),
    labels: join(chunks.map((c) => c.labels), (n) => new Int32Array(n)),
  };
}

/** What a review finds in a data folder: {@link ReviewReport} without the model and the fingerprint check. */
export type ReviewFindings = Pick<
  ReviewReport,
  "root" | "thresholds" | "images" | "mislabels" | "duplicates" | "map" | "mapMethod"
>;

/**
 * Likely mislabels, near-duplicates and the map of the data in `folder`, every image embedded once by
 * `model` (one forward per batch). Used by {@link reviewClassifier} and by `trainFolder` for the report.
 */
export async function reviewFolder(
  model: LayersModel,
  folder: DataFolder,
  reading: ReviewReading,
  options: ReviewOptions = {},
): Promise<ReviewFindings> {
  const thresholds = {
    minConfidence: options.minConfidence ?? REVIEW_DEFAULTS.minConfidence,
    minSimilarity: options.minSimilarity ?? REVIEW_DEFAULTS.minSimilarity,
  };
  const { images, embeddings } = await embedParts(model, folder, reading, options);
  const name = (c: number) => reading.classNames[c];
  const mislabels = likelyMislabels(embeddings, thresholds).map((m) => ({
    ...images[m.index],
    predicted: name(m.predicted),
    probability: m.probability,
    loss: m.loss,
  }));
  const parts = images.map((i) => i.part);
  const duplicates = nearDuplicates(embeddings, { ...thresholds, parts }).map((d) => ({
    kind: d.kind,
    similarity: d.similarity,
    a: images[d.a],
    b: images[d.b],
  }));
  const { map, method: mapMethod } = validationMap(embeddings, images, reading.classNames, options.mapMethod);
  const counts: Partial<Record<DataPart, number>> = {};
  for (const p of parts) counts[p] = (counts[p] ?? 0) + 1;
  return { root: folder.root, thresholds, images: counts, mislabels, duplicates, map, mapMethod };
}

/**
 * Reviews the data `saved` (loaded from `modelDir`) was trained on: likely mislabels and near-duplicates
 * with the given thresholds. Reads the images; writes nothing.
 */
export async function reviewClassifier(
  saved: SavedClassifier,
  modelDir: string,
  options: ReviewOptions = {},
): Promise<ReviewReport> {
  const { metadata } = saved;
  let folder: DataFolder;
  try {
    folder = await resolveDataFolder(dataArgument(metadata, options.data));
  } catch (e) {
    if (options.data !== undefined || !metadata.data) throw e;
    throw new Error(`${(e as Error).message} — the data recorded in metadata.json; give --data FOLDER`);
  }
  const recorded = metadata.data?.fingerprint;
  const sameDataAsTraining = recorded === undefined ||
    recorded === `sha256:${folderFingerprint(folder.root).sha256}`;
  const findings = await reviewFolder(saved.model, folder, readingOf(metadata), options);
  return {
    format: REVIEW_FORMAT,
    formatVersion: 1,
    model: path.resolve(modelDir),
    root: findings.root,
    sameDataAsTraining,
    thresholds: findings.thresholds,
    images: findings.images,
    mislabels: findings.mislabels,
    duplicates: findings.duplicates,
    map: findings.map,
    mapMethod: findings.mapMethod,
  };
}

/** The validation images (all images when there are none) on the map of their embeddings. */
function validationMap(e: Embeddings, images: ReviewedImage[], classNames: string[], method?: MapMethod) {
  let rows = images.flatMap((image, i) => image.part === "validation" ? [i] : []);
  if (rows.length === 0) rows = images.map((_, i) => i);
  const features = new Float32Array(rows.length * e.dim);
  rows.forEach((r, j) => features.set(e.features.subarray(r * e.dim, (r + 1) * e.dim), j * e.dim));
  const { xy, method: used } = projectMap(features, rows.length, e.dim, method ? { method } : {});
  const map: MapPoint[] = rows.map((r, j) => {
    const p = Array.from(e.probabilities.subarray(r * e.numClasses, (r + 1) * e.numClasses));
    const predicted = classNames[p.indexOf(Math.max(...p))];
    return { x: xy[2 * j], y: xy[2 * j + 1], label: images[r].label, predicted, name: images[r].file };
  });
  return { map, method: used };
}

/**
 * Writes `report` as JSON to `files.json`, as a shell script to `files.script` and, with `files.map`, its
 * map of the data as an SVG (each to a temporary name, renamed when complete).
 */
export async function writeReview(
  report: ReviewReport,
  files: { json: string; script: string; map?: string },
): Promise<void> {
  await writeFileAtomic(files.json, JSON.stringify(report, null, 2) + "\n");
  await writeFileAtomic(files.script, reviewScript(report));
  if (files.map !== undefined) {
    await writeFileAtomic(files.map, await renderSvg(dataMapSpec(report.map, { method: report.mapMethod })));
  }
}
