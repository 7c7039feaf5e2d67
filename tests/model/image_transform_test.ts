import { assert, assertEquals, assertThrows } from "../_assert.ts";
import { tf } from "../../lib/runtime/tf.ts";
import type { Tensor2D, Tensor4D } from "../../lib/runtime/tf.ts";
import { type FillMode, transformImages } from "../../lib/model/image_transform.ts";
import { Worker } from "node:worker_threads";
import {
  transformBatch,
  type TransformRequest,
  WORKER_DONE,
} from "../../lib/model/image_transform_threads.ts";
import { imageTransform } from "../../lib/model/augment.ts";

const FILL_MODES: FillMode[] = ["reflect", "wrap", "constant", "nearest"];
const INTERPOLATIONS = ["bilinear", "nearest"] as const;

/** A deterministic pseudo-random stream (no seed shared with TensorFlow's). */
function stream(seed: number) {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
}

/** `n` transforms: identity plus `scale`-sized noise; `projective` adds the two perspective terms. */
function randomTransforms(n: number, scale: number, projective: boolean, seed: number): Float32Array {
  const r = stream(seed);
  return Float32Array.from({ length: n * 8 }, (_, i) => {
    const k = i % 8;
    const noise = (r() - 0.5) * scale;
    if (k >= 6) return projective ? noise * 0.02 : 0;
    return (k === 0 || k === 4 ? 1 : 0) + noise * (k === 2 || k === 5 ? 30 : 1);
  });
}

function firstDifference(a: ArrayLike<number>, b: ArrayLike<number>): string | undefined {
  assertEquals(a.length, b.length);
  for (let i = 0; i < a.length; i++) {
    if (!Object.is(a[i], b[i])) return `value ${i}: ${a[i]} vs ${b[i]}`;
  }
  return undefined;
}

/** TensorFlow's own `ImageProjectiveTransformV3` (the native op behind `tf.image.transform`). */
function nativeTransform(src: Float32Array, shape: number[], transforms: Float32Array, o: {
  interpolation: "bilinear" | "nearest";
  fillMode: FillMode;
  fillValue: number;
}): Float32Array {
  return tf.tidy(() => {
    const x = tf.tensor4d(src, shape as [number, number, number, number]);
    const t = tf.tensor2d(transforms, [transforms.length / 8, 8]);
    return tf.image.transform(x, t, o.interpolation, o.fillMode, o.fillValue).dataSync() as Float32Array;
  });
}

Deno.test("transformImages equals TensorFlow's ImageProjectiveTransformV3 value for value", () => {
  const before = tf.memory().numTensors;
  let cases = 0;
  for (const [n, h, w, c] of [[5, 13, 17, 3], [3, 8, 8, 1], [2, 6, 9, 4]]) {
    const r = stream(n * h * w * c);
    const src = Float32Array.from({ length: n * h * w * c }, () => Math.floor(r() * 256) + r());
    for (const fillMode of FILL_MODES) {
      for (const interpolation of INTERPOLATIONS) {
        for (const [scale, projective] of [[0.6, false], [2.5, false], [0.6, true]] as const) {
          const transforms = randomTransforms(n, scale, projective, cases);
          const o = { interpolation, fillMode, fillValue: 7.25 };
          const want = nativeTransform(src, [n, h, w, c], transforms, o);
          const got = new Float32Array(src.length);
          transformImages(src, got, { shape: [n, h, w, c], transforms, ...o, first: 0, last: n });
          const diff = firstDifference(got, want);
          assert(diff === undefined, `[${n},${h},${w},${c}] ${fillMode} ${interpolation} ${scale}: ${diff}`);
          cases++;
        }
      }
    }
  }
  assertEquals(cases, 72);
  assertEquals(tf.memory().numTensors, before);
});

Deno.test("transformImages: one transform row for every image, and an infinite point is the fill value", () => {
  const shape = [2, 5, 6, 2] as const;
  const src = Float32Array.from({ length: 2 * 5 * 6 * 2 }, (_, i) => (i * 37) % 101);
  // The perspective row makes the projection 0 on the line 1 − 0.25·x = 0, i.e. at x = 4.
  const transforms = Float32Array.from([0.9, 0.1, 0.5, -0.1, 1.1, 0.2, -0.25, 0]);
  const o = { interpolation: "bilinear" as const, fillMode: "constant" as const, fillValue: -3 };
  const want = nativeTransform(src, [...shape], Float32Array.from([...transforms, ...transforms]), o);
  const got = new Float32Array(src.length);
  transformImages(src, got, { shape, transforms, ...o, first: 0, last: 2 });
  assertEquals(firstDifference(got, want), undefined);
  assertEquals(got[4 * 2], -3, "the point at x = 4 is at infinity");
});

Deno.test("transformImages rejects arrays or transforms of the wrong size, naming both", () => {
  const src = new Float32Array(2 * 4 * 4 * 3);
  const job = {
    shape: [2, 4, 4, 3] as const,
    transforms: new Float32Array(16),
    interpolation: "bilinear" as const,
    fillMode: "reflect" as const,
    fillValue: 0,
    first: 0,
    last: 2,
  };
  assertThrows(
    () => transformImages(src.subarray(1), src, job),
    Error,
    "expected 96 values for [2,4,4,3], got 95",
  );
  assertThrows(
    () => transformImages(src, src.slice(), { ...job, transforms: new Float32Array(12) }),
    Error,
    "[2, 8]",
  );
});

