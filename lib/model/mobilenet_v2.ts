/**
 * MobileNetV2 as `tf.keras.applications.MobileNetV2` builds it (Keras' `applications/mobilenet_v2.py`):
 * the same layers, names, order and hyper-parameters, so that Keras' ImageNet weight files load into it.
 *
 * Layer names are Keras' TF2 names (`input_1`, `Conv1`, `bn_Conv1`, …, `Conv_1_bn`, `out_relu`,
 * `global_average_pooling2d`, `predictions`).
 *
 * Weights of another width do not fit: a mismatch names the file's alpha and the option to pass. Without an
 * alpha, the model takes the one of its weights: offline, that of the ImageNet weights the mirror holds
 * (`imagenetAlpha`); for a given file, the one its shapes tell.
 *
 * @module
 */
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import {
  type Config,
  DEFAULT_ALPHA,
  IMAGENET_ALPHAS,
  type LayersModel,
  loadConfig,
  type SymbolicTensor,
  type Tensor,
  tf,
} from "../runtime/mod.ts";
import {
  displayPath,
  getFile,
  hostOf,
  type KerasH5Weights,
  loadKerasH5Weights,
  mirrorFiles,
  probeOrigin,
  readKerasH5Weights,
  sayOnce,
  UnreachableOriginError,
  WeightShapeError,
} from "../io/mod.ts";
import { printSummary } from "./summary.ts";

/** Where Keras publishes the MobileNetV2 ImageNet weights. */
export const BASE_WEIGHT_PATH = "https://storage.googleapis.com/tensorflow/keras-applications/mobilenet_v2/";
/** The width multipliers Keras has ImageNet weights for. */
export { IMAGENET_ALPHAS };
/** The square input sizes Keras has ImageNet weights for; any other size loads the 224 weights. */
export const IMAGENET_SIZES: readonly number[] = [96, 128, 160, 192, 224];

/** Options of {@link mobileNetV2}, named after Keras' arguments. */
export interface MobileNetV2Options {
  /** `[rows, cols, channels]`; default `[224, 224, 3]`. Rows and columns ≥ 32. */
  inputShape?: [number, number, number];
  /**
   * Width multiplier, never replaced. Default 1.0 — unless the weights say otherwise: with `"imagenet"`,
   * the alpha of the mirror's weights when Keras' alpha-1.0 file can't be had ({@link imagenetAlpha}); with
   * a weights file, the alpha its shapes tell.
   */
  alpha?: number;
  /** Add the global-average-pooling + `predictions` classifier; default `true`. */
  includeTop?: boolean;
  /** `"imagenet"` (default), a weights file (path, `file://` or `https://` URL), or `null` (random). */
  weights?: string | null;
  /** Without the top: `"avg"` or `"max"` global pooling after `out_relu`; default none (4-D output). */
  pooling?: "avg" | "max" | null;
  /** Classes of the top; default 1000. */
  classes?: number;
  /** Activation of `predictions`; default `"softmax"`, `null` for logits. */
  classifierActivation?: string | null;
  /** Model name; default Keras' `mobilenetv2_{alpha:.2f}_{rows}`. */
  name?: string;
  /** Cache root for downloaded weights (`<cacheDir>/models/`); default the configured `TL_CACHE_DIR`. */
  cacheDir?: string;
  /** Run configuration (`TL_WEIGHTS_URL`, `TL_MIRROR`; not `TL_ALPHA`); default `loadConfig()`. */
  config?: Config;
}

/** Keras' `_make_divisible`: `v` rounded to a multiple of `divisor`, never below 90 % of `v`. */
export function makeDivisible(v: number, divisor: number, minValue: number = divisor): number {
  let newV = Math.max(minValue, Math.floor(Math.trunc(v + divisor / 2) / divisor) * divisor);
  if (newV < 0.9 * v) newV += divisor;
  return newV;
}

