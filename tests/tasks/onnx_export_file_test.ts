/**
 * `exportOnnxFile`, what `deno task export -- --format onnx` runs: a saved classifier folder to one ONNX
 * file with its metadata, checked in ONNX Runtime, written atomically, never over a file it did not write.
 */
import fs from "node:fs";
import path from "node:path";
import { tf } from "../../lib/runtime/mod.ts";
import { OnnxSession, readOnnxSummary } from "../../lib/graph/mod.ts";
import { buildClassifier } from "../../lib/model/mod.ts";
import { exportOnnxFile, saveClassifier } from "../../lib/tasks/mod.ts";
import { tinyBase } from "../../lib/testing/mod.ts";
import { assert, assertEquals, assertRejects } from "../_assert.ts";
import { listTree, withTempDir } from "../_temp.ts";
import { task } from "../_task.ts";

/** A saved tiny classifier of `classNames` in `dir/model`; returns the folder. */
async function savedClassifier(dir: string, classNames: string[]): Promise<string> {
  const { model } = buildClassifier({
    base: tinyBase([16, 16, 3], 3),
    numClasses: classNames.length,
    seed: 2,
  });
  const out = path.join(dir, "model");
  await saveClassifier(model, out, { classNames, alpha: 0.35 });
  model.dispose();
  return out;
}

Deno.test("exportOnnxFile: a saved classifier as an ONNX file with its classes, equal to predict", async () => {
  await withTempDir("onnx_export_file_", async (dir) => {
    const classNames = ["daisy", "roses", "tulips"];
    const modelDir = await savedClassifier(dir, classNames);
    const before = tf.memory().numTensors;
    const out = path.join(dir, "flowers.onnx");
    const result = await exportOnnxFile(modelDir, out);
    assertEquals(tf.memory().numTensors, before, "no tensor leaked");
    assertEquals([result.out, result.opset, result.output, result.classNames], [
      out,
      13,
      "softmax",
      classNames,
    ]);
    assertEquals(result.imageSize, [16, 16]);
    assert(result.maxDifference <= 1e-4, `difference ${result.maxDifference}`);
    assertEquals(result.bytes, fs.statSync(out).size);
    assertEquals(
      listTree(dir).filter((f) => !f.startsWith("model")),
      ["flowers.onnx"],
      "no temporary file left",
    );

    const bytes = await Deno.readFile(out);
    const summary = await readOnnxSummary(bytes);
    assertEquals(JSON.parse(summary.metadata.classNames), classNames);
    assertEquals(JSON.parse(summary.metadata.preprocessing).rescale, { scale: 1 / 127.5, offset: -1 });
    const session = await OnnxSession.create(bytes);
    const { data, dims } = await session.run(new Float32Array(2 * 16 * 16 * 3).fill(128), [2, 16, 16, 3]);
    await session.release();
    assertEquals(dims, [2, 3]);
    assert(Math.abs(data[0] + data[1] + data[2] - 1) < 1e-5, "softmax probabilities sum to 1");

    // An earlier export is replaced; the options reach the file.
    const again = await exportOnnxFile(modelDir, out, { opset: 17, output: "logits" });
    assertEquals([again.opset, again.output], [17, "logits"]);
    assertEquals((await readOnnxSummary(await Deno.readFile(out))).outputs[0].name, "logits");
  });
});

Deno.test("exportOnnxFile: refuses to replace what it did not write, and names what is wrong", async () => {
  await withTempDir("onnx_export_file_", async (dir) => {
    const modelDir = await savedClassifier(dir, ["cats", "dogs"]);
    const foreign = path.join(dir, "notes.onnx");
    await Deno.writeTextFile(foreign, "my notes");
    await assertRejects(
      () => exportOnnxFile(modelDir, foreign),
      Error,
      "is not an ONNX file written by this export",
    );
    assertEquals(await Deno.readTextFile(foreign), "my notes", "left as it was");

    await assertRejects(
      () => exportOnnxFile(modelDir, path.join(dir, "missing", "m.onnx")),
      Error,
      "missing does not exist",
    );
    await assertRejects(() => exportOnnxFile(modelDir, dir), Error, "is a folder: give a file name");
    await assertRejects(
      () => exportOnnxFile(dir, path.join(dir, "m.onnx")),
      Error,
      "metadata.json does not exist",
    );
    await assertRejects(
      () => exportOnnxFile(modelDir, path.join(dir, "m.onnx"), { opset: 9 }),
      Error,
      "opset 9",
    );
    assert(!fs.existsSync(path.join(dir, "m.onnx")), "nothing written on failure");
  });
});

Deno.test("deno task export --format onnx: the file and a one-line summary (JSON with --json); bad --format/--opset: exit 2", async () => {
  await withTempDir("onnx_export_cli_", async (dir) => {
    const modelDir = await savedClassifier(dir, ["cats", "dogs"]);
    const out = path.join(dir, "pets.onnx");
    const r = await task("export", ["--model", modelDir, "--format", "onnx", "--out", out, "--json"]);
    assertEquals(r.code, 0, r.stderr);
    const result = JSON.parse(r.stdout.trim());
    assertEquals([result.format, result.out, result.output, result.classNames], ["onnx", out, "sigmoid", [
      "cats",
      "dogs",
    ]]);
    assertEquals(result.bytes, fs.statSync(out).size);
    for (
      const [args, message] of <[string[], string][]> [
        [["--format", "tflite"], "--format tflite: expected web or onnx"],
        [["--format", "onnx", "--opset", "12"], '--opset: expected a whole number ≥ 13, got "12"'],
        [["--format", "onnx", "--opset", "22"], '--opset: expected 13 to 21, got "22"'],
        [["--opset", "13"], "--opset goes with --format onnx"],
      ]
    ) {
      const bad = await task("export", ["--model", modelDir, "--out", path.join(dir, "x.onnx"), ...args]);
      assertEquals(bad.code, 2, bad.stderr);
      assert(bad.stderr.includes(message), bad.stderr);
    }
    assert(!fs.existsSync(path.join(dir, "x.onnx")));
  });
});
