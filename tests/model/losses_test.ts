import { assert, assertAlmostEquals, assertEquals, assertThrows } from "../_assert.ts";
import { tf } from "../../lib/runtime/tf.ts";
import {
  accuracy,
  binaryAccuracy,
  binaryCrossentropy,
  binaryCrossentropyFromLogits,
  categoricalAccuracy,
  lossAndMetricFor,
  sparseCategoricalAccuracy,
  sparseCategoricalCrossentropy,
  sparseCategoricalCrossentropyFromLogits,
} from "../../lib/model/losses.ts";

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

// tests/fixtures/losses_keras.json: made by tools/keras/make_losses_fixture.py with Python Keras.
const keras = JSON.parse(
  Deno.readTextFileSync(new URL("../fixtures/losses_keras.json", import.meta.url)),
) as {
  binary: { logits: number[]; labels: number[]; losses: number[]; loss: number; accuracy: number };
  categorical: {
    numClasses: number;
    logits: number[];
    labels: number[];
    losses: number[];
    loss: number;
    accuracy: number;
  }[];
};

function meanOf(t: ReturnType<typeof tf.tensor>): number {
  return tf.tidy(() => tf.mean(t).dataSync()[0]);
}

Deno.test("binary loss and accuracy match Keras' BinaryCrossentropy(from_logits=True) / BinaryAccuracy(0)", () => {
  const before = tf.memory().numTensors;
  const { logits, labels, losses, loss, accuracy: acc } = keras.binary;
  const z = tf.tensor2d(logits, [logits.length, 1]);
  const y = tf.tensor1d(labels, "int32");
  const { loss: lossFn, metric } = lossAndMetricFor(1);
  const l = lossFn(y, z), a = metric(y, z);
  Array.from(l.dataSync()).forEach((v, i) => assertAlmostEquals(v, losses[i], 1e-5 * Math.max(1, losses[i])));
  assertAlmostEquals(meanOf(l), loss, 1e-5);
  assertAlmostEquals(meanOf(a), acc, 1e-7);
  tf.dispose([z, y, l, a]);
  assertEquals(tf.memory().numTensors, before, "no tensor leaks");
});

Deno.test("categorical loss and accuracy match Keras' SparseCategoricalCrossentropy(from_logits=True)", () => {
  const before = tf.memory().numTensors;
  for (const c of keras.categorical) {
    const z = tf.tensor2d(c.logits, [c.labels.length, c.numClasses]);
    const y = tf.tensor1d(c.labels, "int32");
    const { loss: lossFn, metric } = lossAndMetricFor(c.numClasses);
    assertEquals(metric.name, "accuracy", "history keys stay accuracy / val_accuracy");
    const l = lossFn(y, z), a = metric(y, z);
    assertEquals(l.shape, [c.labels.length]);
    const got = Array.from(l.dataSync());
    assert(got.every(Number.isFinite), "finite for a logit of 60");
    got.forEach((v, i) => assertAlmostEquals(v, c.losses[i], 1e-5 * Math.max(1, c.losses[i])));
    assertAlmostEquals(meanOf(l), c.loss, 1e-5);
    assertAlmostEquals(meanOf(a), c.accuracy, 1e-7);
    tf.dispose([z, y, l, a]);
  }
  assertEquals(tf.memory().numTensors, before, "no tensor leaks");
});

Deno.test("categorical loss takes float or [b, 1] labels; gradients are softmax − one-hot", () => {
  const z = tf.tensor2d([[1, 2, 3], [0, 0, 5]]);
  const a = sparseCategoricalCrossentropyFromLogits(tf.tensor1d([2, 0], "int32"), z).dataSync();
  const b = sparseCategoricalCrossentropyFromLogits(tf.tensor2d([[2], [0]]), z).dataSync();
  assertEquals(Array.from(a), Array.from(b));
  const g = tf.grad((x) => tf.sum(sparseCategoricalCrossentropyFromLogits(tf.tensor1d([2, 0], "int32"), x)))(
    z,
  );
  const expected = tf.sub(tf.softmax(z), tf.oneHot(tf.tensor1d([2, 0], "int32"), 3));
  assert(tf.max(tf.abs(tf.sub(g, expected))).dataSync()[0] < 1e-6);
  assertEquals(Array.from(categoricalAccuracy(tf.tensor1d([2, 1]), z).dataSync()), [1, 0]);
});

Deno.test("heads of 0 or 2 logits, and labels that do not fit the logits, are clear errors", () => {
  assertThrows(() => lossAndMetricFor(2), Error, "1 logit (two classes) or at least 3 logits");
  assertThrows(() => lossAndMetricFor(0), Error, "got 0");
  assertThrows(
    () => sparseCategoricalCrossentropyFromLogits(tf.tensor1d([0, 1, 2]), tf.zeros([2, 3])),
    Error,
    "labels of shape [3] do not match logits of shape [2,3]",
  );
});

Deno.test("Keras-named losses and metrics for model.compile are the head's own functions (the compiled step knows them)", () => {
  assert(binaryCrossentropy({ fromLogits: true }) === lossAndMetricFor(1).loss);
  assert(binaryAccuracy({ threshold: 0, name: "accuracy" }) === lossAndMetricFor(1).metric);
  assert(binaryAccuracy({ threshold: 0 }) === accuracy);
  assert(sparseCategoricalCrossentropy({ fromLogits: true }) === lossAndMetricFor(4).loss);
  assert(sparseCategoricalAccuracy({ name: "accuracy" }) === lossAndMetricFor(4).metric);
  assertEquals(sparseCategoricalAccuracy().name, "accuracy");
});

Deno.test("Keras-named losses and metrics refuse what the logits head does not compute, saying why", () => {
  assertThrows(
    () => binaryCrossentropy({ fromLogits: false }),
    Error,
    "binaryCrossentropy: pass { fromLogits: true }",
  );
  assertThrows(
    () => sparseCategoricalCrossentropy(undefined as unknown as { fromLogits: boolean }),
    Error,
    "SparseCategoricalCrossentropy(from_logits=True)",
  );
  assertThrows(() => binaryAccuracy({ threshold: 0.5 }), Error, "threshold must be 0");
  assertThrows(() => binaryAccuracy({ threshold: 0, name: "acc" }), Error, 'name must be "accuracy"');
  assertThrows(
    () => sparseCategoricalAccuracy({ name: "sparse_categorical_accuracy" }),
    Error,
    "history keys",
  );
});
