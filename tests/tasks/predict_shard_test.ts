/**
 * The shard recipe of the README, end to end: N `deno task predict --shard I/N` processes at once over one
 * folder write N result files that together hold every image exactly once (tiny random-weight model).
 */
import fs from "node:fs";
import path from "node:path";
import { assert, assertEquals, assertMatch } from "../_assert.ts";
import { withTempDir } from "../_temp.ts";
import { writeColourFolder } from "../../lib/testing/tiny.ts";
import { task } from "../_task.ts";

Deno.test("predict --shard I/N: N processes at once cover every image exactly once; bad shards are usage errors", async () => {
  await withTempDir("h14-shard-", async (tmp) => {
    const data = path.join(tmp, "colours");
    await writeColourFolder(data, { numClasses: 3, perClass: 12, size: 32, split: 0.5 });
    const model = path.join(tmp, "model");
    const train = await task("train", [
      data,
      ...["--weights", "none", "--alpha", "0.35", "--image-size", "32", "--batch-size", "8"],
      ...["--epochs", "1", "--fine-tune-epochs", "0", "--out", model],
    ]);
    assertEquals(train.code, 0, train.stderr);

    const folder = path.join(data, "validation");
    const count = 3;
    const runs = await Promise.all(
      [...Array(count).keys()].map((i) =>
        task("predict", ["--model", model, "--json", "--shard", `${i}/${count}`, folder])
      ),
    );
    const files = runs.map((r, i) => {
      assertEquals(r.code, 0, `shard ${i}: ${r.stderr}`);
      return r.stdout.trim().split("\n").filter((l) => l).map((l) => JSON.parse(l).file as string);
    });
    const all = fs.readdirSync(folder, { recursive: true, withFileTypes: true })
      .filter((e) => e.isFile()).map((e) => path.join(e.parentPath, e.name)).sort();
    assertEquals(files.flat().sort(), all, "together the shards hold every image once");
    assert(files.every((f) => f.length > 0 && f.length < all.length), files.map((f) => f.length).join(" "));

    for (const bad of ["3/3", "1", "-1/2", "a/b"]) {
      const r = await task("predict", ["--model", model, "--shard", bad, folder]);
      assertEquals(r.code, 2, bad);
      // "-1/2" is refused by the argument parser itself (it looks like an option).
      assertMatch(
        r.stderr,
        bad.startsWith("-") ? /'--shard'/ : /--shard: expected INDEX\/COUNT with 0 ≤ INDEX < COUNT/,
      );
    }
  });
});
