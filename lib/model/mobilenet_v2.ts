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
 * Where the ImageNet weights come from is explicit ({@link ImagenetWeightsOptions}: `weightsUrl`, `mirror`,
 * `cacheDir`): this module reads no settings; the notebooks and tasks pass their `TL_*` values.
 *
 * @module
 */
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import {
  type Config,
  DEFAULT_ALPHA,
  DEFAULT_CACHE_DIR,
  IMAGENET_ALPHAS,
  type LayersModel,
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

/**
 * Where `weights: "imagenet"` comes from. Nothing is read from the environment: a notebook or task passes
 * its settings' values (`TL_WEIGHTS_URL`, `TL_MIRROR`, `TL_CACHE_DIR`).
 */
export interface ImagenetWeightsOptions {
  /**
   * The base's (no top) weights file instead of Keras' URL: an `https://`, `http://` or `file://` URL or a
   * path, named as Keras names it when the alpha is to follow it. Default: Keras' URL for the alpha and size.
   */
  weightsUrl?: string;
  /**
   * A folder of local copies (e.g. `../shared`): when the origin cannot be reached, Keras' file of the same
   * name in it stands in (or, for another input size, the same alpha's). Default: none.
   */
  mirror?: string | null;
  /** Cache root: the weights go to `<cacheDir>/models/`. Default: `getFile`'s (the project's `data/`). */
  cacheDir?: string;
}

/** Options of {@link mobileNetV2}, named after Keras' arguments (and where the ImageNet weights come from). */
export interface MobileNetV2Options extends ImagenetWeightsOptions {
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
  /**
   * A run's settings, for their `weightsUrl`, `mirror` and `cacheDir` (not `alpha`); the options of the
   * same names win.
   * @deprecated Pass `weightsUrl`, `mirror` and `cacheDir`.
   */
  config?: Config;
}

/**
 * Keras' `_make_divisible`: `v` rounded to a multiple of `divisor`, never below 90 % of `v`.
 *
 * @example Channel counts at alpha 0.35
 * ```ts
 * import assert from "node:assert";
 * import { makeDivisible } from "./mod.ts";
 *
 * assert.equal(makeDivisible(32 * 0.35, 8), 16);
 * assert.equal(makeDivisible(Math.trunc(320 * 0.35), 8), 112);
 * ```
 */
export function makeDivisible(v: number, divisor: number, minValue: number = divisor): number {
  let newV = Math.max(minValue, Math.floor(Math.trunc(v + divisor / 2) / divisor) * divisor);
  if (newV < 0.9 * v) newV += divisor;
  return newV;
}

/**
 * Keras' `imagenet_utils.correct_pad`: the zero padding `[[top, bottom], [left, right]]` before a strided conv.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { correctPad } from "./mod.ts";
 *
 * assert.deepEqual(correctPad([160, 160], 3), [[0, 1], [0, 1]]);
 * assert.deepEqual(correctPad([161, 161], 3), [[1, 1], [1, 1]]);
 * ```
 */
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

/**
 * Keras' file name for the ImageNet weights, e.g. `mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_160_no_top.h5`.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { imagenetWeightsFileName, parseImagenetWeightsFileName } from "./mod.ts";
 *
 * const name = imagenetWeightsFileName(0.35, 160);
 * assert.equal(name, "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_0.35_160_no_top.h5");
 * assert.deepEqual(parseImagenetWeightsFileName(name), { alpha: 0.35, rows: 160, includeTop: false });
 * ```
 */
export function imagenetWeightsFileName(alpha: number, rows: number, includeTop = false): string {
  return `mobilenet_v2_weights_tf_dim_ordering_tf_kernels_${pythonFloat(alpha)}_${rows}${
    includeTop ? "" : "_no_top"
  }.h5`;
}

/**
 * What a Keras ImageNet weights file name says: its alpha, rows and whether it has the top; `undefined` for
 * another name.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { parseImagenetWeightsFileName } from "./mod.ts";
 *
 * const top = parseImagenetWeightsFileName("mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_224.h5");
 * assert.deepEqual(top, { alpha: 1, rows: 224, includeTop: true });
 * assert.equal(parseImagenetWeightsFileName("my_weights.h5"), undefined);
 * ```
 */
export function parseImagenetWeightsFileName(
  name: string,
): { alpha: number; rows: number; includeTop: boolean } | undefined {
  const m = /^mobilenet_v2_weights_tf_dim_ordering_tf_kernels_(\d+(?:\.\d+)?)_(\d+)(_no_top)?\.h5$/.exec(
    name,
  );
  return m ? { alpha: Number(m[1]), rows: Number(m[2]), includeTop: m[3] === undefined } : undefined;
}

/**
 * Keras' URL of the ImageNet weights for `alpha` and input `rows`.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { BASE_WEIGHT_PATH, imagenetWeightsFileName, imagenetWeightsUrl } from "./mod.ts";
 *
 * assert.equal(imagenetWeightsUrl(1.0, 160), BASE_WEIGHT_PATH + imagenetWeightsFileName(1.0, 160));
 * ```
 */
export function imagenetWeightsUrl(alpha: number, rows: number, includeTop = false): string {
  return BASE_WEIGHT_PATH + imagenetWeightsFileName(alpha, rows, includeTop);
}

/**
 * Where `weights: "imagenet"` is fetched from: Keras' URL, or for the base (no top) `source.weightsUrl` when
 * given; `fname` is the cache file name (the override's own file name, so caches never mix files).
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { imagenetWeightsFileName, imagenetWeightsSource } from "./mod.ts";
 *
 * assert.equal(imagenetWeightsSource(0.35, 160).fname, imagenetWeightsFileName(0.35, 160));
 * const own = imagenetWeightsSource(1.0, 160, false, { weightsUrl: "file:///w/my%20base.h5" });
 * assert.deepEqual(own, { fname: "my base.h5", origin: "file:///w/my%20base.h5" });
 * ```
 */
export function imagenetWeightsSource(
  alpha: number,
  rows: number,
  includeTop = false,
  source: Pick<ImagenetWeightsOptions, "weightsUrl"> = {},
): { fname: string; origin: string } {
  if (!includeTop && source.weightsUrl) {
    const url = source.weightsUrl;
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

/** A run's alpha setting and where its ImageNet weights come from, as {@link imagenetAlpha} weighs them. */
export interface AlphaSettings extends ImagenetWeightsOptions {
  /** The alpha asked for (the settings' `TL_ALPHA`, else {@link DEFAULT_ALPHA}). */
  alpha: number;
  /** Whether `alpha` was set explicitly: then it is never replaced. */
  alphaSet: boolean;
}

/**
 * The MobileNetV2 alpha of a run with `weights: "imagenet"`: `config.alpha` when set explicitly
 * (`alphaSet`, never replaced); with a `weightsUrl`, the alpha its Keras file name says; else
 * `config.alpha` (1.0), unless Keras' file for it can't be had — not in the cache, not in the mirror, the
 * origin unreachable — while the mirror holds Keras' ImageNet weights of another alpha: then that alpha,
 * said in one line. A run's `Config` (`loadConfig()`) is such settings.
 */
export async function imagenetAlpha(
  config: AlphaSettings,
  options: { rows: number; includeTop?: boolean; cacheDir?: string },
): Promise<number> {
  const includeTop = options.includeTop ?? false;
  if (config.alphaSet) return config.alpha;
  if (config.weightsUrl && !includeTop) {
    const { fname } = imagenetWeightsSource(config.alpha, options.rows, false, config);
    return parseImagenetWeightsFileName(fname)?.alpha ?? config.alpha;
  }
  const mirror = config.mirror ?? undefined;
  const held = mirrorImagenetWeights(mirror, includeTop);
  if (held.length === 0 || held.some((w) => w.alpha === config.alpha)) return config.alpha;
  const { fname, origin } = imagenetWeightsSource(config.alpha, options.rows, includeTop, config);
  // Where getFile would cache it (its default root when none is given).
  const cacheDir = options.cacheDir ?? config.cacheDir ?? DEFAULT_CACHE_DIR;
  if (fs.existsSync(path.join(cacheDir, "models", fname))) return config.alpha;
  const status = await probeOrigin(origin);
  if (status !== undefined && status < 400) return config.alpha;
  const chosen = nearestWeights(held, config.alpha, options.rows);
  const why = status === undefined ? `${hostOf(origin)} unreachable` : `${origin}: HTTP ${status}`;
  await sayOnce(
    `${why}, and ${displayPath(mirror!)} has no weights for alpha ${pythonFloat(config.alpha)}: ` +
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
  { alpha, rows, includeTop, source }: {
    alpha: number;
    rows: number;
    includeTop: boolean;
    source: ImagenetWeightsOptions;
  },
): Promise<string> {
  const { fname, origin } = imagenetWeightsSource(alpha, rows, includeTop, source);
  const mirror = source.mirror ?? undefined;
  const options = {
    cacheDir: source.cacheDir,
    cacheSubdir: "models",
    mirror: mirror ?? null,
    hint: weightsHint(origin, source),
  };
  try {
    return await getFile(fname, origin, options);
  } catch (e) {
    if (!(e instanceof UnreachableOriginError) || origin !== imagenetWeightsUrl(alpha, rows, includeTop)) {
      throw e;
    }
    const held = mirrorImagenetWeights(mirror, includeTop);
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
      `${e.message}. ${displayPath(mirror!)} holds MobileNetV2 ImageNet weights for alpha ` +
        `${alphas.join(", ")} only: build alpha ${pythonFloat(nearest)} instead (${alphaOption(nearest)})`,
      { cause: e },
    );
  }
}

/**
 * What a failure to fetch `origin` tells the user: the setting that chose it, or how to do without
 * Keras' server. The settings' names are the notebooks' and tasks' (`TL_*`), which pass them here.
 */
function weightsHint(origin: string, source: ImagenetWeightsOptions): string {
  if (source.weightsUrl !== undefined && origin === source.weightsUrl) {
    return "this origin comes from TL_WEIGHTS_URL (mobileNetV2's weightsUrl); check its value";
  }
  const name = path.posix.basename(new URL(origin).pathname);
  return `Keras' ImageNet weights, the default: without internet, put ${name} (or Keras' file for another ` +
    `alpha) in the mirror folder (TL_MIRROR, default ../shared), or set TL_WEIGHTS_URL (and TL_ALPHA) to a ` +
    `local copy (a path or file:// URL)`;
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
  // Block 0 has no expansion and Keras names its layers `expanded_conv_*`.
  const prefix = blockId ? `block_${blockId}_` : "expanded_conv_";
  let x = blockId ? expand(inputs, prefix, expansion * inChannels) : inputs;
  x = depthwise(x, prefix, stride);
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

/** The block's expansion: 1×1 convolution to `filters` channels, BatchNormalization, ReLU6. */
function expand(x: SymbolicTensor, prefix: string, filters: number): SymbolicTensor {
  x = apply(
    tf.layers.conv2d({ filters, kernelSize: 1, padding: "same", useBias: false, name: `${prefix}expand` }),
    x,
  );
  x = apply(batchNorm(`${prefix}expand_BN`), x);
  return apply(relu6(`${prefix}expand_relu`), x);
}

/** The block's 3×3 depthwise convolution (zero-padded as Keras does before a stride of 2), BatchNormalization, ReLU6. */
function depthwise(x: SymbolicTensor, prefix: string, stride: 1 | 2): SymbolicTensor {
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
  return apply(relu6(`${prefix}depthwise_relu`), x);
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
  const { inputShape, standard } = checkInputShape(o.inputShape ?? [224, 224, 3], imagenet, includeTop);
  const rows = inputShape[0];
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

/** Checks `inputShape` as Keras does; `standard`: square of a size Keras has ImageNet weights for. */
function checkInputShape(
  inputShape: [number, number, number],
  imagenet: boolean,
  includeTop: boolean,
): { inputShape: [number, number, number]; standard: boolean } {
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
  return { inputShape, standard };
}

/**
 * Builds MobileNetV2 (Keras' `keras.applications.MobileNetV2`) and loads its weights: Keras' ImageNet file
 * for `alpha` and the input size (fetched once into `<cacheDir>/models/` with `getFile`; `weightsUrl`
 * replaces the base's origin, `mirror` stands in offline), a given file, or none. Its `summary()` prints
 * Keras' table ({@link printSummary}).
 *
 * @example The tutorial's base, with the settings a notebook passes
 * ```ts ignore
 * import { loadConfig } from "../runtime/mod.ts";
 * import { mobileNetV2 } from "./mod.ts";
 *
 * const config = loadConfig();
 * const base = await mobileNetV2({
 *   inputShape: [160, 160, 3],
 *   includeTop: false,
 *   weights: "imagenet",
 *   weightsUrl: config.weightsUrl,
 *   mirror: config.mirror,
 *   cacheDir: config.cacheDir,
 * });
 * ```
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
  const source = weightsSourceOf(options);
  if (weights === "imagenet") {
    // The library's default is 1.0, as Keras' (TL_ALPHA is the notebooks' and tasks' to pass).
    const unset = { ...source, alpha: DEFAULT_ALPHA, alphaSet: false };
    const fetchAlpha = alpha ?? await imagenetAlpha(unset, { rows, includeTop });
    file = await fetchImagenetWeights({ alpha: fetchAlpha, rows, includeTop, source });
    alpha ??= fetchAlpha;
  } else if (weights !== null) {
    file = await weightsFilePath(weights, source);
  }
  const stored = file === undefined ? undefined : await readKerasH5Weights(file);
  // Not given: the alpha the weights were made for (a file of an unknown width: the default).
  if (options.alpha === undefined && stored !== undefined) alpha = alphaOfWeights(stored) ?? alpha;
  return { stored, alpha: alpha ?? DEFAULT_ALPHA };
}

/** The explicit weights source of `options`, the deprecated `config` filling what they leave out. */
function weightsSourceOf(options: MobileNetV2Options): ImagenetWeightsOptions {
  const { config } = options;
  return {
    weightsUrl: options.weightsUrl ?? config?.weightsUrl,
    mirror: options.mirror !== undefined ? options.mirror : config?.mirror ?? null,
    cacheDir: options.cacheDir ?? config?.cacheDir,
  };
}

/** A weights file given by path or `file://` URL, or fetched from `http(s)://` into the cache. */
async function weightsFilePath(weights: string, source: ImagenetWeightsOptions): Promise<string> {
  if (/^https?:\/\//i.test(weights)) {
    return await getFile("", weights, {
      cacheDir: source.cacheDir,
      cacheSubdir: "models",
      mirror: source.mirror ?? null,
    });
  }
  const file = weights.startsWith("file:") ? fileURLToPath(weights) : weights;
  if (!fs.existsSync(file)) {
    throw new Error(
      `mobileNetV2: weights must be "imagenet", null, or an existing weights file or URL; ${weights} does not exist`,
    );
  }
  return file;
}

/** What {@link buildMobileNetV2} builds: the checked options, the alpha and the model's name. */
interface Architecture {
  inputShape: [number, number, number];
  alpha: number;
  includeTop: boolean;
  pooling: "avg" | "max" | null;
  classes: number;
  classifierActivation: string | null;
  name: string;
}

function buildMobileNetV2(arch: Architecture): LayersModel {
  const { inputShape, alpha, name } = arch;
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

  const model = tf.model({ inputs: imgInput, outputs: topOrPooling(x, arch), name });
  // `base_model.summary()` prints Keras' table (tfjs' own summary has other columns).
  model.summary = (lineLength?: number, positions?: number[], printFn?: (line: string) => void) =>
    printSummary(model, { lineLength, positions, printFn });
  return model;
}

/** After `out_relu`: the classifier top, else the optional global pooling. */
function topOrPooling(x: SymbolicTensor, arch: Architecture): SymbolicTensor {
  if (arch.includeTop) {
    x = apply(tf.layers.globalAveragePooling2d({ name: "global_average_pooling2d" }), x);
    return apply(
      tf.layers.dense({
        units: arch.classes,
        activation: (arch.classifierActivation ?? "linear") as "softmax",
        name: "predictions",
      }),
      x,
    );
  }
  if (arch.pooling === "avg") {
    return apply(tf.layers.globalAveragePooling2d({ name: "global_average_pooling2d" }), x);
  }
  if (arch.pooling === "max") return apply(tf.layers.globalMaxPooling2d({ name: "global_max_pooling2d" }), x);
  return x;
}

/** `tf.keras.applications.mobilenet_v2.preprocess_input`: pixels in [0, 255] → [-1, 1] (`x / 127.5 − 1`). */
export function preprocessInput(x: Tensor): Tensor {
  return tf.tidy(() => tf.sub(tf.div(tf.cast(x, "float32"), 127.5), 1));
}
