/**
 * `trainFolder` / `deno task train --out`: the output folder is checked before the data is loaded and any
 * training (lib/tasks/train_folder.ts): a folder of the user's, a symbolic link, a folder inside the data
 * (or holding it) are refused in seconds, not after both stages.
 */
import fs from "node:fs";
import path from "node:path";
import { assert, assertEquals, assertMatch, assertRejects } from "../_assert.ts";
import { listTree, withTempDir } from "../_temp.ts";
import { task } from "../_task.ts";
import { trainFolder } from "../../lib/tasks/train_folder.ts";
import type { TrainFolderOptions } from "../../lib/tasks/train_folder.ts";
import { OutputFolderError } from "../../lib/io/output_folder.ts";
import { tinyBase, writeColourFolder } from "../../lib/testing/tiny.ts";
import { tf } from "../../lib/runtime/tf.ts";
import type { LayersModel } from "../../lib/runtime/tf.ts";

/** A quick run on `data` into `out`; `bases` counts the bases made (0: refused before training). */
function runner(data: string) {
  const said: string[] = [];
  let bases = 0;
  const run = (out: string, extra: Partial<TrainFolderOptions> = {}) =>
    trainFolder({
      data,
      out,
      epochs: 1,
      fineTuneEpochs: 0,
      imageSize: [16, 16],
      batchSize: 8,
      makeBase: (shape) => (bases++, tinyBase(shape)),
      log: (m) => said.push(m),
      verbose: 0,
      datasetMessages: false,
      ...extra,
    });
  return { run, said, bases: () => bases };
}

const dispose = (m: LayersModel) => {
  m.optimizer?.dispose();
  m.dispose();
};

Deno.test("trainFolder: --out inside the data folder, or holding it, is refused before the data is loaded", async () => {
  await withTempDir("tl-train-out-data-", async (tmp) => {
    const data = path.join(tmp, "photos");
    await writeColourFolder(data, { numClasses: 2, perClass: 6 });
    const { run, said, bases } = runner(data);
    const tensors = tf.memory().numTensors;
    await assertRejects(
      () => run(path.join(data, "model")),
      OutputFolderError,
      `${
        path.join(data, "model")
      } is inside the data folder ${data}: it would be read as part of it — pick ` +
        `an --out outside it`,
    );
    await assertRejects(() => run(tmp), OutputFolderError, `the data folder ${data} is inside ${tmp}`);
    assertEquals([bases(), said], [0, []], "no base made, not even the data loaded");
    assertEquals(tf.memory().numTensors, tensors);
    assertEquals(fs.existsSync(path.join(data, "model")), false);
  });
});

Deno.test("trainFolder: --out over the user's files is refused before training; --force trains and moves them aside", async () => {
  await withTempDir("tl-train-out-user-", async (tmp) => {
    const data = path.join(tmp, "photos");
    await writeColourFolder(data, { numClasses: 2, perClass: 6 });
    const out = path.join(tmp, "out");
    fs.mkdirSync(path.join(out, "holiday"), { recursive: true });
    fs.writeFileSync(path.join(out, "holiday", "beach.jpg"), "jpeg");
    fs.writeFileSync(path.join(out, "notes.txt"), "mine");
    const { run, said, bases } = runner(data);
    await assertRejects(
      () => run(out),
      OutputFolderError,
      `${out} was not written by this project (no .tl-manifest.json) and holds holiday/, notes.txt`,
    );
    assertEquals([bases(), said], [0, []]);

    const forced = await run(out, { force: true });
    dispose(forced.model);
    const aside = /aside to (\S+) \(nothing deleted\)/.exec(said.join("\n"))?.[1];
    assert(aside, said.join("\n"));
    assertEquals(listTree(aside), ["holiday", "holiday/beach.jpg", "notes.txt"]);
    // A second run over its own save needs no --force.
    const again = await run(out);
    dispose(again.model);
    assertEquals(bases(), 2);
  });
});

Deno.test("trainFolder: a symbolic link as --out is refused before training, and stays a link; its target is accepted", async () => {
  await withTempDir("tl-train-out-link-", async (tmp) => {
    const data = path.join(tmp, "photos");
    await writeColourFolder(data, { numClasses: 2, perClass: 6 });
    const target = path.join(tmp, "models", "v1");
    fs.mkdirSync(target, { recursive: true });
    const link = path.join(tmp, "current");
    fs.symlinkSync(target, link);
    const { run, bases } = runner(data);
    await assertRejects(
      () => run(link),
      OutputFolderError,
      `${link} is a symbolic link to ${target}: give --out ${target} to write there`,
    );
    assertEquals(bases(), 0);
    const result = await run(target);
    dispose(result.model);
    assert(fs.lstatSync(link).isSymbolicLink());
    assert(fs.existsSync(path.join(link, "weights.bin")), "the link shows the new model");
  });
});

Deno.test("deno task train --out over a folder of the user's: exit 2 with one line before any training", async () => {
  await withTempDir("tl-train-cli-out-", async (tmp) => {
    const data = path.join(tmp, "photos");
    await writeColourFolder(data, { numClasses: 2, perClass: 4, size: 32 });
    const out = path.join(tmp, "mine");
    fs.mkdirSync(out);
    fs.writeFileSync(path.join(out, "thesis.tex"), "mine");
    const r = await task("train", [
      data,
      "--weights",
      "none",
      "--alpha",
      "0.35",
      "--image-size",
      "32",
      "--out",
      out,
    ]);
    assertEquals(r.code, 2, r.stderr);
    assertMatch(
      r.stderr.trim(),
      /^train: .*mine was not written by this project \(no \.tl-manifest\.json\) and holds thesis\.tex: pick another --out, or --force to move the old content aside to .*mine\.old-<time> \(nothing is deleted\)/,
    );
    assertEquals(r.stderr.trim().split("\n").length, 1, r.stderr);
    assertEquals(/Epoch|Training images/.test(r.stdout), false, r.stdout);
    assertEquals(listTree(out), ["thesis.tex"]);
  });
});
