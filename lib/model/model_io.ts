/**
 * Saving and loading the trained classifier in TensorFlow.js' format (`model.json` + `weights.bin`), with
 * this project's custom layers (`RandomFlip`, `RandomRotation`, `InferenceModel`) registered.
 *
 * A save is one folder, written whole or not at all: everything goes into a temporary sibling folder,
 * flushed, then swapped in (the old save is renamed away, the new one renamed in, the old one deleted), so a
 * failure or a crash half-way leaves the previous save as it was, and a reader never sees a new
 * `model.json` beside old weights. Two processes saving to the same folder take turns (a lock file beside
 * it). Loading checks what it reads and names the file and the problem.
 *
 * @module
 */
import fs from "node:fs";
import path from "node:path";
import { tf } from "../runtime/mod.ts";
import type { LayersModel } from "../runtime/mod.ts";
import type { io } from "@tensorflow/tfjs";
import { listTempSiblings, replaceFolder, writeFileSynced } from "../io/mod.ts";
import "./augment.ts";
import "./classifier.ts";

/** Options of {@link saveModel}. */
export interface SaveModelOptions {
  /**
   * Extra files saved in the same folder, atomically with the model: relative name (sub-folders allowed,
   * e.g. `"assets/icon.png"`) → text or bytes; e.g. `{ "metadata.json": JSON.stringify(meta) }`.
   */
  files?: Record<string, string | Uint8Array>;
}

const MODEL_JSON = "model.json";
const WEIGHTS_BIN = "weights.bin";

/**
 * Writes the folder `dir` holding `model.json`, `weights.bin` (the optimizer state is not saved) and
 * `options.files`, replacing a previous save there only once the new one is complete. `dir` is the folder:
 * a path ending in `.json` is refused (the save is a folder of files, not one file).
 */
export async function saveModel(
  model: LayersModel,
  dir: string,
  options: SaveModelOptions = {},
): Promise<void> {
  if (typeof dir !== "string" || dir.trim() === "") {
    throw new Error(`saveModel: dir must be the folder to save into, got ${JSON.stringify(dir)}`);
  }
  const abs = path.resolve(dir);
  if (abs.toLowerCase().endsWith(".json")) {
    throw new Error(
      `saveModel: "${dir}" names a .json file, but a save is a folder (model.json, weights.bin and extra ` +
        `files): pass the folder, e.g. saveModel(model, "${path.dirname(dir)}")`,
    );
  }
  const extra = checkExtraFiles(options.files ?? {});
  const artifacts = await modelArtifacts(model);
  await replaceFolder(abs, {
    check: checkReplaceable,
    purpose: `saving a model to ${abs}`,
    fill: async (temp) => {
      await writeFileSynced(path.join(temp, WEIGHTS_BIN), artifacts.weights);
      for (const [name, content] of extra) {
        const file = path.join(temp, name);
        await Deno.mkdir(path.dirname(file), { recursive: true });
        await writeFileSynced(file, content);
      }
      await writeFileSynced(path.join(temp, MODEL_JSON), JSON.stringify(artifacts.json));
    },
    writeError: (e) =>
      new Error(
        `saveModel: could not save to ${abs}: ${(e as Error).message}; ` +
          `the previous content of ${abs} (if any) is unchanged`,
        { cause: e },
      ),
  });
}

function checkExtraFiles(files: Record<string, string | Uint8Array>): [string, string | Uint8Array][] {
  if (typeof files !== "object" || files === null) {
    throw new Error(`saveModel: files must be an object { name: text or bytes }`);
  }
  return Object.entries(files).map(([name, content]) => {
    const normal = path.posix.normalize(name.replaceAll("\\", "/"));
    if (
      name === "" || path.posix.isAbsolute(normal) || normal === "." || normal.startsWith("../") ||
      normal === ".." || normal === MODEL_JSON || normal === WEIGHTS_BIN
    ) {
      throw new Error(
        `saveModel: files: "${name}" is not allowed (a relative name inside the folder other than ` +
          `${MODEL_JSON} and ${WEIGHTS_BIN})`,
      );
    }
    if (typeof content !== "string" && !(content instanceof Uint8Array)) {
      throw new Error(`saveModel: files["${name}"] must be a string or a Uint8Array`);
    }
    return [normal, content];
  });
}

