/**
 * `--find-lr` (issue 23): the learning-rate finder on the frozen stage of a folder, its curve as an SVG
 * beside the output folder, nothing trained or saved.
 */
import fs from "node:fs";
import path from "node:path";
import { assert, assertEquals, assertMatch } from "../_assert.ts";
import { withTempDir } from "../_temp.ts";
import { tf } from "../../lib/runtime/tf.ts";
import { findFolderLearningRate } from "../../lib/tasks/train_folder.ts";
import { tinyBase, writeColourFolder } from "../../lib/testing/tiny.ts";
import { task } from "../_task.ts";

Deno.test("findFolderLearningRate: a suggested rate and <out>.lr-find.svg; the output folder is not made; no leaks", async () => {
  await withTempDir("train-lr-find-", async (tmp) => {
    const data = path.join(tmp, "colours");
    await writeColourFolder(data, { numClasses: 3, perClass: 16, split: 0.25, seed: 5 });
    const out = path.join(tmp, "model");
    const before = tf.memory().numTensors;
    const lines: string[] = [];
    const { result, svgFile } = await findFolderLearningRate({
      data,
      out,
      imageSize: [16, 16],
      batchSize: 4,
      makeBase: (shape) => tinyBase(shape),
      datasetMessages: false,
      log: (m) => lines.push(m),
    });
    assertEquals(tf.memory().numTensors, before);
    assertEquals(svgFile, `${out}.lr-find.svg`);
    assert(!fs.existsSync(out), "nothing saved");
    assert(result.lrs.length >= 6 && result.lrs.length === result.losses.length);
    assert(result.lrs.every((lr, i) => i === 0 || lr > result.lrs[i - 1]), "rates grow");
    assert(result.suggestion! > 1e-7 && result.suggestion! < 10, `suggestion ${result.suggestion}`);
    const svg = fs.readFileSync(svgFile, "utf8");
    assertMatch(svg, /^<svg/);
    assert(svg.includes("Learning Rate") && svg.includes("suggested"), "axis and suggestion drawn");
    assert(lines.some((l) => l.startsWith("Learning-rate finder:")));
  });
});

Deno.test("deno task train --find-lr --json: the suggestion and the curve's file, exit 0, no model", async () => {
  await withTempDir("train-lr-find-cli-", async (tmp) => {
    const data = path.join(tmp, "colours");
    await writeColourFolder(data, { numClasses: 2, perClass: 12, size: 32, split: 0.25 });
    const out = path.join(tmp, "m");
    const r = await task("train", [
      data,
      ...["--weights", "none", "--alpha", "0.35", "--image-size", "32", "--batch-size", "4"],
      ...["--find-lr", "--json", "--out", out],
    ]);
    assertEquals(r.code, 0, r.stderr);
    const summary = JSON.parse(r.stdout);
    assertEquals(summary.curve, `${out}.lr-find.svg`);
    assert(typeof summary.suggestion === "number", r.stdout);
    assert(fs.existsSync(summary.curve) && !fs.existsSync(out));
  });
});
