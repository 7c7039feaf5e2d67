import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { assert, assertEquals } from "../_assert.ts";
import { tf } from "../../lib/runtime/tf.ts";
import { buildClassifier } from "../../lib/model/classifier.ts";
import { expandInputs, predictFiles } from "../../lib/tasks/predict_files.ts";
import type { FilePrediction } from "../../lib/tasks/predict_files.ts";
import { tinyBase, tinyMetadata, writeColourFolder } from "../../lib/testing/tiny.ts";

Deno.test("expandInputs: folders recursively and sorted, files as given, missing paths and empty folders reported", async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "h13-expand-"));
  try {
    await writeColourFolder(dir, { numClasses: 2, perClass: 2 });
    fs.writeFileSync(path.join(dir, "notes.txt"), "not an image");
    fs.mkdirSync(path.join(dir, "empty"));
    const { files, missing } = expandInputs([dir, path.join(dir, "notes.txt"), path.join(dir, "nope.jpg")]);
    assertEquals(files.map((f) => path.relative(dir, f)), [
      "green/0.png",
      "green/1.png",
      "red/0.png",
      "red/1.png",
      "notes.txt",
    ]);
    assertEquals(missing, [{ file: path.join(dir, "nope.jpg"), error: "no such file or folder" }]);
    assertEquals(expandInputs([path.join(dir, "empty")]).missing[0].error.startsWith("no images"), true);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

Deno.test("predictFiles: an undecodable file is named and skipped, the others still predicted; two classes via sigmoid", async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "h13-predict-"));
  try {
    await writeColourFolder(dir, { numClasses: 2, perClass: 3 });
    const bad = path.join(dir, "broken.jpg");
    fs.writeFileSync(bad, "this is not a JPEG");
    const { model } = buildClassifier({ base: tinyBase(), augmentation: null, seed: 1 });
    const metadata = tinyMetadata({
      classNames: ["red", "green"],
      numClasses: 2,
      alpha: 1,
      output: "sigmoid",
    });
    const files = [path.join(dir, "red", "0.png"), bad, path.join(dir, "green", "1.png")];
    const before = tf.memory().numTensors;
    const results: FilePrediction[] = [];
    for await (const r of predictFiles({ model, metadata }, files, { batchSize: 2 })) results.push(r);
    assertEquals(tf.memory().numTensors, before, "no tensor leaks");
    assertEquals(results.map((r) => [r.file, r.ok]), [[files[0], true], [bad, false], [files[2], true]]);
    const failed = results[1] as { error: string };
    assert(failed.error.includes(`Cannot decode image ${bad}`), failed.error);
    for (const r of results) {
      if (!r.ok) continue;
      assertEquals(r.predictions.length, 2);
      const sum = r.predictions[0].probability + r.predictions[1].probability;
      assert(Math.abs(sum - 1) < 1e-6, `probabilities sum to 1: ${sum}`);
    }
    model.dispose();
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
