/**
 * Keras' image augmentation layers `RandomFlip` and `RandomRotation` as tfjs-layers `Layer`s.
 *
 * Both transform a batch `[b, h, w, c]` only when called with `training: true` (as inside `fit`) and
 * pass it through unchanged otherwise. Each image draws its own flip / angle; the work is batched on
 * the native backend (`ReverseV2`, `ImageProjectiveTransformV3`). A `seed` makes the sequence of draws
 * reproducible. Both classes are registered for (de)serialization, so saved models load back.
 *
 * @module
 */
import { selectBroadcast, tf } from "../runtime/mod.ts";
import type { Sequential, Shape, Tensor, Tensor1D, Tensor2D, Tensor4D } from "../runtime/mod.ts";
// The same pixel interpolation as the image loader's (`"bilinear" | "nearest"`, Keras' `interpolation`).
import type { Interpolation } from "../data/mod.ts";
import type { LayerConfig } from "../graph/mod.ts";

/** tfjs-layers' `LayerArgs` (`name`, `inputShape`, `trainable`, …), which every layer's options extend. */
export type LayerArgs = NonNullable<ConstructorParameters<typeof tf.layers.Layer>[0]>;

/** Flip directions, as in Keras. */
export type FlipMode = "horizontal" | "vertical" | "horizontal_and_vertical";
/** How points outside the image are filled (Keras' `fill_mode`). */
export type FillMode = "reflect" | "wrap" | "constant" | "nearest";

const FLIP_MODES: readonly FlipMode[] = ["horizontal", "vertical", "horizontal_and_vertical"];
const FILL_MODES: readonly FillMode[] = ["reflect", "wrap", "constant", "nearest"];
const INTERPOLATIONS: readonly Interpolation[] = ["bilinear", "nearest"];

function oneOf<T extends string>(layer: string, arg: string, value: unknown, allowed: readonly T[]): T {
  if (!allowed.includes(value as T)) {
    throw new Error(
      `${layer}: ${arg} must be one of ${allowed.map((a) => JSON.stringify(a)).join(", ")}, ` +
        `got ${JSON.stringify(value)}`,
    );
  }
  return value as T;
}

const MAX_SEED = 2 ** 32 - 1;

function checkSeed(layer: string, seed: unknown): number | undefined {
  if (seed === undefined || seed === null) return undefined;
  // The same range as the datasets' seeds (lib/data/image_dataset.ts) and NumPy's: larger values would not mean more.
  if (typeof seed !== "number" || !Number.isInteger(seed) || seed < 0 || seed > MAX_SEED) {
    throw new Error(
      `${layer}: seed must be a whole number from 0 to 2^32 − 1 (${MAX_SEED}), got ${JSON.stringify(seed)}`,
    );
  }
  return seed;
}

function imageBatch(layer: string, inputs: Tensor | Tensor[]): Tensor4D {
  const x = Array.isArray(inputs) ? inputs[0] : inputs;
  if (x.rank !== 4) {
    throw new Error(
      `${layer}: expected a batch of images [batch, height, width, channels], got shape [${x.shape}]`,
    );
  }
  return x as Tensor4D;
}

/** The draw count of a random state `[count]`; else an error naming the layer. */
function drawCount(layer: string, state: number[]): number {
  const [count] = state;
  if (state.length !== 1 || !Number.isInteger(count) || count < 0) {
    throw new Error(`${layer}.setRandomState: expected [draws made ≥ 0], got ${JSON.stringify(state)}`);
  }
  return count;
}

/** Uniform draws in [lo, hi), one per image; seeded layers advance their seed on every call. */
class Draws {
  /** Calls made so far: a seeded layer's next draw is seeded from it (part of its random state). */
  calls = 0;
  constructor(readonly seed?: number) {}
  uniform(n: number, lo: number, hi: number): Tensor1D {
    const seed = this.seed === undefined ? undefined : this.seed + 7919 * this.calls++;
    return tf.randomUniform([n], lo, hi, "float32", seed) as Tensor1D;
  }
}

