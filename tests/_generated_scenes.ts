/**
 * Distinct generated "photos" for the near-duplicate tests: each a seeded scene (a two-colour gradient
 * background with a few filled rectangles and discs of random colours, sizes and places), so no two look
 * alike, and a classifier with MobileNetV2's ImageNet weights (the mirror's alpha 0.35 file) to embed them.
 */
import { tf } from "../lib/runtime/mod.ts";
import type { LayersModel, Tensor3D } from "../lib/runtime/mod.ts";
import { buildClassifier, mobileNetV2 } from "../lib/model/mod.ts";
import { SHARED_WEIGHTS_035 } from "./_shared.ts";

/** A small seeded generator (mulberry32), values in [0, 1). */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Scene number `seed`, `size × size` RGB, 0..255 (int32). */
export function scene(seed: number, size = 96): Tensor3D {
  const r = random(seed * 7919 + 13);
  const colour = () => [r() * 255, r() * 255, r() * 255];
  const [c0, c1] = [colour(), colour()];
  const px = new Float32Array(size * size * 3);
  const vertical = r() < 0.5;
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const t = (vertical ? y : x) / (size - 1);
      for (let c = 0; c < 3; c++) px[(y * size + x) * 3 + c] = c0[c] * (1 - t) + c1[c] * t;
    }
  }
  const shapes = 3 + Math.floor(r() * 4);
  for (let s = 0; s < shapes; s++) {
    const col = colour(), disc = r() < 0.5;
    const cx = r() * size, cy = r() * size, rad = size * (0.08 + r() * 0.25);
    for (let y = 0; y < size; y++) {
      for (let x = 0; x < size; x++) {
        const inside = disc
          ? (x - cx) ** 2 + (y - cy) ** 2 < rad ** 2
          : Math.abs(x - cx) < rad && Math.abs(y - cy) < rad * 0.6;
        if (inside) { for (let c = 0; c < 3; c++) px[(y * size + x) * 3 + c] = col[c]; }
      }
    }
  }
  return tf.tidy(() => tf.tensor3d(px, [size, size, 3]).round().toInt() as Tensor3D);
}

/** A classifier of `numClasses` on MobileNetV2 (ImageNet weights, alpha 0.35) for `size × size` images. */
export async function sceneClassifier(numClasses: number, size = 96): Promise<LayersModel> {
  const base = await mobileNetV2({
    inputShape: [size, size, 3],
    alpha: 0.35,
    includeTop: false,
    weights: SHARED_WEIGHTS_035,
  });
  return buildClassifier({ base, numClasses, seed: 1 }).model;
}
