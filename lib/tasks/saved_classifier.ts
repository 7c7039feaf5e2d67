/**
 * The saved classifier folder (`models/<name>/`): the model in TensorFlow.js' layers format plus
 * `metadata.json`, which says how to use it — class names, input size, what the output means, how images
 * were decoded — so that `deno task predict`, the web page and a notebook decode and read it exactly as
 * training did. Written by `train_folder.ts`, read by {@link loadClassifier}.
 *
 * @module
 */
import fs from "node:fs";
import path from "node:path";
import type { LayersModel } from "../runtime/mod.ts";
import { headUnits, loadModel, logitsFor } from "../model/mod.ts";
import { PROJECT_ROOT } from "../runtime/mod.ts";

export const METADATA_FORMAT = "transfer-learning-ts/classifier";
export const METADATA_VERSION = 1;
export const METADATA_FILE = "metadata.json";

/** How an image becomes the model's input (the model itself holds the rescaling). */
export interface Preprocessing {
  resize: "bilinear";
  halfPixelCenters: true;
  cropToAspectRatio: false;
  /** Pixel values the model takes: RGB 0..255. */
  inputRange: [0, 255];
  /** MobileNetV2's `preprocess_input`, the model's `preprocess_input` Rescaling layer. */
  rescale: { scale: number; offset: number };
}

/** The decoding every saved classifier's images get (`imageDatasetFromDirectory`'s defaults). */
export const PREPROCESSING: Preprocessing = {
  resize: "bilinear",
  halfPixelCenters: true,
  cropToAspectRatio: false,
  inputRange: [0, 255],
  rescale: { scale: 1 / 127.5, offset: -1 },
};

/** `metadata.json` (see the project's contract for the saved classifier folder). */
export interface ClassifierMetadata {
  format: typeof METADATA_FORMAT;
  formatVersion: number;
  classNames: string[];
  numClasses: number;
  /** `[height, width]` of the model's input. */
  imageSize: [number, number];
  channels: 3;
  alpha: number;
  /** One logit (two classes): sigmoid = P(classNames[1]); else softmax over the logits. */
  output: "sigmoid" | "softmax";
  preprocessing: Preprocessing;
  versions: Record<string, string>;
  data: Record<string, unknown>;
  histories: Record<string, unknown>;
  metrics: Record<string, unknown>;
  [key: string]: unknown;
}

/** Where `deno task train` writes classifiers (`models/<name>/`). */
export const MODELS_DIR: string = path.join(PROJECT_ROOT, "models");

/** The names of the classifier folders under `modelsDir` (those holding a `metadata.json`), sorted. */
export function listModels(modelsDir: string = MODELS_DIR): string[] {
  if (!fs.existsSync(modelsDir)) return [];
  return fs.readdirSync(modelsDir, { withFileTypes: true })
    .filter((d) => !d.name.startsWith(".") && fs.existsSync(path.join(modelsDir, d.name, METADATA_FILE)))
    .map((d) => d.name)
    .sort();
}

/** `p` relative to the current folder when it is inside it (as the user would type it). */
function shownPath(p: string): string {
  const rel = path.relative(Deno.cwd(), p);
  return rel && !rel.startsWith("..") && !path.isAbsolute(rel) ? rel : p;
}

/** The sentence on the models there are under `modelsDir`, and how to make one. */
function modelsHint(modelsDir: string): string {
  const names = listModels(modelsDir);
  const dir = shownPath(modelsDir);
  const train = "`deno task train -- DIR` trains one on a folder of class folders";
  if (names.length === 0) return `there is no trained model under ${dir}/ yet: ${train}`;
  const listed = names.slice(0, 10).map((n) => path.join(dir, n)).join(", ") +
    (names.length > 10 ? `, … (${names.length} in all)` : "");
  return `the models under ${dir}/: ${listed} (or ${train})`;
}

/** A `--model` argument resolved: the classifier's folder, and a note when it was not given as such. */
export interface ModelArgument {
  dir: string;
  /** Why `dir` differs from what was given (a file inside it, or a name under `models/`). */
  note?: string;
}

/**
 * The classifier folder a `--model` argument names: a folder holding `metadata.json`; a file inside
 * one (`model.json`, `metadata.json`, `weights.bin`) stands for its folder, and a bare NAME for
 * `models/NAME`. Anything else is an error that lists the models under `modelsDir` and says how to
 * train one.
 */
