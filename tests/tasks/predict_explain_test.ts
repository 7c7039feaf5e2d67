/**
 * `predict`'s Grad-CAM overlays: `predictFiles({explain})` in process, and `deno task predict -- --explain
 * DIR` end to end on a tiny saved classifier (random weights: this checks the files and the folder rules,
 * not what the heatmaps show, which `tests/analysis/grad_cam_test.ts` does).
 */
import fs from "node:fs";
import path from "node:path";
import { assert, assertEquals, assertMatch } from "../_assert.ts";
import { tf } from "../../lib/runtime/tf.ts";
import { buildClassifier } from "../../lib/model/classifier.ts";
import { saveModel } from "../../lib/model/model_io.ts";
import { explanationNames, predictFiles } from "../../lib/tasks/predict_files.ts";
import type { FilePrediction } from "../../lib/tasks/predict_files.ts";
import { tinyBase, tinyMetadata, writeColourFolder } from "../../lib/testing/tiny.ts";
import { withTempDir } from "../_temp.ts";
import { task } from "../_task.ts";

Deno.test("explanationNames: the photo's name as .png, collisions (also by case) numbered in order", () => {
  assertEquals(
    explanationNames(["a/cat.jpg", "b/cat.jpg", "c/Cat.png", "dog.jpeg", "a/cat-2.jpg", "noext"]),
    ["cat.png", "cat-2.png", "Cat-3.png", "dog.png", "cat-2-2.png", "noext.png"],
  );
});

Deno.test("predictFiles with explain: a PNG overlay of the input size per classified file, no leaks", async () => {
  await withTempDir("explain_", async (tmp) => {
    await writeColourFolder(tmp, { numClasses: 2, perClass: 3 });
    const { model } = buildClassifier({ base: tinyBase(), augmentation: null, seed: 1 });
    const metadata = tinyMetadata({ classNames: ["red", "green"], numClasses: 2, output: "sigmoid" });
    const files = ["red/0.png", "green/1.png", "red/2.png"].map((f) => path.join(tmp, f));
    const run = async (explain: boolean) => {
      const out: FilePrediction[] = [];
      for await (const r of predictFiles({ model, metadata }, files, { batchSize: 2, explain })) out.push(r);
      return out;
    };
    await run(true); // first call: the frozen graph is compiled and kept
    const before = tf.memory().numTensors;
    const explained = await run(true);
    assertEquals(tf.memory().numTensors, before, "no tensor leaks");
    const plain = await run(false);
    for (const [i, r] of explained.entries()) {
      assert(r.ok && plain[i].ok);
      assertEquals(r.predictions, (plain[i] as typeof r).predictions);
      assertEquals("explanation" in plain[i], false);
      const png = tf.node.decodePng(r.explanation!);
      assertEquals(png.shape, [16, 16, 3]);
      png.dispose();
    }
    model.dispose();
  });
});

Deno.test("deno task predict --explain DIR: an overlay per photo, JSON paths, replaced on rerun, a user's folder refused", async () => {
  await withTempDir("explain_cli_", async (tmp) => {
    const photos = path.join(tmp, "photos");
    await writeColourFolder(photos, { numClasses: 2, perClass: 1 });
    const modelDir = path.join(tmp, "classifier");
    const { model } = buildClassifier({ base: tinyBase(), augmentation: null, seed: 1, numClasses: 3 });
    await saveModel(model, modelDir, { files: { "metadata.json": JSON.stringify(tinyMetadata()) } });
    model.dispose();
    const out = path.join(tmp, "why");
    const files = ["red/0.png", "green/0.png"].map((f) => path.join(photos, f));
    const run = (...extra: string[]) => task("predict", ["--model", modelDir, "--json", ...extra, ...files]);

    const first = await run("--explain", out);
    assertEquals(first.code, 0, first.stderr);
    const rows = first.stdout.trim().split("\n").map((l) => JSON.parse(l));
    assertEquals(rows.map((r) => r.explanation), [path.join(out, "0.png"), path.join(out, "0-2.png")]);
    assertEquals(fs.readdirSync(out).sort(), [".tl-manifest.json", "0-2.png", "0.png"]);
    const png = tf.node.decodePng(fs.readFileSync(path.join(out, "0.png")));
    assertEquals(png.shape, [16, 16, 3]);
    png.dispose();
    assertMatch(first.stderr, /wrote the Grad-CAM overlays to /);

    const again = await run("--explain", out); // our own folder: replaced
    assertEquals(again.code, 0, again.stderr);

    fs.writeFileSync(path.join(out, "mine.txt"), "the user's");
    const refused = await run("--explain", out);
    assertEquals(refused.code, 2, refused.stderr);
    assertMatch(refused.stderr, /mine\.txt.*pick another --explain folder, or --force/);
    assertEquals(refused.stdout, "", "refused before any work");
    assertEquals(fs.readFileSync(path.join(out, "mine.txt"), "utf8"), "the user's");

    const inside = await task("predict", [
      "--model",
      modelDir,
      "--explain",
      path.join(photos, "why"),
      photos,
    ]);
    assertEquals(inside.code, 2, inside.stderr);
    assertMatch(inside.stderr, /folder being classified/);
    assertEquals(fs.existsSync(path.join(photos, "why")), false);
  });
});