/** Options of {@link RandomFlip}. */
export interface RandomFlipArgs extends LayerArgs {
  /** Default `"horizontal_and_vertical"`, as in Keras. */
  mode?: FlipMode;
  /** Makes the sequence of flips reproducible (a whole number from 0 to 2³² − 1); default unseeded. */
  seed?: number;
}

/**
 * Keras' `RandomFlip`: each image is flipped with probability ½ (left-right for `"horizontal"`, up-down
 * for `"vertical"`, both at once for `"horizontal_and_vertical"`), only while training.
 */
export class RandomFlip extends tf.layers.Layer {
  /** The registered class name (Keras' `RandomFlip`), for saving and loading. */
  static className = "RandomFlip";
  /** Which flips are drawn. */
  readonly mode: FlipMode;
  /** The seed of the draws, if any. */
  readonly seed?: number;
  private readonly draws: Draws;

  /** A `RandomFlip` layer; throws on an unknown `mode` or a bad `seed`. */
  constructor(args: RandomFlipArgs = {}) {
    super(args);
    this.mode = oneOf("RandomFlip", "mode", args.mode ?? "horizontal_and_vertical", FLIP_MODES);
    this.seed = checkSeed("RandomFlip", args.seed);
    this.draws = new Draws(this.seed);
  }

  /** Flips each image of the batch with probability ½ when `kwargs.training` is true; else returns it as is. */
  override call(inputs: Tensor | Tensor[], kwargs: Record<string, unknown>): Tensor {
    return tf.tidy(() => {
      const x = imageBatch("RandomFlip", inputs);
      if (kwargs?.training !== true) return x;
      const axes = this.mode === "horizontal" ? [2] : this.mode === "vertical" ? [1] : [1, 2];
      return selectBroadcast(this.drawFlips(x.shape[0]).reshape([-1, 1, 1, 1]), tf.reverse(x, axes), x);
    });
  }

  /** @internal This call's per-image decisions `[b]` (bool): flip or not. */
  drawFlips(b: number): Tensor1D {
    return tf.lessEqual(this.draws.uniform(b, 0, 1), 0.5) as Tensor1D;
  }

  /** The layer's random state for checkpoints (`RandomStatefulLayer`, lib/train): `[draws made]`. */
  getRandomState(): number[] {
    return [this.draws.calls];
  }

  /** Puts back a state {@link getRandomState} returned: the next draws continue from there. */
  setRandomState(state: number[]): void {
    this.draws.calls = drawCount("RandomFlip", state);
  }

  /** The output shape: the input's. */
  override computeOutputShape(inputShape: Shape | Shape[]): Shape | Shape[] {
    return inputShape;
  }

  /** The layer's options, for saving (`mode`, `seed`). */
  override getConfig(): LayerConfig {
    const config: LayerConfig = { ...super.getConfig(), mode: this.mode };
    if (this.seed !== undefined) config.seed = this.seed;
    return config;
  }
}
tf.serialization.registerClass(RandomFlip);

/** Options of {@link RandomRotation}. */
export interface RandomRotationArgs extends LayerArgs {
  /**
   * Fraction of a full turn: `0.2` draws angles in [−0.2·2π, 0.2·2π]; `[lower, upper]` draws in
   * [lower·2π, upper·2π]. Positive angles rotate counter-clockwise.
   */
  factor: number | [number, number];
  /** Default `"reflect"`. */
  fillMode?: FillMode;
  /** Default `"bilinear"`. */
  interpolation?: Interpolation;
  /** Makes the sequence of angles reproducible (a whole number from 0 to 2³² − 1); default unseeded. */
  seed?: number;
  /** Value for `fillMode: "constant"`; default 0. */
  fillValue?: number;
}

/**
 * Keras' `RandomRotation`: each image is rotated about its centre by an angle drawn uniformly in
 * `factor`·2π (Keras' affine matrix and pixel-centre convention), only while training.
 */
