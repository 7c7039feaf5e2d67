/**
 * Test-time augmentation (fastai's `learn.tta`): a batch classified as it is and in a few altered copies —
 * mirrored left-right and turned a little either way — and the class probabilities averaged. The turned
 * copies' corners are filled by reflection, as in training's `RandomRotation`.
 *
 * @module
 */
import { tf } from "../runtime/mod.ts";
import type { LayersModel, Tensor, Tensor2D, Tensor4D } from "../runtime/mod.ts";
import { classProbabilities } from "../model/mod.ts";

/** Default turn of the rotated copies, in degrees (either way). */
export const TTA_DEGREES = 10;

/** Options of {@link ttaProbabilities}. */
export interface TtaOptions {
  /** Turn of the two rotated copies, in degrees (default {@link TTA_DEGREES}; 0: no rotated copies). */
  degrees?: number;
}

/**
 * `images` turned by `degrees` about their centre (counter-clockwise on screen for positive angles), the
 * corners filled by reflection — as Keras' `RandomRotation` (the training augmentation) fills them.
 */
function turned(images: Tensor4D, degrees: number): Tensor4D {
  return tf.tidy(() => {
    const [b, h, w] = images.shape;
    const a = degrees * Math.PI / 180, cos = Math.cos(a), sin = Math.sin(a);
    const cx = (w - 1) / 2, cy = (h - 1) / 2;
    // Output pixel → input pixel, as tf.image.transform takes it.
    const row = [cos, -sin, cx - cx * cos + cy * sin, sin, cos, cy - cx * sin - cy * cos, 0, 0];
    const transforms = tf.tensor2d(Array.from({ length: b }, () => row));
    return tf.image.transform(images, transforms, "bilinear", "reflect");
  });
}

/** The copies of a batch that {@link ttaProbabilities} classifies: as is, mirrored, turned either way. */
export function ttaVariants(images: Tensor4D, options: TtaOptions = {}): Tensor4D[] {
  const degrees = options.degrees ?? TTA_DEGREES;
  if (!(degrees >= 0 && degrees < 45)) {
    throw new Error(`tta: degrees must be in [0, 45), got ${degrees}`);
  }
  return tf.tidy(() => {
    const x = images.toFloat() as Tensor4D;
    const variants = [x, tf.image.flipLeftRight(x)];
    if (degrees > 0) variants.push(turned(x, degrees), turned(x, -degrees));
    return variants;
  });
}

/**
 * The class probabilities of `images` (`[b, h, w, 3]`, 0..255) averaged over {@link ttaVariants}: one
 * forward pass per copy, `[b, numClasses]`.
 */
export function ttaProbabilities(model: LayersModel, images: Tensor4D, options: TtaOptions = {}): Tensor2D {
  return tf.tidy(() => {
    const variants = ttaVariants(images, options);
    const probabilities = variants.map((v) => classProbabilities(model.predictOnBatch(v) as Tensor));
    return tf.div(tf.addN(probabilities), probabilities.length) as Tensor2D;
  });
}