/** Keras' `imagenet_utils.correct_pad`: the zero padding `[[top, bottom], [left, right]]` before a strided conv. */
export function correctPad(
  inputSize: readonly [number | null, number | null],
  kernelSize: number,
): [[number, number], [number, number]] {
  const [rows, cols] = inputSize;
  const adjust = rows === null || cols === null ? [1, 1] : [1 - (rows % 2), 1 - (cols % 2)];
  const correct = Math.floor(kernelSize / 2);
  return [[correct - adjust[0], correct], [correct - adjust[1], correct]];
}

/** `float(alpha)` as Python prints it: `1.0`, `0.35`, `0.5`. */
function pythonFloat(x: number): string {
  return Number.isInteger(x) ? x.toFixed(1) : String(x);
}

/** Keras' file name for the ImageNet weights, e.g. `mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_160_no_top.h5`. */
export function imagenetWeightsFileName(alpha: number, rows: number, includeTop = false): string {
  return `mobilenet_v2_weights_tf_dim_ordering_tf_kernels_${pythonFloat(alpha)}_${rows}${
    includeTop ? "" : "_no_top"
  }.h5`;
}

/** What a Keras ImageNet weights file name says: its alpha, rows and whether it has the top. */
export function parseImagenetWeightsFileName(
  name: string,
): { alpha: number; rows: number; includeTop: boolean } | undefined {
  const m = /^mobilenet_v2_weights_tf_dim_ordering_tf_kernels_(\d+(?:\.\d+)?)_(\d+)(_no_top)?\.h5$/.exec(
    name,
  );
  return m ? { alpha: Number(m[1]), rows: Number(m[2]), includeTop: m[3] === undefined } : undefined;
}

/** Keras' URL of the ImageNet weights for `alpha` and input `rows`. */
export function imagenetWeightsUrl(alpha: number, rows: number, includeTop = false): string {
  return BASE_WEIGHT_PATH + imagenetWeightsFileName(alpha, rows, includeTop);
}

/**
 * Where `weights: "imagenet"` is fetched from: Keras' URL, or for the base (no top) `TL_WEIGHTS_URL` when
 * set; `fname` is the cache file name (the override's own file name, so caches never mix files).
 */
export function imagenetWeightsSource(
  alpha: number,
  rows: number,
  includeTop = false,
  config: Config = loadConfig(),
): { fname: string; origin: string } {
  if (!includeTop && config.weightsUrl) {
    const url = config.weightsUrl;
    const p = /^[a-z][a-z0-9+.-]*:\/\//i.test(url) ? decodeURIComponent(new URL(url).pathname) : url;
    return { fname: path.posix.basename(p.replaceAll("\\", "/")), origin: url };
  }
  return {
    fname: imagenetWeightsFileName(alpha, rows, includeTop),
    origin: imagenetWeightsUrl(alpha, rows, includeTop),
  };
}

/** One of Keras' ImageNet weight files in the mirror. */
interface MirrorWeights {
  file: string;
  alpha: number;
  rows: number;
}

/** Keras' MobileNetV2 ImageNet weight files (with or without the top) the mirror holds, by file name. */
export function mirrorImagenetWeights(mirror: string | undefined, includeTop = false): MirrorWeights[] {
  return mirrorFiles(mirror).flatMap((file) => {
    const w = parseImagenetWeightsFileName(path.basename(file));
    return w && w.includeTop === includeTop && IMAGENET_ALPHAS.includes(w.alpha) ? [{ file, ...w }] : [];
  });
}

/** The mirror's weights nearest to `alpha` (the wider on a tie), at `rows` if it has them, else the largest. */
function nearestWeights(held: MirrorWeights[], alpha: number, rows: number): MirrorWeights {
  const distance = (w: MirrorWeights) => Math.abs(w.alpha - alpha);
  return [...held].sort((a, b) =>
    distance(a) - distance(b) || b.alpha - a.alpha || Number(b.rows === rows) - Number(a.rows === rows) ||
    b.rows - a.rows
  )[0];
}

