/**
 * The benchmark's workload, shared by its scripts: the tutorial's data, model and phases from the `TL_*`
 * configuration, and the measurement helpers (RSS, medians, JSON lines).
 *
 * With no `TL_DATA_URL` / `TL_WEIGHTS_URL` set and `../shared` present, the offline copies are used
 * (dataset zip, alpha 0.35 ImageNet weights), so that `deno task bench` runs offline.
 *
 * @module
 */
import fs from "node:fs";
import path from "node:path";
import { loadConfig, PROJECT_ROOT, tensorflowVersion, tf } from "../lib/runtime/mod.ts";
import type { LayersModel } from "../lib/runtime/mod.ts";
import { getFile } from "../lib/io/mod.ts";
import { machineInfo } from "./machine.ts";
import { type ImageDataset, imageDatasetFromDirectory, splitValidationTest } from "../lib/data/mod.ts";
import {
  buildClassifier,
  compileForFineTuning,
  compileForTransferLearning,
  type InferenceModel,
  mobileNetV2,
  unfreezeForFineTuning,
} from "../lib/model/mod.ts";

export const BATCH_SIZE = 32;
export const IMAGE_SIZE: [number, number] = [160, 160];

/** The resolved data and weights of a bench run (identical for our side and Keras'). */
export interface BenchSettings {
  dataUrl: string;
  weightsUrl: string | undefined;
  alpha: number;
  cacheDir: string;
}

/** `TL_*` settings, defaulting to the offline copies in `../shared` when those variables are unset. */
export function benchSettings(env: { get(key: string): string | undefined } = Deno.env): BenchSettings {
  const config = loadConfig(env);
  // The bench measures the tutorial's workload with alpha 0.35 when the mirror (TL_MIRROR) holds its weights.
  const shared = config.mirror ?? path.resolve(PROJECT_ROOT, "..", "shared");
  const sharedZip = path.join(shared, "data", "cats_and_dogs_filtered.zip");
  const sharedWeights = path.join(
    shared,
    "weights",
    "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_0.35_224_no_top.h5",
  );
  const offline = !env.get("TL_WEIGHTS_URL") && !env.get("TL_ALPHA") && fs.existsSync(sharedWeights);
  return {
    dataUrl: env.get("TL_DATA_URL") || (fs.existsSync(sharedZip) ? sharedZip : config.dataUrl),
    weightsUrl: config.weightsUrl ?? (offline ? sharedWeights : undefined),
    alpha: offline ? 0.35 : config.alpha,
    cacheDir: config.cacheDir,
  };
}

/** The same settings as `TL_*` variables, for the subprocesses (ours and Keras'). */
export function settingsEnv(s: BenchSettings): Record<string, string> {
  return {
    TL_DATA_URL: s.dataUrl,
    TL_ALPHA: String(s.alpha),
    TL_CACHE_DIR: s.cacheDir,
    ...(s.weightsUrl ? { TL_WEIGHTS_URL: s.weightsUrl } : {}),
  };
}

/** The folder with `train/` and `validation/`: the settings' zip, extracted once. */
export async function tutorialRoot(s: BenchSettings): Promise<string> {
  const extracted = await getFile("cats_and_dogs_filtered.zip", s.dataUrl, {
    extract: true,
    progress: false,
    cacheDir: s.cacheDir,
  });
  return fs.existsSync(path.join(extracted, "train"))
    ? extracted
    : path.join(extracted, "cats_and_dogs_filtered");
}

/**
 * The tutorial's datasets: training, and the validation/test split of the validation folder (of `dataDir`
 * when given, e.g. the generated large folder, else of the settings' zip). Default cache settings.
 */
export async function tutorialData(s: BenchSettings, seed: number, dataDir?: string): Promise<{
  train: ImageDataset;
  validation: ImageDataset;
  test: ImageDataset;
}> {
  const root = dataDir ?? await tutorialRoot(s);
  const options = { batchSize: BATCH_SIZE, imageSize: IMAGE_SIZE, shuffle: true, seed, verbose: false };
  const train = await imageDatasetFromDirectory(path.join(root, "train"), options);
  const { validation, test } = splitValidationTest(
    await imageDatasetFromDirectory(path.join(root, "validation"), options),
  );
  return { train: train.prefetch(2), validation: validation.prefetch(2), test };
}

/** The tutorial's classifier on MobileNetV2 (alpha and weights from the settings), compiled for the frozen phase. */
export async function tutorialModel(s: BenchSettings, seed?: number): Promise<{
  model: LayersModel;
  base: InferenceModel;
}> {
  const rawBase = await mobileNetV2({
    inputShape: [...IMAGE_SIZE, 3],
    alpha: s.alpha,
    includeTop: false,
    weights: s.weightsUrl ?? "imagenet",
    cacheDir: s.cacheDir,
  });
  const { model, base } = buildClassifier({ base: rawBase, seed });
  compileForTransferLearning(model);
  return { model, base };
}

/** The tutorial's switch to fine-tuning: layers from 100 on trainable, RMSprop(1e-5). */
export function startFineTuning(model: LayersModel, base: InferenceModel): void {
  unfreezeForFineTuning(base);
  compileForFineTuning(model);
}

/** Current and peak resident set size, MB (Linux `/proc/self/status`; current only elsewhere). */
export function rssMB(): { rss: number; peak: number | null } {
  const rss = Deno.memoryUsage().rss / 2 ** 20;
  let peak: number | null = null;
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(fs.readFileSync("/proc/self/status", "utf8"));
    if (m) peak = Number(m[1]) / 1024;
  } catch { /* not Linux */ }
  return { rss: round(rss, 1), peak: peak === null ? null : round(peak, 1) };
}

/** CPU seconds (user + system, all threads) this process has used; Linux `/proc/self/stat`, else NaN. */
export function cpuSeconds(): number {
  try {
    const fields = fs.readFileSync("/proc/self/stat", "utf8").split(") ")[1].split(" ");
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return NaN;
  }
}

export function round(x: number, digits = 3): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

/** Median, min and max of `xs` (seconds), rounded. */
export function stats(xs: number[]): { median: number; min: number; max: number } {
  if (xs.length === 0) return { median: NaN, min: NaN, max: NaN };
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  const median = s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
  return { median: round(median, 4), min: round(s[0], 4), max: round(s[s.length - 1], 4) };
}

/** Backend, versions, the machine (CPU model, vector flags, oneDNN), load and thread settings, for every result line. */
export function environment(): Record<string, unknown> {
  const threads: Record<string, string> = {};
  for (
    const k of [
      "TF_NUM_INTRAOP_THREADS",
      "TF_NUM_INTEROP_THREADS",
      "OMP_NUM_THREADS",
      "TF_ENABLE_ONEDNN_OPTS",
    ]
  ) {
    const v = Deno.env.get(k);
    if (v !== undefined) threads[k] = v;
  }
  return {
    backend: tf.getBackend(),
    tensorflow: tensorflowVersion(),
    tfjs: tf.version.tfjs,
    deno: Deno.version.deno,
    cpus: navigator.hardwareConcurrency,
    load_average: Deno.loadavg().map((x) => round(x, 2)),
    env: threads,
    machine: machineInfo(),
  };
}

/** One JSON line on stdout. */
export function emit(record: Record<string, unknown>): void {
  console.log(JSON.stringify(record));
}

/** A progress note on stderr. */
export function note(message: string): void {
  console.error(message);
}
