import { assert, assertAlmostEquals, assertEquals, assertRejects, assertThrows } from "../_assert.ts";
import { tf } from "../../lib/runtime/tf.ts";
import type { LayersModel, SymbolicTensor, Tensor } from "../../lib/runtime/tf.ts";
import fs from "node:fs";
import path from "node:path";
import {
  buildClassifier,
  compileClassifier,
  compileForFineTuning,
  compileForTransferLearning,
  countTrainableVariables,
  findBase,
  InferenceModel,
  unfreezeForFineTuning,
} from "../../lib/model/classifier.ts";
import { concatHistories, evaluate, fit, predictOnBatch } from "../../lib/train/fit.ts";
import type { FitOptions, History } from "../../lib/train/fit.ts";
import { setRandomSeed } from "../../lib/train/random_state.ts";
import { KeyboardInterrupt, requestInterrupt } from "../../lib/runtime/interrupt.ts";
import { compiledStepStatus } from "../../lib/train/train_graph.ts";
import { binaryAccuracy, binaryCrossentropy } from "../../lib/model/losses.ts";
import { dataAugmentation } from "../../lib/model/augment.ts";
import { inferenceMode } from "../../lib/model/inference_model.ts";
import { loadModel, saveModel } from "../../lib/model/model_io.ts";
import { getFile } from "../../lib/io/get_file.ts";
import { imageDatasetFromDirectory } from "../../lib/data/mod.ts";
import { mobileNetV2 } from "../../lib/model/mobilenet_v2.ts";
import {
  maxAbsDiff,
  movingStats,
  tinyBase,
  tinyClassSet,
  tinySet,
  weightsOf,
} from "../../lib/testing/tiny.ts";
import type { TinySet } from "../../lib/testing/tiny.ts";
import { haveShared, SHARED_WEIGHTS_035, SHARED_ZIP } from "../_shared.ts";

function maxStatsChange(before: Float32Array[], after: Float32Array[]): number {
  return Math.max(...after.map((a, i) => maxAbsDiff(a, before[i])));
}

Deno.test("end-to-end: a tiny base learns the generated two-class set (> 90 %), no tensor growth across epochs", async () => {
  const train = tinySet(128, 16, 16, 0), val = tinySet(48, 16, 16, 5);
  const { model } = buildClassifier({ base: tinyBase(), seed: 2 });
  compileClassifier(model, tf.train.adam(0.05));
  // A plain tf.Callback (not a CustomCallback, which would resolve the epoch logs itself) sees what fit leaves.
  const counts: number[] = [];
  class TensorCounter extends tf.Callback {
    override onEpochEnd() {
      counts.push(tf.memory().numTensors);
      return Promise.resolve();
    }
  }
  const h = await fit(model, train.dataset, {
    epochs: 6,
    validationData: val.dataset,
    verbose: 0,
    callbacks: [new TensorCounter()],
  });
  assertEquals(h.epoch, [0, 1, 2, 3, 4, 5]);
  assertEquals(Object.keys(h.history).sort(), ["accuracy", "loss", "val_accuracy", "val_loss"]);
  for (const values of Object.values(h.history)) assertEquals(values.length, 6);
  const valAcc = h.history.val_accuracy.at(-1)!;
  assert(valAcc > 0.9, `validation accuracy ${valAcc} (curve ${h.history.val_accuracy})`);
  assert(h.history.loss.at(-1)! < h.history.loss[0], `loss decreases: ${h.history.loss}`);
  assert(counts.slice(1).every((c) => c === counts[1]), `tensor count per epoch end: ${counts}`);
  const [loss, acc] = await evaluate(model, val.dataset);
  assertAlmostEquals(loss, h.history.val_loss.at(-1)!, 1e-5);
  assertAlmostEquals(acc, valAcc, 1e-6);
  model.dispose();
  train.dispose();
  val.dispose();
});

