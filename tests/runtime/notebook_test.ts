import { assert, assertEquals } from "../_assert.ts";
import { tf } from "../../lib/runtime/tf.ts";
import type { Tensor } from "../../lib/runtime/tf.ts";
import { endRun, startRun } from "../../lib/runtime/notebook.ts";
import { buildClassifier, compileClassifier } from "../../lib/model/classifier.ts";
import { fit } from "../../lib/train/fit.ts";
import { tinyBase, tinySet, writeColourFolder } from "../../lib/testing/tiny.ts";
import { imageDatasetFromDirectory } from "../../lib/data/mod.ts";

/** One "run" of a notebook: a model trained for an epoch and a batch of predictions, left undisposed. */
async function notebookRun(): Promise<Tensor> {
  const train = tinySet(32, 16, 16, 0);
  const { model } = buildClassifier({ base: tinyBase(), seed: 2 });
  compileClassifier(model, tf.train.adam(0.01));
  await fit(model, train.dataset, { epochs: 1, verbose: 0 });
  return model.predict(train.images) as Tensor;
}

Deno.test("startRun frees the previous run's tensors and variables: the count is flat from the second run on", async () => {
  const outside = tf.scalar(1); // made before the first run: left alone
  const start = tf.memory().numTensors;
  const counts: number[] = [];
  let kept: Tensor | undefined;
  for (let run = 0; run < 3; run++) {
    const reset = startRun();
    if (run > 0) assert(reset.variables > 0 && reset.tensors > reset.variables, JSON.stringify(reset));
    await notebookRun();
    if (run === 0) kept = tf.keep(tf.scalar(2));
    counts.push(tf.memory().numTensors);
  }
  assert(counts[0] > start + 10, `a run makes tensors: ${counts}`);
  assertEquals(counts[2], counts[1]);
  startRun();
  assertEquals(outside.isDisposed, false);
  assertEquals(kept!.isDisposed, false);
  const last = tf.memory().numTensors;
  const end = endRun();
  assertEquals(tf.memory().numTensors, last - end.tensors);
  assertEquals(tf.memory().numTensors, start + 1, "only the kept tensor is left");
  assertEquals(endRun(), { tensors: 0, variables: 0 });
  tf.dispose([outside, kept!]);
});

Deno.test("a notebook run's image datasets give back their decoded-image caches when the next run starts", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await writeColourFolder(dir, { numClasses: 2, perClass: 3 });
    const start = tf.memory().numTensors;
    const counts: number[] = [];
    const datasets = [];
    for (let run = 0; run < 3; run++) {
      startRun();
      // As a notebook cell: a dataset made, read through (its cache filled), and left undisposed.
      const dataset = await imageDatasetFromDirectory(dir, {
        imageSize: [8, 8],
        batchSize: 4,
        verbose: false,
      });
      await dataset.forEachAsync((batch) => tf.dispose(batch as never));
      assertEquals(dataset.cacheInfo().images, 6);
      datasets.push(dataset);
      counts.push(tf.memory().numTensors);
    }
    assertEquals(counts[0], start + 6, "the cache keeps one tensor per image");
    assertEquals(counts, [counts[0], counts[0], counts[0]], "each run frees the previous run's cache");
    assertEquals(datasets.map((d) => d.isDisposed), [true, true, false]);
    endRun();
    assert(datasets[2].isDisposed);
    assertEquals(tf.memory().numTensors, start);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
