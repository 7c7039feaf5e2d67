import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { tf } from "../../lib/runtime/tf.ts";
import type { Tensor } from "../../lib/runtime/tf.ts";
import { assert, assertEquals, assertMatch, assertRejects, assertThrows } from "../_assert.ts";
import { PROJECT_ROOT } from "../../lib/runtime/config.ts";
import { buildClassifier } from "../../lib/model/classifier.ts";
import { loadModel, saveModel } from "../../lib/model/model_io.ts";
import { buildSite, latestModelDir, writeSite } from "../../lib/tasks/site.ts";
import { maxAbsDiff, tinyBase } from "../../lib/testing/tiny.ts";

/** The contract's metadata.json (notes/contracts.md) for a classifier of `classNames` at `size`. */
function metadataFor(classNames: string[], size: number) {
  return {
    format: "transfer-learning-ts/classifier",
    formatVersion: 1,
    classNames,
    numClasses: classNames.length,
    imageSize: [size, size],
    channels: 3,
    alpha: 0.35,
    output: classNames.length === 2 ? "sigmoid" : "softmax",
    preprocessing: {
      resize: "bilinear",
      halfPixelCenters: true,
      cropToAspectRatio: false,
      inputRange: [0, 255],
      rescale: { scale: 1 / 127.5, offset: -1 },
    },
    versions: {},
    data: { directory: "/home/someone/private/photos" },
    histories: {},
    metrics: { test: { accuracy: 0.9 } },
  };
}

/** A saved tiny classifier with its metadata, as `deno task train` writes one. */
async function fixtureModel(dir: string, classNames = ["cats", "dogs"], size = 24, extra = {}) {
  const { model } = buildClassifier({
    base: tinyBase([size, size, 3], 2),
    numClasses: classNames.length,
    seed: 1,
  });
  await saveModel(model, dir);
  model.dispose();
  fs.writeFileSync(
    path.join(dir, "metadata.json"),
    JSON.stringify({ ...metadataFor(classNames, size), ...extra }),
  );
  return dir;
}

function tempDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), "tl-site-test-"));
}