Deno.test("BatchNorm statistics stay frozen through fit; unfrozen kernels change, frozen layers don't", async () => {
  const train = tinySet(64, 16, 16, 1);
  const { model, base } = buildClassifier({ base: tinyBase(), seed: 3 });
  const stats0 = movingStats(base);
  const dense0 = weightsOf(model, "dense");
  const conv0 = weightsOf(base, "Conv1");
  compileClassifier(model, tf.train.adam(1e-2));
  await fit(model, train.dataset, { epochs: 1, verbose: 0 });
  assertEquals(maxStatsChange(stats0, movingStats(base)), 0, "frozen base: BN stats unchanged");
  assertEquals(maxAbsDiff(weightsOf(base, "Conv1")[0], conv0[0]), 0, "frozen base: kernel unchanged");
  assert(maxAbsDiff(weightsOf(model, "dense")[0], dense0[0]) > 0, "the head trains");

  unfreezeForFineTuning(base, 4); // Conv1 and bn_Conv1 stay frozen
  compileClassifier(model, tf.train.rmsprop(1e-3));
  const frozen = [...weightsOf(base, "Conv1"), ...weightsOf(base, "bn_Conv1")];
  const expand = weightsOf(base, "block_1_expand")[0];
  const bnGamma = weightsOf(base, "block_1_expand_BN")[0];
  const h = await fit(model, train.dataset, { epochs: 3, initialEpoch: 1, verbose: 0 });
  assertEquals(h.epoch, [1, 2]);
  assertEquals(
    maxStatsChange(stats0, movingStats(base)),
    0,
    "fine-tuning: BN moving mean/variance unchanged",
  );
  assert(maxAbsDiff(weightsOf(base, "block_1_expand")[0], expand) > 0, "unfrozen conv kernel changes");
  assert(maxAbsDiff(weightsOf(base, "block_1_expand_BN")[0], bnGamma) > 0, "unfrozen BN gamma changes");
  const frozenAfter = [...weightsOf(base, "Conv1"), ...weightsOf(base, "bn_Conv1")];
  frozenAfter.forEach((w, i) => assertEquals(maxAbsDiff(w, frozen[i]), 0, `frozen weight ${i} unchanged`));
  model.dispose();
  train.dispose();
});

Deno.test("control: without InferenceModel, tfjs' fit does move a frozen base's BatchNorm statistics (issue 7250)", async () => {
  const train = tinySet(32, 16, 16, 2);
  const raw = tinyBase();
  raw.trainable = false;
  const input = tf.input({ shape: [16, 16, 3] });
  const features = raw.apply(input, { training: false }) as SymbolicTensor;
  const pooled = tf.layers.globalAveragePooling2d({}).apply(features) as SymbolicTensor;
  const model = tf.model({
    inputs: input,
    outputs: tf.layers.dense({ units: 1 }).apply(pooled) as SymbolicTensor,
  });
  compileClassifier(model, tf.train.adam(1e-3));
  const stats0 = movingStats(raw);
  await fit(model, train.dataset, { epochs: 1, verbose: 0 });
  assert(maxStatsChange(stats0, movingStats(raw)) > 1e-3, "the plain nested base's statistics moved");
  model.dispose();
  train.dispose();
});

Deno.test("initialEpoch continues the epoch count; histories concatenate for the fine-tuning curves", async () => {
  const train = tinySet(32, 16, 16, 3), val = tinySet(16, 16, 16, 4);
  const { model, base } = buildClassifier({ base: tinyBase(), seed: 4 });
  compileClassifier(model, tf.train.adam(1e-2));
  const h1 = await fit(model, train.dataset, { epochs: 2, validationData: val.dataset, verbose: 0 });
  unfreezeForFineTuning(base, 4);
  compileForFineTuning(model);
  const h2 = await fit(model, train.dataset, {
    epochs: 5,
    initialEpoch: h1.epoch.at(-1)! + 1,
    validationData: val.dataset,
    verbose: 0,
  });
  assertEquals(h2.epoch, [2, 3, 4]);
  const all = concatHistories(h1, h2);
  assertEquals(all.epoch, [0, 1, 2, 3, 4]);
  assertEquals(all.history.val_accuracy, [...h1.history.val_accuracy, ...h2.history.val_accuracy]);
  assertEquals(all.history.loss.length, 5);
  assertThrows(
    () => concatHistories(h1, { ...h2, history: { loss: [1] } }),
    Error,
    "histories have different keys",
  );
  await assertRejects(
    () => fit(model, train.dataset, { epochs: 2, initialEpoch: 2 }),
    Error,
    "initialEpoch must be",
  );
  model.dispose();
  train.dispose();
  val.dispose();
});

