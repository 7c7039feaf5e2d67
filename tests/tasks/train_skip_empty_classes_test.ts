/**
 * `--skip-empty-classes` from the command line to the datasets: `deno task train` parses it, `trainFolder`
 * passes it on, and the warning goes where the run's messages go (stderr under `--json`).
 */
import fs from "node:fs";
import path from "node:path";
import { assert, assertEquals, assertRejects } from "../_assert.ts";
import { withTempDir } from "../_temp.ts";
import { trainFolder } from "../../lib/tasks/train_folder.ts";
import { tinyBase, writeColourFolder } from "../../lib/testing/tiny.ts";
import { parseTrainArgs } from "../../tools/cli/train.ts";

Deno.test("deno task train --skip-empty-classes sets skipEmptyClasses; without it the option is unset", () => {
  const parsed = parseTrainArgs(["photos", "--skip-empty-classes"]);
  assert(parsed !== "help");
  assertEquals(parsed.options.skipEmptyClasses, true);
  const plain = parseTrainArgs(["photos"]);
  assert(plain !== "help");
  assertEquals(plain.options.skipEmptyClasses, undefined);
});

Deno.test("trainFolder: an empty class folder stops the run before training, naming it; skipEmptyClasses trains without it and says so", async () => {
  await withTempDir("train_skip_empty_", async (tmp) => {
    const data = path.join(tmp, "photos");
    await writeColourFolder(data, { numClasses: 2, perClass: 4 });
    fs.mkdirSync(path.join(data, "blue"));
    const options = {
      data,
      out: path.join(tmp, "model"),
      epochs: 1,
      fineTuneEpochs: 0,
      imageSize: [16, 16] as [number, number],
      batchSize: 4,
      makeBase: (shape: [number, number, number]) => tinyBase(shape),
      verbose: 0 as const,
      datasetMessages: false,
    };
    await assertRejects(
      () => trainFolder({ ...options, log: () => {} }),
      Error,
      `Class folder ${path.join(data, "blue")} has no images to learn from: it is empty.`,
    );
    assert(!fs.existsSync(options.out), "nothing saved");
    const lines: string[] = [];
    const { model, metadata } = await trainFolder({
      ...options,
      skipEmptyClasses: true,
      log: (m) => lines.push(...m.split("\n")),
    });
    model.optimizer.dispose();
    model.dispose();
    assertEquals(metadata.classNames, ["green", "red"]);
    assert(
      lines.includes(
        `Left out class folder ${path.join(data, "blue")}: no images to learn from (it is empty).`,
      ),
      lines.join("\n"),
    );
  });
});
