/**
 * The random numbers of training: setRandomSeed makes two in-process runs of the tutorial's classifier
 * (unseeded augmentation, dropout, head) identical where the native Math.random makes them differ; a
 * seeded Dropout draws a new mask at every step (tfjs' own reuses one), the same stream on the compiled
 * step and on tfjs' own; randomState / setRandomState continue a generator exactly.
 */
import { tf } from "../../lib/runtime/tf.ts";
import type { LayersModel } from "../../lib/runtime/tf.ts";
import { assert, assertEquals, assertNotEquals } from "../_assert.ts";
import { maxAbsDiff, tinyBase, tinySet } from "../../lib/testing/tiny.ts";
import { buildClassifier, compileClassifier } from "../../lib/model/classifier.ts";
import { fit } from "../../lib/train/fit.ts";
import { dropoutSeed, randomState, setRandomSeed, setRandomState } from "../../lib/train/random_state.ts";

async function trainedWeights(
  seed: number | null,
  options: { compiledStep?: boolean; dropoutSeed?: number } = {},
) {
  setRandomSeed(seed);
  const set = tinySet(48, 16, 16, 2);
  const { model } = buildClassifier({
    base: tinyBase(),
    ...(options.dropoutSeed ? { augmentation: null, seed: 1 } : {}),
  });
  if (options.dropoutSeed) {
    (model.getLayer("dropout") as unknown as { seed: number }).seed = options.dropoutSeed;
  }
  compileClassifier(model, tf.train.adam(0.02));
  await fit(model, set.dataset, { epochs: 2, verbose: 0, compiledStep: options.compiledStep ?? true });
  const weights = model.trainableWeights.flatMap((w) => [...w.read().dataSync()]);
  const masks = randomState(model).dropoutMasks;
  model.optimizer.dispose();
  model.dispose();
  set.dispose();
  setRandomSeed(null);
  return { weights, masks };
}

Deno.test("setRandomSeed: two runs with the same seed are identical; unseeded runs differ", async () => {
  const before = tf.memory().numTensors;
  const [a, b] = [await trainedWeights(3), await trainedWeights(3)];
  assertEquals(a.weights, b.weights);
  const [c, d] = [await trainedWeights(null), await trainedWeights(null)];
  assertNotEquals(c.weights, d.weights);
  assertEquals(tf.memory().numTensors, before);
});

Deno.test("seeded Dropout: a new mask per step (the count advances), the same stream compiled and eager", async () => {
  const compiled = await trainedWeights(null, { dropoutSeed: 17 });
  const eager = await trainedWeights(null, { dropoutSeed: 17, compiledStep: false });
  assertEquals(compiled.masks, { dropout: 6 }); // 48 images in batches of 16, 2 epochs
  assertEquals(eager.masks, { dropout: 6 });
  const diff = maxAbsDiff(compiled.weights, eager.weights);
  assert(diff < 1e-5, `compiled and eager steps drew the same masks: weights differ by ${diff}`);
  const seeds = Array.from({ length: 6 }, (_, t) => dropoutSeed(17, t));
  assertEquals(seeds[0], 17);
  assertEquals(new Set(seeds).size, 6);
});

Deno.test("randomState / setRandomState: the generator continues exactly where it was", () => {
  const model = tf.sequential({
    layers: [tf.layers.dropout({ rate: 0.5, seed: 4, inputShape: [2], name: "drop" })],
  }) as LayersModel;
  setRandomSeed(42);
  Math.random();
  const state = randomState(model);
  const next = [Math.random(), Math.random()];
  Math.random();
  setRandomState(model, state);
  assertEquals([Math.random(), Math.random()], next);
  assertEquals(state.seed, 42);
  assertEquals(state.dropoutMasks, { drop: 0 });
  setRandomSeed(null);
  model.dispose();
});