export function resolveModelDir(arg: string, modelsDir: string = MODELS_DIR): ModelArgument {
  const given = path.resolve(arg);
  const isClassifier = (dir: string) => fs.existsSync(path.join(dir, METADATA_FILE));
  if (fs.existsSync(given) && fs.statSync(given).isFile()) {
    const dir = path.dirname(given);
    if (isClassifier(dir)) {
      return { dir, note: `--model ${arg} is a file: using its folder ${shownPath(dir)}` };
    }
    throw new Error(`--model ${arg} is a file, not a classifier folder; ${modelsHint(modelsDir)}`);
  }
  if (fs.existsSync(given)) {
    if (isClassifier(given)) return { dir: given };
    throw new Error(
      `--model ${arg} has no ${METADATA_FILE}: not a classifier written by \`deno task train\`; ` +
        modelsHint(modelsDir),
    );
  }
  const named = path.join(modelsDir, arg);
  if (!arg.includes("/") && !arg.includes(path.sep) && isClassifier(named)) {
    return { dir: named, note: `--model ${arg}: using ${shownPath(named)}` };
  }
  throw new Error(`--model ${arg}: no such folder; ${modelsHint(modelsDir)}`);
}

/** The output kind for a head of `units` logits. */
export function outputKind(units: number): "sigmoid" | "softmax" {
  return units === 1 ? "sigmoid" : "softmax";
}

/** Reads and checks `dir/metadata.json`; a missing or malformed file is an error naming it and the problem. */
export function readMetadata(dir: string): ClassifierMetadata {
  const file = path.join(path.resolve(dir), METADATA_FILE);
  if (!fs.existsSync(file)) {
    throw new Error(`${file} does not exist: expected a classifier folder written by \`deno task train\``);
  }
  let meta: ClassifierMetadata;
  try {
    meta = JSON.parse(fs.readFileSync(file, "utf8"));
  } catch (e) {
    throw new Error(`${file}: not valid JSON (${(e as Error).message})`, { cause: e });
  }
  const fail = (what: string) => {
    throw new Error(`${file}: ${what}`);
  };
  if (meta?.format !== METADATA_FORMAT) {
    fail(`format must be "${METADATA_FORMAT}", got ${JSON.stringify(meta?.format)}`);
  }
  if (meta.formatVersion !== METADATA_VERSION) {
    fail(`formatVersion ${meta.formatVersion} is not supported (this version reads ${METADATA_VERSION})`);
  }
  if (
    !Array.isArray(meta.classNames) || meta.classNames.length < 2 ||
    meta.classNames.some((c) => typeof c !== "string")
  ) {
    fail(`classNames must be a list of at least 2 names, got ${JSON.stringify(meta.classNames)}`);
  }
  if (meta.numClasses !== meta.classNames.length) {
    fail(`numClasses ${meta.numClasses} differs from the ${meta.classNames.length} classNames`);
  }
  const size = meta.imageSize;
  if (!Array.isArray(size) || size.length !== 2 || size.some((d) => !(Number.isInteger(d) && d > 0))) {
    fail(`imageSize must be [height, width] in pixels, got ${JSON.stringify(size)}`);
  }
  if (meta.output !== outputKind(logitsFor(meta.numClasses))) {
    fail(`output "${meta.output}" does not fit ${meta.numClasses} classes`);
  }
  return meta;
}

/** A loaded classifier and its metadata. */
export interface SavedClassifier {
  model: LayersModel;
  metadata: ClassifierMetadata;
}

/**
 * Loads `dir` (model + metadata) and checks they agree: the model's input is `imageSize` × 3 and its head
 * has one logit per class (one for two classes).
 */
export async function loadClassifier(dir: string): Promise<SavedClassifier> {
  const metadata = readMetadata(dir);
  const model = await loadModel(dir);
  const [, h, w, c] = model.inputs[0].shape;
  const units = headUnits(model);
  const expectedUnits = logitsFor(metadata.numClasses);
  if (h !== metadata.imageSize[0] || w !== metadata.imageSize[1] || c !== 3 || units !== expectedUnits) {
    model.dispose();
    throw new Error(
      `${path.join(dir, "model.json")}: the model (input ${h}×${w}×${c}, ${units} logits) does not match ` +
        `${METADATA_FILE} (imageSize ${metadata.imageSize.join("×")}×3, ${metadata.numClasses} classes → ` +
        `${expectedUnits} logits)`,
    );
  }
  return { model, metadata };
}