/** How to choose the alpha, for messages. */
const alphaOption = (alpha: number) => {
  const a = pythonFloat(alpha);
  return `TL_ALPHA=${a}, --alpha ${a} or { alpha: ${a} }`;
};

/**
 * The MobileNetV2 alpha of a run with `weights: "imagenet"`: `TL_ALPHA` when set (never replaced); with
 * `TL_WEIGHTS_URL`, the alpha its Keras file name says; else `config.alpha` (1.0), unless Keras' file for
 * it can't be had — not in the cache, not in the mirror, the origin unreachable — while the mirror holds
 * Keras' ImageNet weights of another alpha: then that alpha, said in one line.
 */
export async function imagenetAlpha(
  config: Config,
  options: { rows: number; includeTop?: boolean; cacheDir?: string },
): Promise<number> {
  const includeTop = options.includeTop ?? false;
  if (config.alphaSet) return config.alpha;
  if (config.weightsUrl && !includeTop) {
    const { fname } = imagenetWeightsSource(config.alpha, options.rows, false, config);
    return parseImagenetWeightsFileName(fname)?.alpha ?? config.alpha;
  }
  const held = mirrorImagenetWeights(config.mirror, includeTop);
  if (held.length === 0 || held.some((w) => w.alpha === config.alpha)) return config.alpha;
  const { fname, origin } = imagenetWeightsSource(config.alpha, options.rows, includeTop, config);
  if (fs.existsSync(path.join(options.cacheDir ?? config.cacheDir, "models", fname))) return config.alpha;
  const status = await probeOrigin(origin);
  if (status !== undefined && status < 400) return config.alpha;
  const chosen = nearestWeights(held, config.alpha, options.rows);
  const why = status === undefined ? `${hostOf(origin)} unreachable` : `${origin}: HTTP ${status}`;
  await sayOnce(
    `${why}, and ${displayPath(config.mirror!)} has no weights for alpha ${pythonFloat(config.alpha)}: ` +
      `using alpha ${pythonFloat(chosen.alpha)}, that of ${displayPath(chosen.file)} ` +
      `(set TL_ALPHA, --alpha or { alpha } to choose)`,
  );
  return chosen.alpha;
}

/**
 * Fetches the ImageNet weights for `alpha` into `<cacheDir>/models/` (`getFile`, with the mirror standing
 * in offline). When neither Keras' origin nor the mirror has the file for these `rows`, the mirror's file
 * of the same alpha at another size is taken: the weights fit any input size (Keras itself loads the 224
 * ones for sizes it has none for).
 */
async function fetchImagenetWeights(
  { alpha, rows, includeTop, config, cacheDir }: {
    alpha: number;
    rows: number;
    includeTop: boolean;
    config: Config;
    cacheDir?: string;
  },
): Promise<string> {
  const { fname, origin } = imagenetWeightsSource(alpha, rows, includeTop, config);
  const options = {
    cacheDir: cacheDir ?? config.cacheDir,
    cacheSubdir: "models",
    mirror: config.mirror ?? null,
  };
  try {
    return await getFile(fname, origin, options);
  } catch (e) {
    if (!(e instanceof UnreachableOriginError) || origin !== imagenetWeightsUrl(alpha, rows, includeTop)) {
      throw e;
    }
    const held = mirrorImagenetWeights(config.mirror, includeTop);
    const sameAlpha = held.filter((w) => w.alpha === alpha);
    if (sameAlpha.length > 0) {
      const other = nearestWeights(sameAlpha, alpha, rows);
      return await getFile(
        path.basename(other.file),
        imagenetWeightsUrl(alpha, other.rows, includeTop),
        options,
      );
    }
    if (held.length === 0) throw e;
    const alphas = [...new Set(held.map((w) => w.alpha))].sort((a, b) => a - b).map(pythonFloat);
    const nearest = nearestWeights(held, alpha, rows).alpha;
    throw new Error(
      `${e.message}. ${displayPath(config.mirror!)} holds MobileNetV2 ImageNet weights for alpha ` +
        `${alphas.join(", ")} only: build alpha ${pythonFloat(nearest)} instead (${alphaOption(nearest)})`,
      { cause: e },
    );
  }
}

