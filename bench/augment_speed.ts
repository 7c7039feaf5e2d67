/**
 * Is Keras' own rotation op slow on this CPU? Times the augmentation's resampling two ways on one batch of
 * 32 random 160×160×3 images and random angles, in wall and CPU milliseconds:
 *
 * - `ImageProjectiveTransformV3` (`tf.image.transform`, what `RandomRotation` runs, Keras' op);
 * - the same bilinear sampling with reflect fill written as gathers: each output pixel's source
 *   coordinates (the projective map, then TensorFlow's `reflect` mapping), four `GatherV2`s of whole pixels
 *   and the bilinear blend — the alternative issue 26 proposed.
 *
 *     deno run -A bench/augment_speed.ts [--repeats 10]
 *
 * Prints one JSON line: the largest difference between the two (pixel values 0…255) and the times of
 * each, plus one `GatherV2` of a batch's pixels alone. Kept as the measurement behind the choice recorded
 * in docs/performance.md; not used by the library.
 *
 * @module
 */
import process from "node:process";
import { parseArgs } from "node:util";
import { tf } from "../lib/runtime/mod.ts";
import type { Tensor, Tensor2D, Tensor4D } from "../lib/runtime/mod.ts";
import { emit, environment, round } from "./workload.ts";

const { values } = parseArgs({ args: Deno.args, options: { repeats: { type: "string", default: "10" } } });
const repeats = Number(values.repeats);
if (!Number.isInteger(repeats) || repeats < 1) {
  throw new Error(`--repeats ${values.repeats}: expected a whole number ≥ 1`);
}
const [b, h, w, c] = [32, 160, 160, 3];
const int = (v: number) => tf.scalar(v, "int32");

/** TensorFlow's `reflect` fill (`map_coordinate` in image_ops.h) of coordinates `q` over `len` pixels. */
function reflect(q: Tensor, len: number): Tensor {
  const sz2 = 2 * len;
  const below = tf.sub(q, tf.mul(sz2, tf.ceil(tf.div(q, sz2))));
  const fromBelow = tf.where(tf.less(below, -len), tf.add(below, sz2), tf.sub(tf.neg(below), 1));
  const above = tf.sub(q, tf.mul(sz2, tf.floor(tf.div(q, sz2))));
  const fromAbove = tf.where(tf.greaterEqual(above, len), tf.sub(sz2 - 1, above), above);
  return tf.clipByValue(
    tf.where(tf.less(q, 0), fromBelow, tf.where(tf.greater(q, len - 1), fromAbove, q)),
    0,
    len - 1,
  );
}

/** Bilinear sampling with reflect fill of `image` at `transforms` (output → input pixel), as gathers. */
function gatherSample(image: Tensor4D, transforms: Tensor2D): Tensor {
  return tf.tidy(() => {
    const xs = tf.tile(tf.range(0, w, 1, "float32").reshape([1, w]), [h, 1]).reshape([1, h * w]);
    const ys = tf.tile(tf.range(0, h, 1, "float32").reshape([h, 1]), [1, w]).reshape([1, h * w]);
    const col = (i: number) => tf.slice(transforms, [0, i], [b, 1]);
    const qx = reflect(tf.add(tf.add(tf.mul(col(0), xs), tf.mul(col(1), ys)), col(2)), w);
    const qy = reflect(tf.add(tf.add(tf.mul(col(3), xs), tf.mul(col(4), ys)), col(5)), h);
    const x0 = tf.cast(tf.floor(qx), "int32"), y0 = tf.cast(tf.floor(qy), "int32");
    const wx = tf.sub(qx, tf.floor(qx)).reshape([-1, 1]), wy = tf.sub(qy, tf.floor(qy)).reshape([-1, 1]);
    const x1 = tf.minimum(tf.add(x0, int(1)), int(w - 1)), y1 = tf.minimum(tf.add(y0, int(1)), int(h - 1));
    const base = tf.mul(tf.range(0, b, 1, "int32").reshape([b, 1]), int(h * w));
    const pixels = image.reshape([b * h * w, c]);
    const at = (y: Tensor, x: Tensor) =>
      tf.gather(pixels, tf.add(base, tf.add(tf.mul(y, int(w)), x)).reshape([-1]));
    const top = tf.add(at(y0, x0), tf.mul(wx, tf.sub(at(y0, x1), at(y0, x0))));
    const bottom = tf.add(at(y1, x0), tf.mul(wx, tf.sub(at(y1, x1), at(y1, x0))));
    return tf.add(top, tf.mul(wy, tf.sub(bottom, top))).reshape([b, h, w, c]);
  });
}

const cpuMs = () => (process.cpuUsage().user + process.cpuUsage().system) / 1e3;

/** Mean wall and CPU ms of `f` (its result read back, then freed) over `repeats` runs after 3 untimed. */
function time(f: () => Tensor): { wall_ms: number; cpu_ms: number } {
  for (let i = 0; i < 3; i++) tf.dispose(f());
  const t = performance.now(), c0 = cpuMs();
  for (let i = 0; i < repeats; i++) {
    const out = f();
    out.dataSync();
    tf.dispose(out);
  }
  return { wall_ms: round((performance.now() - t) / repeats, 1), cpu_ms: round((cpuMs() - c0) / repeats, 1) };
}

const image = tf.randomUniform([b, h, w, c], 0, 255, "float32", 1) as Tensor4D;
/** Keras 3's rotation about the centre (output → input pixel), as `RandomRotation` builds it, per image. */
const transforms = tf.tensor2d(
  Array.from({ length: b }, (_, i) => {
    const angle = (i / (b - 1) - 0.5) * 0.8 * Math.PI, cos = Math.cos(angle), sin = Math.sin(angle);
    const [cx, cy] = [(w - 1) / 2, (h - 1) / 2];
    return [cos, -sin, cx - cx * cos + cy * sin, sin, cos, cy - cx * sin - cy * cos, 0, 0];
  }),
);
const keras = () => tf.image.transform(image, transforms, "bilinear", "reflect", 0);
const maxDiff = tf.tidy(() => tf.max(tf.abs(tf.sub(keras(), gatherSample(image, transforms)))).dataSync()[0]);
const indices = tf.randomUniform([b * h * w], 0, b * h * w, "int32", 3);
const pixels = image.reshape([b * h * w, c]);
emit({
  kind: "augment_speed",
  batch: [b, h, w, c],
  max_abs_diff: maxDiff,
  image_projective_transform_v3: time(keras),
  gather_bilinear: time(() => gatherSample(image, transforms)),
  one_gather_of_the_batch_pixels: time(() => tf.gather(pixels, indices)),
  environment: environment(),
});
