/**
 * Classifying image files with a saved classifier (`deno task predict`): each file decoded exactly as
 * training decoded it (`loadImage` at the metadata's `imageSize`: TensorFlow's DecodeImage, the photo
 * turned upright by its EXIF Orientation when the model was trained so (`preprocessing.orientation`),
 * half-pixel bilinear resize, no crop), in batches. A file that cannot be read or decoded is reported with
 * the reason and skipped; the others are still classified. With `explain`, each classified file also gets
 * its Grad-CAM overlay (`lib/analysis/`'s `gradCam`: the predicted class's heatmap over the photo as the
 * model saw it), written by the caller into an output folder ({@link writeExplanationFolder}) under the
 * names {@link explanationNames} gives.
 *
 * @module
 */
import fs from "node:fs";
import path from "node:path";
import { tf } from "../runtime/mod.ts";
import type { Tensor3D, Tensor4D } from "../runtime/mod.ts";
import { checkOutputFolder, OutputFolderError, writeOutputFolder } from "../io/mod.ts";
import type { OutputPlan, ReplaceFolderResult } from "../io/mod.ts";
import { gradCam, gradCamPng, heatAt, ttaProbabilities } from "../analysis/mod.ts";
import type { GradCamResult } from "../analysis/mod.ts";
import {
  DECODABLE_FORMATS,
  describeListing,
  emptyNotes,
  folderContents,
  isModelFolder,
  listImages,
  loadImage,
  mergeNotes,
  specialFileKind,
} from "../data/mod.ts";
import { classProbabilities } from "../model/mod.ts";
import { predictOnBatch } from "../train/mod.ts";
import type { SavedClassifier } from "./saved_classifier.ts";
import { orientationOf } from "./metadata.ts";

/** One class and its probability. */
export interface ClassProbability {
  /** The class's name (`metadata.classNames`). */
  className: string;
  /** Its probability, 0..1 (sigmoid or softmax of the model's logits). */
  probability: number;
}

/**
 * The outcome for one file: its classes, most probable first (with `explain`, `explanation`: the PNG bytes
 * of its Grad-CAM overlay for the most probable class), or why it was skipped.
 */
export type FilePrediction =
  | { file: string; ok: true; predictions: ClassProbability[]; explanation?: Uint8Array }
  | { file: string; ok: false; error: string };

/** What {@link expandInputs} found. */
export interface ExpandedInputs {
  /** The image files to classify: the files given, then each folder's images. */
  files: string[];
  /** The inputs that name nothing to classify, each with the reason. */
  missing: { file: string; error: string }[];
  /**
   * What the folders' listings left out, in words, one line each (`describeListing`): files of a format
   * not read, hidden files, special files, links back into the folder, saved models.
   */
  notes: string[];
}

/** Why a file of `stats` (not a folder) cannot be classified, or `null` when it is a regular file. */
function notAFile(stats: fs.Stats): string | null {
  const kind = specialFileKind(stats);
  return kind === null ? null : `${kind}, not an image file: give the path of an image file instead`;
}

/**
 * The files named by `inputs`: a file as is, a folder's image files listed as training lists a folder
 * (`listImages`: recursively, every format TensorFlow decodes here, links followed once and never back
 * into the folder, in Keras' order; hidden files, special files and saved models left out and said in
 * `notes`). A path that does not exist, a special file (a FIFO would make reading wait forever), or a
 * folder without images is returned in `missing` with the reason.
 */
