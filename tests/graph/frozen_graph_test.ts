import { assert, assertEquals, assertThrows } from "../_assert.ts";
import { tf } from "../../lib/runtime/tf.ts";
import type { LayersModel, Scalar, SymbolicTensor, Tensor, Variable } from "../../lib/runtime/tf.ts";
import { dependsOnTrainableVariable, FrozenGraph, frozenRegion, runFrom } from "../../lib/graph/mod.ts";
import {
  buildClassifier,
  compileForFineTuning,
  freezeBase,
  inferenceMode,
  unfreezeForFineTuning,
} from "../../lib/model/classifier.ts";
import { mobileNetV2 } from "../../lib/model/mobilenet_v2.ts";
import { maxAbsDiff, movingStats, tinyBase } from "../../lib/testing/tiny.ts";
import { haveShared, SHARED_WEIGHTS_035 } from "../_shared.ts";

// tinyBase's layers: 0 input, 1 Conv1, 2 bn_Conv1, 3 Conv1_relu, 4 block_1_expand, 5 block_1_expand_BN,
// 6 block_1_expand_relu, 7 Conv_1, 8 Conv_1_bn, 9 out_relu.

/** Open TensorFlow sessions (SavedModels) of tfjs-node's backend. */
const sessions = () => (tf.backend() as unknown as { getNumOfSavedModels(): number }).getNumOfSavedModels();

function frozen<M extends LayersModel>(model: M): M {
  freezeBase(model);
  return model;
}

const apply = (
  layer: { apply(x: SymbolicTensor | SymbolicTensor[]): unknown },
  x: SymbolicTensor | SymbolicTensor[],
) => layer.apply(x) as SymbolicTensor;

