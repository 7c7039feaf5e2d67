/**
 * `predictFiles(…, { tta: true })` (`deno task predict -- --tta`): each file's probabilities are
 * `ttaProbabilities` of the photo as predict decodes it — not the plain prediction — with no tensor left.
 */
import path from "node:path";
import { assert, assertAlmostEquals, assertEquals } from "../_assert.ts";
import { tf } from "../../lib/runtime/tf.ts";
import type { Tensor, Tensor4D } from "../../lib/runtime/mod.ts";
import { buildClassifier } from "../../lib/model/classifier.ts";
import { classProbabilities } from "../../lib/model/mod.ts";
import { ttaProbabilities } from "../../lib/analysis/mod.ts";
import { loadImage } from "../../lib/data/mod.ts";
import { predictFiles } from "../../lib/tasks/predict_files.ts";
import type { FilePrediction } from "../../lib/tasks/predict_files.ts";
import { tinyBase, tinyMetadata, writeColourFolder } from "../../lib/testing/tiny.ts";
import { withTempDir } from "../_temp.ts";

Deno.test("predictFiles with tta: the averaged probabilities of the four copies, in class order; no leaks", async () => {
  await withTempDir("tl-predict-tta-", async (dir) => {
    await writeColourFolder(dir, { numClasses: 3, perClass: 2 });
    const { model } = buildClassifier({ base: tinyBase(), numClasses: 3, augmentation: null, seed: 1 });
    const metadata = tinyMetadata();
    const files = ["red/0.png", "green/1.png", "blue/0.png"].map((f) => path.join(dir, f));
    const before = tf.memory().numTensors;
    const results: FilePrediction[] = [];
    for await (const r of predictFiles({ model, metadata }, files, { batchSize: 2, tta: true })) {
      results.push(r);
    }
    assertEquals(tf.memory().numTensors, before, "no tensor leaks");
    const batch = tf.stack(
      files.map((f) => loadImage(Deno.readFileSync(f), { imageSize: [16, 16] }, f)),
    ) as Tensor4D;
    const expected = ttaProbabilities(model, batch).arraySync() as number[][];
    const plain = tf.tidy(() => classProbabilities(model.predict(batch) as Tensor).arraySync() as number[][]);
    let differs = false;
    results.forEach((r, i) => {
      assert(r.ok);
      for (const p of r.predictions) {
        const c = metadata.classNames.indexOf(p.className);
        assertAlmostEquals(p.probability, expected[i][c], 1e-5);
        if (Math.abs(p.probability - plain[i][c]) > 1e-6) differs = true;
      }
    });
    assert(differs, "TTA changes the probabilities (the photos are not symmetric)");
    tf.dispose(batch);
    model.dispose();
  });
});
