/**
 * reduceLROnPlateau inside fit: the lowered rate reaches the compiled step (which feeds the rate every
 * step, not a constant written into its graph) — it trains as tfjs' own step does with the same rates, and
 * unlike a run that keeps the first rate.
 */
import { tf } from "../../lib/runtime/tf.ts";
import { assert, assertEquals } from "../_assert.ts";
import { maxAbsDiff, tinyBase, tinySet } from "../../lib/testing/tiny.ts";
import { buildClassifier, compileClassifier } from "../../lib/model/classifier.ts";
import { learningRateOf } from "../../lib/model/optimizers.ts";
import { fit } from "../../lib/train/fit.ts";
import { reduceLROnPlateau } from "../../lib/train/reduce_lr_on_plateau.ts";
import { compiledStepStatus } from "../../lib/train/train_graph.ts";

async function train(compiledStep: boolean, reduce: boolean) {
  const set = tinySet(64, 16, 16, 1);
  const { model } = buildClassifier({ base: tinyBase(), augmentation: null, seed: 6 });
  (model.getLayer("dropout") as unknown as { seed: number }).seed = 21;
  compileClassifier(model, tf.train.adam(0.01));
  // minDelta 10: no epoch after the first counts as an improvement, so each one lowers the rate.
  const plateau = reduceLROnPlateau({ monitor: "loss", factor: 0.1, patience: 0, minDelta: 10 });
  const h = await fit(model, set.dataset, {
    epochs: 3,
    verbose: 0,
    compiledStep,
    callbacks: reduce ? [plateau] : [],
  });
  assertEquals(compiledStepStatus.get(model)?.compiled, compiledStep);
  const weights = model.trainableWeights.flatMap((w) => [...w.read().dataSync()]);
  const rate = learningRateOf(model.optimizer);
  model.optimizer.dispose();
  model.dispose();
  set.dispose();
  return { weights, rate, rates: h.history.learning_rate };
}

Deno.test("reduceLROnPlateau: the compiled step trains with the lowered rate, as tfjs' own step does", async () => {
  const before = tf.memory().numTensors;
  const compiled = await train(true, true);
  const eager = await train(false, true);
  const constant = await train(true, false);
  // Each epoch logs the rate it trained with; the rate is lowered after epochs 1 and 2 (float32, as Keras).
  const f = Math.fround;
  assertEquals(compiled.rates, [f(0.01), f(0.01), f(f(0.01) * 0.1)]);
  assertEquals(compiled.rate, f(f(0.01) * 0.1) * 0.1);
  const same = maxAbsDiff(compiled.weights, eager.weights);
  const apart = maxAbsDiff(compiled.weights, constant.weights);
  assert(same < 1e-5, `compiled vs tfjs' step with the same rates: ${same}`);
  assert(apart > 100 * same && apart > 1e-3, `a run at the first rate ends elsewhere: ${apart} (vs ${same})`);
  assertEquals(tf.memory().numTensors, before);
});