export class RandomRotation extends tf.layers.Layer {
  /** The registered class name (Keras' `RandomRotation`), for saving and loading. */
  static className = "RandomRotation";
  /** Smallest angle drawn, as a fraction of a full turn. */
  readonly lower: number;
  /** Largest angle drawn, as a fraction of a full turn. */
  readonly upper: number;
  /** How points outside the image are filled. */
  readonly fillMode: FillMode;
  /** Pixel interpolation of the resampling. */
  readonly interpolation: Interpolation;
  /** The fill value for `fillMode: "constant"`. */
  readonly fillValue: number;
  /** The seed of the draws, if any. */
  readonly seed?: number;
  private readonly draws: Draws;

  /** A `RandomRotation` layer; throws on a bad `factor`, `fillMode`, `interpolation`, `fillValue` or `seed`. */
  constructor(args: RandomRotationArgs) {
    super(args);
    const factor = args?.factor;
    const [lower, upper] = typeof factor === "number" ? [-Math.abs(factor), Math.abs(factor)] : factor ?? [];
    if (!Number.isFinite(lower) || !Number.isFinite(upper) || lower > upper || Math.max(-lower, upper) > 1) {
      throw new Error(
        `RandomRotation: factor must be a number in [0, 1] or a pair [lower, upper] with ` +
          `-1 ≤ lower ≤ upper ≤ 1 (fractions of a full turn), got ${JSON.stringify(factor)}`,
      );
    }
    this.lower = lower;
    this.upper = upper;
    this.fillMode = oneOf("RandomRotation", "fillMode", args.fillMode ?? "reflect", FILL_MODES);
    this.interpolation = oneOf(
      "RandomRotation",
      "interpolation",
      args.interpolation ?? "bilinear",
      INTERPOLATIONS,
    );
    this.fillValue = args.fillValue ?? 0;
    if (!Number.isFinite(this.fillValue)) {
      throw new Error(
        `RandomRotation: fillValue must be a finite number, got ${JSON.stringify(args.fillValue)}`,
      );
    }
    this.seed = checkSeed("RandomRotation", args.seed);
    this.draws = new Draws(this.seed);
  }

  /** Rotates each image of the batch by its own angle when `kwargs.training` is true; else returns it as is. */
  override call(inputs: Tensor | Tensor[], kwargs: Record<string, unknown>): Tensor {
    return tf.tidy(() => {
      const x = imageBatch("RandomRotation", inputs);
      return kwargs?.training === true ? this.rotate(x) : x;
    });
  }

  /**
   * @internal Rotates each image by a fresh draw; with `flip`, images whose `flips` entry is true are first
   * flipped (`flip.mode`) — in the same resampling, since a flip of the pixel grid composes exactly with the
   * sampling transform.
   */
  rotate(x: Tensor4D, flip?: { mode: FlipMode; flips: Tensor1D }): Tensor4D {
    const [b, h, w] = x.shape;
    const angles = this.draws.uniform(b, this.lower * 2 * Math.PI, this.upper * 2 * Math.PI);
    let transforms = rotationTransforms(angles, h, w);
    if (flip) transforms = flippedTransforms(transforms, flip.flips, flip.mode, h, w);
    const image = x.dtype === "float32" ? x : tf.cast(x, "float32");
    return tf.image.transform(image, transforms, this.interpolation, this.fillMode, this.fillValue);
  }

  /** The layer's random state for checkpoints (`RandomStatefulLayer`, lib/train): `[draws made]`. */
  getRandomState(): number[] {
    return [this.draws.calls];
  }

  /** Puts back a state {@link getRandomState} returned: the next draws continue from there. */
  setRandomState(state: number[]): void {
    this.draws.calls = drawCount("RandomRotation", state);
  }

  /** The output shape: the input's. */
  override computeOutputShape(inputShape: Shape | Shape[]): Shape | Shape[] {
    return inputShape;
  }

  /** The layer's options, for saving (`factor`, `fillMode`, `interpolation`, `fillValue`, `seed`). */
  override getConfig(): LayerConfig {
    const config: LayerConfig = {
      ...super.getConfig(),
      factor: [this.lower, this.upper],
      fillMode: this.fillMode,
      interpolation: this.interpolation,
      fillValue: this.fillValue,
    };
    if (this.seed !== undefined) config.seed = this.seed;
    return config;
  }
}
tf.serialization.registerClass(RandomRotation);

