/**
 * lrFind: fastai's range test on a tiny classifier — an exponential schedule, a curve that falls then
 * diverges, a suggestion inside it — and afterwards the weights, the optimizer (slots, β powers, step
 * count, rate) and the random state exactly as before, with no tensor left behind.
 */
import { tf } from "../../lib/runtime/tf.ts";
import type { LayersModel, Optimizer } from "../../lib/runtime/tf.ts";
import { assert, assertAlmostEquals, assertEquals } from "../_assert.ts";
import { tinyBase, tinySet } from "../../lib/testing/tiny.ts";
import { buildClassifier, compileClassifier } from "../../lib/model/classifier.ts";
import { iterationsOf, learningRateOf, optimizerVariables } from "../../lib/model/optimizers.ts";
import { fit } from "../../lib/train/fit.ts";
import { lrFind, suggestions } from "../../lib/train/lr_find.ts";
import { randomState } from "../../lib/train/random_state.ts";

/** Every number of the model's weights and the optimizer's state, copied. */
function stateOf(model: LayersModel, optimizer: Optimizer) {
  const o = optimizerVariables(optimizer);
  if (typeof o === "string") throw new Error(o);
  return {
    weights: model.weights.map((w) => [...w.read().dataSync()]),
    slots: o.slotLists.map((list) => list.map((s) => [...s.variable.dataSync()])),
    globals: o.state.map((v) => [...v.dataSync()]),
    iterations: iterationsOf(optimizer),
    rate: learningRateOf(optimizer),
    random: randomState(model),
  };
}

for (
  const [name, make, pretrain, diverges] of [
    // Adam's steps stay near the rate in size: on this separable set even large rates keep the loss low.
    ["Adam, already trained (slots exist)", () => tf.train.adam(1e-3), true, false],
    ["RMSprop, fresh (no slots yet)", () => tf.train.rmsprop(1e-3), false, true],
  ] as const
) {
  Deno.test(`lrFind (${name}): the curve and a suggestion; weights and optimizer restored bit for bit`, async () => {
    const before = tf.memory().numTensors;
    const set = tinySet(64, 16, 16, 2);
    const { model } = buildClassifier({ base: tinyBase(), seed: 3 });
    (model.getLayer("dropout") as unknown as { seed: number }).seed = 5;
    const optimizer = make();
    compileClassifier(model, optimizer);
    if (pretrain) await fit(model, set.dataset, { epochs: 1, verbose: 0 });
    const start = stateOf(model, optimizer);
    const steps: number[] = [];
    const result = await lrFind(model, set.dataset, {
      startLR: 1e-5,
      endLR: 100,
      numIter: 40,
      onStep: (s) => void steps.push(s.iteration),
    });
    assertEquals(stateOf(model, optimizer), start);
    // The exponential schedule: rate i is startLR · (endLR/startLR)^(i/numIter).
    result.lrs.forEach((lr, i) => assertAlmostEquals(lr, 1e-5 * 1e7 ** (i / 40), 1e-12 * Math.max(1, lr)));
    assertEquals(steps, result.lrs.map((_, i) => i));
    if (diverges) assert(result.diverged && result.lrs.length < 40, `diverged at ${result.lrs.length} steps`);
    else assertEquals(result.lrs.length, result.diverged ? result.lrs.length : 40);
    const low = Math.min(...result.losses);
    assert(low < result.losses[0], "the loss fell before it diverged");
    assert(
      result.suggestion! > 1e-5 && result.suggestion! < result.lrs.at(-1)!,
      `suggestion ${result.suggestion}`,
    );
    assertEquals(typeof result.steep, "number");
    optimizer.dispose();
    model.dispose();
    set.dispose();
    assertEquals(tf.memory().numTensors, before);
  });
}

Deno.test("lrFind suggestions: fastai's valley, steepest slope and minimum / 10 on a known curve", () => {
  // 20 points: flat, a long fall from index 5 to 14, then a rise; numIter 20 skips the first 2, the last 5.
  const lrs = Array.from({ length: 20 }, (_, i) => 10 ** (-6 + i * 0.3));
  const losses = [1, 1, 1, 1, 1, 0.98, 0.95, 0.9, 0.8, 0.6, 0.5, 0.45, 0.42, 0.41, 0.4, 0.6, 1, 2, 4, 8];
  const s = suggestions(lrs, losses, 20);
  // Curve kept: indices 2..14. Longest fall: 1 (index 2, as the run starts there) down to index 14:
  // 13 points; maxStart = 12 − 13 = −1 → 0 + trunc(13/3) + trunc(13/6) = 4 + 2 → index 6 of the slice.
  assertEquals(s.suggestion, lrs[2 + 5]);
  assertEquals(s.steep, lrs[2 + 6]); // 0.8 → 0.6, the steepest drop
  assertEquals(s.minimum, lrs[14] / 10);
});
