/**
 * `deno task train --deterministic` end to end: the launcher starts the tool with TensorFlow's
 * deterministic environment, the run is seeded, and two runs save byte-identical weights.
 */
import fs from "node:fs";
import path from "node:path";
import { assert, assertEquals } from "../_assert.ts";
import { withTempDir } from "../_temp.ts";
import { writeColourFolder } from "../../lib/testing/tiny.ts";
import { task } from "../_task.ts";

Deno.test("deno task train --deterministic: two runs save identical weights, recorded in metadata.json", async () => {
  await withTempDir("train-det-", async (tmp) => {
    const data = path.join(tmp, "colours");
    await writeColourFolder(data, { numClasses: 3, perClass: 8, size: 32, split: 0.25 });
    const run = async (out: string) => {
      const r = await task("train", [
        data,
        ...["--weights", "none", "--alpha", "0.35", "--image-size", "32", "--batch-size", "8"],
        ...["--epochs", "2", "--fine-tune-epochs", "1", "--deterministic", "--json", "--out", out],
      ]);
      assertEquals(r.code, 0, r.stderr);
      return { summary: JSON.parse(r.stdout), weights: fs.readFileSync(path.join(out, "weights.bin")) };
    };
    const a = await run(path.join(tmp, "a")), b = await run(path.join(tmp, "b"));
    assert(a.weights.equals(b.weights), "byte-identical weights.bin");
    assertEquals(a.summary.metrics, b.summary.metrics);
    assertEquals(a.summary.kept, b.summary.kept);
    assertEquals(
      [a.summary.kept.keep, a.summary.kept.epochsRun],
      ["best", 3],
      "--json says which epoch was kept",
    );
    const meta = JSON.parse(fs.readFileSync(path.join(tmp, "a", "metadata.json"), "utf8"));
    assertEquals(meta.training.deterministic, true);
  });
});