/**
 * Projective transforms `[b, 8]` (output pixel → input pixel, as `tf.image.transform` takes them) that
 * rotate `h`×`w` images about their centre by `angles` radians, counter-clockwise on screen for
 * positive angles — Keras 3's rotation matrix.
 */
export function rotationTransforms(angles: Tensor1D, h: number, w: number): Tensor2D {
  return tf.tidy(() => {
    const cx = (w - 1) / 2, cy = (h - 1) / 2;
    const cos = tf.cos(angles), sin = tf.sin(angles);
    const a0 = cos, a1 = tf.neg(sin), b0 = sin, b1 = cos;
    const a2 = tf.sub(tf.sub(cx, tf.mul(cx, a0)), tf.mul(cy, a1));
    const b2 = tf.sub(tf.sub(cy, tf.mul(cx, b0)), tf.mul(cy, b1));
    const zero = tf.zerosLike(angles);
    return tf.stack([a0, a1, a2, b0, b1, b2, zero, zero], 1) as Tensor2D;
  });
}

/**
 * `transforms` `[b, 8]` (output → input pixel) preceded, for the images where `flips` is true, by a flip of the
 * input: the input x coordinate `u` becomes `w − 1 − u` (horizontal), `v` becomes `h − 1 − v` (vertical).
 */
function flippedTransforms(transforms: Tensor2D, flips: Tensor1D, mode: FlipMode, h: number, w: number) {
  return tf.tidy(() => {
    const sign = tf.sub(1, tf.mul(2, tf.cast(flips, "float32"))).reshape([-1, 1]); // −1 where flipped
    const flipped = tf.cast(flips, "float32").reshape([-1, 1]);
    const [a, b, rest] = tf.split(transforms, [3, 3, 2], 1);
    const flipRow = (row: Tensor, size: number) =>
      tf.add(tf.mul(row, sign), tf.mul(flipped, tf.tensor2d([[0, 0, size - 1]])));
    return tf.concat([
      mode === "vertical" ? a : flipRow(a, w),
      mode === "horizontal" ? b : flipRow(b, h),
      rest,
    ], 1) as Tensor2D;
  });
}

/**
 * Runs `Sequential([RandomFlip, RandomRotation])` in training as one resampling: the rotation's transform with
 * the flip folded in (one `ImageProjectiveTransformV3`, no reverse or select over the batch). Same draws, same
 * images up to the float rounding of the sample coordinates; any other layer list or `training: false` runs
 * the layers as they are. Applied to the instance by {@link dataAugmentation}.
 */
export function fuseFlipAndRotation(model: Sequential): Sequential {
  const call = model.call.bind(model);
  model.call = (inputs: Tensor | Tensor[], kwargs: Record<string, unknown>) => {
    const [flip, rotation] = model.layers;
    if (
      kwargs?.training !== true || model.layers.length !== 2 || !(flip instanceof RandomFlip) ||
      !(rotation instanceof RandomRotation)
    ) {
      return call(inputs, kwargs);
    }
    return tf.tidy(() => {
      const x = imageBatch("RandomFlip", inputs);
      return rotation.rotate(x, { mode: flip.mode, flips: flip.drawFlips(x.shape[0]) });
    });
  };
  return model;
}

/** The tutorial's `data_augmentation`: `Sequential([RandomFlip("horizontal"), RandomRotation(0.2)])`. */
export function dataAugmentation(
  options: { inputShape?: number[]; seed?: number; name?: string } = {},
): Sequential {
  const { inputShape, seed, name = "sequential" } = options;
  return fuseFlipAndRotation(tf.sequential({
    name,
    layers: [
      new RandomFlip({ mode: "horizontal", seed, ...(inputShape ? { inputShape } : {}) }),
      new RandomRotation({ factor: 0.2, seed: seed === undefined ? undefined : (seed + 1) % 2 ** 32 }),
    ],
  }));
}