Deno.test("transformBatch on worker threads gives the one-thread result, in shared memory", () => {
  const shape = [7, 24, 20, 3] as const;
  const r = stream(99);
  const src = Float32Array.from({ length: 7 * 24 * 20 * 3 }, () => r() * 255);
  const spec = {
    shape,
    transforms: randomTransforms(7, 1.2, false, 4),
    interpolation: "bilinear" as const,
    fillMode: "reflect" as const,
    fillValue: 0,
  };
  const alone = transformBatch(src, spec, { threads: 1 });
  assert(!(alone.buffer instanceof SharedArrayBuffer), "one thread needs no shared memory");
  for (const threads of [2, 3, 8]) { // 8 threads for 7 images: one image each, no empty share
    const parallel = transformBatch(src, spec, { threads, minPixels: 0 });
    assert(parallel.buffer instanceof SharedArrayBuffer, "workers write into the result directly");
    assertEquals(firstDifference(parallel, alone), undefined, `${threads} threads`);
  }
  const again = transformBatch(src, spec, { threads: 2, minPixels: 0 }); // the pool's buffers reused
  assertEquals(firstDifference(again, alone), undefined);
  // An output given is written in place: shared (workers write into it) or not (the caller alone).
  for (
    const output of [new Float32Array(new SharedArrayBuffer(src.length * 4)), new Float32Array(src.length)]
  ) {
    output.fill(-1);
    assert(transformBatch(src, spec, { threads: 2, minPixels: 0, output }) === output);
    assertEquals(firstDifference(output, alone), undefined);
  }
  assertThrows(
    () => transformBatch(src, spec, { output: new Float32Array(3) }),
    Error,
    "output has 3 values, the batch 10080",
  );
});

Deno.test("imageTransform reuses its result array only once TensorFlow holds a copy", () => {
  const x = tf.tidy(() => tf.randomUniform([3, 64, 64, 3], 0, 255, "float32", 5)) as Tensor4D;
  const t = tf.tensor2d(randomTransforms(3, 1, false, 2), [3, 8]) as Tensor2D;
  const o = { interpolation: "bilinear" as const, fillMode: "reflect" as const, fillValue: 0 };
  const first = imageTransform(x, t, o);
  const kept = first.dataSync().slice();
  const flipped = tf.tidy(() => tf.reverse(x, 2)) as Tensor4D;
  const second = imageTransform(flipped, t, o); // may write into the first result's array
  assertEquals(firstDifference(first.dataSync(), kept), undefined, "the first result is unchanged");
  const want = tf.image.transform(flipped, t, "bilinear", "reflect");
  assertEquals(firstDifference(second.dataSync(), want.dataSync()), undefined);
  tf.dispose([x, t, first, flipped, second, want]);
});

Deno.test("imageTransform is tf.image.transform on tensors, without leaking any", () => {
  const before = tf.memory().numTensors;
  const x = tf.tidy(() => tf.randomUniform([4, 10, 12, 3], 0, 255, "float32", 3)) as Tensor4D;
  const t = tf.tensor2d(randomTransforms(4, 1, true, 8), [4, 8]) as Tensor2D;
  const o = { interpolation: "bilinear" as const, fillMode: "wrap" as const, fillValue: 0 };
  const got = imageTransform(x, t, o);
  const want = tf.image.transform(x, t, o.interpolation, o.fillMode, o.fillValue);
  assertEquals(got.shape, [4, 10, 12, 3]);
  assertEquals(firstDifference(got.dataSync(), want.dataSync()), undefined);
  const whole = tf.tidy(() => tf.cast(tf.round(x), "int32")) as Tensor4D;
  const fromInts = imageTransform(whole, t, o);
  const wantInts = tf.tidy(() =>
    tf.image.transform(tf.cast(whole, "float32") as Tensor4D, t, "bilinear", "wrap")
  );
  assertEquals(fromInts.dtype, "float32");
  assertEquals(firstDifference(fromInts.dataSync(), wantInts.dataSync()), undefined);
  tf.dispose([x, t, got, want, whole, fromInts, wantInts]);
  assertEquals(tf.memory().numTensors, before);
});

Deno.test("the worker takes every image from the shared counter and resamples it like the caller", () => {
  const shape = [5, 12, 14, 3] as const;
  const r = stream(5);
  const length = 5 * 12 * 14 * 3;
  const input = new SharedArrayBuffer(length * 4), output = new SharedArrayBuffer(length * 4);
  new Float32Array(input).set(Float32Array.from({ length }, () => r() * 255));
  const control = new Int32Array(new SharedArrayBuffer(4 * 3));
  const job = {
    shape,
    transforms: randomTransforms(5, 0.8, true, 6),
    interpolation: "bilinear" as const,
    fillMode: "reflect" as const,
    fillValue: 0,
    first: 0,
    last: 5,
  };
  const worker = new Worker(new URL("../../lib/model/image_transform_worker.ts", import.meta.url));
  try {
    const request: TransformRequest = { job, input, output, control: control.buffer, slot: 1, length };
    worker.postMessage(request);
    assertEquals(Atomics.wait(control, 2, 0, 60_000) === "timed-out", false, "the worker answers");
    assertEquals(Atomics.load(control, 2), WORKER_DONE);
    assertEquals(Atomics.load(control, 0), 6, "five images taken, then one look at an empty counter");
    const want = new Float32Array(length);
    transformImages(new Float32Array(input), want, job);
    assertEquals(firstDifference(new Float32Array(output), want), undefined);
  } finally {
    void worker.terminate();
  }
});
