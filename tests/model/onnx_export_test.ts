/**
 * The ONNX export on small models: ONNX Runtime computes what TensorFlow.js' `predict` computes (within
 * 1e-4, at any batch size), the graph is what the export promises (one transpose, BatchNormalization folded,
 * depthwise as grouped convolutions), every supported opset loads, ONNX's checker passes where `.venv` has
 * it, and unsupported layers and bad options are clear errors.
 */
import { tf } from "../../lib/runtime/mod.ts";
import type { LayersModel, SymbolicTensor, Tensor, Tensor4D } from "../../lib/runtime/mod.ts";
import { OnnxSession, readOnnxSummary } from "../../lib/graph/mod.ts";
import {
  buildClassifier,
  exportOnnx,
  mobileNetV2,
  ONNX_OPSETS,
  onnxMaxDifference,
  type OnnxOutputKind,
} from "../../lib/model/mod.ts";
import { tinyBase } from "../../lib/testing/mod.ts";
import { assert, assertEquals, assertRejects } from "../_assert.ts";
import { onnxChecker } from "../_onnx.ts";

const PREPROCESSING = { rescale: { scale: 1 / 127.5, offset: -1 } };

/** Gives every BatchNormalization of `model` non-trivial γ, β and moving statistics (folding is then tested). */
function randomizeBatchNorms(model: LayersModel): void {
  let seed = 10;
  for (const layer of model.layers) {
    if (layer.getClassName() !== "BatchNormalization") continue;
    const ranges = [[0.5, 1.5], [-0.5, 0.5], [-0.5, 0.5], [0.5, 2]];
    const values = layer.getWeights().map((w, i) =>
      tf.randomUniform(w.shape, ranges[i][0], ranges[i][1], "float32", seed++)
    );
    layer.setWeights(values);
    tf.dispose(values);
  }
}

/** `batch` noise images 0..255, each of its own brightness (so that their logits differ). */
function images(batch: number, size: number, seed: number): Tensor4D {
  return tf.tidy(() => {
    const brightness = tf.linspace(0.2, 1, batch).reshape([batch, 1, 1, 1]);
    return tf.mul(tf.randomUniform([batch, size, size, 3], 0, 255, "float32", seed), brightness) as Tensor4D;
  });
}

/** The spread of `model`'s logits on `x`: the outputs compared must vary for a 1e-4 match to mean anything. */
function logitRange(model: LayersModel, x: Tensor4D): number {
  return tf.tidy(() => {
    const y = model.predict(x) as Tensor;
    return tf.sub(tf.max(y), tf.min(y)).dataSync()[0];
  });
}

for (const numClasses of [2, 3]) {
  Deno.test(`exportOnnx: a tiny classifier (${numClasses} classes) equals predict in ONNX Runtime`, async () => {
    const base = tinyBase([24, 24, 3], 5);
    randomizeBatchNorms(base);
    const { model } = buildClassifier({ base, numClasses, seed: 4 });
    const classNames = ["cats", "dogs", "birds"].slice(0, numClasses);
    const before = tf.memory().numTensors;
    const bytes = await exportOnnx(model, { preprocessing: PREPROCESSING, classNames });
    const logitsBytes = await exportOnnx(model, { output: "logits" });
    assertEquals(tf.memory().numTensors, before, "exportOnnx leaks no tensor");

    const output: OnnxOutputKind = numClasses === 2 ? "sigmoid" : "softmax";
    const units = numClasses === 2 ? 1 : numClasses;
    for (const batch of [1, 5]) {
      const x = images(batch, 24, batch);
      if (batch > 1) assert(logitRange(model, x) > 0.01, "the logits vary");
      const diff = await onnxMaxDifference(model, bytes, x, output);
      const logitsDiff = await onnxMaxDifference(model, logitsBytes, x, "logits");
      assert(diff <= 1e-4 && logitsDiff <= 1e-4, `batch ${batch}: differences ${diff}, ${logitsDiff}`);
      x.dispose();
    }
    assertEquals(tf.memory().numTensors, before, "onnxMaxDifference leaks no tensor");

    const summary = await readOnnxSummary(bytes);
    assertEquals(summary.inputs, [{ name: "images", dims: ["N", 24, 24, 3] }]);
    assertEquals(summary.outputs, [{ name: "probabilities", dims: ["N", units] }]);
    assertEquals([summary.producer, summary.opset, summary.irVersion], ["transfer-learning-ts", 13, 7]);
    assertEquals(summary.opCounts.Transpose, 1, "one transpose to NCHW");
    assertEquals(
      summary.opCounts.Mul,
      1,
      "Rescaling's only: each BatchNormalization is folded into its Conv",
    );
    assertEquals(summary.opCounts.Conv, 3);
    assertEquals(summary.opCounts[numClasses === 2 ? "Sigmoid" : "Softmax"], 1);
    assertEquals(JSON.parse(summary.metadata.classNames), classNames);
    assertEquals(JSON.parse(summary.metadata.preprocessing), PREPROCESSING);
    assertEquals([summary.metadata.output, summary.metadata.imageSize], [output, "[24,24]"]);
    assertEquals((await readOnnxSummary(logitsBytes)).outputs, [{ name: "logits", dims: ["N", units] }]);
    await onnxChecker(bytes, "onnx.checker on the tiny classifier");
    model.dispose();
  });
}

