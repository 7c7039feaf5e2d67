/**
 * earlyStopping and modelCheckpoint inside fit (compiled step, cached validation, two stages): on a
 * generated set whose validation labels are the training labels flipped, the validation loss rises as the
 * model learns; the weights after fit are the best epoch's, bit for bit, and no tensor is left behind.
 */
import fs from "node:fs";
import path from "node:path";
import { tf } from "../../lib/runtime/tf.ts";
import type { LayersModel, Tensor } from "../../lib/runtime/tf.ts";
import { assert, assertEquals, assertRejects } from "../_assert.ts";
import { withTempDir } from "../_temp.ts";
import { tinyBase, tinySet } from "../../lib/testing/tiny.ts";
import { buildClassifier, compileClassifier, unfreezeForFineTuning } from "../../lib/model/classifier.ts";
import { fit } from "../../lib/train/fit.ts";
import { earlyStopping } from "../../lib/train/early_stopping.ts";
import { modelCheckpoint } from "../../lib/train/model_checkpoint.ts";
import { compiledStepStatus } from "../../lib/train/train_graph.ts";

/** The training set, and a validation set of the same images with the other label. */
function sets(n = 64) {
  const train = tinySet(n, 16, 16, 0);
  const [xs, ys] = tf.tidy(() => [tf.unstack(train.images), tf.unstack(tf.sub(1, train.labels))]);
  const flipped = tf.data.zip({ xs: tf.data.array(xs), ys: tf.data.array(ys) }).batch(16);
  return {
    train: train.dataset,
    flipped,
    dispose: () => {
      train.dispose();
      tf.dispose([...xs, ...ys]);
    },
  };
}

/** Every weight's values, copied. */
function values(model: LayersModel): Float32Array[] {
  return model.weights.map((w) => (w.read() as Tensor).dataSync().slice() as Float32Array);
}

/** A callback that copies the weights at each epoch's end (before earlyStopping's decision). */
function recorder(model: () => LayersModel, out: Map<number, Float32Array[]>) {
  return { onEpochEnd: (epoch: number) => void out.set(epoch, values(model())) };
}

Deno.test("earlyStopping({ restoreBestWeights }) in fit: stops after patience, restores the best epoch's weights exactly; no leaks", async () => {
  const before = tf.memory().numTensors;
  const data = sets();
  const { model } = buildClassifier({ base: tinyBase(), augmentation: null, seed: 2 });
  compileClassifier(model, tf.train.adam(0.05));
  const seen = new Map<number, Float32Array[]>();
  const stop = earlyStopping({ monitor: "val_loss", patience: 2, restoreBestWeights: true });
  const h = await fit(model, data.train, {
    epochs: 12,
    verbose: 0,
    validationData: data.flipped,
    callbacks: [recorder(() => model, seen), stop],
  });
  assert(compiledStepStatus.get(model)?.compiled, "the compiled step trained");
  const losses = h.history.val_loss;
  const best = losses.indexOf(Math.min(...losses));
  assert(losses.at(-1)! > losses[best], `validation loss rose: ${losses}`);
  assertEquals(stop.bestEpoch, best);
  assertEquals(stop.stoppedEpoch, best + 2);
  assertEquals(h.epoch.length, best + 3);
  assertEquals(values(model), seen.get(best)!);
  assert(
    seen.get(best + 2)!.some((w, i) => w.some((v, j) => v !== seen.get(best)![i][j])),
    "training moved on",
  );
  model.optimizer.dispose();
  model.dispose();
  data.dispose();
  assertEquals(tf.memory().numTensors, before);
});

Deno.test("two stages: one modelCheckpoint(saveBestOnly) keeps the best across both; earlyStopping restarts per stage", async () => {
  const before = tf.memory().numTensors;
  const data = sets();
  const { model, base } = buildClassifier({ base: tinyBase(), augmentation: null, seed: 3 });
  await withTempDir("best-", async (dir) => {
    const best = modelCheckpoint({ filepath: path.join(dir, "best"), saveBestOnly: true });
    const stop = earlyStopping({ patience: 1 });
    const adam = tf.train.adam(0.02);
    compileClassifier(model, adam);
    const frozen = await fit(model, data.train, {
      epochs: 3,
      verbose: 0,
      validationData: data.flipped,
      callbacks: [best, stop],
    });
    adam.dispose();
    unfreezeForFineTuning(base, 4);
    compileClassifier(model, tf.train.rmsprop(1e-3));
    const fine = await fit(model, data.train, {
      epochs: 6,
      initialEpoch: frozen.epoch.at(-1)! + 1,
      verbose: 0,
      validationData: data.flipped,
      callbacks: [best, stop],
    });
    const all = [...frozen.history.val_loss, ...fine.history.val_loss];
    const epochs = [...frozen.epoch, ...fine.epoch];
    const bestAt = epochs[all.indexOf(Math.min(...all))];
    assertEquals(best.lastSaved?.epoch, bestAt);
    assertEquals(best.best, Math.min(...all));
    assert(fs.existsSync(path.join(dir, "best", "model.json")));
    // earlyStopping's bookkeeping belongs to the second stage (absolute epoch numbers).
    assert(stop.bestEpoch >= frozen.epoch.at(-1)! + 1, `bestEpoch ${stop.bestEpoch}`);
  });
  model.optimizer.dispose();
  model.dispose();
  data.dispose();
  assertEquals(tf.memory().numTensors, before);
});

Deno.test("earlyStopping: a failing fit frees the best weights it held (onTrainAbort)", async () => {
  const before = tf.memory().numTensors;
  const data = sets(32);
  const { model } = buildClassifier({ base: tinyBase(), augmentation: null, seed: 2 });
  compileClassifier(model, tf.train.adam(0.05));
  const stop = earlyStopping({ patience: 5, restoreBestWeights: true });
  const failing = {
    onEpochEnd: (epoch: number) => {
      if (epoch === 1) throw new Error("disk full");
    },
  };
  await assertRejects(
    () =>
      fit(model, data.train, {
        epochs: 4,
        verbose: 0,
        validationData: data.flipped,
        callbacks: [stop, failing],
      }),
    Error,
    "disk full",
  );
  model.optimizer.dispose();
  model.dispose();
  data.dispose();
  assertEquals(tf.memory().numTensors, before);
});
