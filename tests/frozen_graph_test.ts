import { assert, assertEquals, assertThrows } from "./_assert.ts";
import { tf } from "../lib/tf.ts";
import type { LayersModel, Scalar, SymbolicTensor, Tensor, Variable } from "../lib/tf.ts";
import { dependsOnTrainableVariable, FrozenGraph, frozenRegion, runFrom } from "../lib/frozen_graph.ts";
import {
  buildClassifier,
  compileForFineTuning,
  freezeBase,
  inferenceMode,
  unfreezeForFineTuning,
} from "../lib/classifier.ts";
import { mobileNetV2 } from "../lib/mobilenet_v2.ts";
import { maxAbsDiff, tinyBase } from "./_tiny.ts";
import { haveShared, SHARED_WEIGHTS_035 } from "./_shared.ts";

const sessions = () => (tf.backend() as unknown as { getNumOfSavedModels(): number }).getNumOfSavedModels();

function frozen(model: LayersModel): LayersModel {
  freezeBase(model);
  return model;
}

/** `|graph − eager|` relative to the output's scale, for a batch of 3 random images. */
function graphVsEager(model: LayersModel, inputShape: number[], lo = -1, hi = 1): number {
  const graph = FrozenGraph.compile(model);
  assert(graph !== null, "a region to compile");
  const d = tf.tidy(() => {
    const x = tf.randomUniform([3, ...inputShape], lo, hi, "float32", 7);
    const eager = model.apply(x, { training: false }) as Tensor;
    const [compiled] = graph.run(x);
    assertEquals(compiled.shape, eager.shape);
    const scale = Math.max(1, tf.max(tf.abs(eager)).dataSync()[0]);
    return maxAbsDiff(compiled.dataSync(), eager.dataSync()) / scale;
  });
  graph.dispose();
  return d;
}

/** A functional model from `build(input)`, weights randomized (BN statistics included), all frozen. */
function model(inputShape: number[], build: (x: SymbolicTensor) => SymbolicTensor): LayersModel {
  const input = tf.input({ shape: inputShape });
  const m = tf.model({ inputs: input, outputs: build(input) });
  for (const layer of m.layers) {
    const ws = layer.getWeights();
    if (ws.length === 0) continue;
    const values = ws.map((w, i) => tf.randomUniform(w.shape, 0.5, 1.5, "float32", i + 3));
    layer.setWeights(values);
    tf.dispose(values);
  }
  return frozen(m);
}

const apply = (
  layer: { apply(x: SymbolicTensor | SymbolicTensor[]): unknown },
  x: SymbolicTensor | SymbolicTensor[],
) => layer.apply(x) as SymbolicTensor;

Deno.test("frozenRegion: the whole frozen base; the prefix before fineTuneAt; nothing when all trains", () => {
  const base = frozen(tinyBase());
  const all = frozenRegion(base)!;
  assertEquals(all.nodes.length, base.layers.length - 1); // every layer but the input
  assertEquals(all.boundary.map((t) => t.id), [base.outputs[0].id]);
  unfreezeForFineTuning(base, 4); // Conv1, bn_Conv1, Conv1_relu frozen
  const prefix = frozenRegion(base)!;
  assertEquals(prefix.layers.map((l) => l.name), ["Conv1", "bn_Conv1", "Conv1_relu"]);
  assertEquals(prefix.boundary.map((t) => t.sourceLayer.name), ["Conv1_relu"]);
  unfreezeForFineTuning(base, 0);
  assertEquals(frozenRegion(base), null);
  base.dispose();
});

