import { assertAlmostEquals, assertEquals, assertThrows } from "./_assert.ts";
import { tf } from "../lib/tf.ts";
import { accuracy, binaryCrossentropyFromLogits } from "../lib/losses.ts";

/** Hand-written textbook formula in float64, for moderate logits. */
function bce(y: number, z: number): number {
  const p = 1 / (1 + Math.exp(-z));
  return -(y * Math.log(p) + (1 - y) * Math.log(1 - p));
}

Deno.test("binary cross-entropy from logits matches the hand calculation, int [b] labels vs [b,1] logits", () => {
  const before = tf.memory().numTensors;
  const zs = [-3, -0.5, 0, 0.7, 2.5, 4];
  const ys = [0, 1, 1, 0, 1, 0];
  const [yt, zt] = [tf.tensor1d(ys, "int32"), tf.tensor2d(zs, [6, 1])];
  const loss = binaryCrossentropyFromLogits(yt, zt);
  assertEquals(loss.shape, [6]);
  const got = loss.dataSync();
  zs.forEach((z, i) => assertAlmostEquals(got[i], bce(ys[i], z), 1e-6));
  const mean = tf.mean(loss);
  assertAlmostEquals(mean.dataSync()[0], zs.reduce((s, z, i) => s + bce(ys[i], z), 0) / 6, 1e-6);
  tf.dispose([yt, zt, loss, mean]);
  assertEquals(tf.memory().numTensors, before, "no tensor leaks");
});

Deno.test("binary cross-entropy stays finite and exact for huge logits", () => {
  const loss = binaryCrossentropyFromLogits(
    tf.tensor1d([1, 0, 0, 1]),
    tf.tensor2d([200, -200, 200, -200], [4, 1]),
  );
  const [a, b, c, d] = loss.dataSync();
  assertAlmostEquals(a, 0, 1e-12);
  assertAlmostEquals(b, 0, 1e-12);
  assertAlmostEquals(c, 200, 1e-4); // log(1 + e^200) ≈ 200
  assertAlmostEquals(d, 200, 1e-4);
});

Deno.test("accuracy thresholds logits at 0 (not probabilities at 0.5)", () => {
  const logits = tf.tensor2d([-2, -0.1, 0.1, 3, 0.3, -0.4], [6, 1]);
  const ys = tf.tensor1d([0, 1, 1, 1, 0, 0], "int32");
  const acc = accuracy(ys, logits);
  assertEquals(Array.from(acc.dataSync()), [1, 0, 1, 1, 0, 1]);
  assertAlmostEquals(tf.mean(acc).dataSync()[0], 4 / 6, 1e-6);
  assertEquals(accuracy.name, "accuracy");
});

Deno.test("mismatched labels are a clear error", () => {
  assertThrows(
    () => binaryCrossentropyFromLogits(tf.tensor1d([0, 1, 1]), tf.zeros([2, 1])),
    Error,
    "labels of shape [3] do not match logits of shape [2,1]",
  );
  assertThrows(() => accuracy(tf.tensor1d([0, 1, 1]), tf.zeros([2, 1])), Error, "accuracy:");
});
