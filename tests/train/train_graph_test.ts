import { tf } from "../../lib/runtime/tf.ts";
import type { LayersModel, Optimizer, SymbolicTensor, Tensor, Variable } from "../../lib/runtime/tf.ts";
import { assert, assertEquals } from "../_assert.ts";
import { tinyBase, tinySet } from "../../lib/testing/tiny.ts";
import { haveShared, SHARED_WEIGHTS_035 } from "../_shared.ts";
import { buildClassifier, compileClassifier, unfreezeForFineTuning } from "../../lib/model/classifier.ts";
import { mobileNetV2 } from "../../lib/model/mobilenet_v2.ts";
import { rmsprop } from "../../lib/model/optimizers.ts";
import { binaryCrossentropyFromLogits } from "../../lib/model/losses.ts";
import { collectedTrainableWeights } from "../../lib/model/tfjs_internals.ts";
import { fit } from "../../lib/train/fit.ts";
import { compiledStepStatus, TrainGraph, useCompiledStep } from "../../lib/train/train_graph.ts";
import { dropoutSeed } from "../../lib/train/random_state.ts";

const apply = (layer: { apply(x: unknown): unknown }, x: unknown) => layer.apply(x) as SymbolicTensor;

/** max |a − b| / max(max |b|, tiny) over a tensor: the error relative to the gradient's scale. */
function relativeError(a: Tensor, b: Tensor): number {
  const x = a.dataSync(), y = b.dataSync();
  let diff = 0, scale = 1e-12;
  for (let i = 0; i < x.length; i++) {
    diff = Math.max(diff, Math.abs(x[i] - y[i]));
    scale = Math.max(scale, Math.abs(y[i]));
  }
  return diff / scale;
}

/** tfjs' eager gradients of the compiled loss, as `fit` computes them (training mode). */
function eagerGradients(model: LayersModel, x: Tensor, y: Tensor): Tensor[] {
  const vars = collectedTrainableWeights(model)!.map((w) => w.read() as Variable);
  const { value, grads } = tf.variableGrads(() => {
    const z = model.apply(x, { training: true }) as Tensor;
    return tf.mean(model.lossFunctions[0](y, z) as Tensor);
  }, vars);
  value.dispose();
  return vars.map((v) => grads[v.name]);
}

/** A batch of 0..255 images and integer labels below `classes`. */
function batch(n: number, shape: number[], classes: number, seed = 3): { x: Tensor; y: Tensor } {
  return tf.tidy(() => ({
    x: tf.randomUniform([n, ...shape], 0, 255, "float32", seed),
    y: tf.cast(tf.floor(tf.randomUniform([n], 0, classes, "float32", seed + 1)), "int32"),
  }));
}

/** Sets a seed on the classifier's dropout so that eager and compiled steps draw the same mask. */
function seedDropout(model: LayersModel, seed: number) {
  (model.getLayer("dropout") as unknown as { seed: number }).seed = seed;
}

function compareGradients(model: LayersModel, x: Tensor, y: Tensor): number {
  const graph = TrainGraph.compile(model);
  if (typeof graph === "string") throw new Error(`not compiled: ${graph}`);
  const compiled = graph.gradients(x, y);
  const eager = eagerGradients(model, x, y);
  assertEquals(compiled.length, eager.length);
  const errors = compiled.map((g, i) => {
    assertEquals(g.shape, eager[i].shape);
    return relativeError(g, eager[i]);
  });
  tf.dispose([...compiled, ...eager]);
  graph.dispose();
  return Math.max(...errors);
}

Deno.test("TrainGraph gradients equal tfjs' eager gradients: frozen base, head only (dense, dropout, GAP, binary CE)", () => {
  const before = tf.memory().numTensors;
  const { model } = buildClassifier({ base: tinyBase(), augmentation: null, seed: 4 });
  compileClassifier(model, tf.train.adam(1e-3));
  seedDropout(model, 11);
  const { x, y } = batch(6, [16, 16, 3], 2);
  const error = compareGradients(model, x, y);
  assert(error <= 1e-5, `max relative error ${error}`);
  tf.dispose([x, y]);
  model.optimizer.dispose();
  model.dispose();
  assertEquals(tf.memory().numTensors, before);
});