export function expandInputs(inputs: string[]): ExpandedInputs {
  const files: string[] = [];
  const missing: { file: string; error: string }[] = [];
  const notes = emptyNotes();
  for (const input of inputs) {
    let stats;
    try {
      stats = fs.statSync(input);
    } catch {
      missing.push({ file: input, error: "no such file or folder" });
      continue;
    }
    if (!stats.isDirectory()) {
      const error = notAFile(stats);
      if (error === null) files.push(input);
      else missing.push({ file: input, error });
      continue;
    }
    if (isModelFolder(input)) {
      missing.push({ file: input, error: "a saved model's folder, not a folder of images" });
      continue;
    }
    const listing = listImages(input, { followLinks: true, formats: "decodable" });
    mergeNotes(notes, listing.notes);
    if (listing.files.length === 0) {
      const error = `no images (${DECODABLE_FORMATS.join(", ")}) in this folder: ${
        folderContents(listing.notes)
      }`;
      missing.push({ file: input, error });
    }
    files.push(...listing.files);
  }
  return { files, missing, notes: describeListing(notes, { verbose: true }) };
}

/**
 * The bytes of the image file `file`; a special file is an error, never opened (reading a FIFO waits for
 * a writer forever).
 */
async function readImageFile(file: string): Promise<Uint8Array> {
  const error = notAFile(fs.statSync(file));
  if (error !== null) throw new Error(`${file}: ${error}`);
  return await Deno.readFile(file);
}

/** Options of {@link predictFiles}. */
export interface PredictFilesOptions {
  /** Images per batch (default 32). */
  batchSize?: number;
  /** Classes listed per file, most probable first (default all). */
  top?: number;
  /** Also make each file's Grad-CAM overlay (PNG bytes in `explanation`); default false. */
  explain?: boolean;
  /**
   * Test-time augmentation: average the probabilities over the photo, its mirror image and two slightly
   * turned copies (`ttaProbabilities`; four forward passes); default false.
   */
  tta?: boolean;
}

/**
 * Classifies `files` with `saved`, yielding one {@link FilePrediction} per file in order, batch by batch.
 */
export async function* predictFiles(
  saved: SavedClassifier,
  files: string[],
  options: PredictFilesOptions = {},
): AsyncGenerator<FilePrediction> {
  const { model, metadata } = saved;
  const batchSize = options.batchSize ?? 32;
  if (!(Number.isInteger(batchSize) && batchSize >= 1)) {
    throw new Error(`predictFiles: batchSize must be a whole number ≥ 1, got ${batchSize}`);
  }
  const top = Math.min(options.top ?? metadata.numClasses, metadata.numClasses);
  const decoding = { imageSize: metadata.imageSize, orientation: orientationOf(metadata) };
  for (let start = 0; start < files.length; start += batchSize) {
    const chunk = files.slice(start, start + batchSize);
    const images: (Tensor3D | string)[] = [];
    for (const file of chunk) {
      try {
        const bytes = await readImageFile(file);
        images.push(loadImage(bytes, decoding, file));
      } catch (e) {
        const message = e instanceof Error ? e.message : String(e);
        images.push(message.includes(file) ? message : `${file}: ${message}`);
      }
    }
    const decoded = images.filter((x): x is Tensor3D => typeof x !== "string");
    let probabilities: Float32Array = new Float32Array(0);
    let overlays: Uint8Array[] = [];
    if (decoded.length > 0) {
      const p = tf.tidy(() => {
        const batch = tf.stack(decoded) as Tensor4D;
        return options.tta
          ? ttaProbabilities(model, batch)
          : classProbabilities(predictOnBatch(model, batch));
      });
      probabilities = p.dataSync() as Float32Array;
      p.dispose();
      if (options.explain) overlays = await explainBatch(saved, decoded, probabilities);
    }
    tf.dispose(decoded);
    let row = 0;
    for (let i = 0; i < chunk.length; i++) {
      const image = images[i];
      if (typeof image === "string") {
        yield { file: chunk[i], ok: false, error: image };
        continue;
      }
      const k = metadata.numClasses;
      const values = Array.from(probabilities.subarray(row * k, (row + 1) * k));
      row++;
      const predictions = values
        .map((probability, c) => ({ className: metadata.classNames[c], probability }))
        .sort((a, b) => b.probability - a.probability)
        .slice(0, top);
      const explanation = overlays[row - 1];
      yield { file: chunk[i], ok: true, predictions, ...(explanation ? { explanation } : {}) };
    }
  }
}