/** Refuses to replace something that is not a save (a file, or a non-empty folder without model.json). */
function checkReplaceable(abs: string) {
  if (!fs.existsSync(abs)) return;
  const stat = fs.statSync(abs);
  if (!stat.isDirectory()) {
    throw new Error(`saveModel: ${abs} exists and is not a folder; refusing to replace it`);
  }
  const entries = fs.readdirSync(abs);
  if (entries.length > 0 && !entries.includes(MODEL_JSON)) {
    throw new Error(
      `saveModel: ${abs} is a folder that holds no ${MODEL_JSON} (not an earlier save); ` +
        `refusing to replace its ${entries.length} entries — choose another folder`,
    );
  }
}

/** The model's `model.json` content (tfjs-node's file layout: one weights file) and its weight bytes. */
async function modelArtifacts(model: LayersModel): Promise<{ json: io.ModelJSON; weights: Uint8Array }> {
  let artifacts: io.ModelArtifacts | undefined;
  await model.save(tf.io.withSaveHandler((a) => {
    artifacts = a;
    return Promise.resolve({ modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: "JSON" } });
  }));
  if (!artifacts?.modelTopology || !artifacts.weightSpecs) {
    throw new Error(`saveModel: model "${model.name}" produced no topology or weights to save`);
  }
  const data = artifacts.weightData;
  const buffer = data === undefined
    ? new ArrayBuffer(0)
    : Array.isArray(data)
    ? tf.io.CompositeArrayBuffer.join(data)
    : data;
  const json: io.ModelJSON = {
    modelTopology: artifacts.modelTopology,
    weightsManifest: [{ paths: [`./${WEIGHTS_BIN}`], weights: artifacts.weightSpecs }],
    format: artifacts.format,
    generatedBy: artifacts.generatedBy,
    convertedBy: artifacts.convertedBy,
  };
  if (artifacts.trainingConfig) json.trainingConfig = artifacts.trainingConfig;
  if (artifacts.userDefinedMetadata) json.userDefinedMetadata = artifacts.userDefinedMetadata;
  return { json, weights: new Uint8Array(buffer) };
}

const DTYPE_BYTES: Record<string, number> = {
  float32: 4,
  int32: 4,
  bool: 1,
  uint8: 1,
  uint16: 2,
  float16: 2,
};

/** Bytes one weight takes in a weights file, per its manifest entry. */
function specBytes(spec: io.WeightsManifestEntry, json: string): number {
  const n = spec.shape.reduce((a: number, b: number) => a * b, 1);
  const dtype = spec.quantization?.dtype ?? spec.dtype;
  const bytes = DTYPE_BYTES[dtype];
  if (bytes === undefined) {
    throw new Error(`loadModel: ${json}: weight "${spec.name}" has unsupported dtype ${dtype}`);
  }
  return n * bytes;
}

/**
 * Loads a model saved by {@link saveModel} (the folder, or its `model.json`); compile it before training
 * further. A missing, truncated or corrupt file is an error naming the file and what is wrong.
 */
export async function loadModel(dir: string): Promise<LayersModel> {
  const abs = path.resolve(dir);
  const json = abs.endsWith(".json") ? abs : path.join(abs, MODEL_JSON);
  const folder = path.dirname(json);
  if (!fs.existsSync(json)) {
    const interrupted = listTempSiblings(folder, ["old"]).map((e) => e.path);
    throw new Error(
      `loadModel: ${json} does not exist (expected a folder written by saveModel)` +
        (interrupted.length ? `; a save was interrupted: the previous save is in ${interrupted[0]}` : ""),
    );
  }
  const modelJSON = await readModelJson(json);
  const { specs, buffers } = await readWeightFiles(json, modelJSON.weightsManifest);
  return await buildWithWeights(json, modelJSON, specs, buffers);
}

