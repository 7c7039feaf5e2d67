import { assert, assertAlmostEquals, assertEquals, assertThrows } from "../_assert.ts";
import { tf } from "../../lib/runtime/tf.ts";
import type { LayersModel, Tensor } from "../../lib/runtime/tf.ts";
import {
  buildClassifier,
  classProbabilities,
  compileClassifier,
  compileForFineTuning,
  compileForTransferLearning,
  countTrainableVariables,
  findBase,
  paramCounts,
  unfreezeForFineTuning,
} from "../../lib/model/classifier.ts";
import { headUnits, numClassesOf } from "../../lib/model/losses.ts";
import { mobileNetV2 } from "../../lib/model/mobilenet_v2.ts";
import { printSummary } from "../../lib/model/summary.ts";
import { tinyBase } from "../../lib/testing/tiny.ts";

Deno.test("the classifier has the tutorial's layers, a frozen base and 2 trainable variables (tiny base)", () => {
  const { model, base } = buildClassifier({ base: tinyBase(), seed: 1 });
  assertEquals(
    model.layers.map((l) => l.getClassName()),
    ["InputLayer", "Sequential", "Rescaling", "InferenceModel", "GlobalAveragePooling2D", "Dropout", "Dense"],
  );
  assertEquals(model.outputs[0].shape, [null, 1]);
  assert(findBase(model) === base);
  const baseParams = base.countParams();
  assertEquals(paramCounts(model), { total: baseParams + 17, trainable: 17, nonTrainable: baseParams });
  compileForTransferLearning(model);
  assertEquals(countTrainableVariables(model), 2);
  assertAlmostEquals((model.optimizer as unknown as { learningRate: number }).learningRate, 1e-4, 1e-12);
  model.dispose();
});

Deno.test("fine-tuning unfreezes the base from fineTuneAt on (tiny base: 6 + 2 variables)", () => {
  const { model, base } = buildClassifier({ base: tinyBase() });
  // Layers: input, Conv1, bn_Conv1, relu, block_1_expand, block_1_expand_BN, relu, Conv_1, Conv_1_bn, relu.
  unfreezeForFineTuning(base, 4);
  compileForFineTuning(model);
  assertEquals(countTrainableVariables(model), 6 + 2);
  assertEquals(
    model.trainableWeights.map((w) => w.originalName),
    [
      "block_1_expand/kernel",
      "block_1_expand_BN/gamma",
      "block_1_expand_BN/beta",
      "Conv_1/kernel",
      "Conv_1_bn/gamma",
      "Conv_1_bn/beta",
      "dense/kernel",
      "dense/bias",
    ],
  );
  assertEquals(model.optimizer.getClassName(), "RMSProp");
  // Unfreezing twice, or from another point, starts from a fully trainable base as Keras does.
  unfreezeForFineTuning(base, 8);
  compileForFineTuning(model);
  assertEquals(countTrainableVariables(model), 2 + 2);
  assertThrows(() => unfreezeForFineTuning(base, 11), Error, "fineTuneAt must be an integer in [0, 10]");
  model.dispose();
});

Deno.test("preprocessing maps 0..255 to -1..1 inside the model", () => {
  const { model } = buildClassifier({ base: tinyBase() });
  const rescale = model.getLayer("preprocess_input");
  const y = rescale.apply(tf.tensor([0, 127.5, 255], [1, 1, 3, 1])) as Tensor;
  assertEquals(Array.from(y.dataSync()), [-1, 0, 1]);
  tf.dispose(y);
  model.dispose();
});

Deno.test("bad classifier options are clear errors", () => {
  assertThrows(
    () => buildClassifier({ base: {} as LayersModel }),
    Error,
    "options.base must be a tf.LayersModel",
  );
  assertThrows(() => buildClassifier({ base: tinyBase(), dropout: 1 }), Error, "dropout must be in [0, 1)");
  assertThrows(
    () => buildClassifier({ base: tinyBase(), inputShape: [16, 16] }),
    Error,
    "inputShape must be [height, width, channels]",
  );
  const { model } = buildClassifier({ base: tinyBase() });
  assertThrows(() => compileClassifier(model, undefined as never));
});

