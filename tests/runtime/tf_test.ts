import { assert, assertEquals, assertMatch, assertRejects, assertThrows } from "../_assert.ts";
import { NativeBackendError, selectBroadcast, tensorflowVersion, tf } from "../../lib/runtime/tf.ts";
import type { Tensor, Tensor2D, Tensor4D } from "../../lib/runtime/tf.ts";

Deno.test("the backend is TensorFlow's native C library", () => {
  assertEquals(tf.getBackend(), "tensorflow");
  assertMatch(tensorflowVersion(), /^\d+\.\d+\.\d+/);
  console.log(`TensorFlow ${tensorflowVersion()}, tfjs ${tf.version.tfjs}`);
});

Deno.test("NativeBackendError tells the user to run the setup", async () => {
  await assertRejects(
    () => {
      throw new NativeBackendError("addon missing");
    },
    NativeBackendError,
    "run `deno task setup`",
  );
});

/** A deterministic pseudo-random Float32Array in [lo, hi) (mulberry32). */
function random(n: number, seed: number, lo = -1, hi = 1): Float32Array {
  let a = seed >>> 0;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    out[i] = lo + (hi - lo) * (((t ^ (t >>> 14)) >>> 0) / 4294967296);
  }
  return out;
}

type Inputs = Record<string, { shape: number[]; values: Float32Array }>;
type Op = (t: Record<string, Tensor>) => Tensor;

