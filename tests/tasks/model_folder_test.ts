/**
 * A saved classifier's folder is one thing (lib/tasks/saved_classifier.ts): `metadata.json` copied from
 * another model is refused by the weights' SHA-256 it records, and a folder missing because a save into
 * it stopped between its two renames is reported with the previous save's path and what to do.
 */
import fs from "node:fs";
import path from "node:path";
import { tf } from "../../lib/runtime/tf.ts";
import { assertEquals, assertMatch, assertRejects, assertThrows } from "../_assert.ts";
import { withTempDir } from "../_temp.ts";
import { deadPid } from "../_process.ts";
import { buildClassifier } from "../../lib/model/classifier.ts";
import { saveClassifier } from "../../lib/tasks/save_classifier.ts";
import { loadClassifier, resolveModelDir } from "../../lib/tasks/saved_classifier.ts";
import { readMetadata } from "../../lib/tasks/metadata.ts";
import { tinyBase } from "../../lib/testing/tiny.ts";

async function saveTiny(dir: string, seed: number, classNames = ["cat", "dog", "fox"]) {
  const { model } = buildClassifier({
    base: tinyBase([16, 16, 3], seed),
    numClasses: 3,
    seed,
    augmentation: null,
  });
  await saveClassifier(model, dir, { classNames, alpha: 0.35 });
  model.dispose();
}

Deno.test("loadClassifier: a metadata.json copied from another model of the same shape is refused; one written before the hash loads", async () => {
  await withTempDir("tl-swapped-", async (tmp) => {
    const [a, b] = [path.join(tmp, "a"), path.join(tmp, "b")];
    await saveTiny(a, 1, ["cat", "dog", "fox"]);
    await saveTiny(b, 2, ["apple", "pear", "plum"]);
    fs.copyFileSync(path.join(b, "metadata.json"), path.join(a, "metadata.json"));
    const tensors = tf.memory().numTensors;
    const e = await assertRejects(() => loadClassifier(a));
    assertMatch(
      e.message,
      new RegExp(
        `^${a}/metadata\\.json belongs to other weights: it records weights\\.bin with SHA-256 [0-9a-f]{12}…, ` +
          `but ${a}/weights\\.bin has [0-9a-f]{12}… — the metadata was copied from another model, or the ` +
          `weights replaced: put back the metadata\\.json saved with these weights, or train again$`,
      ),
    );
    assertEquals(tf.memory().numTensors, tensors, "refused before the model is built");

    // metadata.json as an earlier version wrote it (no weightFiles): read as before, nothing to check.
    const { weightFiles: _, ...older } = readMetadata(b);
    fs.writeFileSync(path.join(a, "metadata.json"), JSON.stringify(older));
    const saved = await loadClassifier(a);
    assertEquals(saved.metadata.classNames, ["apple", "pear", "plum"]);
    saved.model.dispose();
    assertEquals(tf.memory().numTensors, tensors);

    fs.writeFileSync(
      path.join(a, "metadata.json"),
      JSON.stringify({ ...older, weightFiles: [{ path: "../b/weights.bin", sha256: "0".repeat(64) }] }),
    );
    assertThrows(() => readMetadata(a), Error, "weightFiles must list the weights files");
  });
});

Deno.test("killed between the two renames of a save: loading and --model name the previous save and what to do; the next save puts it back", async () => {
  await withTempDir("tl-interrupted-", async (tmp) => {
    const dir = path.join(tmp, "cats");
    await saveTiny(dir, 1);
    const dead = await deadPid();
    // What swapFolder leaves when killed after renaming the old save away, before renaming the new one in.
    const orphan = `${dir}.old-${dead}-0123abcd`;
    fs.renameSync(dir, orphan);
    fs.mkdirSync(`${dir}.saving-${dead}-89abcdef`);
    const hint = `a save into ${dir} was interrupted (process ${dead} stopped between two renames): the ` +
      `previous complete save is ${orphan} — rename it back (mv '${orphan}' '${dir}'), or save there again`;
    const e = await assertRejects(() => loadClassifier(dir));
    assertEquals(e.message.startsWith(`${dir} does not exist: ${hint}`), true, e.message);
    assertThrows(() => resolveModelDir(dir, tmp), Error, `--model ${dir}: no such folder; ${hint}`);
    assertThrows(() => resolveModelDir("cats", tmp), Error, `--model cats: no such folder; ${hint}`);
    assertThrows(() => readMetadata(dir), Error, hint);

    await saveTiny(dir, 2);
    assertEquals(fs.readdirSync(tmp), ["cats"], "put back, replaced, and nothing of the dead process left");
    const saved = await loadClassifier(dir);
    saved.model.dispose();
  });
});