/** A MobileNetV2-shaped base: expand 1×1 → BN → ReLU6 → pad → depthwise 3×3 stride 2 → … → residual Add. */
function blockBase(): LayersModel {
  const input = tf.input({ shape: [16, 16, 3], name: "bb_input" });
  const init = (seed: number) => tf.initializers.glorotUniform({ seed });
  const bn = (name: string) => tf.layers.batchNormalization({ name, epsilon: 1e-3 });
  const relu6 = (name: string) => tf.layers.reLU({ maxValue: 6, name });
  let x = apply(
    tf.layers.conv2d({
      filters: 8,
      kernelSize: 3,
      strides: 2,
      padding: "same",
      useBias: false,
      name: "Conv1",
      kernelInitializer: init(1),
    }),
    input,
  );
  x = apply(relu6("Conv1_relu"), apply(bn("bn_Conv1"), x));
  // Expand 1×1 → BN → ReLU6 → depthwise 3×3 → BN → ReLU6 → project 1×1 → BN; with stride 2,
  // ZeroPadding2D + 'valid' depthwise as Keras' MobileNetV2 does.
  const block = (name: string, input: SymbolicTensor, strides: 1 | 2, seed: number) => {
    const conv1x1 = (filters: number, part: string, initSeed: number) =>
      tf.layers.conv2d({
        filters,
        kernelSize: 1,
        useBias: false,
        name: `${name}_${part}`,
        kernelInitializer: init(initSeed),
      });
    let h = apply(conv1x1(16, "expand", seed), input);
    h = apply(relu6(`${name}_expand_relu`), apply(bn(`${name}_expand_BN`), h));
    if (strides === 2) {
      h = apply(tf.layers.zeroPadding2d({ padding: [[0, 1], [0, 1]], name: `${name}_pad` }), h);
    }
    h = apply(
      tf.layers.depthwiseConv2d({
        kernelSize: 3,
        strides,
        padding: strides === 2 ? "valid" : "same",
        useBias: false,
        name: `${name}_depthwise`,
        depthwiseInitializer: init(seed + 1),
      }),
      h,
    );
    h = apply(relu6(`${name}_depthwise_relu`), apply(bn(`${name}_depthwise_BN`), h));
    return apply(bn(`${name}_project_BN`), apply(conv1x1(8, "project", seed + 2), h));
  };
  const b1 = block("b1", x, 2, 2);
  // Stride 1 and a residual Add.
  x = apply(tf.layers.add({ name: "b2_add" }), [b1, block("b2", b1, 1, 5)]);
  x = apply(
    tf.layers.conv2d({
      filters: 12,
      kernelSize: 1,
      useBias: true,
      name: "Conv_1",
      kernelInitializer: init(8),
    }),
    x,
  );
  x = apply(relu6("out_relu"), apply(bn("Conv_1_bn"), x));
  const model = tf.model({ inputs: input, outputs: x, name: "block_base" });
  // Non-trivial moving statistics and γ/β, so that folding and the BN gradients are exercised.
  let seed = 20;
  for (const layer of model.layers) {
    if (layer.getClassName() !== "BatchNormalization") continue;
    tf.tidy(() => {
      layer.setWeights(
        layer.getWeights().map((w, i) =>
          tf.randomUniform(w.shape, i === 3 ? 0.5 : -0.5, i === 3 ? 2 : 0.5, "float32", seed++).add(
            i === 0 ? 1 : 0,
          )
        ),
      );
    });
  }
  return model;
}

Deno.test("TrainGraph gradients equal tfjs' eager gradients: fine-tuning depthwise (stride 1, 2), pad, BN γ/β, ReLU6, Add; 3 classes", () => {
  const before = tf.memory().numTensors;
  for (const fineTuneAt of [4, 9]) {
    const { model, base } = buildClassifier({
      base: blockBase(),
      numClasses: 3,
      augmentation: null,
      seed: 4,
    });
    unfreezeForFineTuning(base, fineTuneAt);
    compileClassifier(model, rmsprop(1e-4));
    seedDropout(model, 12);
    const { x, y } = batch(5, [16, 16, 3], 3);
    const error = compareGradients(model, x, y);
    assert(error <= 1e-5, `fineTuneAt ${fineTuneAt}: max relative error ${error}`);
    tf.dispose([x, y]);
    model.optimizer.dispose();
    model.dispose();
  }
  assertEquals(tf.memory().numTensors, before);
});

