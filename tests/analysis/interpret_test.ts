import { assert, assertAlmostEquals, assertEquals, assertRejects, assertThrows } from "../_assert.ts";
import { tf } from "../../lib/runtime/tf.ts";
import type { data, Tensor, TensorContainer } from "../../lib/runtime/tf.ts";
import { buildClassifier, compileClassifier } from "../../lib/model/classifier.ts";
import {
  confusionMatrix,
  interpret,
  matrixAccuracy,
  mostConfused,
  perClassMetrics,
} from "../../lib/analysis/interpret.ts";
import { tinyBase, tinyClassSet } from "../../lib/testing/tiny.ts";

Deno.test("confusionMatrix counts [actual][predicted]; precision, recall, accuracy and most-confused pairs", () => {
  const labels = [0, 0, 0, 1, 1, 2, 2, 2, 2];
  const predicted = [0, 1, 1, 1, 1, 2, 0, 2, 1];
  const m = confusionMatrix(labels, predicted, 3);
  assertEquals(m, [[1, 2, 0], [0, 2, 0], [1, 1, 2]]);
  assertAlmostEquals(matrixAccuracy(m), 5 / 9, 1e-12);
  const rows = perClassMetrics(m, ["a", "b", "c"]);
  assertEquals(rows.map((r) => r.support), [3, 2, 4]);
  assertAlmostEquals(rows[0].precision!, 1 / 2, 1e-12);
  assertAlmostEquals(rows[0].recall!, 1 / 3, 1e-12);
  assertAlmostEquals(rows[1].precision!, 2 / 5, 1e-12);
  assertEquals(rows[1].recall, 1);
  assertEquals(rows[2].precision, 1);
  assertEquals(rows[2].recall, 0.5);
  assertEquals(mostConfused(m, ["a", "b", "c"]), [
    { actual: "a", predicted: "b", count: 2 },
    { actual: "c", predicted: "a", count: 1 },
    { actual: "c", predicted: "b", count: 1 },
  ]);
  assertEquals(mostConfused(m, ["a", "b", "c"], 2).length, 1);
  // A class never predicted has no precision (not 0/0 = NaN).
  assertEquals(perClassMetrics([[1, 0], [1, 0]], ["x", "y"])[1].precision, null);
  assertThrows(
    () => confusionMatrix([0, 3], [0, 0], 3),
    Error,
    "class indices must be in [0, 3), got 3 → 0 at 1",
  );
});

Deno.test("interpret: predictions, losses and the top-loss images agree with the model; no tensor leaks", async () => {
  const set = tinyClassSet(40, 4, 16, 16, 3);
  const { model } = buildClassifier({ base: tinyBase(), numClasses: 4, seed: 1, augmentation: null });
  compileClassifier(model, tf.train.adam(1e-3));
  const before = tf.memory().numTensors;
  const files = Array.from({ length: 40 }, (_, i) => `img${i}.png`);
  const result = await interpret(model, set.dataset, { classNames: ["r", "g", "b", "y"], topK: 5, files });
  assertEquals(result.labels.length, 40);
  assertEquals(Array.from(result.labels), Array.from(set.labels.dataSync()));
  // The same numbers straight from the model.
  const [probs, pred] = tf.tidy(() => {
    const p = tf.softmax(model.predict(set.images) as Tensor);
    return [p.dataSync(), tf.argMax(p, -1).dataSync()];
  });
  assertEquals(Array.from(result.predicted), Array.from(pred));
  for (let i = 0; i < probs.length; i++) assertAlmostEquals(result.probabilities[i], probs[i], 1e-5);
  for (let i = 0; i < 40; i++) {
    assertAlmostEquals(result.losses[i], -Math.log(probs[i * 4 + result.labels[i]]), 1e-4);
  }
  const sorted = Array.from(result.losses).map((l, i) => [l, i]).sort((a, b) => b[0] - a[0]);
  assertEquals(result.topLosses.map((t) => t.index), sorted.slice(0, 5).map(([, i]) => i));
  const t0 = result.topLosses[0];
  assertEquals(t0.file, `img${t0.index}.png`);
  assertEquals(t0.image.shape, [16, 16, 3]);
  const expected = tf.tidy(() => set.images.slice(t0.index, 1).squeeze([0]));
  assertEquals(Array.from(t0.image.dataSync()), Array.from(expected.dataSync()));
  expected.dispose();
  assertAlmostEquals(t0.probability, probs[t0.index * 4 + t0.predicted], 1e-6);
  result.dispose();
  assertEquals(tf.memory().numTensors, before, "only the top-loss images were kept, and dispose frees them");
  model.dispose();
  set.dispose();
});

Deno.test("interpret keeps the first correctPerClass correctly classified images of each class", async () => {
  const set = tinyClassSet(40, 4, 16, 16, 3);
  const { model } = buildClassifier({ base: tinyBase(), numClasses: 4, seed: 1, augmentation: null });
  const before = tf.memory().numTensors;
  const files = Array.from({ length: 40 }, (_, i) => `img${i}.png`);
  const result = await interpret(model, set.dataset, { topK: 1, files, correctPerClass: 2 });
  const expected: number[] = [];
  for (let k = 0; k < 4; k++) {
    const right = Array.from(result.labels.keys()).filter((i) =>
      result.labels[i] === k && result.predicted[i] === k
    );
    expected.push(...right.slice(0, 2));
  }
  assert(expected.length > 0, "the random model gets some images right");
  assertEquals(result.correct.map((t) => t.index), expected);
  for (const t of result.correct) {
    assertEquals([t.actual, t.predicted, t.file], [
      result.labels[t.index],
      result.labels[t.index],
      `img${t.index}.png`,
    ]);
    const image = tf.tidy(() => set.images.slice(t.index, 1).squeeze([0]));
    assertEquals(Array.from(t.image.dataSync()), Array.from(image.dataSync()));
    image.dispose();
  }
  result.dispose();
  assertEquals(tf.memory().numTensors, before, "dispose frees the kept correct images too");
  const none = await interpret(model, set.dataset, { topK: 0, correctPerClass: 0 });
  assertEquals(none.correct, []);
  none.dispose();
  model.dispose();
  set.dispose();
});

Deno.test("interpret: one-logit head gives two-class probabilities; bad input is named", async () => {
  const { model } = buildClassifier({ base: tinyBase(), seed: 1, augmentation: null });
  const set = tinyClassSet(8, 2);
  const result = await interpret(model, set.dataset, { topK: 2 });
  assertEquals(result.classNames, ["0", "1"]);
  assertEquals(result.probabilities.length, 16);
  for (let i = 0; i < 8; i++) {
    assertAlmostEquals(result.probabilities[2 * i] + result.probabilities[2 * i + 1], 1, 1e-6);
  }
  result.dispose();
  await assertRejects(
    () => interpret(model, set.dataset, { classNames: ["a", "b", "c"] }),
    Error,
    "3 class names",
  );
  const empty = tf.data.array([] as TensorContainer[]) as data.Dataset<TensorContainer>;
  await assertRejects(() => interpret(model, empty), Error, "interpret: the dataset is empty");
  const bad = set.dataset.map((b) => ({
    xs: (b as { xs: Tensor }).xs,
    ys: tf.fill([(b as { xs: Tensor }).xs.shape[0]], 2, "int32"),
  }));
  await assertRejects(() => interpret(model, bad), Error, "interpret: label 2 in batch 0");
  model.dispose();
  set.dispose();
});
