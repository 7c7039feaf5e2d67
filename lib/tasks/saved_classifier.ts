/**
 * The saved classifier folder (`models/<name>/`): the model in TensorFlow.js' layers format plus
 * `metadata.json` (`metadata.ts`), which says how to use it — class names, input size, what the output
 * means, how images were decoded — so that `deno task predict`, the web page and a notebook decode and
 * read it exactly as training did. Written by `saveClassifier`; found by name ({@link resolveModelDir},
 * {@link listModels}) and loaded by {@link loadClassifier}.
 *
 * @module
 */
import fs from "node:fs";
import path from "node:path";
import { PROJECT_ROOT } from "../runtime/mod.ts";
import type { LayersModel } from "../runtime/mod.ts";
import { interruptedSaveHint, sha256File } from "../io/mod.ts";
import { headUnits, loadModel, logitsFor } from "../model/mod.ts";
import { shownPath } from "../cli/mod.ts";
import { METADATA_FILE, readMetadata } from "./metadata.ts";
import type { ClassifierMetadata } from "./metadata.ts";

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
  /** The classifier's folder (absolute). */
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
  const bare = !arg.includes("/") && !arg.includes(path.sep);
  if (bare && isClassifier(named)) {
    return { dir: named, note: `--model ${arg}: using ${shownPath(named)}` };
  }
  const interrupted = interruptedSaveHint(given) ?? (bare ? interruptedSaveHint(named) : undefined);
  throw new Error(`--model ${arg}: no such folder; ${interrupted ?? modelsHint(modelsDir)}`);
}

/** A loaded classifier and its metadata. */
export interface SavedClassifier {
  /** The model, as saved (the caller disposes it). */
  model: LayersModel;
  /** Its `metadata.json`, checked. */
  metadata: ClassifierMetadata;
}

/**
 * Refuses a `metadata.json` that belongs to other weights: each weights file it records
 * (`weightFiles`, absent in files written before it) must have the SHA-256 recorded.
 */
function checkWeightFiles(dir: string, metadata: ClassifierMetadata) {
  for (const record of metadata.weightFiles ?? []) {
    const file = path.join(dir, ...record.path.split("/"));
    let actual: string;
    try {
      actual = sha256File(file);
    } catch (e) {
      throw new Error(`${file} (recorded in ${METADATA_FILE}) cannot be read: ${(e as Error).message}`);
    }
    if (actual !== record.sha256) {
      throw new Error(
        `${path.join(dir, METADATA_FILE)} belongs to other weights: it records ${record.path} with SHA-256 ` +
          `${record.sha256.slice(0, 12)}…, but ${file} has ${actual.slice(0, 12)}… — the metadata was ` +
          `copied from another model, or the weights replaced: put back the ${METADATA_FILE} saved with ` +
          `these weights, or train again`,
      );
    }
  }
}

/**
 * Loads `dir` (model + metadata) and checks they agree: the metadata was saved with these weights
 * (`weightFiles`), the model's input is `imageSize` × 3 and its head has one logit per class (one for two
 * classes). A folder missing because a save into it was interrupted is an error naming the previous save.
 */
export async function loadClassifier(dir: string): Promise<SavedClassifier> {
  const interrupted = interruptedSaveHint(path.resolve(dir));
  if (interrupted) throw new Error(`${path.resolve(dir)} does not exist: ${interrupted}`);
  const metadata = readMetadata(dir);
  checkWeightFiles(dir, metadata);
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
