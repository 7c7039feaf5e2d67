/**
 * Tiny stand-ins for the tests: a MobileNetV2-shaped base (conv + BatchNormalization blocks with Keras
 * names), generated image sets of two or more colour classes as tfjs-data Datasets of
 * `{xs: float32 [b,h,w,3] 0..255, ys: int32 [b]}` batches, like `imageDatasetFromDirectory` yields, and the
 * same as a folder of PNG files in class folders (a user's own photos, in miniature), and the
 * `metadata.json` of a tiny classifier (`lib/tasks/metadata.ts`' schema).
 *
 * @module
 */
import fs from "node:fs";
import path from "node:path";
import { tf } from "../runtime/mod.ts";
import type {
  data,
  LayersModel,
  SymbolicTensor,
  Tensor,
  Tensor1D,
  Tensor3D,
  Tensor4D,
  TensorContainer,
} from "../runtime/mod.ts";
import { METADATA_FORMAT, METADATA_VERSION, PREPROCESSING } from "../tasks/mod.ts";
import type { ClassifierMetadata } from "../tasks/mod.ts";

let bases = 0;

/**
 * `Conv1 → bn_Conv1 → relu → block_1_expand → block_1_expand_BN → relu → Conv_1 → Conv_1_bn → out_relu`
 * (10 layers with the input). The BatchNormalization layers get non-trivial moving statistics so that
 * inference and training normalization differ.
 */
export function tinyBase(inputShape = [16, 16, 3], seed = 1): LayersModel {
  const n = bases++;
  const input = tf.input({ shape: inputShape, name: `tiny_input_${n}` });
  const conv = (name: string, filters: number, strides: number) =>
    tf.layers.conv2d({
      name,
      filters,
      kernelSize: 3,
      strides,
      padding: "same",
      useBias: false,
      kernelInitializer: tf.initializers.glorotUniform({ seed: seed + filters + strides }),
    });
  const bn = (name: string) => tf.layers.batchNormalization({ name, epsilon: 1e-3, momentum: 0.9 });
  let x = conv("Conv1", 8, 2).apply(input) as SymbolicTensor;
  x = bn("bn_Conv1").apply(x) as SymbolicTensor;
  x = tf.layers.reLU({ name: "Conv1_relu" }).apply(x) as SymbolicTensor;
  x = conv("block_1_expand", 12, 1).apply(x) as SymbolicTensor;
  x = bn("block_1_expand_BN").apply(x) as SymbolicTensor;
  x = tf.layers.reLU({ name: "block_1_expand_relu" }).apply(x) as SymbolicTensor;
  x = conv("Conv_1", 16, 2).apply(x) as SymbolicTensor;
  x = bn("Conv_1_bn").apply(x) as SymbolicTensor;
  x = tf.layers.reLU({ name: "out_relu" }).apply(x) as SymbolicTensor;
  const model = tf.model({ inputs: input, outputs: x, name: `tiny_base_${n}` });
  for (const layer of model.layers) {
    if (layer.getClassName() !== "BatchNormalization") continue;
    const [gamma, beta, mean, variance] = layer.getWeights();
    const stats = [
      tf.randomUniform(mean.shape, -0.5, 0.5, "float32", seed),
      tf.randomUniform(variance.shape, 0.5, 2, "float32", seed + 1),
    ];
    layer.setWeights([gamma, beta, ...stats]);
    tf.dispose(stats);
  }
  return model;
}

/** The BatchNormalization layers' moving mean and variance, copied out. */
export function movingStats(model: LayersModel): Float32Array[] {
  const out: Float32Array[] = [];
  for (const layer of model.layers) {
    if (layer.getClassName() !== "BatchNormalization") continue;
    const ws = layer.getWeights();
    out.push(ws[2].dataSync() as Float32Array, ws[3].dataSync() as Float32Array);
  }
  return out;
}

/** A copy of one layer's weights. */
export function weightsOf(model: LayersModel, name: string): Float32Array[] {
  return model.getLayer(name).getWeights().map((w) => w.dataSync().slice() as Float32Array);
}

/**
 * The largest absolute difference of two equally long arrays (for "equal within a tolerance" checks).
 *
 * @example
 * ```ts
 * import { maxAbsDiff } from "./mod.ts";
 * import assert from "node:assert";
 *
 * assert.equal(maxAbsDiff([1, 2, 3], [1, 2.5, 2]), 1);
 * assert.throws(() => maxAbsDiff([1], [1, 2]), /length 1 vs 2/);
 * ```
 */
export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} vs ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

/** Generated images and labels, and a dataset of batches of them. */
export interface TinySet {
  /** `[n, size, size, 3]` float32 pixels, 0..255. */
  images: Tensor4D;
  /** `[n]` int32 class labels. */
  labels: Tensor1D;
  /** `{xs, ys}` batches gathered from `images` and `labels`, in order. */
  dataset: data.Dataset<TensorContainer>;
  /** Frees `images` and `labels`. */
  dispose(): void;
}