Deno.test("evaluate and predictOnBatch agree with a hand calculation over the logits", async () => {
  const val = tinySet(40, 16, 16, 6);
  const { model } = buildClassifier({ base: tinyBase(), seed: 5 });
  compileClassifier(model, tf.train.adam(1e-3));
  const [loss, acc] = await evaluate(model, val.dataset);
  const logits = predictOnBatch(model, val.images);
  assertEquals(logits.shape, [40, 1]);
  const z = logits.dataSync(), y = val.labels.dataSync();
  let sum = 0, hits = 0;
  for (let i = 0; i < z.length; i++) {
    const p = 1 / (1 + Math.exp(-z[i]));
    sum += -(y[i] * Math.log(p) + (1 - y[i]) * Math.log(1 - p));
    hits += Number((z[i] > 0 ? 1 : 0) === y[i]);
  }
  assertAlmostEquals(loss, sum / z.length, 1e-5);
  assertAlmostEquals(acc, hits / z.length, 1e-6);
  const again = predictOnBatch(model, val.images);
  assertEquals(
    maxAbsDiff(again.dataSync(), z),
    0,
    "inference is deterministic (no augmentation, no dropout)",
  );
  assertThrows(
    () => predictOnBatch(model, tf.zeros([2, 8, 8, 3])),
    Error,
    "predictOnBatch: images of 8×8 pixels do not match the model's input of 16×16",
  );
  tf.dispose([logits, again]);
  await assertRejects(
    () => fit(buildClassifier({ base: tinyBase() }).model, val.dataset, { epochs: 1 }),
    Error,
    "is not compiled",
  );
  model.dispose();
  val.dispose();
});