/**
 * The Grad-CAM overlays (PNG bytes) of `images`, in one batch, each for its most probable class in
 * `probabilities` (row-major): the class the prediction reports.
 */
async function explainBatch(
  saved: SavedClassifier,
  images: Tensor3D[],
  probabilities: Float32Array,
): Promise<Uint8Array[]> {
  const k = saved.metadata.numClasses;
  const classIndex = images.map((_, i) => {
    const row = Array.from(probabilities.subarray(i * k, (i + 1) * k));
    return row.indexOf(Math.max(...row));
  });
  const batch = tf.stack(images) as Tensor4D;
  let cam: GradCamResult;
  try {
    cam = gradCam(saved.model, batch, { classIndex });
  } finally {
    batch.dispose();
  }
  try {
    const pngs: Uint8Array[] = [];
    for (let i = 0; i < images.length; i++) {
      const heat = heatAt(cam.upsampled, i);
      try {
        pngs.push(await gradCamPng(images[i], heat));
      } finally {
        heat.dispose();
      }
    }
    return pngs;
  } finally {
    cam.dispose();
  }
}

/**
 * The overlay file name of each of `files` in an explanation folder: the photo's name with `.png` for its
 * extension (`cat.jpg` → `cat.png`); names that collide — also when they differ only in case — get
 * `-2`, `-3`, … in the order given (`a/cat.jpg`, `b/cat.jpg` → `cat.png`, `cat-2.png`).
 */
export function explanationNames(files: string[]): string[] {
  const taken = new Set<string>();
  return files.map((file) => {
    const stem = path.basename(file, path.extname(file)) || "image";
    let name = `${stem}.png`;
    for (let n = 2; taken.has(name.toLowerCase()); n++) name = `${stem}-${n}.png`;
    taken.add(name.toLowerCase());
    return name;
  });
}

/** What an explanation folder's manifest says it holds (a folder of another kind is not replaced). */
const EXPLANATIONS_KIND = "grad-cam-overlays";

/** Options of {@link checkExplanationFolder} and {@link writeExplanationFolder}. */
export interface ExplanationFolderOptions {
  /** Move content the project did not write aside to `<dir>.old-<time>` instead of refusing. */
  force?: boolean;
  /** The folders being classified: the explanations go neither inside them nor around them. */
  inputs?: string[];
}

function folderOptions(options: ExplanationFolderOptions) {
  const separateFrom = (options.inputs ?? [])
    .filter((p) => fs.statSync(p, { throwIfNoEntry: false })?.isDirectory())
    .map((p) => ({ path: p, what: "a folder being classified" }));
  return { kind: EXPLANATIONS_KIND, force: options.force ?? false, separateFrom };
}

/** `--explain`'s wording in the output-folder messages, which speak of `--out`. */
function asExplainError(e: unknown): unknown {
  if (!(e instanceof OutputFolderError)) return e;
  return new OutputFolderError(e.message.replaceAll("--out", "--explain folder"));
}

/**
 * Checks the folder for the overlays before any work (`lib/io/`'s `checkOutputFolder`): new, empty, or
 * written by an earlier `--explain` and unchanged since; anything else is refused (a usage error) unless
 * `force` moves it aside.
 */
export function checkExplanationFolder(dir: string, options: ExplanationFolderOptions = {}): OutputPlan {
  try {
    return checkOutputFolder(dir, folderOptions(options));
  } catch (e) {
    throw asExplainError(e);
  }
}

/**
 * Writes the explanation folder `dir` whole (`writeOutputFolder`: `fill` writes into a temporary folder,
 * swapped in when it is complete; the previous explanations replaced, nothing else deleted).
 */
export async function writeExplanationFolder(
  dir: string,
  fill: (temp: string) => Promise<void>,
  options: ExplanationFolderOptions = {},
): Promise<ReplaceFolderResult> {
  try {
    return await writeOutputFolder(dir, { ...folderOptions(options), fill, purpose: "predict --explain" });
  } catch (e) {
    throw asExplainError(e);
  }
}