/** The output channels of the kernels whose width follows alpha, for the layers the file must have. */
function widths(alpha: number): [string, number][] {
  return [
    ["Conv1", makeDivisible(32 * alpha, 8)],
    ...BLOCKS.map(([filters], i): [string, number] => [
      i === 0 ? "expanded_conv_project" : `block_${i}_project`,
      makeDivisible(Math.trunc(filters * alpha), 8),
    ]),
    ["Conv_1", alpha > 1.0 ? makeDivisible(1280 * alpha, 8) : 1280],
  ];
}

/**
 * The Keras alpha (0.35, 0.5, 0.75, 1.0, 1.3 or 1.4) a MobileNetV2 weights file was made for, read from
 * its kernels' shapes; `undefined` when it is none of them (or not MobileNetV2).
 */
export function alphaOfWeights(stored: KerasH5Weights): number | undefined {
  const outChannels = (layer: string) => {
    const kernel = stored.layers.get(layer)?.find((w) => /(^|\/)kernel(:\d+)?$/.test(w.name));
    return kernel?.shape.at(-1);
  };
  return IMAGENET_ALPHAS.find((alpha) => widths(alpha).every(([layer, n]) => outChannels(layer) === n));
}

/** A shape mismatch from weights of another alpha, said with both alphas and the option to pass. */
function otherAlphaError(e: unknown, stored: KerasH5Weights, alpha: number): Error | undefined {
  if (!(e instanceof WeightShapeError)) return undefined;
  const fileAlpha = alphaOfWeights(stored) ?? parseImagenetWeightsFileName(path.basename(stored.file))?.alpha;
  if (fileAlpha === undefined || fileAlpha === alpha) return undefined;
  return new Error(
    `${e.message}: the file holds MobileNetV2 weights for alpha ${pythonFloat(fileAlpha)}, the model has ` +
      `alpha ${pythonFloat(alpha)}. Build it with alpha ${pythonFloat(fileAlpha)} ` +
      `(${alphaOption(fileAlpha)}), or use weights made for alpha ${pythonFloat(alpha)}`,
    { cause: e },
  );
}

function batchNorm(name: string) {
  return tf.layers.batchNormalization({ axis: -1, epsilon: 1e-3, momentum: 0.999, name });
}

function relu6(name: string) {
  return tf.layers.reLU({ maxValue: 6, name });
}

const apply = (
  layer: { apply(x: SymbolicTensor | SymbolicTensor[]): unknown },
  x: SymbolicTensor | SymbolicTensor[],
) => layer.apply(x) as SymbolicTensor;