Deno.test("save and load round trip: custom layers restored, identical predictions, BN still pinned", async () => {
  const dir = await Deno.makeTempDir({ prefix: "tl_model_" });
  try {
    const train = tinySet(32, 16, 16, 7);
    const { model } = buildClassifier({ base: tinyBase(), seed: 6 });
    compileClassifier(model, tf.train.adam(1e-2));
    await fit(model, train.dataset, { epochs: 1, verbose: 0 });
    await saveModel(model, dir);
    assert((await Deno.stat(`${dir}/model.json`)).isFile);
    const loaded: LayersModel = await loadModel(dir);
    assertEquals(loaded.layers.map((l) => l.getClassName()), model.layers.map((l) => l.getClassName()));
    const aug = loaded.getLayer("sequential") as unknown as LayersModel;
    assertEquals(aug.layers.map((l) => l.getClassName()), ["RandomFlip", "RandomRotation"]);
    const base = findBase(loaded);
    assert(base instanceof InferenceModel);
    const [a, b] = [predictOnBatch(model, train.images), predictOnBatch(loaded, train.images)];
    assertEquals(maxAbsDiff(a.dataSync(), b.dataSync()), 0);
    tf.dispose([a, b] as Tensor[]);
    // The pinning survives the round trip: fine-tuning the loaded model leaves BN statistics alone.
    unfreezeForFineTuning(base, 0);
    compileClassifier(loaded, tf.train.rmsprop(1e-3));
    const stats0 = movingStats(base);
    await fit(loaded, train.dataset, { epochs: 1, verbose: 0 });
    assertEquals(maxStatsChange(stats0, movingStats(base)), 0);
    await assertRejects(() => loadModel(`${dir}/missing`), Error, "does not exist");
    model.dispose();
    loaded.dispose();
    train.dispose();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("[integration, slow: ~1–2 min] ../shared data, alpha 0.35 ImageNet weights: 2 frozen epochs reach val accuracy > 0.75", async () => {
  const name = "train_test integration";
  if (!haveShared(SHARED_ZIP, name) || !haveShared(SHARED_WEIGHTS_035, name)) return;
  const extracted = await getFile("cats_and_dogs_filtered.zip", SHARED_ZIP, {
    extract: true,
    progress: false,
  });
  const root = fs.existsSync(path.join(extracted, "train"))
    ? extracted
    : path.join(extracted, "cats_and_dogs_filtered");
  const options = { batchSize: 32, imageSize: [160, 160] as [number, number], seed: 42, verbose: false };
  const train = await imageDatasetFromDirectory(path.join(root, "train"), options);
  const validation = await imageDatasetFromDirectory(path.join(root, "validation"), options);
  const rawBase = await mobileNetV2({
    inputShape: [160, 160, 3],
    alpha: 0.35,
    includeTop: false,
    weights: SHARED_WEIGHTS_035,
  });
  const { model, base } = buildClassifier({ base: rawBase, seed: 7 });
  compileForTransferLearning(model);
  assertEquals(countTrainableVariables(model), 2);
  const [, initialAccuracy] = await evaluate(model, validation);
  const stats0 = movingStats(base);
  const h = await fit(model, train, { epochs: 2, validationData: validation, verbose: 0 });
  const valAccuracy = h.history.val_accuracy.at(-1)!;
  console.log(
    `initial val accuracy ${initialAccuracy.toFixed(4)}, after 2 epochs ${
      h.history.val_accuracy.map((a) => a.toFixed(4))
    }`,
  );
  assert(
    valAccuracy > 0.75 && valAccuracy > initialAccuracy,
    `val accuracy ${valAccuracy} (initial ${initialAccuracy})`,
  );
  assertEquals(maxStatsChange(stats0, movingStats(base)), 0, "ImageNet BN statistics untouched");
  model.dispose();
});

Deno.test("four classes: frozen then fine-tuned, the tiny base learns the colour set (> 90 %); cached validation agrees", async () => {
  const before = tf.memory().numTensors;
  const train = tinyClassSet(128, 4, 16, 16, 0), val = tinyClassSet(48, 4, 16, 16, 5);
  const { model, base } = buildClassifier({ base: tinyBase(), numClasses: 4, seed: 2 });
  assertEquals(model.outputs[0].shape, [null, 4]);
  const adam = tf.train.adam(0.01), rmsprop = tf.train.rmsprop(1e-3);
  compileClassifier(model, adam);
  const frozen = await fit(model, train.dataset, { epochs: 25, validationData: val.dataset, verbose: 0 });
  assertEquals(Object.keys(frozen.history).sort(), ["accuracy", "loss", "val_accuracy", "val_loss"]);
  assert(frozen.history.loss.every((l) => l > 0), `cross-entropy stays positive: ${frozen.history.loss}`);
  const valAcc = frozen.history.val_accuracy.at(-1)!;
  assert(valAcc > 0.9, `validation accuracy ${valAcc} (curve ${frozen.history.val_accuracy})`);
  let [loss, acc] = await evaluate(model, val.dataset);
  assertAlmostEquals(loss, frozen.history.val_loss.at(-1)!, 1e-5);
  assertAlmostEquals(acc, valAcc, 1e-6);

  unfreezeForFineTuning(base, 4);
  compileClassifier(model, rmsprop);
  const fine = await fit(model, train.dataset, {
    epochs: 27,
    initialEpoch: 25,
    validationData: val.dataset,
    verbose: 0,
  });
  [loss, acc] = await evaluate(model, val.dataset);
  // The fine-tuning epochs validated from the base's cached frozen part: the same numbers as evaluate.
  assertAlmostEquals(loss, fine.history.val_loss.at(-1)!, 1e-4);
  assertAlmostEquals(acc, fine.history.val_accuracy.at(-1)!, 1e-6);
  assert(acc > 0.9, `fine-tuned accuracy ${acc}`);
  model.dispose();
  adam.dispose();
  rmsprop.dispose();
  train.dispose();
  val.dispose();
  assertEquals(tf.memory().numTensors, before, "no tensor leaks");
});

/**
 * The tutorial notebook's calls: the model assembled in the open, `base.trainable = false`, tfjs' Adam and
 * RMSprop with the Keras-named loss and metric, the fine-tuning loop over `base.layers.slice(0, at)`.
 */
async function trainWithTutorialCalls(seed: number, train: TinySet, val: TinySet): Promise<History[]> {
  const baseModel = tinyBase();
  baseModel.trainable = false;
  const base = inferenceMode(baseModel);
  const inputs = tf.input({ shape: [16, 16, 3] });
  let x = dataAugmentation({ inputShape: [16, 16, 3], seed }).apply(inputs) as SymbolicTensor;
  x = tf.layers.rescaling({ scale: 1 / 127.5, offset: -1 }).apply(x) as SymbolicTensor;
  x = base.apply(x) as SymbolicTensor;
  x = tf.layers.globalAveragePooling2d({}).apply(x) as SymbolicTensor;
  x = tf.layers.dropout({ rate: 0.2, seed: 5 }).apply(x) as SymbolicTensor;
  const kernelInitializer = tf.initializers.glorotUniform({ seed });
  const outputs = tf.layers.dense({ units: 1, kernelInitializer }).apply(x) as SymbolicTensor;
  const model = tf.model({ inputs, outputs });
  const loss = binaryCrossentropy({ fromLogits: true });
  const metrics = [binaryAccuracy({ threshold: 0, name: "accuracy" })];
  model.compile({ optimizer: tf.train.adam(0.01), loss, metrics });
  const frozen = await fitCompiled(model, train, val, 0, 2);
  base.trainable = true;
  for (const layer of base.layers.slice(0, 4)) layer.trainable = false;
  model.compile({ optimizer: tf.train.rmsprop(1e-3), loss, metrics });
  const fine = await fitCompiled(model, train, val, 2, 4);
  model.dispose();
  return [frozen, fine];
}

/** The same with the helpers `deno task train` uses. */
async function trainWithHelpers(seed: number, train: TinySet, val: TinySet): Promise<History[]> {
  const { model, base } = buildClassifier({ base: tinyBase(), seed });
  (model.getLayer("dropout") as unknown as { seed: number }).seed = 5;
  compileClassifier(model, tf.train.adam(0.01));
  const frozen = await fitCompiled(model, train, val, 0, 2);
  unfreezeForFineTuning(base, 4);
  compileForFineTuning(model, 1e-3);
  const fine = await fitCompiled(model, train, val, 2, 4);
  model.dispose();
  return [frozen, fine];
}

/** `fit`, checking that every step ran compiled; the optimizer is disposed afterwards. */
async function fitCompiled(
  model: LayersModel,
  train: TinySet,
  val: TinySet,
  initialEpoch: number,
  epochs: number,
) {
  const compiled: boolean[] = [];
  const h = await fit(model, train.dataset, {
    epochs,
    initialEpoch,
    validationData: val.dataset,
    verbose: 0,
    callbacks: [{ onBatchEnd: () => void compiled.push(compiledStepStatus.get(model)?.compiled ?? false) }],
  });
  assert(compiled.length > 0 && compiled.every(Boolean), `compiled steps: ${compiled}`);
  model.optimizer.dispose();
  return h;
}

Deno.test("the tutorial's own calls (compile with tf.train.adam / tf.train.rmsprop, trainable flags) train as the helpers do", async () => {
  const before = tf.memory().numTensors;
  const train = tinySet(64, 16, 16, 3), val = tinySet(32, 16, 16, 4);
  const open = await trainWithTutorialCalls(6, train, val);
  const helpers = await trainWithHelpers(6, train, val);
  for (const [i, h] of open.entries()) {
    const expected = helpers[i];
    assertEquals(h.epoch, expected.epoch);
    assertEquals(Object.keys(h.history).sort(), ["accuracy", "loss", "val_accuracy", "val_loss"]);
    for (const key of Object.keys(expected.history)) {
      h.history[key].forEach((v, e) =>
        assertAlmostEquals(v, expected.history[key][e], 1e-5, `stage ${i} ${key} epoch ${e}`)
      );
    }
  }
  train.dispose();
  val.dispose();
  assertEquals(tf.memory().numTensors, before, "no tensor leaks");
});

Deno.test("an interrupt mid-epoch, then resumeEpoch: the weights and history of a fit never stopped; no epoch end for the part", async () => {
  const train = tinySet(96, 16, 16, 0), val = tinySet(32, 16, 16, 5);
  const make = () => {
    setRandomSeed(3);
    try {
      const { model } = buildClassifier({ base: tinyBase(), seed: 2 });
      compileClassifier(model, tf.train.adam(0.05));
      return model;
    } finally {
      setRandomSeed(null);
    }
  };
  // The augmentation draws from Math.random: seeded, both runs draw the same.
  const seeded = async <T>(f: () => Promise<T>) => {
    setRandomSeed(5);
    try {
      return await f();
    } finally {
      setRandomSeed(null);
    }
  };
  const wholeModel = make();
  const beforeWhole = tf.memory().numTensors;
  const whole = await seeded(() =>
    fit(wholeModel, train.dataset, { epochs: 2, validationData: val.dataset, verbose: 0 })
  );
  const grown = tf.memory().numTensors - beforeWhole; // the optimizer's slots
  const model = make();
  const before = tf.memory().numTensors;
  let epoch = -1;
  const ends: number[] = [];
  const stopper = {
    onEpochBegin: (e: number) => void (epoch = e),
    onBatchEnd: (batch: number) => void (epoch === 1 && batch === 2 && requestInterrupt()),
    onEpochEnd: (e: number) => void ends.push(e),
  };
  let at: Parameters<NonNullable<FitOptions["onInterrupt"]>>[0] | null = null;
  setRandomSeed(5);
  await assertRejects(
    () =>
      fit(model, train.dataset, {
        epochs: 2,
        validationData: val.dataset,
        verbose: 0,
        callbacks: [stopper],
        onInterrupt: (p) => void (at = p),
      }),
    KeyboardInterrupt,
    "after batch 3/6 of epoch 2/2",
  );
  assertEquals(ends, [0], "the part of epoch 2 has no epoch end");
  assertEquals([at!.epoch, at!.batches, at!.seen, Object.keys(at!.totals).sort()], [1, 3, 48, [
    "accuracy",
    "loss",
  ]]);
  assertEquals(tf.memory().numTensors - before, grown, "nothing left but the optimizer's slots");
  // Keras' BackupAndRestore: the steps done are skipped, the epoch goes on from the next batch.
  const rest = await fit(model, train.dataset.skip(3), {
    epochs: 2,
    initialEpoch: 1,
    validationData: val.dataset,
    verbose: 0,
    resumeEpoch: at!,
  }).finally(() => setRandomSeed(null));
  assertEquals(tf.memory().numTensors - before, grown, "no tensors left by the resumed fit");
  for (const w of ["dense", "conv"].flatMap((k) => wholeModel.layers.filter((l) => l.name.includes(k)))) {
    assertEquals(weightsOf(model, w.name), weightsOf(wholeModel, w.name), w.name);
  }
  for (const key of Object.keys(whole.history)) {
    assertEquals(
      rest.history[key],
      [whole.history[key][1]],
      `${key}: the uninterrupted epoch's, bit for bit`,
    );
  }
  for (const m of [wholeModel, model]) m.optimizer.dispose();
  wholeModel.dispose();
  model.dispose();
  train.dispose();
  val.dispose();
});