Deno.test("MobileNetV2 alpha 1.0 at 160: the tutorial's 2,259,265 parameters, 1,281 trainable; 2 then 56 variables", async () => {
  const raw = await mobileNetV2({ inputShape: [160, 160, 3], alpha: 1.0, includeTop: false, weights: null });
  assertEquals(raw.layers.length, 154, "the tutorial's 'Number of layers in the base model: 154'");
  const { model, base } = buildClassifier({ base: raw });
  assertEquals(base.name, "mobilenetv2_1.00_160");
  assertEquals(paramCounts(model), { total: 2259265, trainable: 1281, nonTrainable: 2257984 });
  const lines: string[] = [];
  printSummary(model, { printFn: (l) => lines.push(l) });
  const row = lines.findIndex((l) =>
    l.startsWith(" mobilenetv2_1.00_160 (Func  (None, 5, 5, 1280)        2257984")
  );
  assert(row > 0 && lines[row + 1].startsWith(" tional)"), lines.join("\n"));
  assert(lines.some((l) => l.startsWith(" sequential (Sequential)")));
  assertEquals(lines.slice(-4, -1), [
    "Total params: 2259265 (8.62 MB)",
    "Trainable params: 1281 (5.00 KB)",
    "Non-trainable params: 2257984 (8.61 MB)",
  ]);
  compileForTransferLearning(model);
  assertEquals(countTrainableVariables(model), 2);
  unfreezeForFineTuning(base);
  compileForFineTuning(model);
  assertEquals(countTrainableVariables(model), 56);
  // As in Keras 3: layers[100] is block_11_expand_relu, the first trainable variable block_11_depthwise's kernel.
  assertEquals(base.layers[100].name, "block_11_expand_relu");
  assertEquals(model.trainableWeights[0].originalName, "block_11_depthwise/depthwise_kernel");
  model.dispose();
});

Deno.test("numClasses: 2 → one logit and binary cross-entropy; 5 → five logits and sparse categorical", () => {
  const two = buildClassifier({ base: tinyBase(), numClasses: 2 }).model;
  const five = buildClassifier({ base: tinyBase(), numClasses: 5 }).model;
  assertEquals(two.outputs[0].shape, [null, 1]);
  assertEquals(five.outputs[0].shape, [null, 5]);
  assertEquals([headUnits(two), numClassesOf(two), headUnits(five), numClassesOf(five)], [1, 2, 5, 5]);
  compileForTransferLearning(two);
  compileForTransferLearning(five);
  const lossName = (m: LayersModel) =>
    (m as unknown as { lossFunctions: { name: string }[] }).lossFunctions[0].name;
  assertEquals(lossName(two), "binaryCrossentropyFromLogits");
  assertEquals(lossName(five), "sparseCategoricalCrossentropyFromLogits");
  assertEquals(five.metricsNames, ["loss", "accuracy"]);
  assertThrows(
    () => buildClassifier({ base: tinyBase(), numClasses: 1 }),
    Error,
    "numClasses must be an integer ≥ 2",
  );
  two.dispose();
  five.dispose();
});

Deno.test("classProbabilities: [1 − σ, σ] for one logit, softmax for more; rows sum to 1", () => {
  const before = tf.memory().numTensors;
  const z1 = tf.tensor2d([[0], [2]]);
  const p1 = classProbabilities(z1);
  const s = 1 / (1 + Math.exp(-2));
  Array.from(p1.dataSync()).forEach((v, i) => assertAlmostEquals(v, [0.5, 0.5, 1 - s, s][i], 1e-6));
  const z3 = tf.tensor2d([[1, 2, 3]]);
  const p3 = classProbabilities(z3);
  const e = [1, 2, 3].map(Math.exp), sum = e.reduce((a, b) => a + b);
  Array.from(p3.dataSync()).forEach((v, i) => assertAlmostEquals(v, e[i] / sum, 1e-6));
  tf.dispose([z1, p1, z3, p3]);
  assertEquals(tf.memory().numTensors, before);
});