Deno.test("exportOnnx: MobileNetV2's layers (depthwise, padding, add, ReLU6) equal predict in ONNX Runtime", async () => {
  const base = await mobileNetV2({ inputShape: [32, 32, 3], alpha: 0.35, includeTop: false, weights: null });
  randomizeBatchNorms(base);
  const { model } = buildClassifier({ base, numClasses: 5, seed: 2, augmentation: null });
  const x = images(3, 32, 8);
  const bytes = await exportOnnx(model, { preprocessing: PREPROCESSING });
  const diff = await onnxMaxDifference(model, bytes, x, "softmax");
  const logitsDiff = await onnxMaxDifference(
    model,
    await exportOnnx(model, { output: "logits" }),
    x,
    "logits",
  );
  assert(logitRange(model, x) > 0.01, "the logits vary");
  assert(diff <= 1e-4 && logitsDiff <= 1e-4, `differences ${diff}, ${logitsDiff}`);

  const summary = await readOnnxSummary(bytes);
  const convs = base.layers.filter((l) => /Conv2D$/.test(l.getClassName())).length;
  const depthwise = base.layers.filter((l) => l.getClassName() === "DepthwiseConv2D").length;
  assertEquals(summary.opCounts.Conv, convs);
  assertEquals(summary.convGroups.filter((g) => g > 1).length, depthwise, "depthwise: one group per channel");
  assertEquals(summary.opCounts.Mul, 1, "every BatchNormalization folded");
  assertEquals(summary.opCounts.Pad, base.layers.filter((l) => l.getClassName() === "ZeroPadding2D").length);
  assertEquals(summary.opCounts.Add, 1 + base.layers.filter((l) => l.getClassName() === "Add").length);
  assertEquals(summary.opCounts.Clip, base.layers.filter((l) => l.getClassName() === "ReLU").length);
  await onnxChecker(bytes, "onnx.checker on MobileNetV2's layers");
  x.dispose();
  model.dispose();
});

Deno.test("exportOnnx: every layer kind in the table, in forms MobileNetV2 does not use, equals predict", async () => {
  // Odd sizes with `same` padding and stride 2 (TensorFlow pads the odd pixel after), a dilated
  // convolution, a depthwise one with a multiplier, biases, activations inside convolutions and as layers, an Add of three, and
  // BatchNormalizations that cannot be folded (after a ReLU; after a Dense).
  const input = tf.input({ shape: [9, 11, 3] });
  const L = tf.layers;
  const a = L.conv2d({ filters: 6, kernelSize: 3, strides: 2, padding: "same", activation: "relu" }).apply(
    input,
  );
  const bnA = L.batchNormalization().apply(a) as SymbolicTensor;
  const b = L.activation({ activation: "relu6" }).apply(
    L.conv2d({ filters: 6, kernelSize: 3, padding: "same", dilationRate: [2, 3] }).apply(bnA),
  ) as SymbolicTensor;
  const c = L.reLU().apply(
    L.conv2d({ filters: 6, kernelSize: 1, useBias: false }).apply(bnA),
  ) as SymbolicTensor;
  const d = L.zeroPadding2d({ padding: [[1, 0], [0, 1]] }).apply(
    L.depthwiseConv2d({ kernelSize: 2, depthMultiplier: 2, padding: "valid", useBias: true }).apply(bnA),
  ) as SymbolicTensor;
  const e = L.conv2d({ filters: 6, kernelSize: 1 }).apply(d) as SymbolicTensor;
  let x = L.add().apply([b, c, e]) as SymbolicTensor;
  x = L.globalAveragePooling2d({}).apply(x) as SymbolicTensor;
  x = L.batchNormalization().apply(L.dense({ units: 5, activation: "relu" }).apply(x)) as SymbolicTensor;
  x = L.dense({ units: 4 }).apply(L.dropout({ rate: 0.5 }).apply(x)) as SymbolicTensor;
  const model = tf.model({ inputs: input, outputs: x });
  randomizeBatchNorms(model);
  for (const layer of model.layers) {
    if (!layer.getClassName().includes("Conv") && layer.getClassName() !== "Dense") continue;
    const values = layer.getWeights().map((w, i) => tf.randomUniform(w.shape, -0.5, 0.5, "float32", 20 + i));
    layer.setWeights(values);
    tf.dispose(values);
  }
  const xs = tf.tidy(() =>
    tf.mul(tf.randomUniform([4, 9, 11, 3], 0, 1, "float32", 2), tf.linspace(0.2, 1, 4).reshape([4, 1, 1, 1]))
  );
  const diff = await onnxMaxDifference(
    model,
    await exportOnnx(model, { output: "logits" }),
    xs as Tensor4D,
    "logits",
  );
  assert(logitRange(model, xs as Tensor4D) > 0.01, "the logits vary");
  assert(diff <= 1e-4, `difference ${diff}`);
  const summary = await readOnnxSummary(await exportOnnx(model));
  assertEquals(summary.opCounts.Mul, 2, "the two BatchNormalizations that cannot be folded");
  assertEquals(summary.convGroups.toSorted(), [1, 1, 1, 1, 6], "one depthwise convolution of 3 channels × 2");
  await onnxChecker(await exportOnnx(model), "onnx.checker on the layer kinds");
  xs.dispose();
  model.dispose();
});

