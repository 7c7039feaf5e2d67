/**
 * fit's classWeight against Keras 3.15's class_weight (tests/fixtures/class_weight_keras.json,
 * tools/keras/make_class_weight_fixture.py): the same per-epoch loss and (unweighted) accuracy and the
 * same trained weights, on the compiled step and on tfjs' own step; balancedClassWeights as scikit-learn.
 */
import fs from "node:fs";
import { tf } from "../../lib/runtime/tf.ts";
import type { LayersModel, SymbolicTensor } from "../../lib/runtime/tf.ts";
import { assert, assertEquals, assertRejects, assertThrows } from "../_assert.ts";
import { maxAbsDiff } from "../../lib/testing/tiny.ts";
import { compileClassifier } from "../../lib/model/compile.ts";
import { fit } from "../../lib/train/fit.ts";
import { balancedClassWeights, ClassWeighting } from "../../lib/train/class_weight.ts";
import { compiledStepStatus } from "../../lib/train/train_graph.ts";

interface KerasCase {
  units: number;
  classWeight: Record<string, number>;
  x: number[];
  shape: number[];
  labels: number[];
  kernel: number[];
  bias: number[];
  firstBatchLoss: number;
  loss: number[];
  accuracy: number[];
  kernelAfter: number[];
  biasAfter: number[];
}
const { cases } = JSON.parse(
  fs.readFileSync(new URL("../fixtures/class_weight_keras.json", import.meta.url), "utf8"),
) as { cases: KerasCase[] };

/** The fixture's model: GlobalAveragePooling2D → Dense(units) with Keras' initial weights, Adam(0.01). */
function model(c: KerasCase): LayersModel {
  const input = tf.input({ shape: c.shape.slice(1) });
  const pooled = tf.layers.globalAveragePooling2d({}).apply(input) as SymbolicTensor;
  const dense = tf.layers.dense({ units: c.units, name: "dense" });
  const m = tf.model({ inputs: input, outputs: dense.apply(pooled) as SymbolicTensor });
  const weights = [tf.tensor2d(c.kernel, [3, c.units]), tf.tensor1d(c.bias)];
  dense.setWeights(weights);
  tf.dispose(weights);
  compileClassifier(m, tf.train.adam(0.01));
  return m;
}

function dataset(c: KerasCase) {
  const xs = tf.tensor4d(c.x, c.shape as [number, number, number, number]);
  const ys = tf.tensor1d(c.labels, "int32");
  const [x, y] = [tf.unstack(xs), tf.unstack(ys)];
  tf.dispose([xs, ys]);
  return {
    ds: tf.data.zip({ xs: tf.data.array(x), ys: tf.data.array(y) }).batch(8),
    dispose: () => tf.dispose([...x, ...y]),
  };
}

for (const compiledStep of [true, false]) {
  Deno.test(`classWeight (${compiledStep ? "compiled step" : "tfjs' own step"}): Keras' loss, accuracy and trained weights`, async () => {
    const before = tf.memory().numTensors;
    for (const c of cases) {
      const m = model(c);
      const data = dataset(c);
      const classWeight = Object.fromEntries(Object.entries(c.classWeight).map(([k, v]) => [Number(k), v]));
      const h = await fit(m, data.ds, { epochs: 2, verbose: 0, classWeight, compiledStep });
      assertEquals(compiledStepStatus.get(m)?.compiled, compiledStep);
      const what = `${c.units} units`;
      h.history.loss.forEach((l, i) =>
        assert(Math.abs(l - c.loss[i]) < 2e-5, `${what}: loss ${h.history.loss} vs ${c.loss}`)
      );
      assertEquals(h.history.accuracy, c.accuracy, what);
      const [kernel, bias] = m.getLayer("dense").getWeights().map((w) => [...w.dataSync()]);
      const diff = Math.max(maxAbsDiff(kernel, c.kernelAfter), maxAbsDiff(bias, c.biasAfter));
      assert(diff < 2e-5, `${what}: weights differ from Keras' by ${diff}`);
      m.optimizer.dispose();
      m.dispose();
      data.dispose();
    }
    assertEquals(tf.memory().numTensors, before);
  });
}

Deno.test("classWeight: the first batch's loss is Keras' Σ w·loss / batch size (not / Σ w), and weights change it", async () => {
  for (const c of cases) {
    const m = model(c);
    const data = dataset(c);
    const first: number[] = [];
    const classWeight = Object.fromEntries(Object.entries(c.classWeight).map(([k, v]) => [Number(k), v]));
    const onBatchEnd = (_: number, logs?: Record<string, unknown>) => {
      if (first.length === 0) first.push(Number(logs?.loss));
    };
    await fit(m, data.ds, { epochs: 1, verbose: 0, classWeight, callbacks: [{ onBatchEnd }] });
    assert(Math.abs(first[0] - c.firstBatchLoss) < 1e-6, `${first[0]} vs Keras' ${c.firstBatchLoss}`);
    m.optimizer.dispose();
    m.dispose();
    const plain = model(c);
    const unweighted: number[] = [];
    await fit(plain, data.ds, {
      epochs: 1,
      verbose: 0,
      callbacks: [{
        onBatchEnd: (_: number, logs?: Record<string, unknown>) =>
          void (unweighted.length || unweighted.push(Number(logs?.loss))),
      }],
    });
    assert(Math.abs(unweighted[0] - c.firstBatchLoss) > 1e-3, "class weights change the loss");
    plain.optimizer.dispose();
    plain.dispose();
    data.dispose();
  }
});

Deno.test("classWeight: a class the head lacks, or a negative weight, is an error before training", async () => {
  const c = cases[0];
  const m = model(c);
  const data = dataset(c);
  await assertRejects(
    () => fit(m, data.ds, { epochs: 1, verbose: 0, classWeight: { 2: 1 } }),
    Error,
    "tells 2 classes apart",
  );
  await assertRejects(
    () => fit(m, data.ds, { epochs: 1, verbose: 0, classWeight: [1, -2] }),
    Error,
    "finite number ≥ 0",
  );
  const weighting = new ClassWeighting(m, [0.5]);
  const labels = tf.tensor1d([1, 0, 1], "int32");
  const w = weighting.sampleWeights(labels);
  assertEquals([...w.dataSync()], [1, 0.5, 1]);
  tf.dispose([labels, w]);
  weighting.dispose();
  m.optimizer.dispose();
  m.dispose();
  data.dispose();
});

Deno.test("balancedClassWeights: scikit-learn's n / (k · count); an empty class is an error", () => {
  assertEquals(balancedClassWeights([300, 20]), [320 / 600, 320 / 40]);
  assertEquals(balancedClassWeights([10, 10, 10]), [1, 1, 1]);
  assertThrows(() => balancedClassWeights([5, 0]), Error, "class 1 has 0 examples");
});