/** Keras' `_inverted_res_block`: expand (1×1), depthwise 3×3, project (1×1), with a residual add when shapes allow. */
export function invertedResBlock(
  inputs: SymbolicTensor,
  { expansion, stride, alpha, filters, blockId }: {
    expansion: number;
    stride: 1 | 2;
    alpha: number;
    filters: number;
    blockId: number;
  },
): SymbolicTensor {
  const inChannels = inputs.shape[inputs.shape.length - 1] as number;
  const pointwiseFilters = makeDivisible(Math.trunc(filters * alpha), 8);
  let x = inputs;
  let prefix = `block_${blockId}_`;

  if (blockId) {
    x = apply(
      tf.layers.conv2d({
        filters: expansion * inChannels,
        kernelSize: 1,
        padding: "same",
        useBias: false,
        name: `${prefix}expand`,
      }),
      x,
    );
    x = apply(batchNorm(`${prefix}expand_BN`), x);
    x = apply(relu6(`${prefix}expand_relu`), x);
  } else {
    prefix = "expanded_conv_";
  }

  if (stride === 2) {
    const padding = correctPad([x.shape[1], x.shape[2]], 3);
    x = apply(tf.layers.zeroPadding2d({ padding, name: `${prefix}pad` }), x);
  }
  x = apply(
    tf.layers.depthwiseConv2d({
      kernelSize: 3,
      strides: stride,
      useBias: false,
      padding: stride === 1 ? "same" : "valid",
      name: `${prefix}depthwise`,
    }),
    x,
  );
  x = apply(batchNorm(`${prefix}depthwise_BN`), x);
  x = apply(relu6(`${prefix}depthwise_relu`), x);

  x = apply(
    tf.layers.conv2d({
      filters: pointwiseFilters,
      kernelSize: 1,
      padding: "same",
      useBias: false,
      name: `${prefix}project`,
    }),
    x,
  );
  x = apply(batchNorm(`${prefix}project_BN`), x);

  if (inChannels === pointwiseFilters && stride === 1) {
    return apply(tf.layers.add({ name: `${prefix}add` }), [inputs, x]);
  }
  return x;
}

/** The blocks of the network: `[filters, stride, expansion]` for block 0 … 16. */
const BLOCKS: readonly [number, 1 | 2, number][] = [
  [16, 1, 1],
  [24, 2, 6],
  [24, 1, 6],
  [32, 2, 6],
  [32, 1, 6],
  [32, 1, 6],
  [64, 2, 6],
  [64, 1, 6],
  [64, 1, 6],
  [64, 1, 6],
  [96, 1, 6],
  [96, 1, 6],
  [96, 1, 6],
  [160, 2, 6],
  [160, 1, 6],
  [160, 1, 6],
  [320, 1, 6],
];

/** Validates the options as Keras does and returns the input shape and the rows naming the weights. */
function checkOptions(
  o: Required<Pick<MobileNetV2Options, "alpha" | "includeTop" | "classes">> & MobileNetV2Options,
): {
  inputShape: [number, number, number];
  rows: number;
} {
  const { weights, includeTop, classes, alpha } = o;
  if (!(Number.isFinite(alpha) && alpha > 0)) {
    throw new Error(`mobileNetV2: alpha must be a positive number, got ${alpha}`);
  }
  if (!Number.isInteger(classes) || classes < 1) {
    throw new Error(`mobileNetV2: classes must be a positive integer, got ${classes}`);
  }
  if (weights !== null && weights !== undefined && (typeof weights !== "string" || weights === "")) {
    throw new Error(
      `mobileNetV2: weights must be "imagenet", a weights file path or URL, or null; got ${weights}`,
    );
  }
  const imagenet = weights === "imagenet";
  if (imagenet && includeTop && classes !== 1000) {
    throw new Error(
      `mobileNetV2: with weights "imagenet" and includeTop, classes must be 1000 (got ${classes})`,
    );
  }
  const inputShape = o.inputShape ?? [224, 224, 3];
  if (
    !Array.isArray(inputShape) || inputShape.length !== 3 ||
    !inputShape.every((n) => Number.isInteger(n) && n > 0)
  ) {
    throw new Error(
      `mobileNetV2: inputShape must be [rows, cols, channels] of positive integers, got ${
        JSON.stringify(inputShape)
      }`,
    );
  }
  const [rows, cols, channels] = inputShape;
  if (rows < 32 || cols < 32) {
    throw new Error(`mobileNetV2: inputShape ${JSON.stringify(inputShape)}: rows and cols must be ≥ 32`);
  }
  if (imagenet && channels !== 3) {
    throw new Error(
      `mobileNetV2: inputShape ${JSON.stringify(inputShape)}: ImageNet weights need 3 channels`,
    );
  }
  const standard = rows === cols && IMAGENET_SIZES.includes(rows);
  if (imagenet && includeTop && !standard) {
    throw new Error(
      `mobileNetV2: with includeTop and weights "imagenet", inputShape must be [n, n, 3] with n one of ` +
        `${IMAGENET_SIZES.join(", ")} (got ${JSON.stringify(inputShape)})`,
    );
  }
  if (!imagenet) return { inputShape, rows };
  if (!IMAGENET_ALPHAS.includes(alpha)) {
    throw new Error(
      `mobileNetV2: ImageNet weights exist for alpha ${IMAGENET_ALPHAS.join(", ")} only; got ${alpha}`,
    );
  }
  if (!standard) {
    console.warn(
      `mobileNetV2: inputShape ${JSON.stringify(inputShape)} is non-square or not one of ` +
        `${IMAGENET_SIZES.join(", ")}: the weights for input shape (224, 224) are loaded.`,
    );
    return { inputShape, rows: 224 };
  }
  return { inputShape, rows };
}