/** Runs `op` and the gradients of `sum(op · w)` w.r.t. every input on `backend`; returns plain arrays. */
function runOn(backend: string, inputs: Inputs, op: Op, withGrads: boolean): Float32Array[] {
  tf.setBackend(backend);
  try {
    return tf.tidy(() => {
      const names = Object.keys(inputs);
      const tensors = names.map((n) => tf.tensor(inputs[n].values, inputs[n].shape));
      const f = (...xs: Tensor[]) => op(Object.fromEntries(names.map((n, i) => [n, xs[i]])));
      const y = f(...tensors);
      const results = [y.dataSync() as Float32Array];
      if (withGrads) {
        const w = tf.tensor(random(y.size, 99), y.shape);
        const grads = tf.grads((...xs: Tensor[]) => tf.sum(tf.mul(f(...xs), w)))(tensors);
        for (const g of grads) results.push(g.dataSync() as Float32Array);
      }
      return results;
    });
  } finally {
    tf.setBackend("tensorflow");
  }
}

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  assertEquals(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

const x4 = (shape: number[], seed: number, lo = -1, hi = 1) => ({
  shape,
  values: random(shape.reduce((a, b) => a * b), seed, lo, hi),
});

/** Keras' rotation matrix (output → input coordinates) for `angle` radians about the image centre. */
function rotation(angle: number, height: number, width: number): Tensor2D {
  const c = Math.cos(angle), s = Math.sin(angle);
  const cx = (width - 1) / 2, cy = (height - 1) / 2;
  return tf.tensor2d([[c, -s, cx - c * cx + s * cy, s, c, cy - s * cx - c * cy, 0, 0]]);
}

const cases: { name: string; inputs: Inputs; op: Op; grads?: boolean }[] = [
  {
    name: "conv2d 3×3 stride 2 same",
    inputs: { x: x4([2, 9, 9, 3], 1), k: x4([3, 3, 3, 4], 2) },
    op: ({ x, k }) => tf.conv2d(x as Tensor4D, k as Tensor4D, 2, "same"),
  },
  {
    name: "conv2d 1×1 stride 1 valid",
    inputs: { x: x4([2, 6, 6, 5], 3), k: x4([1, 1, 5, 7], 4) },
    op: ({ x, k }) => tf.conv2d(x as Tensor4D, k as Tensor4D, 1, "valid"),
  },
  {
    name: "depthwiseConv2d 3×3 stride 2 same",
    inputs: { x: x4([2, 8, 8, 4], 5), k: x4([3, 3, 4, 1], 6) },
    op: ({ x, k }) => tf.depthwiseConv2d(x as Tensor4D, k as Tensor4D, 2, "same"),
  },
  {
    name: "depthwiseConv2d 3×3 stride 2 valid (after zero padding, as Keras' MobileNetV2)",
    inputs: { x: x4([2, 8, 8, 4], 7), k: x4([3, 3, 4, 1], 8) },
    op: ({ x, k }) =>
      tf.depthwiseConv2d(tf.pad(x as Tensor4D, [[0, 0], [0, 1], [0, 1], [0, 0]]), k as Tensor4D, 2, "valid"),
  },
  {
    name: "depthwiseConv2d 3×3 stride 1 same",
    inputs: { x: x4([1, 7, 7, 6], 9), k: x4([3, 3, 6, 1], 10) },
    op: ({ x, k }) => tf.depthwiseConv2d(x as Tensor4D, k as Tensor4D, 1, "same"),
  },
  {
    name: "batchNorm (inference statistics)",
    inputs: {
      x: x4([2, 4, 4, 3], 11),
      mean: x4([3], 12),
      variance: x4([3], 13, 0.5, 2),
      offset: x4([3], 14),
      scale: x4([3], 15, 0.5, 1.5),
    },
    op: ({ x, mean, variance, offset, scale }) => tf.batchNorm(x, mean, variance, offset, scale, 1e-3),
  },
  {
    name: "relu6",
    inputs: { x: x4([64], 16, -3, 9) },
    op: ({ x }) => tf.relu6(x),
  },
  {
    name: "avgPool 2×2",
    inputs: { x: x4([2, 6, 6, 3], 17) },
    op: ({ x }) => tf.avgPool(x as Tensor4D, 2, 2, "valid"),
  },
  {
    name: "global average pooling (mean over H, W)",
    inputs: { x: x4([2, 5, 5, 8], 18) },
    op: ({ x }) => tf.mean(x, [1, 2]),
  },
  {
    name: "resizeBilinear half-pixel centers",
    inputs: { x: x4([2, 7, 5, 3], 19, 0, 255) },
    op: ({ x }) => tf.image.resizeBilinear(x as Tensor4D, [4, 9], false, true),
    // The pure-JS gradient ignores halfPixelCenters (and transposes non-square shapes): the native
    // gradient is checked against the exact adjoint of the resize below instead.
    grads: false,
  },
  {
    name: "image transform (rotation, reflect fill, bilinear)",
    // batch 1: the pure-JS kernel mixes up images of a batch (see the batch test below)
    inputs: { x: x4([1, 6, 7, 3], 20, 0, 255) },
    op: ({ x }) => tf.image.transform(x as Tensor4D, rotation(0.3, 6, 7), "bilinear", "reflect"),
    grads: false, // tfjs registers no gradient for ImageProjectiveTransformV3 on either backend
  },
  {
    name: "sigmoid cross-entropy from logits",
    inputs: {
      labels: { shape: [16], values: random(16, 21, 0, 1).map(Math.round) },
      logits: x4([16], 22, -8, 8),
    },
    op: ({ labels, logits }) =>
      tf.losses.sigmoidCrossEntropy(labels, logits, undefined, 0, tf.Reduction.NONE),
  },
];

for (const c of cases) {
  Deno.test(`native ≈ pure-JS CPU backend: ${c.name}${c.grads === false ? "" : " and gradients"}`, () => {
    const before = tf.memory().numTensors;
    const native = runOn("tensorflow", c.inputs, c.op, c.grads !== false);
    const js = runOn("cpu", c.inputs, c.op, c.grads !== false);
    const diffs = native.map((a, i) => maxAbsDiff(a, js[i]));
    console.log(`${c.name}: max |Δ| ${diffs.map((d) => d.toExponential(1)).join(", ")}`);
    for (const d of diffs) assert(d <= 1e-4, `max abs difference ${d} > 1e-4`);
    assertEquals(tf.getBackend(), "tensorflow");
    assertEquals(tf.memory().numTensors, before);
  });
}

Deno.test("native image transform treats each image of a batch on its own", () => {
  tf.tidy(() => {
    const images = tf.tensor4d(random(2 * 6 * 7 * 3, 30, 0, 255), [2, 6, 7, 3]);
    const t = tf.concat([rotation(0.3, 6, 7), rotation(-0.7, 6, 7)]);
    const batch = tf.image.transform(images, t, "bilinear", "reflect");
    for (const i of [0, 1]) {
      const alone = tf.image.transform(images.slice(i, 1), t.slice(i, 1) as Tensor2D, "bilinear", "reflect");
      assertEquals(
        maxAbsDiff(batch.slice(i, 1).dataSync() as Float32Array, alone.dataSync() as Float32Array),
        0,
      );
    }
  });
});

Deno.test("native resizeBilinear gradient (half-pixel centers) is the exact adjoint of the resize", () => {
  const before = tf.memory().numTensors;
  tf.tidy(() => {
    const [h, w, outH, outW] = [7, 5, 4, 9];
    const dy = tf.tensor4d(random(outH * outW, 31), [1, outH, outW, 1]);
    const x = tf.tensor4d(random(h * w, 32), [1, h, w, 1]);
    const grad = tf.grad((v: Tensor) =>
      tf.sum(tf.mul(tf.image.resizeBilinear(v as Tensor4D, [outH, outW], false, true), dy))
    )(x);
    // Resizing is linear: d/dx_i sum(resize(x)·dy) = sum(resize(e_i)·dy) for each unit image e_i.
    const basis = tf.oneHot(tf.range(0, h * w, 1, "int32"), h * w).reshape([h * w, h, w, 1]).toFloat();
    const adjoint = tf.sum(
      tf.mul(tf.image.resizeBilinear(basis as Tensor4D, [outH, outW], false, true), dy),
      [1, 2, 3],
    );
    assertEquals(grad.shape, [1, h, w, 1]);
    const d = maxAbsDiff(grad.dataSync() as Float32Array, adjoint.dataSync() as Float32Array);
    console.log(`resizeBilinear gradient vs adjoint: max |Δ| ${d.toExponential(1)}`);
    assert(d <= 1e-5, `max abs difference ${d}`);
  });
  assertEquals(tf.memory().numTensors, before);
});

Deno.test("ReLU(maxValue 6) layers: one native Relu6 op, relu + clip's values, TensorFlow's Relu6Grad gradient", async () => {
  const before = tf.memory().numTensors;
  const relu6 = tf.layers.reLU({ maxValue: 6 }), relu3 = tf.layers.reLU({ maxValue: 3 });
  const x = tf.tensor1d([-3, -0.5, 0, 0.5, 3, 5.5, 6, 6.5, 10]);
  const profile = await tf.profile(() => relu6.apply(x) as Tensor);
  assertEquals(profile.kernels.map((k) => k.name), ["Relu6"]);
  tf.dispose(profile.result as Tensor);
  const weights = tf.range(1, 10);
  const grad = (f: (t: Tensor) => Tensor) => tf.grad((t: Tensor) => tf.sum(tf.mul(f(t), weights)))(x);
  for (const [layer, max] of [[relu6, 6], [relu3, 3]] as const) {
    tf.tidy(() => {
      const y = layer.apply(x) as Tensor, yRef = tf.clipByValue(tf.relu(x), 0, max);
      assertEquals(Array.from(y.dataSync()), Array.from(yRef.dataSync()));
    });
  }
  // dy · 1[0 < x < 6], as TensorFlow's Relu6Grad (Keras); ReLU(3) keeps tfjs' relu + clip gradient.
  const g6 = grad((t) => relu6.apply(t) as Tensor), g3 = grad((t) => relu3.apply(t) as Tensor);
  const g3Ref = grad((t) => tf.clipByValue(tf.relu(t), 0, 3));
  assertEquals(Array.from(g6.dataSync()), [0, 0, 0, 4, 5, 6, 0, 0, 0]);
  assertEquals(Array.from(g3.dataSync()), Array.from(g3Ref.dataSync()));
  tf.dispose([x, weights, g6, g3, g3Ref]);
  assertEquals(tf.memory().numTensors, before);
});

Deno.test("batchNorm: one multiply and one add on the native backend; gradients equal the plain formula's", async () => {
  const before = tf.memory().numTensors;
  const x = tf.tensor4d(random(2 * 3 * 4 * 5, 40), [2, 3, 4, 5]);
  const mean = tf.tensor1d(random(5, 41)), variance = tf.tensor1d(random(5, 42, 0.5, 2));
  const offset = tf.tensor1d(random(5, 43)), scale = tf.tensor1d(random(5, 44, 0.5, 1.5));
  const profile = await tf.profile(() => tf.batchNorm(x, mean, variance, offset, scale, 1e-3));
  const big = profile.kernels.filter((k) => k.outputShapes.some((s) => s?.length === 4)).map((k) => k.name);
  assert(big.includes("FusedBatchNorm"), `kernels: ${big}`);
  // FusedBatchNorm is the op's outer kernel; inside it, two passes over the activation.
  assertEquals(big.filter((k) => k !== "FusedBatchNorm" && k !== "Reshape"), ["Multiply", "Add"]);
  tf.dispose(profile.result as Tensor);
  const w = tf.tensor4d(random(2 * 3 * 4 * 5, 45), [2, 3, 4, 5]);
  const plain = (x: Tensor, m: Tensor, v: Tensor, o?: Tensor, s?: Tensor) => {
    let inv = tf.rsqrt(tf.add(v, 1e-3));
    if (s) inv = tf.mul(inv, s);
    const y = tf.mul(tf.sub(x, m), inv);
    return o ? tf.add(y, o) : y;
  };
  // (tfjs can differentiate batchNorm only with both scale and offset given: it records the missing ones.)
  const args = [x, mean, variance, offset, scale];
  const loss = (f: typeof plain) => (...a: Tensor[]) => tf.sum(tf.mul(f(a[0], a[1], a[2], a[3], a[4]), w));
  const ours = tf.grads(loss((x, m, v, o, s) => tf.batchNorm(x, m, v, o, s, 1e-3)))(args);
  const reference = tf.grads(loss(plain))(args);
  ours.forEach((g, i) => {
    assertEquals(g.shape, reference[i].shape);
    const d = maxAbsDiff(g.dataSync() as Float32Array, reference[i].dataSync() as Float32Array);
    assert(d <= 1e-4, `gradient with respect to input ${i}: max |Δ| ${d}`);
  });
  tf.dispose([...ours, ...reference]);
  tf.dispose([x, mean, variance, offset, scale, w]);
  assertEquals(tf.memory().numTensors, before);
});

Deno.test("selectBroadcast picks whole images by a [batch, 1, 1, 1] mask, as where(broadcastTo(…)) does", () => {
  const before = tf.memory().numTensors;
  tf.tidy(() => {
    const a = tf.tensor4d(random(3 * 2 * 2 * 2, 50), [3, 2, 2, 2]),
      b = tf.tensor4d(random(24, 51), [3, 2, 2, 2]);
    const mask = tf.tensor1d([true, false, true], "bool").reshape([3, 1, 1, 1]);
    const y = selectBroadcast(mask, a, b);
    assertEquals(
      Array.from(y.dataSync()),
      Array.from(tf.where(tf.broadcastTo(mask, a.shape), a, b).dataSync()),
    );
    const [ga, gb] = tf.grads((x: Tensor, z: Tensor) => tf.sum(tf.mul(selectBroadcast(mask, x, z), 3)))([
      a,
      b,
    ]);
    const m = tf.broadcastTo(tf.cast(mask, "float32"), a.shape);
    assertEquals(Array.from(ga.dataSync()), Array.from(tf.mul(m, 3).dataSync()));
    assertEquals(Array.from(gb.dataSync()), Array.from(tf.mul(tf.sub(1, m), 3).dataSync()));
    assertThrows(() => selectBroadcast(tf.ones([3, 1, 1, 1]), a, b), Error, "condition must be bool");
  });
  assertEquals(tf.memory().numTensors, before);
});