/** A frozen functional model from `build(input)`, every weight (BN statistics included) random in [0.5, 1.5). */
function frozenModel(
  inputShape: (number | null)[],
  build: (x: SymbolicTensor) => SymbolicTensor | SymbolicTensor[],
): LayersModel {
  const input = tf.input({ shape: inputShape as number[] });
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

/** The underlying tf.Variable of a layer weight. */
const variableOf = (w: unknown) => (w as { read(): Variable }).read();

/** The names of the region's layers, or null (no deep comparison of layer objects: they are cyclic). */
const regionNames = (m: LayersModel) => frozenRegion(m)?.layers.map((l) => l.name) ?? null;

const outputId = (m: LayersModel, layer: string) => (m.getLayer(layer).output as SymbolicTensor).id;

const ids = (ts: SymbolicTensor[]) => ts.map((t) => t.id).sort((a, b) => a - b);

/** `max |a − b|` relative to `max(1, max |b|)`. */
function relDiff(a: Tensor, b: Tensor): number {
  assertEquals(a.shape, b.shape);
  const scale = Math.max(1, tf.tidy(() => tf.max(tf.abs(b)).dataSync()[0]));
  return maxAbsDiff(a.dataSync(), b.dataSync()) / scale;
}

/**
 * Compiles `model` and compares `run` with the eager `model.apply(x, {training: false})` on 3 random images
 * (every model output); returns the largest relative difference. No tensor or session is kept.
 */
function graphVsEager(model: LayersModel, lo = -1, hi = 1): number {
  const sessionsBefore = sessions();
  const graph = FrozenGraph.compile(model);
  assert(graph !== null, "a region to compile");
  assertEquals(ids(graph.region.boundary), ids(model.outputs), "the region computes every model output");
  const d = tf.tidy(() => {
    const x = tf.randomUniform([3, ...model.inputs[0].shape.slice(1) as number[]], lo, hi, "float32", 7);
    const eager = model.apply(x, { training: false }) as Tensor | Tensor[];
    const outputs = graph.run(x);
    const byId = new Map(graph.region.boundary.map((t, i) => [t.id, outputs[i]]));
    return Math.max(...[eager].flat().map((e, i) => relDiff(byId.get(model.outputs[i].id)!, e)));
  });
  graph.dispose();
  assertEquals(sessions(), sessionsBefore);
  return d;
}

// ---------------------------------------------------------------------------------------------------
// frozenRegion

Deno.test("frozenRegion: a fully frozen base is one region, its boundary the model output", () => {
  const before = tf.memory().numTensors;
  const base = frozen(tinyBase());
  const region = frozenRegion(base)!;
  // Every layer but the input, in order.
  assertEquals(region.layers.map((l) => l.name), base.layers.slice(1).map((l) => l.name));
  assert(region.layers.every((l, i) => l === base.layers[i + 1]));
  assertEquals(region.boundary.map((t) => t.id), [base.outputs[0].id]);
  base.dispose();
  assertEquals(tf.memory().numTensors, before);
});

Deno.test("frozenRegion: null when every layer with weights is trainable", () => {
  const before = tf.memory().numTensors;
  const base = tinyBase(); // as built: all trainable
  assertEquals(regionNames(base), null);
  freezeBase(base);
  unfreezeForFineTuning(base, 0);
  assertEquals(regionNames(base), null);
  unfreezeForFineTuning(base, 1); // only the input layer "frozen": nothing worth compiling
  assertEquals(regionNames(base), null);
  base.dispose();
  assertEquals(tf.memory().numTensors, before);
});

Deno.test("frozenRegion after unfreezeForFineTuning: the prefix, its boundary the tensors used after the cut", () => {
  const before = tf.memory().numTensors;
  const base = frozen(tinyBase());
  unfreezeForFineTuning(base, 4);
  const prefix = frozenRegion(base)!;
  assertEquals(prefix.layers.map((l) => l.name), ["Conv1", "bn_Conv1", "Conv1_relu"]);
  assertEquals(prefix.boundary.map((t) => t.id), [outputId(base, "Conv1_relu")]);
  // A frozen conv whose BatchNormalization trains: the conv's own output leaves the region.
  unfreezeForFineTuning(base, 5);
  const conv = frozenRegion(base)!;
  assertEquals(conv.layers.map((l) => l.name), ["Conv1", "bn_Conv1", "Conv1_relu", "block_1_expand"]);
  assertEquals(conv.boundary.map((t) => t.id), [outputId(base, "block_1_expand")]);
  base.dispose();
  assertEquals(tf.memory().numTensors, before);
});

/** `x → a → b → c → add(a, c)` (1×1 and 3×3 convolutions, 4 channels), frozen; then `c` trainable. */
function residualAcrossCut(): LayersModel {
  const m = frozenModel([8, 8, 4], (x) => {
    const a = apply(tf.layers.conv2d({ filters: 4, kernelSize: 1, name: "a" }), x);
    const b = apply(tf.layers.conv2d({ filters: 4, kernelSize: 3, padding: "same", name: "b" }), a);
    const c = apply(tf.layers.conv2d({ filters: 4, kernelSize: 1, name: "c" }), b);
    return apply(tf.layers.add({ name: "sum" }), [a, c]);
  });
  m.getLayer("c").trainable = true;
  return m;
}

Deno.test("frozenRegion: a residual Add across the cut makes two boundary tensors (skip and main path)", () => {
  const before = tf.memory().numTensors;
  const m = residualAcrossCut();
  const region = frozenRegion(m)!;
  assertEquals(region.layers.map((l) => l.name), ["a", "b"]);
  assertEquals(ids(region.boundary), [outputId(m, "a"), outputId(m, "b")].sort((p, q) => p - q));
  m.dispose();
  assertEquals(tf.memory().numTensors, before);
});

Deno.test("frozenRegion: an unsupported layer ends the region, even before frozen supported layers", () => {
  const before = tf.memory().numTensors;
  const conv = (name: string, args = {}) =>
    tf.layers.conv2d({ filters: 4, kernelSize: 3, padding: "same", name, ...args });
  const middles: [string, () => { apply(x: SymbolicTensor): unknown }][] = [
    ["MaxPooling2D", () => tf.layers.maxPooling2d({ poolSize: 2, name: "middle" })],
    ["sigmoid conv", () => conv("middle", { activation: "sigmoid" })],
    ["ReLU maxValue 3", () => tf.layers.reLU({ maxValue: 3, name: "middle" })],
    ["Dense", () => tf.layers.dense({ units: 4, name: "middle" })],
  ];
  for (const [what, middle] of middles) {
    const m = frozenModel([8, 8, 3], (x) => apply(conv("after"), apply(middle(), apply(conv("first"), x))));
    const region = frozenRegion(m)!;
    assertEquals(region.layers.map((l) => l.name), ["first"], what);
    assertEquals(region.boundary.map((t) => t.id), [outputId(m, "first")], what);
    m.dispose();
  }
  // Flatten → Dense after the frozen convolution: the region stops at the Flatten.
  const flat = frozenModel([8, 8, 3], (x) => {
    const y = apply(tf.layers.flatten({ name: "flatten" }), apply(conv("first"), x));
    return apply(tf.layers.dense({ units: 2, name: "dense" }), y);
  });
  assertEquals(regionNames(flat), ["first"]);
  flat.dispose();
  assertEquals(tf.memory().numTensors, before);
});

// ---------------------------------------------------------------------------------------------------
// FrozenGraph.run vs the eager model

Deno.test("FrozenGraph.run equals the eager tinyBase, BatchNormalization folded into the convolutions", () => {
  const before = tf.memory().numTensors;
  const base = frozen(tinyBase());
  const d = graphVsEager(base, 0, 255);
  assert(d < 1e-4, `relative |Δ| ${d}`);
  // Folded: per block kernel, Conv2D, bias, BiasAdd, Relu6 (an unfolded BN would add scale, shift, Mul,
  // AddV2), plus the input placeholder and the output Identity.
  const graph = FrozenGraph.compile(base)!;
  assertEquals(graph.graphNodes, 1 + 3 * 5 + 1);
  graph.dispose();
  base.dispose();
  assertEquals(tf.memory().numTensors, before);
});

Deno.test("FrozenGraph.run: convolutions with bias and activation relu / relu6, ReLU and Activation layers", () => {
  const before = tf.memory().numTensors;
  const m = frozenModel([10, 10, 3], (x) => {
    let y = apply(tf.layers.conv2d({ filters: 6, kernelSize: 3, useBias: true, activation: "relu" }), x);
    y = apply(tf.layers.conv2d({ filters: 5, kernelSize: 3, padding: "same", activation: "relu6" }), y);
    y = apply(tf.layers.activation({ activation: "linear" }), y);
    const convs = apply(tf.layers.conv2d({ filters: 4, kernelSize: 1, useBias: true }), y); // no clipping after
    const z = apply(tf.layers.conv2d({ filters: 4, kernelSize: 1, useBias: false }), x);
    const layers = apply(
      tf.layers.reLU({ maxValue: 6 }),
      apply(tf.layers.activation({ activation: "relu" }), z),
    );
    return [convs, layers];
  });
  // Inputs so that the pre-activations cross both 0 and 6.
  const d = graphVsEager(m, -3, 3);
  assert(d < 1e-4, `relative |Δ| ${d}`);
  m.dispose();
  assertEquals(tf.memory().numTensors, before);
});

Deno.test("FrozenGraph.run: Rescaling, ZeroPadding2D, stride-2 'valid' DepthwiseConv2D, GlobalAveragePooling2D", () => {
  const before = tf.memory().numTensors;
  const m = frozenModel([12, 12, 3], (x) => {
    let y = apply(tf.layers.rescaling({ scale: 1 / 127.5, offset: -1 }), x);
    y = apply(tf.layers.zeroPadding2d({ padding: [[0, 1], [0, 1]] }), y);
    y = apply(tf.layers.depthwiseConv2d({ kernelSize: 3, strides: 2, padding: "valid", useBias: false }), y);
    y = apply(tf.layers.batchNormalization({ epsilon: 1e-3 }), y);
    y = apply(tf.layers.zeroPadding2d({ padding: 1 }), y);
    y = apply(
      tf.layers.depthwiseConv2d({ kernelSize: 3, depthMultiplier: 2, strides: 2, padding: "valid" }),
      y,
    );
    y = apply(tf.layers.batchNormalization({ epsilon: 1e-3 }), y); // folded across 3 × 2 channels
    return apply(tf.layers.globalAveragePooling2d({}), y);
  });
  assertEquals(m.outputs[0].shape, [null, 6]);
  const d = graphVsEager(m, 0, 255);
  assert(d < 1e-4, `relative |Δ| ${d}`);
  m.dispose();
  assertEquals(tf.memory().numTensors, before);
});

Deno.test("FrozenGraph.run: BatchNormalization with no convolution before it (after an Add, without γ/β)", () => {
  const before = tf.memory().numTensors;
  const m = frozenModel([8, 8, 3], (x) => {
    const a = apply(tf.layers.conv2d({ filters: 3, kernelSize: 3, padding: "same" }), x);
    const b = apply(tf.layers.conv2d({ filters: 3, kernelSize: 1 }), x);
    const sum = apply(tf.layers.add(), [x, a, b]); // three inputs
    const bn = apply(tf.layers.batchNormalization({ epsilon: 1e-3 }), sum);
    const bare = apply(tf.layers.batchNormalization({ epsilon: 1e-3, scale: false, center: false }), bn);
    return apply(tf.layers.reLU({}), bare);
  });
  const d = graphVsEager(m, -2, 2);
  assert(d < 1e-4, `relative |Δ| ${d}`);
  m.dispose();
  assertEquals(tf.memory().numTensors, before);
});

Deno.test("FrozenGraph.run: a convolution used twice (by a BN and by another layer or as output) is not folded", () => {
  const before = tf.memory().numTensors;
  const twice = frozenModel([8, 8, 3], (x) => {
    const conv = apply(tf.layers.conv2d({ filters: 6, kernelSize: 3, padding: "same", useBias: true }), x);
    const bn = apply(tf.layers.batchNormalization({ epsilon: 1e-3 }), conv);
    return apply(tf.layers.add(), [bn, conv]);
  });
  const d1 = graphVsEager(twice, -1, 1);
  assert(d1 < 1e-4, `conv used by BN and Add: relative |Δ| ${d1}`);
  // The BN runs after the conv's other consumer (a longer path), so it is the conv's last consumer.
  const bnLast = frozenModel([8, 8, 3], (x) => {
    const conv = apply(tf.layers.conv2d({ filters: 4, kernelSize: 3, padding: "same" }), x);
    const relu = apply(tf.layers.reLU({}), conv);
    const longer = apply(tf.layers.conv2d({ filters: 4, kernelSize: 1 }), relu);
    return apply(tf.layers.add(), [longer, apply(tf.layers.batchNormalization({ epsilon: 1e-3 }), conv)]);
  });
  const d2 = graphVsEager(bnLast, -1, 1);
  assert(d2 < 1e-4, `conv used by ReLU then BN: relative |Δ| ${d2}`);
  const asOutput = frozenModel([8, 8, 3], (x) => {
    const conv = apply(tf.layers.conv2d({ filters: 4, kernelSize: 3, useBias: false }), x);
    return [conv, apply(tf.layers.batchNormalization({ epsilon: 1e-3 }), conv)];
  });
  const d3 = graphVsEager(asOutput, -1, 1);
  assert(d3 < 1e-4, `conv as model output and BN input: relative |Δ| ${d3}`);
  twice.dispose();
  bnLast.dispose();
  asOutput.dispose();
  assertEquals(tf.memory().numTensors, before);
});

Deno.test("FrozenGraph.run: input height and width left open ([null, null, 3]) take any image size", () => {
  const before = tf.memory().numTensors;
  const m = frozenModel([null, null, 3], (x) => {
    const y = apply(tf.layers.conv2d({ filters: 4, kernelSize: 3, strides: 2, padding: "same" }), x);
    return apply(tf.layers.batchNormalization({}), y);
  });
  const graph = FrozenGraph.compile(m)!;
  tf.tidy(() => {
    for (const [h, w] of [[9, 11], [16, 16]]) {
      const x = tf.randomUniform([2, h, w, 3], -1, 1, "float32", h);
      const d = relDiff(graph.run(x)[0], m.apply(x, { training: false }) as Tensor);
      assert(d < 1e-4, `${h}×${w}: relative |Δ| ${d}`);
    }
  });
  graph.dispose();
  m.dispose();
  assertEquals(tf.memory().numTensors, before);
});

Deno.test("FrozenGraph: MobileNetV2 alpha 0.35 with ImageNet weights equals the eager base", async () => {
  if (!haveShared(SHARED_WEIGHTS_035, "FrozenGraph MobileNetV2")) return;
  const before = tf.memory().numTensors;
  const base = await mobileNetV2({
    inputShape: [96, 96, 3],
    alpha: 0.35,
    includeTop: false,
    weights: SHARED_WEIGHTS_035,
  });
  frozen(base);
  assertEquals(frozenRegion(base)!.layers.length, base.layers.length - 1);
  const d = graphVsEager(base, -1, 1);
  assert(d < 1e-4, `relative |Δ| ${d}`);
  base.dispose();
  assertEquals(tf.memory().numTensors, before);
});

// ---------------------------------------------------------------------------------------------------
// FrozenGraph: input checks, dispose, matches

Deno.test("FrozenGraph.run rejects a wrong-shape or int32 input, naming the expected shape", () => {
  const before = tf.memory().numTensors;
  const base = frozen(tinyBase());
  const graph = FrozenGraph.compile(base)!;
  const cases: [Tensor, string][] = [
    [tf.zeros([2, 8, 8, 3]), "float32 [2,8,8,3]"],
    [tf.zeros([16, 16, 3]), "float32 [16,16,3]"],
    [tf.zeros([2, 16, 16, 4]), "float32 [2,16,16,4]"],
    [tf.zeros([2, 16, 16, 3], "int32"), "int32 [2,16,16,3]"],
  ];
  for (const [x, got] of cases) {
    assertThrows(() => graph.run(x), Error, `expected a float32 tensor of shape [*,16,16,3], got ${got}`);
  }
  tf.dispose(cases.map(([x]) => x));
  graph.dispose();
  base.dispose();
  assertEquals(tf.memory().numTensors, before);
});

Deno.test("FrozenGraph.dispose closes the session; run afterwards throws; a second dispose is harmless", () => {
  const before = tf.memory().numTensors;
  const base = frozen(tinyBase());
  const sessionsBefore = sessions();
  const graph = FrozenGraph.compile(base)!;
  assertEquals(sessions(), sessionsBefore + 1);
  graph.dispose();
  assertEquals(sessions(), sessionsBefore);
  const x = tf.zeros([1, 16, 16, 3]);
  assertThrows(() => graph.run(x), Error, "disposed");
  graph.dispose();
  assertEquals(sessions(), sessionsBefore);
  assert(!graph.matches(frozenRegion(base)), "a disposed graph matches nothing");
  x.dispose();
  base.dispose();
  assertEquals(tf.memory().numTensors, before);
});

Deno.test("FrozenGraph.matches: false after setWeights on a frozen layer, true after one on a trainable layer", () => {
  const before = tf.memory().numTensors;
  const base = frozen(tinyBase());
  unfreezeForFineTuning(base, 4);
  const graph = FrozenGraph.compile(base)!;
  assert(graph.matches(frozenRegion(base)));
  const doubled = (name: string) => {
    const layer = base.getLayer(name);
    const values = layer.getWeights().map((w) => tf.mul(w, 2));
    layer.setWeights(values);
    tf.dispose(values);
  };
  doubled("Conv_1"); // trainable, outside the region
  assert(graph.matches(frozenRegion(base)), "a trainable weight is not part of the graph");
  doubled("bn_Conv1"); // frozen: γ, β and the moving statistics
  assert(!graph.matches(frozenRegion(base)), "a frozen weight replaced");
  graph.dispose();
  base.dispose();
  assertEquals(tf.memory().numTensors, before);
});

Deno.test("FrozenGraph.matches: false after trainable flags change the region, or for no region", () => {
  const before = tf.memory().numTensors;
  const base = frozen(tinyBase());
  const graph = FrozenGraph.compile(base)!;
  assert(graph.matches(frozenRegion(base)));
  unfreezeForFineTuning(base, 4);
  assert(!graph.matches(frozenRegion(base)), "the cut moved");
  unfreezeForFineTuning(base, 0);
  assert(!graph.matches(frozenRegion(base)), "nothing frozen");
  freezeBase(base);
  assert(graph.matches(frozenRegion(base)), "frozen again, same weights: the same graph");
  graph.dispose();
  base.dispose();
  assertEquals(tf.memory().numTensors, before);
});

// ---------------------------------------------------------------------------------------------------
// runFrom

Deno.test("runFrom continues from fed boundary tensors to the model outputs", () => {
  const before = tf.memory().numTensors;
  const m = residualAcrossCut();
  const region = frozenRegion(m)!;
  const graph = FrozenGraph.compile(m, region)!;
  tf.tidy(() => {
    const x = tf.randomUniform([2, 8, 8, 4], -1, 1, "float32", 9);
    const boundary = graph.run(x);
    assertEquals(boundary.length, 2);
    const feeds = new Map(region.boundary.map((t, i) => [t.id, boundary[i]]));
    const ys = runFrom(m, feeds, { training: false });
    assertEquals(ys.length, 1);
    const d = relDiff(ys[0], m.apply(x, { training: false }) as Tensor);
    assert(d < 1e-4, `relative |Δ| ${d}`);
  });
  graph.dispose();
  m.dispose();
  assertEquals(tf.memory().numTensors, before);
});

Deno.test("runFrom throws, naming the model, when a tensor it needs is not fed", () => {
  const before = tf.memory().numTensors;
  const m = residualAcrossCut();
  const region = frozenRegion(m)!;
  const skip = outputId(m, "a");
  tf.tidy(() => {
    const b = tf.zeros([1, 8, 8, 4]);
    const onlyMainPath = new Map(region.boundary.filter((t) => t.id !== skip).map((t) => [t.id, b]));
    assertEquals(onlyMainPath.size, 1);
    assertThrows(
      () => runFrom(m, onlyMainPath, { training: false }),
      Error,
      `runFrom: model "${m.name}" output`,
    );
    assertThrows(() => runFrom(m, new Map(), {}), Error, "could not be computed from the feeds");
  });
  m.dispose();
  assertEquals(tf.memory().numTensors, before);
});

// ---------------------------------------------------------------------------------------------------
// InferenceModel

/** The tiny classifier without augmentation or dropout (deterministic), with a seeded dense layer. */
const tinyClassifier = (seed: number) =>
  buildClassifier({ base: tinyBase(), seed, augmentation: null, dropout: 0 });

Deno.test("InferenceModel: predictions agree with frozenGraph on and off (the graph is really used)", () => {
  const before = tf.memory().numTensors;
  const sessionsBefore = sessions();
  const { model, base } = tinyClassifier(3);
  const x = tf.randomUniform([4, 16, 16, 3], 0, 255, "float32", 1);
  base.frozenGraph = false;
  const eager = model.predict(x) as Tensor;
  assertEquals(sessions(), sessionsBefore, "no graph while off");
  base.frozenGraph = true;
  const graph = model.predict(x) as Tensor;
  assertEquals(sessions(), sessionsBefore + 1, "one compiled frozen part");
  assert(base.frozenPart() !== null);
  const d = relDiff(graph, eager);
  assert(d < 1e-4, `relative |Δ| ${d}`);
  tf.dispose([x, eager, graph]);
  model.dispose();
  assertEquals(sessions(), sessionsBefore);
  assertEquals(tf.memory().numTensors, before);
});

Deno.test("InferenceModel fine-tuning: gradients agree with frozenGraph on and off; the frozen prefix gets none", () => {
  const before = tf.memory().numTensors;
  const { model, base } = tinyClassifier(3);
  unfreezeForFineTuning(base, 4);
  compileForFineTuning(model);
  const x = tf.randomUniform([4, 16, 16, 3], 0, 255, "float32", 1);
  const trainable = model.trainableWeights.map((w) => variableOf(w).name).sort();
  const gradients = (on: boolean) => {
    base.frozenGraph = on;
    // Default variable list: every trainable variable in the engine gets a gradient if connected.
    const { value, grads } = tf.variableGrads(() => tf.mean(tf.square(model.apply(x) as Tensor)) as Scalar);
    assertEquals(
      Object.keys(grads).sort(),
      trainable,
      `frozenGraph ${on}: gradients for the trainable weights`,
    );
    return { value, grads };
  };
  const on = gradients(true);
  assert(base.frozenPart() !== null, "the frozen prefix was compiled");
  const off = gradients(false);
  assert(!trainable.some((n) => /^(Conv1|bn_Conv1)\//.test(n)), `frozen prefix weights: ${trainable}`);
  assert(relDiff(on.value, off.value) < 1e-5, "the same loss");
  for (const name of trainable) {
    const d = relDiff(on.grads[name], off.grads[name]);
    assert(d < 1e-4, `${name}: relative |Δ| ${d}`);
    assert(tf.tidy(() => tf.max(tf.abs(off.grads[name])).dataSync()[0]) > 0, `${name}: a non-zero gradient`);
  }
  tf.dispose([x, on.value, off.value, ...Object.values(on.grads), ...Object.values(off.grads)]);
  model.optimizer.dispose();
  model.dispose();
  assertEquals(tf.memory().numTensors, before);
});

Deno.test("InferenceModel: after setWeights on a frozen layer the next call uses the new weights", () => {
  const before = tf.memory().numTensors;
  const { model, base } = tinyClassifier(4);
  const x = tf.randomUniform([4, 16, 16, 3], 0, 255, "float32", 2);
  const predict = () => tf.tidy(() => (model.predict(x) as Tensor).dataSync().slice());
  const first = predict();
  const compiled = base.frozenPart();
  const open = sessions();
  const conv = base.getLayer("block_1_expand");
  const negated = conv.getWeights().map((w) => tf.neg(w));
  conv.setWeights(negated);
  tf.dispose(negated);
  const withGraph = predict();
  assert(base.frozenPart() !== compiled, "recompiled");
  assertEquals(sessions(), open, "the old session closed");
  base.frozenGraph = false;
  const eager = predict();
  assert(maxAbsDiff(first, withGraph) > 1e-3, "the new weight changed the output");
  assert(
    maxAbsDiff(withGraph, eager) < 1e-4,
    `graph vs eager after setWeights: ${maxAbsDiff(withGraph, eager)}`,
  );
  x.dispose();
  model.dispose();
  assertEquals(tf.memory().numTensors, before);
});

Deno.test("InferenceModel fine-tuning: trainOnBatch keeps tensors and sessions flat, the frozen prefix unchanged", async () => {
  const before = tf.memory().numTensors;
  const { model, base } = tinyClassifier(5);
  unfreezeForFineTuning(base, 4);
  compileForFineTuning(model, 1e-2);
  const x = tf.randomUniform([4, 16, 16, 3], 0, 255, "float32", 3), y = tf.tensor2d([[0], [1], [0], [1]]);
  const prefixWeights = () =>
    ["Conv1", "bn_Conv1"].flatMap((n) => base.getLayer(n).getWeights().map((w) => w.dataSync().slice()));
  const prefix = prefixWeights();
  const trained = base.getLayer("Conv_1").getWeights()[0].dataSync().slice();
  const statsBefore = movingStats(base);
  const counts: number[] = [], open: number[] = [];
  let compiled: FrozenGraph | null = null;
  for (let step = 0; step < 4; step++) {
    await model.trainOnBatch(x, y);
    counts.push(tf.memory().numTensors);
    open.push(sessions());
    if (step === 0) compiled = base.frozenPart();
  }
  assert(
    compiled !== null && base.frozenPart() === compiled,
    "the frozen part compiled once, reused each step",
  );
  assert(counts.every((c) => c === counts[0]), `tensors per step: ${counts}`);
  assert(open.every((c) => c === open[0]), `sessions per step: ${open}`);
  prefixWeights().forEach((w, i) =>
    assertEquals(maxAbsDiff(w, prefix[i]), 0, `frozen weight ${i} unchanged`)
  );
  assert(maxAbsDiff(base.getLayer("Conv_1").getWeights()[0].dataSync(), trained) > 0, "Conv_1 trained");
  // Inference mode: no BatchNormalization updated its moving statistics, trainable or not.
  movingStats(base).forEach((s, i) => assertEquals(maxAbsDiff(s, statsBefore[i]), 0, `moving stats ${i}`));
  tf.dispose([x, y]);
  model.optimizer.dispose();
  model.dispose();
  assertEquals(tf.memory().numTensors, before);
});

Deno.test("InferenceModel.dispose releases the compiled session (classifier or base alone)", () => {
  const before = tf.memory().numTensors;
  const sessionsBefore = sessions();
  const x = tf.randomUniform([2, 16, 16, 3], 0, 255, "float32", 4);
  const { model } = tinyClassifier(6);
  tf.dispose(model.predict(x) as Tensor);
  assertEquals(sessions(), sessionsBefore + 1);
  model.dispose();
  assertEquals(sessions(), sessionsBefore, "classifier disposed");
  const base = inferenceMode(frozen(tinyBase()));
  tf.dispose(base.apply(x) as Tensor);
  assertEquals(sessions(), sessionsBefore + 1);
  base.dispose();
  assertEquals(sessions(), sessionsBefore, "base disposed");
  x.dispose();
  assertEquals(tf.memory().numTensors, before);
});

// InferenceModel.call feeds the model input too, for layers outside the frozen part that read it.
Deno.test({
  name: "InferenceModel: a trainable layer reading the model input directly, beside a frozen one",
  fn() {
    const before = tf.memory().numTensors;
    const input = tf.input({ shape: [8, 8, 3] });
    const a = apply(tf.layers.conv2d({ filters: 4, kernelSize: 1, name: "a" }), input);
    const b = apply(tf.layers.conv2d({ filters: 4, kernelSize: 1, name: "b" }), input);
    const base = inferenceMode(tf.model({ inputs: input, outputs: apply(tf.layers.add({}), [a, b]) }));
    base.getLayer("a").trainable = false; // b trains
    const x = tf.randomUniform([2, 8, 8, 3], -1, 1, "float32", 1);
    base.frozenGraph = false;
    const eager = base.apply(x) as Tensor;
    base.frozenGraph = true;
    const graph = base.apply(x) as Tensor;
    assert(relDiff(graph, eager) < 1e-4);
    tf.dispose([x, eager, graph]);
    base.dispose();
    assertEquals(tf.memory().numTensors, before);
  },
});

// ---------------------------------------------------------------------------------------------------
// dependsOnTrainableVariable

Deno.test("dependsOnTrainableVariable: false outside a gradient computation, even for a trainable variable", () => {
  const before = tf.memory().numTensors;
  const w = tf.tidy(() => tf.ones([2]).variable(true, "dep_outside_w"));
  const y = tf.mul(w, 2);
  assertEquals(dependsOnTrainableVariable(w), false);
  assertEquals(dependsOnTrainableVariable(y), false);
  tf.dispose([w, y]);
  assertEquals(tf.memory().numTensors, before);
});

Deno.test("dependsOnTrainableVariable in variableGrads: true through a trainable variable, false from constants", () => {
  const before = tf.memory().numTensors;
  const w = tf.tidy(() => tf.ones([2]).variable(true, "dep_w"));
  const c = tf.tidy(() => tf.ones([2]).variable(false, "dep_c"));
  const k = tf.tensor1d([1, 2]);
  const outside = tf.mul(w, 3); // computed before the gradient scope: a constant to it
  let seen: Record<string, boolean> = {};
  const { value, grads } = tf.variableGrads(() => {
    const deep = tf.relu(tf.add(tf.mul(tf.exp(w), 2), k));
    seen = {
      variable: dependsOnTrainableVariable(w),
      deep: dependsOnTrainableVariable(deep),
      constant: dependsOnTrainableVariable(tf.mul(k, 3)),
      nonTrainable: dependsOnTrainableVariable(tf.mul(c, 3)),
      outside: dependsOnTrainableVariable(tf.add(outside, k)),
    };
    return tf.sum(deep) as Scalar;
  }, [w]);
  assertEquals(seen, { variable: true, deep: true, constant: false, nonTrainable: false, outside: false });
  tf.dispose([value, ...Object.values(grads), w, c, k, outside]);
  assertEquals(tf.memory().numTensors, before);
});

Deno.test("a trainable conv before the base gets its gradient (the base then runs eagerly), as without the graph", () => {
  const before = tf.memory().numTensors;
  const base = inferenceMode(frozen(tinyBase()));
  const input = tf.input({ shape: [16, 16, 3] });
  const pre = tf.layers.conv2d({ filters: 3, kernelSize: 1, name: "pre" });
  const out = apply(tf.layers.globalAveragePooling2d({}), apply(base, apply(pre, input)));
  const m = tf.model({ inputs: input, outputs: out });
  const x = tf.randomUniform([2, 16, 16, 3], 0, 1, "float32", 3);
  const vars = pre.weights.map(variableOf);
  const gradients = (on: boolean) => {
    base.frozenGraph = on;
    return tf.variableGrads(() => tf.sum(tf.square(m.apply(x) as Tensor)) as Scalar, vars);
  };
  const on = gradients(true), off = gradients(false);
  for (const v of vars) {
    assert(on.grads[v.name] !== undefined, `${v.name}: a gradient with frozenGraph on`);
    assert(tf.tidy(() => tf.max(tf.abs(on.grads[v.name])).dataSync()[0]) > 0, `${v.name}: non-zero`);
    const d = relDiff(on.grads[v.name], off.grads[v.name]);
    assert(d < 1e-4, `${v.name}: relative |Δ| ${d}`);
  }
  // Outside a gradient computation the same model uses the compiled base, with the same result.
  const sessionsBefore = sessions();
  base.frozenGraph = true;
  const graph = m.predict(x) as Tensor;
  assertEquals(sessions(), sessionsBefore + 1, "the base compiled for predict");
  base.frozenGraph = false;
  const eager = m.predict(x) as Tensor;
  assert(relDiff(graph, eager) < 1e-4);
  tf.dispose([x, graph, eager, on.value, off.value, ...Object.values(on.grads), ...Object.values(off.grads)]);
  m.dispose();
  assertEquals(tf.memory().numTensors, before);
});