Deno.test("frozenRegion: a residual Add across the cut gives two boundary tensors; unsupported layers end it", () => {
  const m = model([8, 8, 4], (x) => {
    const a = apply(tf.layers.conv2d({ filters: 4, kernelSize: 1, name: "a" }), x);
    const b = apply(tf.layers.conv2d({ filters: 4, kernelSize: 3, padding: "same", name: "b" }), a);
    const c = apply(tf.layers.conv2d({ filters: 4, kernelSize: 1, name: "c" }), b);
    return apply(tf.layers.add({ name: "sum" }), [a, c]);
  });
  m.getLayer("c").trainable = true; // the cut: a and b frozen; c trains; sum adds a (skip) and c
  const region = frozenRegion(m)!;
  assertEquals(region.layers.map((l) => l.name), ["a", "b"]);
  assertEquals(region.boundary.map((t) => t.sourceLayer.name).sort(), ["a", "b"]);
  tf.tidy(() => {
    const graph = FrozenGraph.compile(m, region)!;
    const x = tf.randomUniform([2, 8, 8, 4], -1, 1, "float32", 9);
    const outs = graph.run(x);
    const y = runFrom(m, new Map(region.boundary.map((t, i) => [t.id, outs[i]])), { training: false })[0];
    assert(maxAbsDiff(y.dataSync(), (m.apply(x) as Tensor).dataSync()) < 1e-4);
    graph.dispose();
  });
  const pooled = model([8, 8, 3], (x) => {
    const y = apply(tf.layers.conv2d({ filters: 4, kernelSize: 3, name: "conv" }), x);
    const p = apply(tf.layers.maxPooling2d({ poolSize: 2, name: "pool" }), y);
    return apply(tf.layers.conv2d({ filters: 2, kernelSize: 1, name: "after" }), p);
  });
  assertEquals(frozenRegion(pooled)!.layers.map((l) => l.name), ["conv"]);
  assertEquals(frozenRegion(pooled)!.boundary[0].sourceLayer.name, "conv");
  m.dispose();
  pooled.dispose();
});

Deno.test("FrozenGraph runs like the eager model: folded BatchNorm, residuals, padding, depthwise, pooling", () => {
  const before = tf.memory().numTensors;
  const sessionsBefore = sessions();
  const base = frozen(tinyBase());
  const d1 = graphVsEager(base, [16, 16, 3], 0, 255);
  const mixed = model([12, 12, 3], (x) => {
    let y = apply(tf.layers.rescaling({ scale: 1 / 127.5, offset: -1 }), x);
    y = apply(tf.layers.zeroPadding2d({ padding: [[0, 1], [0, 1]] }), y);
    y = apply(tf.layers.depthwiseConv2d({ kernelSize: 3, strides: 2, padding: "valid", useBias: false }), y);
    const conv = apply(
      tf.layers.conv2d({ filters: 6, kernelSize: 1, useBias: true, activation: "relu6" }),
      y,
    );
    // A convolution used twice (BN and the Add): not folded.
    const c2 = apply(tf.layers.conv2d({ filters: 6, kernelSize: 3, padding: "same", useBias: true }), conv);
    const bn = apply(tf.layers.batchNormalization({ epsilon: 1e-3 }), c2);
    const sum = apply(tf.layers.add(), [bn, c2]);
    const bn2 = apply(tf.layers.batchNormalization({ epsilon: 1e-3 }), sum); // BN after an Add: standalone
    const relu = apply(tf.layers.activation({ activation: "relu" }), bn2);
    return apply(tf.layers.globalAveragePooling2d({}), relu);
  });
  const d2 = graphVsEager(mixed, [12, 12, 3], 0, 255);
  console.log(
    `graph vs eager, relative max |Δ|: tiny base ${d1.toExponential(1)}, mixed ${d2.toExponential(1)}`,
  );
  assert(d1 < 1e-5 && d2 < 1e-5, `differences ${d1}, ${d2}`);
  base.dispose();
  mixed.dispose();
  assertEquals(sessions(), sessionsBefore);
  assertEquals(tf.memory().numTensors, before);
});