Deno.test("exportOnnx: every opset offered loads in ONNX Runtime and passes ONNX's checker", async () => {
  const { model } = buildClassifier({ base: tinyBase([16, 16, 3], 3), numClasses: 4, seed: 1 });
  const x = images(2, 16, 3);
  for (const opset of ONNX_OPSETS) {
    const bytes = await exportOnnx(model, { opset });
    assertEquals((await readOnnxSummary(bytes)).opset, opset);
    const diff = await onnxMaxDifference(model, bytes, x, "softmax");
    assert(diff <= 1e-4, `opset ${opset}: difference ${diff}`);
    // The checker (a Python start each) at the oldest and the newest: what changes between is the IR version.
    if (opset === ONNX_OPSETS[0] || opset === ONNX_OPSETS.at(-1)) {
      await onnxChecker(bytes, `onnx.checker at opset ${opset}`);
    }
  }
  x.dispose();
  model.dispose();
});

Deno.test("exportOnnx: layers it cannot write are named with their kind; bad options are clear errors", async () => {
  const before = tf.memory().numTensors;
  const input = tf.input({ shape: [8, 8, 3] });
  let x = tf.layers.maxPooling2d({ poolSize: 2, name: "pool" }).apply(input) as SymbolicTensor;
  x = tf.layers.flatten({ name: "flat" }).apply(x) as SymbolicTensor;
  const pooled = tf.model({
    inputs: input,
    outputs: tf.layers.dense({ units: 2 }).apply(x) as SymbolicTensor,
  });
  await assertRejects(
    () => exportOnnx(pooled),
    Error,
    /layer "pool" \(MaxPooling2D\), layer "flat" \(Flatten\)/,
  );
  pooled.dispose();

  const input2 = tf.input({ shape: [8, 8, 3] });
  let y = tf.layers.conv2d({ filters: 2, kernelSize: 3, activation: "tanh", name: "c" }).apply(input2);
  y = tf.layers.globalAveragePooling2d({}).apply(y) as SymbolicTensor;
  const tanh = tf.model({
    inputs: input2,
    outputs: tf.layers.dense({ units: 1 }).apply(y) as SymbolicTensor,
  });
  await assertRejects(() => exportOnnx(tanh), Error, 'layer "c" (Conv2D): activation tanh is not supported');
  await assertRejects(
    () => exportOnnx(tanh, { opset: 12 }),
    Error,
    "opset 12 is not supported; use one of 13",
  );
  tanh.dispose();
  const input3 = tf.input({ shape: [8, 8, 3] });
  let z = tf.layers.depthwiseConv2d({ kernelSize: 3, dilationRate: 2, name: "dw" }).apply(input3);
  z = tf.layers.globalAveragePooling2d({}).apply(z) as SymbolicTensor;
  const dilated = tf.model({
    inputs: input3,
    outputs: tf.layers.dense({ units: 1 }).apply(z) as SymbolicTensor,
  });
  await assertRejects(() => exportOnnx(dilated), Error, 'layer "dw" (DepthwiseConv2D): dilationRate [2,2]');
  dilated.dispose();

  const { model } = buildClassifier({ base: tinyBase([16, 16, 3], 3), numClasses: 2, seed: 1 });
  await assertRejects(
    () => exportOnnx(model, { preprocessing: { rescale: { scale: 1 / 255, offset: 0 } } }),
    Error,
    "the model's first layer is Rescaling(scale 0.00784",
  );
  await assertRejects(() => exportOnnx(model, { classNames: ["a", "b", "c"] }), Error, "3 class names");
  await assertRejects(() => exportOnnx(model, { output: "softmax" }), Error, 'use "sigmoid"');
  model.dispose();
  assertEquals(tf.memory().numTensors, before, "no tensor left behind by the failed exports");
});

Deno.test("OnnxSession: runs a batch size the model was not exported with (the batch is dynamic)", async () => {
  const { model } = buildClassifier({ base: tinyBase([16, 16, 3], 2), numClasses: 3, seed: 5 });
  const session = await OnnxSession.create(await exportOnnx(model, { output: "logits" }));
  assertEquals([session.inputNames, session.outputNames], [["images"], ["logits"]]);
  const x = images(7, 16, 6);
  const { data, dims } = await session.run(x.dataSync() as Float32Array, [7, 16, 16, 3]);
  assertEquals(dims, [7, 3]);
  const expected = tf.tidy(() => (model.predict(x) as Tensor).dataSync());
  assert(data.every((v, i) => Math.abs(v - expected[i]) <= 1e-4), "equal to predict");
  await session.release();
  x.dispose();
  model.dispose();
});