/** `model.json`'s content, checked to be a layers model with a weights manifest. */
async function readModelJson(json: string): Promise<io.ModelJSON> {
  let modelJSON: io.ModelJSON;
  try {
    modelJSON = JSON.parse(await Deno.readTextFile(json));
  } catch (e) {
    throw new Error(`loadModel: ${json} is not valid JSON (truncated or corrupt?): ${(e as Error).message}`, {
      cause: e,
    });
  }
  if (typeof modelJSON !== "object" || modelJSON === null || typeof modelJSON.modelTopology !== "object") {
    throw new Error(`loadModel: ${json} has no modelTopology (not a TensorFlow.js layers model)`);
  }
  const manifest = modelJSON.weightsManifest;
  if (!Array.isArray(manifest) || manifest.length === 0) {
    throw new Error(
      `loadModel: ${json} has no weightsManifest: the model would load without its trained weights`,
    );
  }
  return modelJSON;
}

/** The weight specs and the bytes of every weights file, each group's size checked against its specs. */
async function readWeightFiles(
  json: string,
  manifest: io.WeightsManifestConfig,
): Promise<{ specs: io.WeightsManifestEntry[]; buffers: ArrayBuffer[] }> {
  const folder = path.dirname(json);
  const specs: io.WeightsManifestEntry[] = [];
  const buffers: ArrayBuffer[] = [];
  for (const group of manifest) {
    if (!Array.isArray(group?.paths) || !Array.isArray(group?.weights)) {
      throw new Error(`loadModel: ${json}: a weightsManifest group lacks "paths" or "weights"`);
    }
    const expected = group.weights.reduce(
      (sum: number, spec: io.WeightsManifestEntry) => sum + specBytes(spec, json),
      0,
    );
    let actual = 0;
    for (const p of group.paths) {
      const file = path.resolve(folder, p);
      let bytes: Uint8Array;
      try {
        bytes = await Deno.readFile(file);
      } catch (e) {
        throw new Error(`loadModel: ${file} (listed in ${json}) cannot be read: ${(e as Error).message}`, {
          cause: e,
        });
      }
      actual += bytes.byteLength;
      buffers.push(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer);
    }
    if (actual !== expected) {
      throw new Error(
        `loadModel: ${
          group.paths.map((p: string) => path.resolve(folder, p)).join(", ")
        } holds ${actual} bytes but ` +
          `${json} lists ${group.weights.length} weights of ${expected} bytes (truncated, or from another save?)`,
      );
    }
    specs.push(...group.weights);
  }
  return { specs, buffers };
}

/**
 * The model of `modelJSON` with its weights. The model is built first, then given its weights, so that
 * every failure can free what it made: the variables of the layers built so far, the decoded weight
 * tensors, the model.
 */
async function buildWithWeights(
  json: string,
  modelJSON: io.ModelJSON,
  specs: io.WeightsManifestEntry[],
  buffers: ArrayBuffer[],
): Promise<LayersModel> {
  const variables = tf.engine().state.registeredVariables;
  const before = new Set(Object.keys(variables));
  let model: LayersModel | undefined;
  try {
    model = await tf.loadLayersModel(tf.io.fromMemory({
      modelTopology: modelJSON.modelTopology,
      format: modelJSON.format,
      generatedBy: modelJSON.generatedBy,
      convertedBy: modelJSON.convertedBy,
      ...(modelJSON.trainingConfig ? { trainingConfig: modelJSON.trainingConfig } : {}),
      ...(modelJSON.userDefinedMetadata ? { userDefinedMetadata: modelJSON.userDefinedMetadata } : {}),
    }));
    const weights = tf.io.decodeWeights(
      tf.io.CompositeArrayBuffer.join(buffers),
      specs.filter((spec) => spec.group !== "optimizer"),
    );
    try {
      model.loadWeights(weights, true);
    } finally {
      tf.dispose(Object.values(weights));
    }
    return model;
  } catch (e) {
    model?.dispose();
    for (const [name, v] of Object.entries(variables)) if (!before.has(name) && !v.isDisposed) v.dispose();
    const message = (e as Error).message;
    const unknown = /Unknown layer: (\w+)/.exec(message);
    throw new Error(
      unknown
        ? `loadModel: ${json} uses the layer class "${unknown[1]}", which is not registered ` +
          `(import the module that defines it before loading)`
        : `loadModel: ${json} does not describe a loadable model: ${message}`,
      { cause: e },
    );
  }
}