Deno.test("FrozenGraph: MobileNetV2 alpha 0.35 with ImageNet weights equals the eager base", async () => {
  if (!haveShared(SHARED_WEIGHTS_035, "FrozenGraph MobileNetV2")) return;
  const base = await mobileNetV2({
    inputShape: [96, 96, 3],
    alpha: 0.35,
    includeTop: false,
    weights: SHARED_WEIGHTS_035,
  });
  const d = graphVsEager(frozen(base), [96, 96, 3]);
  console.log(`MobileNetV2 0.35, graph vs eager: relative max |Δ| ${d.toExponential(1)}`);
  assert(d < 1e-4, `difference ${d}`);
  base.dispose();
});

Deno.test("FrozenGraph: bad input is an error naming the expected shape; matches() tracks weights and flags", () => {
  const base = frozen(tinyBase());
  const graph = FrozenGraph.compile(base)!;
  const wrong = tf.zeros([2, 8, 8, 3]), ints = tf.zeros([2, 16, 16, 3], "int32");
  assertThrows(() => graph.run(wrong), Error, "expected a float32 tensor of shape [*,16,16,3]");
  assertThrows(() => graph.run(ints), Error, "got int32");
  assert(graph.matches(frozenRegion(base)));
  const conv = base.getLayer("Conv1");
  const ws = conv.getWeights();
  conv.setWeights(ws.map((w) => tf.tidy(() => tf.mul(w, 2))));
  assert(!graph.matches(frozenRegion(base)), "a replaced weight");
  graph.dispose();
  assertThrows(() => graph.run(tf.zeros([1, 16, 16, 3])), Error, "disposed");
  const again = FrozenGraph.compile(base)!;
  unfreezeForFineTuning(base, 4);
  assert(!again.matches(frozenRegion(base)), "changed trainable flags");
  again.dispose();
  tf.dispose([wrong, ints]);
  base.dispose();
});

Deno.test("InferenceModel: frozen graph on and off give the same predictions and fine-tuning gradients", () => {
  const sessionsBefore = sessions();
  const { model, base } = buildClassifier({ base: tinyBase(), seed: 3, augmentation: null, dropout: 0 });
  unfreezeForFineTuning(base, 4);
  compileForFineTuning(model);
  const before = tf.memory().numTensors;
  const x = tf.randomUniform([4, 16, 16, 3], 0, 255, "float32", 1);
  const vars = model.trainableWeights.map((w) => (w as unknown as { read(): Variable }).read());
  const run = (on: boolean) => {
    base.frozenGraph = on;
    return tf.tidy(() => {
      const y = model.apply(x, { training: true }) as Tensor;
      const { value, grads } = tf.variableGrads(
        () => tf.sum(tf.square(model.apply(x) as Tensor)) as Scalar,
        vars,
      );
      return [y, value, ...vars.map((v) => grads[v.name])];
    });
  };
  const on = run(true), off = run(false);
  assertEquals(on.length, 2 + vars.length);
  on.forEach((t, i) => {
    const scale = tf.tidy(() => tf.max(tf.abs(off[i])).dataSync()[0]);
    const d = maxAbsDiff(t.dataSync(), off[i].dataSync()) / Math.max(1, scale);
    assert(d < 1e-4, `output ${i}: relative |Δ| ${d}`);
  });
  // Frozen layers get no gradient at all: they are not trainable variables.
  assert(!vars.some((v) => v.name.includes("Conv1/")), "Conv1 is frozen");
  tf.dispose([...on, ...off, x]);
  assertEquals(tf.memory().numTensors, before);
  assertEquals(sessions(), sessionsBefore + 1);
  model.dispose(); // closes the base's session
  assertEquals(sessions(), sessionsBefore);
});