/** `images` and `labels` as a {@link TinySet}: a Dataset of `{xs, ys}` batches gathered from them. */
function setOf(images: Tensor4D, labels: Tensor1D, batchSize: number): TinySet {
  const n = labels.shape[0];
  const dataset = tf.data.array(Array.from({ length: n }, (_, i) => i)).batch(batchSize).map((idx) => {
    const i = (idx as Tensor).cast("int32");
    return { xs: tf.gather(images, i), ys: tf.gather(labels, i) };
  }) as data.Dataset<TensorContainer>;
  return { images, labels, dataset, dispose: () => tf.dispose([images, labels]) };
}

/**
 * `n` generated images of two classes, `size` × `size`: class 0 reddish, class 1 bluish, with uniform
 * noise; labels `(i * 7 + seed) mod 2`.
 */
export function tinySet(n: number, size = 16, batchSize = 16, seed = 0): TinySet {
  const [images, labels] = tf.tidy(() => {
    const labels = tf.tensor1d(Array.from({ length: n }, (_, i) => (i * 7 + seed) % 2), "int32");
    const y = labels.cast("float32").reshape([n, 1, 1, 1]);
    const noise = tf.randomUniform([n, size, size, 3], 0, 90, "float32", seed + 1);
    const red = tf.tensor1d([150, 60, 40]).reshape([1, 1, 1, 3]);
    const blue = tf.tensor1d([40, 70, 150]).reshape([1, 1, 1, 3]);
    const base = tf.add(tf.mul(tf.sub(1, y), red), tf.mul(y, blue));
    return [tf.clipByValue(tf.add(base, noise), 0, 255) as Tensor4D, labels as Tensor1D];
  });
  return setOf(images, labels, batchSize);
}

/** Base colours of {@link tinyClassSet}'s classes (RGB, before noise). */
export const CLASS_COLOURS: [number, number, number][] = [
  [170, 40, 40], // red
  [40, 160, 50], // green
  [40, 60, 170], // blue
  [170, 160, 30], // yellow
  [150, 40, 160], // magenta
  [30, 150, 150], // cyan
];

/** Generated images of `numClasses` (≤ 6) colour classes with uniform noise; labels `i mod numClasses`. */
export function tinyClassSet(n: number, numClasses: number, size = 16, batchSize = 16, seed = 0): TinySet {
  if (numClasses > CLASS_COLOURS.length) {
    throw new Error(`tinyClassSet: at most ${CLASS_COLOURS.length} classes`);
  }
  const [images, labels] = tf.tidy(() => {
    const ids = Array.from({ length: n }, (_, i) => (i * 7 + seed) % numClasses);
    const labels = tf.tensor1d(ids, "int32");
    const colours = tf.tensor2d(ids.map((c) => CLASS_COLOURS[c])).reshape([n, 1, 1, 3]);
    const noise = tf.randomUniform([n, size, size, 3], -40, 40, "float32", seed + 1);
    return [tf.clipByValue(tf.add(colours, noise), 0, 255) as Tensor4D, labels as Tensor1D];
  });
  return setOf(images, labels, batchSize);
}

/** Names of {@link writeColourFolder}'s class folders, in {@link CLASS_COLOURS}' order. */
export const COLOUR_NAMES = ["red", "green", "blue", "yellow", "magenta", "cyan"];

/**
 * Writes a folder of class folders of PNG images (`dir/<colour>/<i>.png`, the colours of
 * {@link tinyClassSet} with noise), as a user's own photos would be; with `split`, `dir/train/…` and
 * `dir/validation/…` (`split` of each class in validation).
 */
export async function writeColourFolder(
  dir: string,
  options: { numClasses: number; perClass: number; size?: number; seed?: number; split?: number },
): Promise<void> {
  const { numClasses, perClass, size = 16, seed = 0, split } = options;
  for (let c = 0; c < numClasses; c++) {
    for (let i = 0; i < perClass; i++) {
      const part = split === undefined ? "" : i < Math.round(perClass * split) ? "validation" : "train";
      const folder = path.join(dir, part, COLOUR_NAMES[c]);
      fs.mkdirSync(folder, { recursive: true });
      const image = tf.tidy(() =>
        tf.clipByValue(
          tf.add(
            tf.tensor1d(CLASS_COLOURS[c]).reshape([1, 1, 3]),
            tf.randomUniform([size, size, 3], -40, 40, "float32", seed + c * 1000 + i),
          ),
          0,
          255,
        ).toInt() as Tensor3D
      );
      const png = await tf.node.encodePng(image);
      image.dispose();
      fs.writeFileSync(path.join(folder, `${i}.png`), png);
    }
  }
}

/**
 * A classifier's `metadata.json` with what a reader needs (no training record), for a tiny model: three
 * classes a, b, c at 16×16, softmax. `overrides` replace fields — also with wrong values, to test the
 * checks (`readMetadata`), hence their type.
 */
export function tinyMetadata(
  overrides: { [K in keyof ClassifierMetadata]?: unknown } = {},
): ClassifierMetadata {
  const metadata: ClassifierMetadata = {
    format: METADATA_FORMAT,
    formatVersion: METADATA_VERSION,
    classNames: ["a", "b", "c"],
    numClasses: 3,
    imageSize: [16, 16],
    channels: 3,
    alpha: 0.35,
    output: "softmax",
    preprocessing: PREPROCESSING,
  };
  return { ...metadata, ...overrides } as ClassifierMetadata;
}