/** Weights of a model after `steps` trainOnBatch calls, compiled or eager; the optimizer's weights too. */
async function trainSteps(compiled: boolean, makeOptimizer: () => Optimizer, fineTune: boolean) {
  const { model, base } = buildClassifier({ base: blockBase(), seed: 4 });
  if (fineTune) unfreezeForFineTuning(base, 9);
  compileClassifier(model, makeOptimizer());
  seedDropout(model, 13);
  const initial = model.trainableWeights.map((w) => w.read().dataSync().slice());
  const restore = compiled ? useCompiledStep(model) : () => {};
  const losses: number[] = [];
  const counts: number[] = [];
  for (let s = 0; s < 3; s++) {
    const { x, y } = batch(4, [16, 16, 3], 2, 30 + s);
    // tfjs' own Dropout reuses its seed at every step; the compiled step draws a seeded layer's s-th mask
    // with dropoutSeed(seed, s): tfjs' own step with that seed is the reference.
    if (!compiled) seedDropout(model, dropoutSeed(13, s));
    const out = await model.trainOnBatch(x, y) as number[];
    losses.push(out[0]);
    tf.dispose([x, y]);
    counts.push(tf.memory().numTensors);
  }
  assertEquals(compiledStepStatus.get(model)?.compiled ?? false, compiled);
  restore();
  // What the three steps changed (the weights themselves would hide an error in a small update).
  const weights = model.trainableWeights.map((w, i) => w.read().dataSync().map((v, j) => v - initial[i][j]));
  const optimizerWeights = await model.optimizer.getWeights();
  const slots = optimizerWeights.map((w) => ({ name: w.name, values: w.tensor.dataSync().slice() }));
  optimizerWeights[0].tensor.dispose(); // the iteration count, a new scalar
  model.optimizer.dispose();
  model.dispose();
  return { losses, weights, slots, counts };
}

for (
  const [name, makeOptimizer] of [
    ["Adam", () => tf.train.adam(1e-3)],
    ["GraphRMSPropOptimizer", () => rmsprop(1e-3)],
    // What a notebook passes to model.compile: tfjs' own class, the same arithmetic in the graph.
    ["tf.train.rmsprop", () => tf.train.rmsprop(1e-3)],
  ] as const
) {
  for (const fineTune of [false, true]) {
    Deno.test(`useCompiledStep: 3 ${name} steps (${fineTune ? "fine-tuning" : "frozen base"}) equal tfjs' own, slots and names too; tensors flat`, async () => {
      const before = tf.memory().numTensors;
      const eager = await trainSteps(false, makeOptimizer, fineTune);
      const compiled = await trainSteps(true, makeOptimizer, fineTune);
      for (let s = 0; s < 3; s++) {
        assert(
          Math.abs(eager.losses[s] - compiled.losses[s]) <= 1e-5 * Math.max(1, eager.losses[s]),
          `loss ${s}`,
        );
      }
      assertEquals(compiled.weights.length, eager.weights.length);
      compiled.weights.forEach((w, i) => {
        const [a, b] = [tf.tensor(w), tf.tensor(eager.weights[i])];
        const err = relativeError(a, b);
        tf.dispose([a, b]);
        assert(err <= 1e-3, `weight ${i}: update differs by ${err} of its largest change`);
      });
      assertEquals(
        compiled.slots.map((s) => s.name.replace(/_\d+/g, "")),
        eager.slots.map((s) => s.name.replace(/_\d+/g, "")),
      );
      // The step keeps no tensors: after the first step (which creates the optimizer's slots) the count is flat.
      assertEquals(compiled.counts[2], compiled.counts[1]);
      assertEquals(tf.memory().numTensors, before);
    });
  }
}

Deno.test("TrainGraph.compile says why for a model it cannot write; useCompiledStep then trains as tfjs does", async () => {
  const before = tf.memory().numTensors;
  const input = tf.input({ shape: [8, 8, 3] });
  let x = apply(tf.layers.conv2d({ filters: 4, kernelSize: 3, name: "c" }), input);
  x = apply(tf.layers.maxPooling2d({ poolSize: 2, name: "pool" }), x);
  x = apply(tf.layers.flatten({ name: "flat" }), x);
  const model = tf.model({ inputs: input, outputs: apply(tf.layers.dense({ units: 1, name: "d" }), x) });
  compileClassifier(model, tf.train.adam(1e-3));
  const reason = TrainGraph.compile(model);
  assertEquals(typeof reason, "string");
  assert(String(reason).includes("MaxPooling2D"), String(reason));
  const restore = useCompiledStep(model);
  const { x: xs, y } = batch(2, [8, 8, 3], 2);
  const out = await model.trainOnBatch(xs, y) as number[];
  assert(Number.isFinite(out[0]));
  restore();
  tf.dispose([xs, y]);
  model.optimizer.dispose();
  model.dispose();
  assertEquals(tf.memory().numTensors, before);
});

