/**
 * Checkpoints: save after an epoch → a new model (other initial weights, other random state) loads it →
 * its next epoch ends with the same weights, bit for bit, as the run that went on (seeded random numbers,
 * unseeded dropout and augmentation included); other models, optimizers and fingerprints are refused; a
 * write that stopped half-way leaves the previous checkpoint usable.
 */
import fs from "node:fs";
import path from "node:path";
import { tf } from "../../lib/runtime/tf.ts";
import type { LayersModel, Optimizer } from "../../lib/runtime/tf.ts";
import { assert, assertEquals, assertRejects } from "../_assert.ts";
import { withTempDir } from "../_temp.ts";
import { tinyBase, tinySet } from "../../lib/testing/tiny.ts";
import { buildClassifier, compileClassifier } from "../../lib/model/classifier.ts";
import { iterationsOf } from "../../lib/model/optimizers.ts";
import { concatHistories, fit } from "../../lib/train/fit.ts";
import { setRandomSeed } from "../../lib/train/random_state.ts";
import {
  CHECKPOINT_FILE,
  fingerprintDifference,
  loadCheckpoint,
  readCheckpoint,
  saveCheckpoint,
} from "../../lib/train/checkpoint.ts";

/** The tutorial's classifier on the tiny base: default (unseeded) augmentation, dropout and head. */
function classifier(numClasses = 2, optimizer: () => Optimizer = () => tf.train.adam(0.01)): LayersModel {
  const { model } = buildClassifier({ base: tinyBase(), numClasses });
  compileClassifier(model, optimizer());
  return model;
}

const bits = (model: LayersModel) =>
  model.weights.map((w) => [...new Uint32Array(w.read().dataSync().slice().buffer)]);

Deno.test("checkpoint: save after epoch 2, load into a fresh model, epoch 3 equals the uninterrupted run bit for bit", async () => {
  const before = tf.memory().numTensors;
  const set = tinySet(48, 16, 16, 4);
  await withTempDir("ckpt-", async (dir) => {
    setRandomSeed(11);
    const a = classifier();
    const first = await fit(a, set.dataset, { epochs: 2, verbose: 0 });
    await saveCheckpoint(dir, {
      model: a,
      epoch: 1,
      stage: "frozen",
      history: first,
      fingerprint: { data: "tiny" },
    });
    const rest = await fit(a, set.dataset, { epochs: 3, initialEpoch: 2, verbose: 0 });
    const expected = bits(a);

    setRandomSeed(999); // another start: other initial weights and random state
    const b = classifier();
    assert(JSON.stringify(bits(b)) !== JSON.stringify(expected));
    const loaded = await loadCheckpoint(dir, { model: b, fingerprint: { data: "tiny" } });
    assertEquals([loaded.epoch, loaded.stage], [1, "frozen"]);
    assertEquals(iterationsOf(b.optimizer), iterationsOf(a.optimizer) - 3);
    const resumed = await fit(b, set.dataset, { epochs: 3, initialEpoch: loaded.epoch + 1, verbose: 0 });
    assertEquals(bits(b), expected);
    assertEquals(concatHistories(loaded.history!, resumed), concatHistories(first, rest));
    for (const m of [a, b]) {
      m.optimizer.dispose();
      m.dispose();
    }
  });
  setRandomSeed(null);
  set.dispose();
  assertEquals(tf.memory().numTensors, before);
});

Deno.test("checkpoint: another model, optimizer or fingerprint is refused, naming the difference; nothing changes", async () => {
  const before = tf.memory().numTensors;
  await withTempDir("ckpt-", async (dir) => {
    const a = classifier();
    await saveCheckpoint(dir, {
      model: a,
      epoch: 0,
      stage: "frozen",
      fingerprint: { data: "/photos", alpha: 0.35 },
    });
    const other = classifier(3);
    const weights = bits(other);
    await assertRejects(
      () => loadCheckpoint(dir, { model: other }),
      Error,
      "dense/kernel [16,1] there and dense/kernel [16,3] here",
    );
    assertEquals(bits(other), weights);
    const rms = classifier(2, () => tf.train.rmsprop(1e-3));
    await assertRejects(
      () => loadCheckpoint(dir, { model: rms }),
      Error,
      "holds the state of a Adam optimizer",
    );
    await assertRejects(
      () => loadCheckpoint(dir, { model: a, fingerprint: { data: "/other" } }),
      Error,
      `was made with data = "/photos", but this run has "/other"`,
    );
    await assertRejects(
      () => loadCheckpoint(path.join(dir, "nowhere"), { model: a }),
      Error,
      "no checkpoint in",
    );
    for (const m of [a, other, rms]) {
      m.optimizer.dispose();
      m.dispose();
    }
  });
  assertEquals(tf.memory().numTensors, before);
});

Deno.test("checkpoint: a write killed half-way leaves the previous checkpoint whole; a damaged file is refused", async () => {
  const before = tf.memory().numTensors;
  await withTempDir("ckpt-", async (dir) => {
    const a = classifier();
    const file = await saveCheckpoint(dir, { model: a, epoch: 3 });
    const whole = fs.readFileSync(file);
    // What a kill during the next save leaves: a partial temporary sibling; the checkpoint is untouched.
    fs.writeFileSync(`${file}.writing-999999-0badc0de`, whole.subarray(0, whole.length >> 1));
    assertEquals((await readCheckpoint(dir)).header.epoch, 3);
    assertEquals(fs.readdirSync(dir).filter((f) => f === CHECKPOINT_FILE).length, 1);
    const damaged = whole.slice();
    damaged[damaged.length - 3] ^= 0xff;
    fs.writeFileSync(file, damaged);
    await assertRejects(() => readCheckpoint(dir), Error, "its data is damaged (checksum)");
    fs.writeFileSync(file, "not a checkpoint");
    await assertRejects(() => readCheckpoint(dir), Error, "does not start with TLCKPT01");
    a.optimizer.dispose();
    a.dispose();
  });
  assertEquals(tf.memory().numTensors, before);
});

Deno.test("fingerprintDifference: the first differing key, on this run's keys or on either's", () => {
  const saved = { data: "/photos", seed: 42, alpha: 0.35 };
  assertEquals(fingerprintDifference(saved, { data: "/photos", seed: 42 }), undefined);
  assertEquals(fingerprintDifference(saved, { data: "/photos", seed: 3 }), {
    key: "seed",
    saved: 42,
    expected: 3,
  });
  assertEquals(fingerprintDifference(saved, { data: "/photos", seed: 42 }, { everyKey: true }), {
    key: "alpha",
    saved: 0.35,
    expected: undefined,
  });
});
