import { assert, assertAlmostEquals, assertEquals, assertThrows } from "../_assert.ts";
import { tf } from "../../lib/runtime/tf.ts";
import type { LayersModel, SymbolicTensor, Tensor, Tensor3D, Tensor4D } from "../../lib/runtime/tf.ts";
import { buildClassifier } from "../../lib/model/classifier.ts";
import { gradCam, gradCamOverlay, gradCamPng, heatAt, jetColours } from "../../lib/analysis/grad_cam.ts";
import { tinyBase } from "../../lib/testing/tiny.ts";

const SIZE = 16;
const COLOURS = [[1, 0, 0], [0, 1, 0], [0, 0, 1]]; // red, green, blue corner

/**
 * Images of light gray noise (equal channels, above mid-gray: no colour anywhere) with a 4×4 patch of
 * colour `corner[i]` in the top-left corner: the corner alone decides the class.
 */
function cornerImages(corners: number[], seed = 3): Tensor4D {
  return tf.tidy(() => {
    const n = corners.length;
    const gray = tf.randomUniform([n, SIZE, SIZE, 1], 140, 240, "float32", seed).tile([1, 1, 1, 3]);
    const patch = tf.tensor2d(corners.map((c) => COLOURS[c].map((v) => 255 * v)))
      .reshape([n, 1, 1, 3]).tile([1, 4, 4, 1]);
    const padded = tf.pad(patch, [[0, 0], [0, SIZE - 4], [0, SIZE - 4], [0, 0]]);
    const mask = tf.pad(tf.ones([n, 4, 4, 3]), [[0, 0], [0, SIZE - 4], [0, SIZE - 4], [0, 0]]);
    return tf.add(tf.mul(gray, tf.sub(1, mask)), padded) as Tensor4D;
  });
}

/**
 * The tutorial's classifier (nested InferenceModel base, Dropout, Dense head) around a hand-made base:
 * `Conv_1` (4×4 stride 4: one cell per corner patch) measures how much more of colour f a cell holds
 * than of the other colours, `out_relu` keeps the positive part; the head reads the colour features.
 */
function cornerClassifier(numClasses: number): LayersModel {
  const input = tf.input({ shape: [SIZE, SIZE, 3] });
  const conv = tf.layers.conv2d({ name: "Conv_1", filters: 3, kernelSize: 4, strides: 4, useBias: false });
  let x = conv.apply(input) as SymbolicTensor;
  x = tf.layers.reLU({ name: "out_relu" }).apply(x) as SymbolicTensor;
  const base = tf.model({ inputs: input, outputs: x, name: "corner_base" });
  const kernel = tf.tidy(() => {
    // +1 for colour f, −0.6 for the others: light gray (equal channels > 0 after preprocess_input) is
    // negative, so exactly 0 after ReLU
    const perColour = tf.sub(tf.eye(3).mul(1.6), 0.6);
    return perColour.reshape([1, 1, 3, 3]).tile([4, 4, 1, 1]).div(16);
  });
  conv.setWeights([kernel]);
  kernel.dispose();
  const { model } = buildClassifier({ base, numClasses, augmentation: null, seed: 1 });
  const dense = model.getLayer("dense");
  const w = tf.tidy(() => numClasses === 2 ? tf.tensor2d([[1], [-1], [0]]) : tf.eye(3).mul(4));
  const b = tf.zeros([numClasses === 2 ? 1 : 3]);
  dense.setWeights([w, b]);
  tf.dispose([w, b]);
  return model;
}

/** The share of each heatmap's mass in its top-left quadrant. */
function topLeftShare(heat: Tensor3D): number[] {
  const [, h, w] = heat.shape;
  const all = heat.sum([1, 2]).arraySync() as number[];
  const tl = heat.slice([0, 0, 0], [-1, h / 2, w / 2]);
  const part = tl.sum([1, 2]).arraySync() as number[];
  tl.dispose();
  return part.map((p, i) => p / all[i]);
}

Deno.test("gradCam, binary head: the heat lies in the corner that decides, for either class", () => {
  const model = cornerClassifier(2);
  const images = cornerImages([0, 1, 0, 1]); // red → class 1 (logit > 0), green → class 0
  const r = gradCam(model, images);
  try {
    assertEquals(r.classIndex, [1, 0, 1, 0]);
    assertEquals(r.heatmaps.shape, [4, 4, 4]);
    assertEquals(r.upsampled.shape, [4, SIZE, SIZE]);
    const cells = r.heatmaps.arraySync() as number[][][];
    for (const map of cells) {
      assertAlmostEquals(map[0][0], 1, 1e-6); // the corner cell is the maximum
      assertEquals(map.flat().filter((v) => v > 1e-6).length, 1); // and nothing else is warm
    }
    for (const share of topLeftShare(r.upsampled)) assert(share > 0.8, `top-left share ${share}`);
  } finally {
    r.dispose();
    images.dispose();
    model.dispose();
  }
});

Deno.test("gradCam, binary head: explaining the class not shown gives an all-zero heatmap", () => {
  const model = cornerClassifier(2);
  const images = cornerImages([1, 0]);
  const r = gradCam(model, images, { classIndex: [1, 0] }); // green corner explained as red and v.v.
  try {
    assertEquals(r.heatmaps.max().arraySync(), 0);
    assertEquals(r.upsampled.max().arraySync(), 0);
  } finally {
    r.dispose();
    images.dispose();
    model.dispose();
  }
});

