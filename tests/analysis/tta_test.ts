/**
 * Test-time augmentation: the copies (as is, mirrored, turned either way, corners reflected), the
 * average of their probabilities, and no tensor left.
 */
import { tf } from "../../lib/runtime/mod.ts";
import type { SymbolicTensor, Tensor, Tensor4D } from "../../lib/runtime/mod.ts";
import { ttaProbabilities, ttaVariants } from "../../lib/analysis/mod.ts";
import { classProbabilities } from "../../lib/model/mod.ts";
import { assert, assertAlmostEquals, assertEquals, assertThrows } from "../_assert.ts";

/** A batch of 2 images 8×8: a horizontal ramp and its mirror image. */
function ramps(): Tensor4D {
  return tf.tidy(() => {
    const ramp = tf.tile(tf.linspace(0, 255, 8).reshape([1, 8, 1]), [8, 1, 3]);
    return tf.stack([ramp, tf.reverse(ramp, 1)]) as Tensor4D;
  });
}

Deno.test("ttaVariants: as is, mirrored, turned both ways with the corners reflected", () => {
  const images = ramps();
  const before = tf.memory().numTensors;
  const variants = ttaVariants(images);
  assertEquals(variants.length, 4);
  assertEquals(tf.memory().numTensors, before + 4);
  const [same, mirrored, left, right] = variants.map((v) => v.arraySync() as number[][][][]);
  assertEquals(same, images.arraySync());
  assertEquals(mirrored[0], same[1], "the mirror image of the ramp is the other ramp");
  // Turned copies: a small turn changes a ramp a little; the corners are filled by reflection, never
  // left blank (0) where the ramp is bright.
  for (const turned of [left, right]) {
    const corner = turned[0][0][7][0];
    assert(corner > 150, `top-right corner of the ramp turned: ${corner}`);
    const diff = Math.max(...turned[0].flat(2).map((v, i) => Math.abs(v - same[0].flat(2)[i])));
    assert(diff > 1 && diff < 80, `the turned ramp differs from the ramp by ${diff}`);
  }
  assert(left[0][0][0][0] !== right[0][0][0][0], "turned both ways");
  assertEquals(ttaVariants(images, { degrees: 0 }).length, 2);
  assertThrows(() => ttaVariants(images, { degrees: 90 }), Error, "degrees");
  tf.dispose(variants);
  images.dispose();
});

Deno.test("ttaProbabilities: the mean of the copies' probabilities, for softmax and one-logit heads; no leaks", () => {
  for (const units of [3, 1]) {
    const input = tf.input({ shape: [8, 8, 3] });
    const pooled = tf.layers.flatten({}).apply(input) as SymbolicTensor;
    const out = tf.layers.dense({
      units,
      kernelInitializer: tf.initializers.randomNormal({ stddev: 0.01, seed: 1 }),
    })
      .apply(pooled) as SymbolicTensor;
    const model = tf.model({ inputs: input, outputs: out });
    const images = ramps();
    const before = tf.memory().numTensors;
    const p = ttaProbabilities(model, images);
    assertEquals(tf.memory().numTensors, before + 1);
    const variants = ttaVariants(images);
    const each = variants.map((v) =>
      classProbabilities(model.predict(v) as Tensor).arraySync() as number[][]
    );
    const got = p.arraySync() as number[][];
    assertEquals(got[0].length, Math.max(units, 2));
    for (let i = 0; i < 2; i++) {
      for (let c = 0; c < got[i].length; c++) {
        assertAlmostEquals(got[i][c], each.reduce((s, e) => s + e[i][c], 0) / 4, 1e-6);
      }
    }
    tf.dispose([...variants, p, images]);
    model.dispose();
  }
});
