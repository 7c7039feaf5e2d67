/**
 * Saving and loading the trained classifier in TensorFlow.js' format (`model.json` + `weights.bin`), with
 * this project's custom layers (`RandomFlip`, `RandomRotation`, `InferenceModel`) registered.
 *
 * A save is one folder, written whole or not at all: everything goes into a temporary sibling folder,
 * flushed, then swapped in (the old save is renamed away, the new one renamed in, the old one deleted), so a
 * failure or a crash half-way leaves the previous save as it was, and a reader never sees a new
 * `model.json` beside old weights. Two processes saving to the same folder take turns (a lock file beside
 * it). The folder keeps a manifest of what was written (`lib/io/`'s `writeOutputFolder`): a later save
 * replaces only that, and refuses a folder holding anything else (`force`: moved aside, never deleted).
 * Loading checks what it reads and names the file and the problem.
 *
 * @module
 */
import fs from "node:fs";
import path from "node:path";
import { tf } from "../runtime/mod.ts";
import type { LayersModel } from "../runtime/mod.ts";
import type { io } from "@tensorflow/tfjs";
import {
  checkOutputFolder,
  interruptedSaveHint,
  MANIFEST_FILE,
  sha256Bytes,
  writeFileSynced,
  writeOutputFolder,
} from "../io/mod.ts";
import type { OutputFolderOptions } from "../io/mod.ts";
import "./augment.ts";
import "./classifier.ts";

/** Extra files of a save: relative name → text or bytes. */
type ExtraFiles = Record<string, string | Uint8Array>;

/** Options of {@link saveModel}. */
export interface SaveModelOptions {
  /**
   * Extra files saved in the same folder, atomically with the model: relative name (sub-folders allowed,
   * e.g. `"assets/icon.png"`) → text or bytes; e.g. `{ "metadata.json": JSON.stringify(meta) }`. A
   * function gets the weights files written, with their SHA-256, first (e.g. for `metadata.json` to
   * record which weights it belongs to).
   */
  files?:
    | Record<string, string | Uint8Array>
    | ((weightFiles: { path: string; sha256: string }[]) => Record<string, string | Uint8Array>);
  /**
   * An existing folder holding anything the project did not write is moved aside to `<dir>.old-<time>`
   * instead of refused (the command lines' `--force`).
   */
  force?: boolean;
  /**
   * A folder an earlier version saved, before the manifest: one `is` recognizes is treated as if its
   * manifest listed `files` (relative paths), anything else in it as the user's. Default: none is.
   */
  earlierVersion?: { files: readonly string[]; is: (dir: string) => boolean };
  /** Folders the save must neither be inside of nor contain (e.g. the data folder), with what each is. */
  separateFrom?: { path: string; what: string }[];
}

/** The `kind` of a model folder in its manifest (`lib/io/manifest.ts`). */
const MODEL_FOLDER_KIND = "model";
const MODEL_JSON = "model.json";
const WEIGHTS_BIN = "weights.bin";

/**
 * Writes the folder `dir` holding `model.json`, `weights.bin` (the optimizer state is not saved),
 * `options.files` and the manifest of them, replacing a previous save there only once the new one is
 * complete. `dir` is the folder: a path ending in `.json` is refused (the save is a folder of files, not one
 * file). An existing folder holding anything the project did not write is refused before anything is
 * written, or moved aside with {@link SaveModelOptions.force}: `movedAside` says where.
 */
export async function saveModel(
  model: LayersModel,
  dir: string,
  options: SaveModelOptions = {},
): Promise<{ movedAside?: string }> {
  checkDir(dir);
  if (typeof options.files !== "function") checkExtraFiles(options.files ?? {});
  const abs = path.resolve(dir);
  const write = { kind: MODEL_FOLDER_KIND, ...outputOptions(options) };
  checkOutputFolder(abs, write);
  const artifacts = await modelArtifacts(model);
  const extra = checkExtraFiles(
    typeof options.files === "function" ? options.files(artifacts.weightFiles) : options.files ?? {},
  );
  return await writeOutputFolder(abs, {
    ...write,
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

function outputOptions(o: SaveModelOptions): Omit<OutputFolderOptions, "kind"> {
  return {
    ...(o.force ? { force: true } : {}),
    ...(o.earlierVersion ? { earlierVersion: o.earlierVersion } : {}),
    ...(o.separateFrom ? { separateFrom: o.separateFrom } : {}),
  };
}

function checkDir(dir: string) {
  if (typeof dir !== "string" || dir.trim() === "") {
    throw new Error(`saveModel: dir must be the folder to save into, got ${JSON.stringify(dir)}`);
  }
  if (path.resolve(dir).toLowerCase().endsWith(".json")) {
    throw new Error(
      `saveModel: "${dir}" names a .json file, but a save is a folder (model.json, weights.bin and extra ` +
        `files): pass the folder, e.g. saveModel(model, "${path.dirname(dir)}")`,
    );
  }
}

function checkExtraFiles(files: ExtraFiles): [string, string | Uint8Array][] {
  if (typeof files !== "object" || files === null) {
    throw new Error(`saveModel: files must be an object { name: text or bytes }`);
  }
  return Object.entries(files).map(([name, content]) => {
    const normal = path.posix.normalize(name.replaceAll("\\", "/"));
    if (
      name === "" || path.posix.isAbsolute(normal) || normal === "." || normal.startsWith("../") ||
      normal === ".." || normal === MODEL_JSON || normal === WEIGHTS_BIN || normal === MANIFEST_FILE
    ) {
      throw new Error(
        `saveModel: files: "${name}" is not allowed (a relative name inside the folder other than ` +
          `${MODEL_JSON}, ${WEIGHTS_BIN} and ${MANIFEST_FILE})`,
      );
    }
    if (typeof content !== "string" && !(content instanceof Uint8Array)) {
      throw new Error(`saveModel: files["${name}"] must be a string or a Uint8Array`);
    }
    return [normal, content];
  });
}

/**
 * The files of a save of `model`, in memory: `model.json`'s content (tfjs-node's file layout: one weights
 * file) and the weights' bytes with their SHA-256 (which `metadata.json` records).
 */
async function modelArtifacts(
  model: LayersModel,
): Promise<{ json: io.ModelJSON; weights: Uint8Array; weightFiles: { path: string; sha256: string }[] }> {
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
  const weights = new Uint8Array(buffer);
  return { json, weights, weightFiles: [{ path: WEIGHTS_BIN, sha256: sha256Bytes(weights) }] };
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
    const interrupted = interruptedSaveHint(folder);
    throw new Error(
      `loadModel: ${json} does not exist (expected a folder written by saveModel)` +
        (interrupted ? `; ${interrupted}` : ""),
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
