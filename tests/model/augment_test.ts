import { assert, assertAlmostEquals, assertEquals, assertThrows } from "../_assert.ts";
import { tf } from "../../lib/runtime/tf.ts";
import type { Tensor4D } from "../../lib/runtime/tf.ts";
import {
  dataAugmentation,
  fuseFlipAndRotation,
  RandomFlip,
  RandomRotation,
} from "../../lib/model/augment.ts";

const fixture = JSON.parse(
  Deno.readTextFileSync(new URL("../fixtures/rotation_keras.json", import.meta.url)),
) as {
  shape: [number, number, number];
  image: number[];
  cases: { factor: number; fillMode: "reflect"; interpolation: "bilinear"; output: number[] }[];
};

/** `n` distinct asymmetric h×w×3 images (no flip or rotation maps one onto itself). */
function images(n: number, h: number, w: number): Tensor4D {
  return tf.tidy(() => tf.range(0, n * h * w * 3).mul(13).mod(251).reshape([n, h, w, 3]) as Tensor4D);
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assertEquals(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

Deno.test("RandomFlip horizontal flips some images left-right, never up-down, and keeps the rest", () => {
  const before = tf.memory().numTensors;
  const x = images(64, 5, 7);
  const layer = new RandomFlip({ mode: "horizontal", seed: 3 });
  const y = layer.apply(x, { training: true }) as Tensor4D;
  const lr = tf.reverse(x, 2), ud = tf.reverse(x, 1);
  let flipped = 0, kept = 0;
  const [ya, xa, lra, uda] = [y, x, lr, ud].map((t) => t.dataSync());
  const size = 5 * 7 * 3;
  for (let i = 0; i < 64; i++) {
    const [yi, xi, lri, udi] = [ya, xa, lra, uda].map((a) => a.subarray(i * size, (i + 1) * size));
    if (maxAbsDiff(yi, lri) === 0) flipped++;
    else if (maxAbsDiff(yi, xi) === 0) kept++;
    assert(maxAbsDiff(yi, udi) > 0, `image ${i} was flipped vertically`);
  }
  assertEquals(flipped + kept, 64);
  assert(flipped >= 16 && kept >= 16, `expected about half flipped, got ${flipped}/64`);
  tf.dispose([x, y, lr, ud]);
  assertEquals(tf.memory().numTensors, before);
});

Deno.test("RandomFlip seeds make the draws reproducible; vertical mode flips up-down", () => {
  const x = images(16, 4, 6);
  const run = () => {
    const layer = new RandomFlip({ mode: "vertical", seed: 11 });
    return [0, 1].map(() => (layer.apply(x, { training: true }) as Tensor4D).arraySync());
  };
  const [a, b] = [run(), run()];
  assertEquals(a, b);
  assert(JSON.stringify(a[0]) !== JSON.stringify(a[1]), "two calls of one layer draw differently");
  const ud = tf.reverse(x, 1).arraySync();
  const xs = x.arraySync();
  a[0].forEach((img, i) =>
    assert(JSON.stringify(img) === JSON.stringify(ud[i]) || JSON.stringify(img) === JSON.stringify(xs[i]))
  );
  x.dispose();
});

Deno.test("both layers are the identity unless training is true", () => {
  const x = images(4, 6, 8);
  for (const layer of [new RandomFlip({ seed: 1 }), new RandomRotation({ factor: 0.2, seed: 1 })]) {
    for (const kwargs of [{}, { training: false }]) {
      const y = layer.apply(x, kwargs) as Tensor4D;
      assertEquals(maxAbsDiff(y.dataSync(), x.dataSync()), 0);
      y.dispose();
    }
    const t = layer.apply(x, { training: true }) as Tensor4D;
    assert(maxAbsDiff(t.dataSync(), x.dataSync()) > 0, `${layer.getClassName()} changes images in training`);
    t.dispose();
  }
  x.dispose();
});

Deno.test("RandomRotation matches Keras 3 for fixed angles (fill modes, interpolations)", () => {
  const before = tf.memory().numTensors;
  const x = tf.tensor(fixture.image, [1, ...fixture.shape]);
  for (const c of fixture.cases) {
    const layer = new RandomRotation({
      factor: [c.factor, c.factor],
      fillMode: c.fillMode,
      interpolation: c.interpolation,
    });
    const y = layer.apply(x, { training: true }) as Tensor4D;
    const diff = maxAbsDiff(y.dataSync(), c.output);
    // The fixture keeps 4 decimals: 5e-5 is its own rounding.
    assert(diff < 1e-4, `${JSON.stringify({ ...c, output: undefined })}: max |diff| ${diff}`);
    y.dispose();
  }
  x.dispose();
  assertEquals(tf.memory().numTensors, before);
});

Deno.test("RandomRotation: +90° on a square image is a counter-clockwise quarter turn (hand-computed)", () => {
  const n = 5;
  const x = tf.tensor(Array.from({ length: n * n }, (_, i) => i), [1, n, n, 1]);
  const y = new RandomRotation({ factor: [0.25, 0.25], interpolation: "nearest" }).apply(x, {
    training: true,
  });
  const out = (y as Tensor4D).arraySync()[0].map((row) => row.map((p) => Math.round(p[0])));
  const input = (x as Tensor4D).arraySync()[0].map((row) => row.map((p) => p[0]));
  // A counter-clockwise quarter turn: the top row shows the input's right column, read top to bottom.
  const expected = input.map((_, i) => input.map((row) => row[n - 1 - i]));
  assertEquals(out, expected);
  tf.dispose([x, y as Tensor4D]);
});

Deno.test("RandomRotation draws each image's angle in ±factor·2π", () => {
  // A 1-pixel-wide bright bar rotated by θ lands on a line whose slope gives θ back.
  const layer = new RandomRotation({ factor: 0.05, seed: 5, fillMode: "constant" });
  const x = tf.tidy(() =>
    tf.zeros([32, 41, 41, 1]).add(tf.oneHot(20, 41).reshape([1, 1, 41, 1]).mul(tf.ones([1, 41, 1, 1])))
  );
  const y = (layer.apply(x, { training: true }) as Tensor4D).arraySync();
  const angles = y.map((img) => {
    // The bar's column at the top and bottom rows (weighted centroid).
    const centroid = (r: number) => {
      let s = 0, m = 0;
      img[r].forEach((p, c) => (s += p[0] * c, m += p[0]));
      return s / m;
    };
    const top = 5, bottom = 35;
    return Math.atan2(centroid(top) - centroid(bottom), bottom - top);
  });
  const limit = 0.05 * 2 * Math.PI;
  for (const a of angles) assert(Math.abs(a) <= limit + 0.02, `angle ${a} outside ±${limit}`);
  assert(Math.max(...angles) - Math.min(...angles) > limit, "angles spread over the range");
  assert(angles.some((a) => a > 0) && angles.some((a) => a < 0));
  x.dispose();
});

Deno.test("augmentation layers serialize and deserialize with their settings", () => {
  const flip = new RandomFlip({ mode: "horizontal", seed: 4, name: "flip" });
  const rot = new RandomRotation({
    factor: 0.2,
    fillMode: "wrap",
    interpolation: "nearest",
    fillValue: 3,
    seed: 9,
  });
  const [cls, fromConfig] = tf.serialization.SerializationMap.getMap().classNameMap["RandomFlip"];
  const flip2 = fromConfig(cls, flip.getConfig()) as RandomFlip;
  assertEquals([flip2.mode, flip2.seed, flip2.name], ["horizontal", 4, "flip"]);
  const rot2 = RandomRotation.fromConfig(RandomRotation, rot.getConfig()) as RandomRotation;
  assertEquals(
    [rot2.lower, rot2.upper, rot2.fillMode, rot2.interpolation, rot2.fillValue, rot2.seed],
    [-0.2, 0.2, "wrap", "nearest", 3, 9],
  );
});

Deno.test("bad arguments are clear errors naming the layer and argument", () => {
  assertThrows(() => new RandomFlip({ mode: "diagonal" as never }), Error, "RandomFlip: mode must be one of");
  assertThrows(() => new RandomRotation({ factor: 2 }), Error, "RandomRotation: factor");
  assertThrows(() => new RandomRotation({ factor: [0.3, 0.1] }), Error, "RandomRotation: factor");
  assertThrows(
    () => new RandomRotation({ factor: 0.1, fillMode: "mirror" as never }),
    Error,
    "fillMode must be one of",
  );
  // Seeds beyond 32 bits (or negative) are refused, not cut; the largest one still works end to end.
  for (const seed of [1.5, -1, 2 ** 32, 2 ** 53]) {
    assertThrows(() => new RandomFlip({ seed }), Error, "seed must be a whole number from 0 to 2^32 − 1");
    assertThrows(() => new RandomRotation({ factor: 0.1, seed }), Error, "RandomRotation: seed must be");
  }
  dataAugmentation({ inputShape: [8, 8, 3], seed: 2 ** 32 - 1 }).dispose();
  const x = tf.zeros([4, 4, 3]);
  assertThrows(
    () => new RandomFlip().apply(x, { training: true }),
    Error,
    "[batch, height, width, channels]",
  );
  x.dispose();
});

Deno.test("dataAugmentation is the tutorial's Sequential of flip and rotation", () => {
  const aug = dataAugmentation({ inputShape: [8, 8, 3], seed: 1 });
  assertEquals(aug.layers.map((l: { getClassName(): string }) => l.getClassName()), [
    "RandomFlip",
    "RandomRotation",
  ]);
  const r = aug.layers[1] as RandomRotation;
  assertEquals([r.lower, r.upper, r.fillMode, r.interpolation], [-0.2, 0.2, "reflect", "bilinear"]);
  assertAlmostEquals(aug.countParams(), 0);
});

Deno.test("fused flip + rotation (dataAugmentation) gives the layers' own images in one resampling", async () => {
  const before = tf.memory().numTensors;
  const x = images(16, 9, 11);
  for (const mode of ["horizontal", "vertical", "horizontal_and_vertical"] as const) {
    for (const fillMode of ["reflect", "constant"] as const) {
      const layers = () => [
        new RandomFlip({ mode, seed: 5, inputShape: [9, 11, 3] }),
        new RandomRotation({ factor: 0.2, seed: 6, fillMode }),
      ];
      const plain = tf.sequential({ layers: layers() });
      const fused = fuseFlipAndRotation(tf.sequential({ layers: layers() }));
      for (let call = 0; call < 2; call++) { // the second call checks that both advance their seeds alike
        const a = plain.apply(x, { training: true }) as Tensor4D;
        const b = fused.apply(x, { training: true }) as Tensor4D;
        const d = maxAbsDiff(a.dataSync(), b.dataSync());
        assert(d < 0.05, `${mode}, ${fillMode}, call ${call}: max |Δ| ${d} (pixel values 0..250)`);
        tf.dispose([a, b]);
      }
      // Inference passes through untouched.
      const same = fused.apply(x, { training: false }) as Tensor4D;
      assertEquals(maxAbsDiff(same.dataSync(), x.dataSync()), 0);
      same.dispose();
    }
  }
  // One transform kernel, no reverse or select.
  const aug = dataAugmentation({ inputShape: [9, 11, 3], seed: 1 });
  const profile = await tf.profile(() => aug.apply(x, { training: true }) as Tensor4D);
  const names = profile.kernels.map((k) => k.name);
  assertEquals(names.filter((k) => k === "Transform").length, 1);
  assert(!names.includes("Reverse") && !names.includes("SelectV2"), `kernels: ${names}`);
  tf.dispose([x, profile.result as Tensor4D]);
  assertEquals(tf.memory().numTensors, before);
});

Deno.test("augmentation layers' random state: a fresh layer given another's state draws what that one draws next", () => {
  const before = tf.memory().numTensors;
  const x = images(6, 8, 8);
  const fresh = () => dataAugmentation({ inputShape: [8, 8, 3], seed: 21 });
  const a = fresh(), b = fresh();
  const run = (m: ReturnType<typeof fresh>) =>
    tf.tidy(() => Array.from((m.apply(x, { training: true }) as Tensor4D).dataSync()));
  run(a);
  run(a); // a has drawn twice
  const [flipA, rotA] = a.layers as [RandomFlip, RandomRotation];
  const [flipB, rotB] = b.layers as [RandomFlip, RandomRotation];
  assertEquals([flipA.getRandomState(), rotA.getRandomState()], [[2], [2]]);
  assertEquals([flipB.getRandomState(), rotB.getRandomState()], [[0], [0]]);
  flipB.setRandomState(flipA.getRandomState());
  rotB.setRandomState(rotA.getRandomState());
  const next = run(a);
  assertEquals(run(b), next, "the continued draws");
  // Without the state, b's next call would be a's first: different images.
  assert(maxAbsDiff(run(fresh()), next) > 0, "the state matters");
  assertThrows(() => flipB.setRandomState([-1]), Error, "RandomFlip.setRandomState");
  assertThrows(() => rotB.setRandomState([1, 2]), Error, "RandomRotation.setRandomState");
  for (const m of [a, b]) m.dispose();
  x.dispose();
  assertEquals(tf.memory().numTensors, before);
});

Deno.test("randomState(model) includes the augmentation layers' draws", async () => {
  const { randomState, setRandomState } = await import("../../lib/train/random_state.ts");
  const m = dataAugmentation({ inputShape: [8, 8, 3], seed: 5 });
  const x = images(2, 8, 8);
  tf.tidy(() => m.apply(x, { training: true }) as Tensor4D);
  const state = randomState(m);
  assertEquals(state.layers, { [m.layers[0].name]: [1], [m.layers[1].name]: [1] });
  setRandomState(m, { ...state, layers: { [m.layers[0].name]: [4], [m.layers[1].name]: [0] } });
  assertEquals(randomState(m).layers, { [m.layers[0].name]: [4], [m.layers[1].name]: [0] });
  m.dispose();
  x.dispose();
});