Deno.test("InferenceModel: a frozen weight set by hand is used by the next call; training keeps tensors flat", async () => {
  const { model, base } = buildClassifier({ base: tinyBase(), seed: 4 });
  compileForFineTuning(model);
  const x = tf.randomUniform([4, 16, 16, 3], 0, 255, "float32", 2), y = tf.tensor1d([0, 1, 0, 1]);
  const predict = () => tf.tidy(() => (model.predict(x) as Tensor).dataSync().slice());
  const first = predict();
  const conv = base.getLayer("Conv1");
  conv.setWeights(conv.getWeights().map((w) => tf.tidy(() => tf.mul(w, -1))));
  const withGraph = predict();
  base.frozenGraph = false;
  const eager = predict();
  base.frozenGraph = true;
  assert(maxAbsDiff(first, withGraph) > 1e-4, "the new weight changed the output");
  assert(maxAbsDiff(withGraph, eager) < 1e-4, "and the graph uses it");
  const counts: number[] = [];
  for (let i = 0; i < 4; i++) {
    await model.trainOnBatch(x, y);
    counts.push(tf.memory().numTensors);
  }
  assert(counts.slice(1).every((c) => c === counts[0]), `tensors per step: ${counts}`);
  tf.dispose([x, y]);
  model.dispose();
});

Deno.test("dependsOnTrainableVariable: only inside a gradient computation, only through trainable variables", () => {
  const w = tf.variable(tf.ones([2]), true, "dep_w"), c = tf.variable(tf.ones([2]), false, "dep_c");
  const outside = tf.mul(w, 2);
  assertEquals(dependsOnTrainableVariable(outside), false);
  let seen: boolean[] = [];
  const { value, grads } = tf.variableGrads(() => {
    seen = [dependsOnTrainableVariable(tf.add(tf.mul(w, 2), 1)), dependsOnTrainableVariable(tf.mul(c, 3))];
    return tf.sum(w) as Scalar;
  }, [w]);
  assertEquals(seen, [true, false]);
  tf.dispose([outside, value, ...Object.values(grads), w, c]);
});

Deno.test("a trainable layer before the base still gets its gradient (the base then runs eagerly)", () => {
  const base = inferenceMode(frozen(tinyBase()));
  const input = tf.input({ shape: [16, 16, 3] });
  const pre = tf.layers.conv2d({ filters: 3, kernelSize: 1, name: "pre" });
  const out = tf.layers.globalAveragePooling2d({}).apply(base.apply(pre.apply(input))) as SymbolicTensor;
  const m = tf.model({ inputs: input, outputs: out });
  const x = tf.randomUniform([2, 16, 16, 3], 0, 1, "float32", 3);
  const kernel = (pre.weights[0] as unknown as { read(): Variable }).read();
  const { value, grads } = tf.variableGrads(() => tf.sum(m.apply(x) as Tensor) as Scalar, [kernel]);
  assert(tf.max(tf.abs(grads[kernel.name])).dataSync()[0] > 0, "pre's kernel has a non-zero gradient");
  tf.dispose([x, value, ...Object.values(grads)]);
  m.dispose();
});

Deno.test("runFrom continues from fed boundary tensors, and names what it cannot compute", () => {
  const base = frozen(tinyBase());
  unfreezeForFineTuning(base, 4);
  const region = frozenRegion(base)!;
  tf.tidy(() => {
    const x = tf.randomUniform([2, 16, 16, 3], 0, 255, "float32", 4);
    const boundary = region.boundary.map((t) => base.getLayer(t.sourceLayer.name));
    const prefix = tf.model({
      inputs: base.inputs,
      outputs: boundary.map((l) => l.output as SymbolicTensor),
    });
    const fed = prefix.apply(x) as Tensor;
    const [y] = runFrom(base, new Map([[region.boundary[0].id, fed]]), { training: false });
    const eager = base.apply(x, { training: false }) as Tensor;
    assert(maxAbsDiff(y.dataSync(), eager.dataSync()) < 1e-4);
    assertThrows(() => runFrom(base, new Map(), { training: false }), Error, "could not be computed");
  });
  base.dispose();
});
