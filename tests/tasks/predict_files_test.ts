import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { assert, assertEquals } from "../_assert.ts";
import { tf } from "../../lib/runtime/tf.ts";
import { PROJECT_ROOT } from "../../lib/runtime/config.ts";
import { buildClassifier } from "../../lib/model/classifier.ts";
import { saveModel } from "../../lib/model/model_io.ts";
import { expandInputs, predictFiles } from "../../lib/tasks/predict_files.ts";
import type { FilePrediction } from "../../lib/tasks/predict_files.ts";
import { tinyBase, tinyMetadata, writeColourFolder } from "../../lib/testing/tiny.ts";
import { withTempDir } from "../_temp.ts";
import { mkfifo, RED_WEBP, WEBP_COLOUR, writeModelFolder, writePng, writeText } from "../_odd_folders.ts";

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

/**
 * `tmp/photos`, two colour classes of two PNGs, with what users' folders hold besides: a WebP, a HEIC,
 * macOS' `._*` file, a hidden file, a FIFO named *.jpg, a link to the folder itself, a model saved inside.
 */
async function oddPhotos(tmp: string): Promise<string> {
  const photos = path.join(tmp, "photos");
  await writeColourFolder(photos, { numClasses: 2, perClass: 2 });
  fs.writeFileSync(path.join(photos, "red", "x.webp"), RED_WEBP);
  writeText(path.join(photos, "red", "IMG_0001.HEIC"));
  writeText(path.join(photos, "red", "._0.png"), "\u0000\u0005\u0016\u0007Mac OS X");
  writeText(path.join(photos, "green", ".hidden.png"));
  await mkfifo(path.join(photos, "red", "pipe.jpg"));
  fs.symlinkSync(".", path.join(photos, "self"));
  writeModelFolder(path.join(photos, "model"));
  return photos;
}

const FIFO_ERROR = "a FIFO (named pipe), not an image file: give the path of an image file instead";

Deno.test("expandInputs: the odd folder — hidden, ._, .heic, .webp, FIFO, self link, model — and a FIFO given on its own", async () => {
  await withTempDir("predict_odd_", async (tmp) => {
    const photos = await oddPhotos(tmp);
    const alone = path.join(tmp, "alone.jpg");
    await mkfifo(alone);
    const empty = path.join(tmp, "empty");
    fs.mkdirSync(empty);
    const { files, missing, notes } = expandInputs([photos, alone, empty, path.join(photos, "model")]);
    assertEquals(files.map((f) => path.relative(photos, f)), [
      "green/0.png",
      "green/1.png",
      "red/0.png",
      "red/1.png",
      "red/x.webp",
    ]);
    assertEquals(missing, [
      { file: alone, error: FIFO_ERROR },
      { file: empty, error: "no images (.bmp, .gif, .jpeg, .jpg, .png, .webp) in this folder: it is empty" },
      { file: path.join(photos, "model"), error: "a saved model's folder, not a folder of images" },
    ]);
    assertEquals(notes, [
      'Skipped 1 file: 1 .heic — convert it to JPEG or PNG; ignored 2 hidden files (1 of them macOS "._" files).',
      "Skipped 1 special file (a FIFO, socket or device: not an image, never opened): " +
      path.join(photos, "red", "pipe.jpg"),
      "Did not follow 1 linked folder leading back into the folder (a loop, or the same photos a second " +
      `time): ${path.join(photos, "self")}`,
      "Skipped 1 folder holding a saved model (model.json or metadata.json), which is never data: " +
      path.join(photos, "model"),
    ]);
  });
});

Deno.test("predictFiles: a .webp is classified as the PNG of the same pixels; a FIFO is an error, never opened; no tensor leaks", async () => {
  await withTempDir("predict_webp_", async (tmp) => {
    const webp = path.join(tmp, "x.webp");
    fs.writeFileSync(webp, RED_WEBP);
    const png = path.join(tmp, "x.png");
    await writePng(png, WEBP_COLOUR, [5, 7]);
    const fifo = path.join(tmp, "pipe.jpg");
    await mkfifo(fifo);
    // Said before predicting: reading the FIFO would wait forever.
    assertEquals(expandInputs([fifo]).missing, [{ file: fifo, error: FIFO_ERROR }]);
    const { model } = buildClassifier({ base: tinyBase(), augmentation: null, seed: 1, numClasses: 3 });
    const metadata = tinyMetadata();
    const before = tf.memory().numTensors;
    const results: FilePrediction[] = [];
    for await (const r of predictFiles({ model, metadata }, [fifo, webp, png], { batchSize: 2 })) {
      results.push(r);
    }
    assertEquals(tf.memory().numTensors, before, "no tensor leaks");
    model.dispose();
    assertEquals(results.map((r) => r.ok), [false, true, true]);
    assertEquals((results[0] as { error: string }).error, `${fifo}: ${FIFO_ERROR}`);
    const [, fromWebp, fromPng] = results as Array<FilePrediction & { ok: true }>;
    assertEquals(fromWebp.predictions, fromPng.predictions);
  });
});

Deno.test("deno task predict on the odd folder and a FIFO: the folder's notes on stderr, the FIFO named, exit code 1, no hang", async () => {
  await withTempDir("predict_cli_odd_", async (tmp) => {
    const photos = await oddPhotos(tmp);
    const alone = path.join(tmp, "alone.jpg");
    await mkfifo(alone);
    const modelDir = path.join(tmp, "classifier");
    const { model } = buildClassifier({ base: tinyBase(), augmentation: null, seed: 1, numClasses: 3 });
    await saveModel(model, modelDir, { files: { "metadata.json": JSON.stringify(tinyMetadata()) } });
    model.dispose();
    // A guard for the code before this fix, which waited on the FIFO forever: never reached otherwise.
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["task", "-q", "predict", "--", "--model", modelDir, photos, alone],
      cwd: PROJECT_ROOT,
      stdout: "piped",
      stderr: "piped",
      signal: AbortSignal.timeout(600_000),
    }).output();
    const stdout = new TextDecoder().decode(out.stdout);
    const stderr = new TextDecoder().decode(out.stderr);
    assertEquals(out.code, 1, stderr);
    const rows = stdout.trim().split("\n");
    assertEquals(rows.length, 6, stdout);
    assert(rows[5].startsWith(path.join(photos, "red", "x.webp")), rows[5]);
    assertEquals(stderr.split("\n").filter((l) => l !== ""), [
      'predict: Skipped 1 file: 1 .heic — convert it to JPEG or PNG; ignored 2 hidden files (1 of them macOS "._" files).',
      "predict: Skipped 1 special file (a FIFO, socket or device: not an image, never opened): " +
      path.join(photos, "red", "pipe.jpg"),
      "predict: Did not follow 1 linked folder leading back into the folder (a loop, or the same photos a " +
      `second time): ${path.join(photos, "self")}`,
      "predict: Skipped 1 folder holding a saved model (model.json or metadata.json), which is never data: " +
      path.join(photos, "model"),
      `predict: skipped ${alone}: ${FIFO_ERROR}`,
      "predict: 1 of 6 input(s) failed",
    ]);
  });
});