/**
 * Builds MobileNetV2 (Keras' `keras.applications.MobileNetV2`) and loads its weights: Keras' ImageNet file
 * for `alpha` and the input size (fetched once into `<cacheDir>/models/` with `getFile`; `TL_WEIGHTS_URL`
 * overrides the base's origin), a given file, or none. Its `summary()` prints Keras' table ({@link printSummary}).
 */
export async function mobileNetV2(options: MobileNetV2Options = {}): Promise<LayersModel> {
  const includeTop = options.includeTop ?? true;
  const classes = options.classes ?? 1000;
  const weights = options.weights === undefined ? "imagenet" : options.weights;
  const { inputShape, rows } = checkOptions({
    ...options,
    alpha: options.alpha ?? DEFAULT_ALPHA,
    includeTop,
    classes,
    weights,
  });
  const classifierActivation = options.classifierActivation === undefined
    ? "softmax"
    : options.classifierActivation;
  if (
    weights === "imagenet" && includeTop && classifierActivation !== null &&
    classifierActivation !== "softmax"
  ) {
    throw new Error(
      `mobileNetV2: with ImageNet weights, classifierActivation must be "softmax" or null, got ${
        JSON.stringify(classifierActivation)
      }`,
    );
  }
  const pooling = options.pooling ?? null;
  if (pooling !== null && pooling !== "avg" && pooling !== "max") {
    throw new Error(`mobileNetV2: pooling must be "avg", "max" or null, got ${JSON.stringify(pooling)}`);
  }

  // Before building, so that a wrong source fails fast and nothing is left to dispose.
  const { stored, alpha } = await resolveWeights(options, { weights, rows, includeTop });

  const model = buildMobileNetV2({
    inputShape,
    alpha,
    includeTop,
    pooling,
    classes,
    classifierActivation,
    name: options.name ?? `mobilenetv2_${alpha.toFixed(2)}_${rows}`,
  });
  if (stored !== undefined) {
    try {
      await loadKerasH5Weights(model, stored);
    } catch (e) {
      model.dispose();
      throw otherAlphaError(e, stored, alpha) ?? e;
    }
  }
  return model;
}

/**
 * The weights to load (fetched and read before the model is built) and the alpha to build: the given one,
 * else the one the weights were made for — the followed ImageNet alpha, or the file's by its shapes.
 */
async function resolveWeights(
  options: MobileNetV2Options,
  { weights, rows, includeTop }: { weights: string | null; rows: number; includeTop: boolean },
): Promise<{ stored?: KerasH5Weights; alpha: number }> {
  let alpha = options.alpha;
  let file: string | undefined;
  if (weights === "imagenet") {
    const config = options.config ?? loadConfig();
    const cacheDir = options.cacheDir;
    // The library's default is 1.0, as Keras' (TL_ALPHA is the notebooks' and tasks' to pass).
    const unset = { ...config, alpha: DEFAULT_ALPHA, alphaSet: false };
    const fetchAlpha = alpha ?? await imagenetAlpha(unset, { rows, includeTop, cacheDir });
    file = await fetchImagenetWeights({ alpha: fetchAlpha, rows, includeTop, config, cacheDir });
    alpha ??= fetchAlpha;
  } else if (weights !== null) {
    file = await weightsFilePath(weights, options.cacheDir);
  }
  const stored = file === undefined ? undefined : await readKerasH5Weights(file);
  // Not given: the alpha the weights were made for (a file of an unknown width: the default).
  if (options.alpha === undefined && stored !== undefined) alpha = alphaOfWeights(stored) ?? alpha;
  return { stored, alpha: alpha ?? DEFAULT_ALPHA };
}

