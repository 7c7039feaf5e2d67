/**
 * Classifying image files with a saved classifier (`deno task predict`): each file decoded exactly as
 * training decoded it (`loadImage` at the metadata's `imageSize`: TensorFlow's DecodeImage, half-pixel
 * bilinear resize, no crop), in batches. A file that cannot be read or decoded is reported with the
 * reason and skipped; the others are still classified.
 *
 * @module
 */
import fs from "node:fs";
import { tf } from "../runtime/mod.ts";
import type { Tensor3D } from "../runtime/mod.ts";
import { ALLOWED_FORMATS, listImages, loadImage } from "../data/mod.ts";
import { classProbabilities } from "../model/mod.ts";
import { predictOnBatch } from "../train/mod.ts";
import type { SavedClassifier } from "./saved_classifier.ts";

/** One class and its probability. */
export interface ClassProbability {
  /** The class's name (`metadata.classNames`). */
  className: string;
  /** Its probability, 0..1 (sigmoid or softmax of the model's logits). */
  probability: number;
}

/** The outcome for one file: its classes, most probable first, or why it was skipped. */
export type FilePrediction =
  | { file: string; ok: true; predictions: ClassProbability[] }
  | { file: string; ok: false; error: string };

/**
 * The files named by `inputs`: a file as is, a folder's image files listed as training lists a folder
 * (`listImages`: recursively, links followed, each real folder once, in Keras' order). A path that does not
 * exist, or a folder without images, is returned in `missing` with the reason.
 */
export function expandInputs(
  inputs: string[],
): { files: string[]; missing: { file: string; error: string }[] } {
  const files: string[] = [];
  const missing: { file: string; error: string }[] = [];
  for (const input of inputs) {
    let stat;
    try {
      stat = fs.statSync(input);
    } catch {
      missing.push({ file: input, error: "no such file or folder" });
      continue;
    }
    if (stat.isDirectory()) {
      const found = listImages(input, true).files;
      if (found.length === 0) {
        missing.push({ file: input, error: `no images (${ALLOWED_FORMATS.join(", ")}) in this folder` });
      }
      files.push(...found);
    } else files.push(input);
  }
  return { files, missing };
}

/** Options of {@link predictFiles}. */
export interface PredictFilesOptions {
  /** Images per batch (default 32). */
  batchSize?: number;
  /** Classes listed per file, most probable first (default all). */
  top?: number;
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
  for (let start = 0; start < files.length; start += batchSize) {
    const chunk = files.slice(start, start + batchSize);
    const images: (Tensor3D | string)[] = [];
    for (const file of chunk) {
      try {
        const bytes = await Deno.readFile(file);
        images.push(loadImage(bytes, { imageSize: metadata.imageSize }, file));
      } catch (e) {
        const message = e instanceof Error ? e.message : String(e);
        images.push(message.includes(file) ? message : `${file}: ${message}`);
      }
    }
    const decoded = images.filter((x): x is Tensor3D => typeof x !== "string");
    let probabilities: Float32Array = new Float32Array(0);
    if (decoded.length > 0) {
      const p = tf.tidy(() => classProbabilities(predictOnBatch(model, tf.stack(decoded))));
      probabilities = p.dataSync() as Float32Array;
      p.dispose();
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
      yield { file: chunk[i], ok: true, predictions };
    }
  }
}
