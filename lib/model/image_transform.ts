/**
 * TensorFlow's `ImageProjectiveTransformV3` (what `tf.image.transform` and Keras' `RandomRotation` run) in
 * JavaScript, bit for bit: the same float32 arithmetic in the same order, so a batch resampled here equals
 * the native op's output exactly (tests/model/image_transform_test.ts compares every fill mode and
 * interpolation).
 *
 * Why: TensorFlow's CPU kernel is an Eigen generator evaluated per output *value*, so it projects every
 * pixel's coordinates once per channel, and it was half of the frozen training step once oneDNN made the
 * convolutions fast (issue 26, docs/performance.md "Augmentation"). Here each pixel's source coordinates
 * and weights are computed once and applied to its channels, and a batch is split over threads by
 * {@link ./image_transform_threads.ts}. Every float32 operation of TensorFlow's kernel is one
 * `Math.fround` of the same operation in double precision, which is exact for `+ − × ÷` of float32 values
 * (no double rounding: a double carries more than twice float32's bits).
 *
 * @module
 */

/** How points outside the image are filled (Keras' `fill_mode`). */
export type FillMode = "reflect" | "wrap" | "constant" | "nearest";

/** One call's resampling: images `[first, last)` of a batch `shape`, each by its transform. */
export interface TransformJob {
  /** The batch's shape `[images, height, width, channels]` (input and output alike). */
  shape: readonly [number, number, number, number];
  /** Row-major `[images, 8]`, or one row `[8]` for every image: output pixel → input point, as TensorFlow's. */
  transforms: Float32Array;
  /** `"bilinear"` or `"nearest"`. */
  interpolation: "bilinear" | "nearest";
  /** How input points outside the image are mapped or filled. */
  fillMode: FillMode;
  /** The value of points outside the image (`"constant"`, and any neighbour off the image). */
  fillValue: number;
  /** First image to resample. */
  first: number;
  /** One past the last image to resample. */
  last: number;
}

const f = Math.fround;

/** TensorFlow's reflect mapping `[abcd] → [dcba|abcd|dcba]` of a coordinate outside `[0, len − 1]`. */
function reflect(v: number, len: number): number {
  let c = v;
  if (len <= 1) return 0;
  const sz2 = 2 * len;
  if (c < 0) {
    if (c < sz2) c = f(sz2 * Math.trunc(f(-c / sz2)) + c);
    c = c < -len ? f(c + sz2) : f(-c - 1);
  } else {
    c = f(c - sz2 * Math.trunc(f(c / sz2)));
    if (c >= len) c = f(f(sz2 - c) - 1);
  }
  return c;
}

/** TensorFlow's wrap mapping `[abcd] → [abcd|abcd|abcd]` of a coordinate outside `[0, len − 1]`. */
function wrap(v: number, len: number): number {
  if (len <= 1) return 0;
  const sz = len - 1;
  return v < 0 ? f(v + len * (Math.trunc(f(-v / sz)) + 1)) : f(v - len * Math.trunc(f(v / sz)));
}

/**
 * The input coordinate an output coordinate `v` reads along an axis of `len` pixels (TensorFlow's
 * `MapCoordinate`); `"constant"` keeps it as is, the others clamp into `[0, len − 1]`.
 */
function mapCoordinate(mode: FillMode, v: number, len: number): number {
  if (mode === "constant" || (v >= 0 && v <= len - 1)) return v;
  const c = mode === "reflect" ? reflect(v, len) : mode === "wrap" ? wrap(v, len) : v;
  return c < 0 ? 0 : c > len - 1 ? len - 1 : c;
}

/** C's `round` (halves away from zero), which TensorFlow's nearest-neighbour sampling uses. */
function roundHalfAway(v: number): number {
  return v < 0 ? -Math.round(-v) : Math.round(v);
}

/**
 * Resamples images `job.first` to `job.last − 1` of `src` into the same places of `dst` (both
 * `job.shape`, row-major NHWC float32), exactly as `ImageProjectiveTransformV3` does.
 */
export function transformImages(src: Float32Array, dst: Float32Array, job: TransformJob): void {
  const [n, h, w, ch] = job.shape;
  if (src.length !== n * h * w * ch || dst.length !== src.length) {
    throw new Error(
      `transformImages: expected ${n * h * w * ch} values for [${job.shape}], got ${src.length}`,
    );
  }
  if (job.transforms.length !== 8 && job.transforms.length !== n * 8) {
    throw new Error(
      `transformImages: expected transforms [${n}, 8] or [8], got ${job.transforms.length} values`,
    );
  }
  const at: PixelAt = { job, src, dst, b: 0, o: 0, mx: 0, my: 0 };
  for (let b = job.first; b < job.last; b++) {
    at.b = b;
    for (let y = 0; y < h; y++) sampleRow(at, y);
  }
}

/** The pixel being sampled: output value index `o` of image `b`, reading the input point `(mx, my)`. */
interface PixelAt {
  job: TransformJob;
  src: Float32Array;
  dst: Float32Array;
  b: number;
  o: number;
  mx: number;
  my: number;
}