/** A weights file given by path or `file://` URL, or fetched from `http(s)://` into the cache. */
async function weightsFilePath(weights: string, cacheDir?: string): Promise<string> {
  if (/^https?:\/\//i.test(weights)) return await getFile("", weights, { cacheDir, cacheSubdir: "models" });
  const file = weights.startsWith("file:") ? fileURLToPath(weights) : weights;
  if (!fs.existsSync(file)) {
    throw new Error(
      `mobileNetV2: weights must be "imagenet", null, or an existing weights file or URL; ${weights} does not exist`,
    );
  }
  return file;
}

function buildMobileNetV2(
  { inputShape, alpha, includeTop, pooling, classes, classifierActivation, name }: {
    inputShape: [number, number, number];
    alpha: number;
    includeTop: boolean;
    pooling: "avg" | "max" | null;
    classes: number;
    classifierActivation: string | null;
    name: string;
  },
): LayersModel {
  const imgInput = tf.input({ shape: inputShape, name: "input_1" });

  const firstBlockFilters = makeDivisible(32 * alpha, 8);
  let x = apply(
    tf.layers.conv2d({
      filters: firstBlockFilters,
      kernelSize: 3,
      strides: 2,
      padding: "same",
      useBias: false,
      name: "Conv1",
    }),
    imgInput,
  );
  x = apply(batchNorm("bn_Conv1"), x);
  x = apply(relu6("Conv1_relu"), x);

  BLOCKS.forEach(([filters, stride, expansion], blockId) => {
    x = invertedResBlock(x, { filters, alpha, stride, expansion, blockId });
  });

  // No alpha on the last conv (as in the paper), unless it widens the network.
  const lastBlockFilters = alpha > 1.0 ? makeDivisible(1280 * alpha, 8) : 1280;
  x = apply(
    tf.layers.conv2d({ filters: lastBlockFilters, kernelSize: 1, useBias: false, name: "Conv_1" }),
    x,
  );
  x = apply(batchNorm("Conv_1_bn"), x);
  x = apply(relu6("out_relu"), x);

  if (includeTop) {
    x = apply(tf.layers.globalAveragePooling2d({ name: "global_average_pooling2d" }), x);
    x = apply(
      tf.layers.dense({
        units: classes,
        activation: (classifierActivation ?? "linear") as "softmax",
        name: "predictions",
      }),
      x,
    );
  } else if (pooling === "avg") {
    x = apply(tf.layers.globalAveragePooling2d({ name: "global_average_pooling2d" }), x);
  } else if (pooling === "max") {
    x = apply(tf.layers.globalMaxPooling2d({ name: "global_max_pooling2d" }), x);
  }
  const model = tf.model({ inputs: imgInput, outputs: x, name });
  // `base_model.summary()` prints Keras' table (tfjs' own summary has other columns).
  model.summary = (lineLength?: number, positions?: number[], printFn?: (line: string) => void) =>
    printSummary(model, { lineLength, positions, printFn });
  return model;
}

/** `tf.keras.applications.mobilenet_v2.preprocess_input`: pixels in [0, 255] → [-1, 1] (`x / 127.5 − 1`). */
export function preprocessInput(x: Tensor): Tensor {
  return tf.tidy(() => tf.sub(tf.div(tf.cast(x, "float32"), 127.5), 1));
}
