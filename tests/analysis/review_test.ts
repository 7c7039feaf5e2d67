/**
 * Photos to fix: {@link likelyMislabels} and {@link nearDuplicates} on hand-made numbers, then on the
 * embeddings of a real MobileNetV2 (ImageNet weights) of distinct generated scenes with planted copies.
 */
import { tf } from "../../lib/runtime/mod.ts";
import type { Tensor3D } from "../../lib/runtime/mod.ts";
import { embedDataset, likelyMislabels, nearDuplicates, REVIEW_DEFAULTS } from "../../lib/analysis/mod.ts";
import type { DataPart } from "../../lib/analysis/mod.ts";
import { assert, assertAlmostEquals, assertEquals, assertThrows } from "../_assert.ts";
import { haveShared, SHARED_WEIGHTS_035 } from "../_shared.ts";
import { scene, sceneClassifier } from "../_generated_scenes.ts";

/** Unit rows from plain vectors. */
function unitRows(rows: number[][]) {
  const dim = rows[0].length;
  const features = new Float32Array(rows.length * dim);
  rows.forEach((r, i) => {
    const n = Math.hypot(...r);
    r.forEach((v, j) => features[i * dim + j] = v / n);
  });
  return { features, dim, count: rows.length };
}

Deno.test("nearDuplicates: pairs from the threshold up, most similar first, kinds by part and label", () => {
  const e = {
    ...unitRows([[1, 0, 0], [1, 0.01, 0], [0, 1, 0], [0, 1, 0.2], [0, 0, 1], [0.02, 0, 1]]),
    labels: Int32Array.from([0, 0, 1, 1, 0, 1]),
  };
  const parts: DataPart[] = ["train", "train", "train", "validation", "train", "train"];
  const pairs = nearDuplicates(e, { minSimilarity: 0.95, parts, rowsPerCall: 4 });
  assertEquals(pairs.map((p) => [p.a, p.b, p.kind]), [[0, 1, "duplicate"], [4, 5, "conflict"], [
    2,
    3,
    "leak",
  ]]);
  assertAlmostEquals(pairs[2].similarity, 1 / Math.hypot(1, 0.2), 1e-6);
  assertEquals(nearDuplicates(e, { minSimilarity: 0.99 }).length, 2);
  assertThrows(() => nearDuplicates(e, { minSimilarity: 0 }), Error, "minSimilarity");
  assertThrows(() => nearDuplicates(e, { parts: ["train"] }), Error, "1 parts for 6 images");
});

Deno.test("likelyMislabels: only confident wrong predictions, highest loss first", () => {
  const probabilities = Float32Array.from([
    0.95,
    0.05, // right
    0.05,
    0.95, // wrong, confident: loss −ln 0.05
    0.4,
    0.6, // wrong, unsure
    0.01,
    0.99, // wrong, most confident: loss −ln 0.01
  ]);
  const found = likelyMislabels({ probabilities, labels: Int32Array.from([0, 0, 0, 0]), numClasses: 2 });
  assertEquals(found.map((m) => m.index), [3, 1]);
  assertAlmostEquals(found[0].loss, -Math.log(0.01), 1e-5);
  assertEquals(found[0].predicted, 1);
  assertEquals(REVIEW_DEFAULTS.minConfidence, 0.9);
  assertThrows(
    () =>
      likelyMislabels({ probabilities, labels: Int32Array.from([0]), numClasses: 2 }, {
        minConfidence: 1.5,
      }),
    Error,
    "minConfidence",
  );
});

Deno.test({
  name: "embedDataset + nearDuplicates: planted copies found, no false pairs among distinct scenes, no leaks",
  ignore: !haveShared(SHARED_WEIGHTS_035, "review_test planted duplicates"),
  fn: async () => {
    const model = await sceneClassifier(2);
    const images: Tensor3D[] = Array.from({ length: 40 }, (_, i) => scene(i));
    // Planted: 40 = an exact copy of 3; 41 = 7 resized to 150 px and back; 42 = a copy of 11 put in validation.
    images.push(images[3].clone());
    images.push(tf.tidy(() => {
      const big = tf.image.resizeBilinear(images[7], [150, 150], false, true);
      return tf.image.resizeBilinear(big, [96, 96], false, true).round().toInt() as Tensor3D;
    }));
    images.push(images[11].clone());
    const labels = images.map((_, i) => i % 2);
    [labels[40], labels[41], labels[42]] = [labels[3], 1 - labels[7], labels[11]];
    const ys = labels.map((l) => tf.scalar(l, "int32"));
    const dataset = tf.data.zip({ xs: tf.data.array(images), ys: tf.data.array(ys) }).batch(16);
    const before = tf.memory().numTensors;
    const e = await embedDataset(model, dataset);
    assertEquals([e.count, e.dim, e.numClasses], [43, 1280, 2]);
    const parts: DataPart[] = images.map((_, i) => i === 42 ? "validation" : "train");
    const pairs = nearDuplicates(e, { parts });
    assertEquals(
      pairs.map((p) => [p.a, p.b, p.kind]).sort(),
      [
        [11, 42, "leak"],
        [3, 40, "duplicate"],
        [7, 41, "conflict"],
      ].sort(),
    );
    // The distinct scenes stay well below the threshold: the largest similarity among them.
    const distinct = nearDuplicates({ ...e, count: 40, features: e.features.subarray(0, 40 * e.dim) }, {
      minSimilarity: 0.5,
    });
    assert(distinct.every((p) => p.similarity < REVIEW_DEFAULTS.minSimilarity), `${distinct[0]?.similarity}`);
    assertEquals(tf.memory().numTensors, before, "tensors left by embedding and comparing");
    tf.dispose([...images, ...ys]);
    model.dispose();
  },
});
