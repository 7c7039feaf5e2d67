/**
 * Saving and loading the trained classifier in TensorFlow.js' format (`model.json` + weight shards),
 * with this project's custom layers (`RandomFlip`, `RandomRotation`, `InferenceModel`) registered.
 *
 * @module
 */
import fs from "node:fs";
import path from "node:path";
import { tf } from "./tf.ts";
import type { LayersModel } from "./tf.ts";
import "./augment.ts";
import "./classifier.ts";

/** Writes `dir/model.json` and `dir/weights.bin` (the optimizer state is not saved). */
export async function saveModel(model: LayersModel, dir: string): Promise<void> {
  const abs = path.resolve(dir);
  fs.mkdirSync(abs, { recursive: true });
  await model.save(`file://${abs}`);
}

/** Loads a model saved by {@link saveModel}; compile it before training further. */
export async function loadModel(dir: string): Promise<LayersModel> {
  const abs = path.resolve(dir);
  const json = abs.endsWith(".json") ? abs : path.join(abs, "model.json");
  if (!fs.existsSync(json)) {
    throw new Error(`loadModel: ${json} does not exist (expected a folder written by saveModel)`);
  }
  return await tf.loadLayersModel(`file://${json}`);
}