Deno.test("gradCam, softmax head: each class's heatmap is its own corner, whatever class is asked", () => {
  const model = cornerClassifier(3);
  const images = cornerImages([0, 1, 2]);
  const predicted = gradCam(model, images);
  const asked = gradCam(model, images, { classIndex: 2 });
  try {
    assertEquals(predicted.classIndex, [0, 1, 2]);
    assertEquals(asked.classIndex, [2, 2, 2]);
    for (const share of topLeftShare(predicted.upsampled)) assert(share > 0.8, `share ${share}`);
    const askedMax = asked.heatmaps.max([1, 2]).arraySync() as number[];
    assertEquals(askedMax.map((m) => m > 0), [false, false, true]); // only the blue corner shows blue
  } finally {
    predicted.dispose();
    asked.dispose();
    images.dispose();
    model.dispose();
  }
});

Deno.test("gradCam equals ReLU(Σ α_k A_k)/max with the base in inference mode (MobileNetV2-shaped base)", () => {
  const raw = tinyBase([SIZE, SIZE, 3], 7);
  const { model } = buildClassifier({ base: raw, numClasses: 3, seed: 2 });
  const images = tf.randomUniform([5, SIZE, SIZE, 3], 0, 255, "float32", 11) as Tensor4D;
  const r = gradCam(model, images, { classIndex: [0, 1, 2, 1, 0] });
  // Reference: A from a plain model of the raw base's layers (inference BatchNorm); the head above A is
  // GlobalAveragePooling → Dense, so ∂logit_c/∂A_ijk = W[k, c] / (h·w) and α_k = W[k, c] / (h·w).
  const expected = tf.tidy(() => {
    const sub = tf.model({ inputs: raw.inputs, outputs: raw.getLayer("out_relu").output as SymbolicTensor });
    const a = sub.predict(tf.sub(tf.div(images, 127.5), 1)) as Tensor;
    const [kernel] = model.getLayer("dense").getWeights();
    const cols = tf.gather(kernel.transpose(), [0, 1, 2, 1, 0]); // [b, K]
    const alpha = cols.div(a.shape[1]! * a.shape[2]!).reshape([5, 1, 1, -1]);
    const cam = tf.relu(tf.sum(tf.mul(a, alpha), -1));
    return tf.divNoNan(cam, tf.max(cam, [1, 2], true));
  });
  try {
    const got = r.heatmaps.dataSync();
    const want = expected.dataSync();
    assertEquals(r.heatmaps.shape, [5, 4, 4]);
    for (let i = 0; i < want.length; i++) assertAlmostEquals(got[i], want[i], 1e-4);
    const max = r.heatmaps.max([1, 2]).arraySync() as number[];
    for (const m of max) assert(m === 0 || Math.abs(m - 1) < 1e-6, `max ${m}`);
    const up = r.upsampled.dataSync();
    assert(up.every((v) => v >= 0 && v <= 1));
  } finally {
    tf.dispose([images, expected]);
    r.dispose();
    model.dispose();
  }
});

Deno.test("gradCam and the overlay leak no tensors", async () => {
  const model = cornerClassifier(2);
  const images = cornerImages([0, 1, 1]);
  gradCam(model, images).dispose(); // first call: any one-time caches
  const before = tf.memory().numTensors;
  const r = gradCam(model, images);
  const image = tf.tidy(() => tf.squeeze(images.slice([0], [1]), [0]) as Tensor3D);
  const heat = heatAt(r.upsampled, 0);
  const png = await gradCamPng(image, heat);
  tf.dispose([image, heat]);
  r.dispose();
  assertEquals(tf.memory().numTensors, before);
  assertEquals(Array.from(png.slice(1, 4)), [0x50, 0x4e, 0x47]); // "PNG"
  images.dispose();
  model.dispose();
});

Deno.test("gradCamOverlay: jet colours over the photo, int32 0..255", () => {
  const image = tf.fill([2, 2, 3], 100) as Tensor3D;
  const heat = tf.tensor2d([[0, 0.5], [1, 0.25]]);
  const colours = jetColours(heat);
  const overlay = gradCamOverlay(image, heat, { opacity: 0.5 });
  try {
    assertEquals(overlay.dtype, "int32");
    assertEquals(overlay.shape, [2, 2, 3]);
    const c = colours.arraySync() as number[][][];
    assertEquals(c[0][0], [0, 0, 0.5]); // 0: dark blue
    assertEquals(c[1][0], [0.5, 0, 0]); // 1: dark red
    const o = overlay.arraySync() as number[][][];
    assertEquals(o[0][0], [50, 50, 50 + 64]); // half the photo + half of 255 · colour
    assertThrows(() => gradCamOverlay(image, tf.zeros([3, 3])), Error, "of the same size");
  } finally {
    tf.dispose([image, heat, colours, overlay]);
  }
});

Deno.test("gradCam: bad input gets a clear error naming what to give", () => {
  const model = cornerClassifier(2);
  const images = cornerImages([0]);
  try {
    assertThrows(() => gradCam(model, images, { layerName: "block_99" }), Error, 'no layer "block_99"');
    assertThrows(() => gradCam(model, images, { classIndex: 2 }), Error, "integer in [0, 1]");
    assertThrows(() => gradCam(model, images, { classIndex: [0, 1] }), Error, "one per image (1)");
    const wrong = tf.zeros([1, 8, 8, 3]) as Tensor4D;
    assertThrows(() => gradCam(model, wrong), Error, "must be a batch [b, 16, 16, 3]");
    wrong.dispose();
    assertThrows(() => gradCam(model, images, { layerName: "dense" }), Error, "convolutional feature map");
  } finally {
    images.dispose();
    model.dispose();
  }
});