/**
 * One output row `y` of image `at.b`. The common case — bilinear, all four neighbours on the image — is
 * inline (it is nearly every pixel of a rotation); the rest goes to {@link sampleEdge}.
 */
function sampleRow(at: PixelAt, y: number): void {
  const { job, src, dst, b } = at;
  const [, h, w, ch] = job.shape;
  const fillMode = job.fillMode, bilinear = job.interpolation === "bilinear";
  const t = job.transforms, k = t.length === 8 ? 0 : b * 8;
  const t0 = t[k], t2 = t[k + 2], t3 = t[k + 3], t5 = t[k + 5], t6 = t[k + 6];
  const t1y = f(t[k + 1] * y), t4y = f(t[k + 4] * y), t7y = f(t[k + 7] * y);
  const base = b * h * w * ch, below = w * ch;
  let o = base + y * below;
  const affine = t6 === 0 && t7y === 0; // projection 1: dividing by it changes nothing
  for (let x = 0; x < w; x++, o += ch) {
    const projection = affine ? 1 : f(f(f(t6 * x) + t7y) + 1);
    let mx = f(f(f(t0 * x) + t1y) + t2), my = f(f(f(t3 * x) + t4y) + t5);
    if (!affine) mx = f(mx / projection), my = f(my / projection);
    if (!(mx >= 0 && mx <= w - 1)) mx = mapCoordinate(fillMode, mx, w);
    if (!(my >= 0 && my <= h - 1)) my = mapCoordinate(fillMode, my, h);
    if (bilinear && projection !== 0 && mx >= 0 && my >= 0 && mx < w - 1 && my < h - 1) {
      const xf = mx | 0, yf = my | 0; // floor: both are ≥ 0 here
      // A float's fraction `mx − xf` is exact in float32; `xf + 1 − mx` needs its rounding.
      const wx0 = f(xf + 1 - mx), wx1 = mx - xf, wy0 = f(yf + 1 - my), wy1 = my - yf;
      const a = (base + yf * below + xf * ch) | 0, d = (a + below) | 0;
      if (ch === 3) { // unrolled: the common RGB case
        dst[o] = f(wy0 * f(f(wx0 * src[a]) + f(wx1 * src[a + 3]))) +
          f(wy1 * f(f(wx0 * src[d]) + f(wx1 * src[d + 3])));
        dst[o + 1] = f(wy0 * f(f(wx0 * src[a + 1]) + f(wx1 * src[a + 4]))) +
          f(wy1 * f(f(wx0 * src[d + 1]) + f(wx1 * src[d + 4])));
        dst[o + 2] = f(wy0 * f(f(wx0 * src[a + 2]) + f(wx1 * src[a + 5]))) +
          f(wy1 * f(f(wx0 * src[d + 2]) + f(wx1 * src[d + 5])));
      } else {
        for (let c = 0; c < ch; c++) {
          const top = f(f(wx0 * src[a + c]) + f(wx1 * src[a + c + ch]));
          dst[o + c] = f(wy0 * top) + f(wy1 * f(f(wx0 * src[d + c]) + f(wx1 * src[d + c + ch])));
        }
      }
    } else {
      at.o = o, at.mx = projection === 0 ? NaN : mx, at.my = my;
      sampleEdge(at);
    }
  }
}

/**
 * A pixel {@link sampleRow} does not do inline: an infinite point (the fill value), nearest-neighbour
 * sampling, or bilinear at an edge or off the image (a constant fill) — each neighbour outside the image
 * read as the fill value, as TensorFlow's `read_with_fill_value`.
 */
function sampleEdge(at: PixelAt): void {
  const { job, src, dst, o, mx, my } = at;
  const [, h, w, ch] = job.shape;
  const fill = f(job.fillValue);
  const base = at.b * h * w * ch;
  const read = (y: number, x: number, c: number) =>
    y >= 0 && y < h && x >= 0 && x < w ? src[base + (y * w + x) * ch + c] : fill;
  if (Number.isNaN(mx)) {
    for (let c = 0; c < ch; c++) dst[o + c] = fill;
  } else if (job.interpolation === "nearest") {
    const ry = roundHalfAway(my), rx = roundHalfAway(mx);
    for (let c = 0; c < ch; c++) dst[o + c] = read(ry, rx, c);
  } else {
    const xf = Math.floor(mx), yf = Math.floor(my);
    const wx0 = f(xf + 1 - mx), wx1 = f(mx - xf), wy0 = f(yf + 1 - my), wy1 = f(my - yf);
    for (let c = 0; c < ch; c++) {
      const top = f(f(wx0 * read(yf, xf, c)) + f(wx1 * read(yf, xf + 1, c)));
      const bottom = f(f(wx0 * read(yf + 1, xf, c)) + f(wx1 * read(yf + 1, xf + 1, c)));
      dst[o + c] = f(wy0 * top) + f(wy1 * bottom);
    }
  }
}