Deno.test("TrainGraph.compile refuses a loss that only has the name of the one it writes", () => {
  const before = tf.memory().numTensors;
  const input = tf.input({ shape: [4] });
  const model = tf.model({ inputs: input, outputs: apply(tf.layers.dense({ units: 1, name: "d" }), input) });
  const squared = (y: Tensor, z: Tensor) => tf.mean(tf.squaredDifference(tf.cast(y, "float32"), z), -1);
  Object.defineProperty(squared, "name", { value: "binaryCrossentropyFromLogits" });
  model.compile({ optimizer: tf.train.adam(1e-3), loss: squared });
  const reason = TrainGraph.compile(model);
  assertEquals(typeof reason, "string");
  assert(String(reason).startsWith("loss binaryCrossentropyFromLogits"), String(reason));
  model.optimizer.dispose();
  model.dispose();
  assertEquals(tf.memory().numTensors, before);
});

Deno.test("TrainGraph.compile refuses metrics other than the head's accuracy; fit then trains as tfjs does", async () => {
  const before = tf.memory().numTensors;
  const set = tinySet(32, 16, 16);
  for (const metrics of [[], ["accuracy"]]) {
    const { model } = buildClassifier({ base: tinyBase(), seed: 2 });
    model.compile({ optimizer: tf.train.adam(1e-3), loss: binaryCrossentropyFromLogits, metrics });
    const reason = TrainGraph.compile(model);
    assert(typeof reason === "string" && reason.startsWith("metrics ["), String(reason));
    const h = await fit(model, set.dataset, { epochs: 2, verbose: 0 });
    assertEquals(compiledStepStatus.get(model)?.compiled, false);
    // tfjs' own step: its names ("acc" for the string), no output left over.
    assertEquals(Object.keys(h.history), metrics.length ? ["loss", "acc"] : ["loss"]);
    model.optimizer.dispose();
    model.dispose();
  }
  set.dispose();
  assertEquals(tf.memory().numTensors, before);
});

Deno.test("TrainGraph gradients equal tfjs' eager gradients: MobileNetV2 alpha 0.35 fine-tuned from layer 100 (ImageNet weights when ../shared has them)", async () => {
  const before = tf.memory().numTensors;
  // The ImageNet weights have BatchNormalization statistics far from (0, 1), as in the tutorial.
  const weights =
    haveShared(SHARED_WEIGHTS_035, "MobileNetV2 gradients with ImageNet weights (random instead)")
      ? SHARED_WEIGHTS_035
      : null;
  const rawBase = await mobileNetV2({
    inputShape: [96, 96, 3],
    alpha: 0.35,
    includeTop: false,
    weights,
  });
  const { model, base } = buildClassifier({ base: rawBase, augmentation: null, seed: 4 });
  unfreezeForFineTuning(base, 100);
  compileClassifier(model, rmsprop(1e-5));
  seedDropout(model, 14);
  const { x, y } = batch(4, [96, 96, 3], 2);
  const error = compareGradients(model, x, y);
  console.log(
    `MobileNetV2 0.35 fine-tuning (${
      weights ? "ImageNet" : "random"
    } weights): max relative gradient error ` +
      error.toExponential(2),
  );
  assert(error <= 1e-5, `max relative error ${error}`);
  tf.dispose([x, y]);
  model.optimizer.dispose();
  model.dispose();
  assertEquals(tf.memory().numTensors, before);
});

Deno.test("fit trains with the compiled step by default and with tfjs' own for compiledStep: false; same learning", async () => {
  const before = tf.memory().numTensors;
  const set = tinySet(128, 16, 16);
  const accuracies: number[] = [];
  for (const compiledStep of [true, false]) {
    const { model } = buildClassifier({ base: tinyBase(), seed: 2 });
    compileClassifier(model, tf.train.adam(0.05));
    const steps: boolean[] = [];
    const h = await fit(model, set.dataset, {
      epochs: 6,
      verbose: 0,
      compiledStep,
      callbacks: [{ onBatchEnd: () => void steps.push(compiledStepStatus.get(model)?.compiled ?? false) }],
    });
    assert(
      steps.length > 0 && steps.every((s) => s === compiledStep),
      `compiledStep ${compiledStep}: ${steps}`,
    );
    // The hook is removed when fit returns.
    assert(!Object.prototype.hasOwnProperty.call(model, "makeTrainFunction"));
    accuracies.push(h.history.accuracy.at(-1)!);
    model.optimizer.dispose();
    model.dispose();
  }
  assert(accuracies.every((a) => a > 0.85), `final training accuracy ${accuracies}`);
  set.dispose();
  assertEquals(tf.memory().numTensors, before);
});
