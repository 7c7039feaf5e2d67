/**
 * MobileNetV2 as `tf.keras.applications.MobileNetV2` builds it (Keras' `applications/mobilenet_v2.py`):
 * the same layers, names, order and hyper-parameters, so that Keras' ImageNet weight files load into it.
 *
 * Layer names are Keras' TF2 names (`input_1`, `Conv1`, `bn_Conv1`, …, `Conv_1_bn`, `out_relu`,
 * `global_average_pooling2d`, `predictions`).
 *
 * @module
 */
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { type Config, IMAGENET_ALPHAS, loadConfig } from "./config.ts";
import { getFile } from "./get_file.ts";
import { loadKerasH5Weights } from "./keras_h5.ts";
import { printSummary } from "./summary.ts";
import { type LayersModel, type SymbolicTensor, type Tensor, tf } from "./tf.ts";

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
  /** Width multiplier; default 1.0. */
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
  /** Run configuration (`TL_WEIGHTS_URL`); default `loadConfig()`. */
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
  const alpha = options.alpha ?? 1.0;
  const includeTop = options.includeTop ?? true;
  const classes = options.classes ?? 1000;
  const weights = options.weights === undefined ? "imagenet" : options.weights;
  const { inputShape, rows } = checkOptions({ ...options, alpha, includeTop, classes, weights });
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
  let weightsFile: string | undefined;
  if (weights === "imagenet") {
    const { fname, origin } = imagenetWeightsSource(alpha, rows, includeTop, options.config);
    weightsFile = await getFile(fname, origin, { cacheDir: options.cacheDir, cacheSubdir: "models" });
  } else if (weights !== null) {
    weightsFile = await weightsFilePath(weights, options.cacheDir);
  }

  const model = buildMobileNetV2({
    inputShape,
    alpha,
    includeTop,
    pooling,
    classes,
    classifierActivation,
    name: options.name ?? `mobilenetv2_${alpha.toFixed(2)}_${rows}`,
  });
  if (weightsFile !== undefined) {
    try {
      await loadKerasH5Weights(model, weightsFile);
    } catch (e) {
      model.dispose();
      throw e;
    }
  }
  return model;
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