Deno.test("latestModelDir: models/LATEST when present, else the newest metadata.json; none is an error", () => {
  const tmp = tempDir();
  try {
    assertThrows(() => latestModelDir(tmp), Error, "run `deno task train` first");
    for (const [name, age] of [["old", 100], ["new", 10], ["middle", 50]] as const) {
      const dir = path.join(tmp, name);
      fs.mkdirSync(dir);
      fs.writeFileSync(path.join(dir, "model.json"), "{}");
      fs.writeFileSync(path.join(dir, "metadata.json"), "{}");
      const t = new Date(Date.now() - age * 1000);
      fs.utimesSync(path.join(dir, "metadata.json"), t, t);
    }
    fs.mkdirSync(path.join(tmp, "no-metadata"));
    fs.writeFileSync(path.join(tmp, "no-metadata", "model.json"), "{}");
    assertEquals(latestModelDir(tmp), path.join(tmp, "new"));
    fs.writeFileSync(path.join(tmp, "LATEST"), "middle\n");
    assertEquals(latestModelDir(tmp), path.join(tmp, "middle"));
    fs.writeFileSync(path.join(tmp, "LATEST"), "gone\n");
    assertEquals(latestModelDir(tmp), path.join(tmp, "new"), "a stale marker falls back to the newest");
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
});

Deno.test("buildSite + writeSite: a self-contained folder whose model predicts as the original", async () => {
  const tmp = tempDir();
  try {
    const modelDir = await fixtureModel(path.join(tmp, "flowers"), ["daisy", "rose", "tulip"]);
    const before = tf.memory().numTensors;
    const site = await buildSite(modelDir);
    assertEquals(tf.memory().numTensors, before, "buildSite leaks no tensor");
    assertEquals([...site.entries.keys()].sort(), [
      "/app.js",
      "/exifreader/exif-reader.js",
      "/index.html",
      "/jpeg/jpeg-turbo.wasm",
      "/model/metadata.json",
      "/model/model.json",
      "/model/weights.bin",
      "/style.css",
      "/tfjs/tf-backend-wasm.es2017.min.js",
      "/tfjs/tf.es2017.min.js",
      "/tfjs/tfjs-backend-wasm-simd.wasm",
      "/tfjs/tfjs-backend-wasm-threaded-simd.wasm",
      "/tfjs/tfjs-backend-wasm.wasm",
    ]);
    assertEquals(site.metadata.name, "flowers");

    const out = path.join(tmp, "public", "site");
    await writeSite(site, out);
    const page = JSON.parse(fs.readFileSync(path.join(out, "model", "metadata.json"), "utf8"));
    assertEquals(page.classNames, ["daisy", "rose", "tulip"]);
    assertEquals(page.output, "softmax");
    assert(!JSON.stringify(page).includes("/home/someone"), "no local paths in the published metadata");
    const html = fs.readFileSync(path.join(out, "index.html"), "utf8");
    assert(
      !/https?:\/\//.test(html.replace(/<!--[\s\S]*?-->/g, "")),
      "the page loads nothing from the network",
    );
    assertEquals(fs.readdirSync(path.dirname(out)), ["site"], "no temporary folder left behind");

    // The written model.json + weights.bin load with tfjs' own loader and predict as the original.
    const original = await loadModel(modelDir);
    const exported = await tf.loadLayersModel(`file://${path.join(out, "model", "model.json")}`);
    const x = tf.randomUniform([2, 24, 24, 3], 0, 255, "float32", 5);
    const [a, b] = [original, exported].map((m) => tf.tidy(() => (m.predict(x) as Tensor).dataSync()));
    assert(maxAbsDiff(a, b) <= 1e-5, `outputs differ by ${maxAbsDiff(a, b)}`);
    tf.dispose(x);
    original.dispose();
    exported.dispose();

    // A second export replaces the first; a folder with files the project did not write is never
    // overwritten (tests/tasks/output_folders_test.ts has the cases).
    await writeSite(site, out);
    fs.writeFileSync(path.join(out, "stale.txt"), "from before");
    await assertRejects(
      () => writeSite(site, out),
      Error,
      "holds files this project did not write (stale.txt)",
    );
    assert(fs.existsSync(path.join(out, "stale.txt")));
    const other = path.join(tmp, "documents");
    fs.mkdirSync(other);
    fs.writeFileSync(path.join(other, "thesis.txt"), "mine");
    await assertRejects(() => writeSite(site, other), Error, "was not written by this project");
    assertEquals(fs.readFileSync(path.join(other, "thesis.txt"), "utf8"), "mine");
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
});

Deno.test("buildSite: a model that does not match its metadata, or no folder, is a clear error", async () => {
  const tmp = tempDir();
  try {
    await assertRejects(() => buildSite(path.join(tmp, "nope")), Error, "no such folder");
    const wrongSize = await fixtureModel(path.join(tmp, "size"), ["a", "b"], 24, { imageSize: [32, 32] });
    await assertRejects(() => buildSite(wrongSize), Error, "(input 24×24×3, 1 logits) does not match");
    const wrongClasses = await fixtureModel(path.join(tmp, "classes"), ["a", "b"], 24, {
      classNames: ["a", "b", "c"],
      numClasses: 3,
      output: "softmax",
    });
    await assertRejects(() => buildSite(wrongClasses), Error, "3 classes → 3 logits");
    fs.writeFileSync(path.join(wrongClasses, "metadata.json"), JSON.stringify({ format: "other" }));
    await assertRejects(() => buildSite(wrongClasses), Error, "metadata.json: format must be");
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
});

Deno.test("deno task export: usage errors exit 2; --json names the written folder", async () => {
  const tmp = tempDir();
  const run = async (args: string[]) => {
    const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", path.join(PROJECT_ROOT, "tools", "cli", "export.ts"), ...args],
      stdout: "piped",
      stderr: "piped",
      signal: AbortSignal.timeout(60_000),
    }).output();
    return { code, stdout: new TextDecoder().decode(stdout), stderr: new TextDecoder().decode(stderr) };
  };
  try {
    const missing = await run(["--", "--model", tmp]);
    assertEquals(missing.code, 2);
    assertMatch(missing.stderr, /--out DIR is required/);
    const help = await run(["--help"]);
    assertEquals([help.code, /--out DIR/.test(help.stdout)], [0, true]);
    const modelDir = await fixtureModel(path.join(tmp, "cats_dogs"));
    const out = path.join(tmp, "public");
    const ok = await run(["--model", modelDir, "--out", out, "--json"]);
    assertEquals(ok.code, 0, ok.stderr);
    const report = JSON.parse(ok.stdout.trim().split("\n").at(-1)!);
    assertEquals(report.out, out);
    assert(report.files.includes("/model/weights.bin"));
    assert(fs.statSync(path.join(out, "model", "weights.bin")).size > 0);
    const notExport = await run(["--model", modelDir, "--out", modelDir]);
    assertEquals(notExport.code, 2);
    assertMatch(notExport.stderr, /is inside the model folder/);

    // --quantize: a smaller weights.bin that tfjs loads, its size and kind in the page's metadata.
    const badQuantize = await run(["--model", modelDir, "--out", path.join(tmp, "q"), "--quantize", "int4"]);
    assertEquals(badQuantize.code, 2);
    assertMatch(badQuantize.stderr, /--quantize int4: expected float16 or uint8/);
    const onnxQuantize = await run([
      "--model",
      modelDir,
      "--out",
      path.join(tmp, "m.onnx"),
      "--format",
      "onnx",
      "--quantize",
      "uint8",
    ]);
    assertEquals(onnxQuantize.code, 2);
    assertMatch(onnxQuantize.stderr, /--quantize goes with --format web/);
    const half = path.join(tmp, "half");
    const q = await run(["--model", modelDir, "--out", half, "--quantize", "float16", "--json"]);
    assertEquals(q.code, 0, q.stderr);
    const qReport = JSON.parse(q.stdout.trim().split("\n").at(-1)!);
    assertEquals(qReport.weights, "float16");
    const halfBytes = fs.statSync(path.join(half, "model", "weights.bin")).size;
    assertEquals(halfBytes * 2, fs.statSync(path.join(out, "model", "weights.bin")).size);
    const page = JSON.parse(fs.readFileSync(path.join(half, "model", "metadata.json"), "utf8"));
    assertEquals(page.weights, "float16");
    assertEquals(page.modelBytes, halfBytes + fs.statSync(path.join(half, "model", "model.json")).size);
    const loaded = await tf.loadLayersModel(`file://${path.join(half, "model", "model.json")}`);
    assertEquals(loaded.outputs[0].shape, [null, 1]);
    loaded.dispose();
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
});
