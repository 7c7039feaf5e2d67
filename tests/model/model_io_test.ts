import fs from "node:fs";
import path from "node:path";
import { tf } from "../../lib/runtime/tf.ts";
import type { LayersModel, Tensor } from "../../lib/runtime/tf.ts";
import { loadModel, saveModel } from "../../lib/model/model_io.ts";
import { buildClassifier } from "../../lib/model/classifier.ts";
import { assert, assertEquals, assertMatch, assertRejects } from "../_assert.ts";
import { withTempDir } from "../_temp.ts";
import { deadPid } from "../_process.ts";
import { tinyBase } from "../../lib/testing/tiny.ts";

function model(seed: number): LayersModel {
  return buildClassifier({ base: tinyBase([16, 16, 3], seed), seed }).model;
}

function predict(m: LayersModel): Float32Array {
  return tf.tidy(() => (m.predict(tf.ones([2, 16, 16, 3]).mul(100)) as Tensor).dataSync() as Float32Array);
}

Deno.test("saveModel writes model.json, weights.bin and extra files; loadModel gives the same predictions", async () => {
  await withTempDir("model_io_test_", async (tmp) => {
    const m = model(1);
    const dir = path.join(tmp, "models", "cats");
    const bytes = new Uint8Array([1, 2, 3]);
    await saveModel(m, dir, { files: { "metadata.json": '{"a":1}', "assets/x.bin": bytes } });
    assertEquals(fs.readdirSync(dir).sort(), [
      ".tl-manifest.json",
      "assets",
      "metadata.json",
      "model.json",
      "weights.bin",
    ]);
    assertEquals(await Deno.readTextFile(path.join(dir, "metadata.json")), '{"a":1}');
    assertEquals(await Deno.readFile(path.join(dir, "assets", "x.bin")), bytes);
    assertEquals(fs.readdirSync(path.dirname(dir)), ["cats"], "no temporary folder or lock file is left");
    const loaded = await loadModel(dir);
    assertEquals(predict(loaded), predict(m));
    assertEquals(predict(await loadModel(path.join(dir, "model.json"))), predict(m));
    // Saving again replaces the whole folder: files of the previous save do not linger.
    await saveModel(model(2), dir);
    assertEquals(fs.readdirSync(dir).sort(), [".tl-manifest.json", "model.json", "weights.bin"]);
    for (const x of [m, loaded]) x.dispose();
  });
});

Deno.test("saveModel refuses a .json path, reserved or escaping extra names, and a folder that is not a save", async () => {
  await withTempDir("model_io_test_", async (tmp) => {
    const m = model(1);
    await assertRejects(() => saveModel(m, path.join(tmp, "out", "model.json")), Error, "pass the folder");
    assert(!fs.existsSync(path.join(tmp, "out")), "no folder named model.json (nor its parent) is created");
    for (const name of ["../up.txt", "/abs.txt", "model.json", "weights.bin", ""]) {
      await assertRejects(
        () => saveModel(m, path.join(tmp, "s"), { files: { [name]: "x" } }),
        Error,
        "files",
      );
    }
    const user = path.join(tmp, "notes");
    await Deno.mkdir(user);
    await Deno.writeTextFile(path.join(user, "todo.txt"), "mine");
    await assertRejects(() => saveModel(m, user), Error, "was not written by this project");
    assertEquals(await Deno.readTextFile(path.join(user, "todo.txt")), "mine");
    m.dispose();
  });
});

Deno.test("saveModel: a write failure half-way keeps the previous save whole, with its own weights", async () => {
  await withTempDir("model_io_test_", async (tmp) => {
    const dir = path.join(tmp, "model");
    const first = model(1);
    await saveModel(first, dir, { files: { "metadata.json": "first" } });
    const expected = predict(first);
    // The second save fails after model.json and weights.bin are written: "a" is a file, so "a/b" cannot be.
    await assertRejects(
      () =>
        saveModel(model(2), dir, { files: { "metadata.json": "second", a: "file", "a/b": "below a file" } }),
      Error,
      `could not save to ${dir}`,
    );
    assertEquals(fs.readdirSync(tmp), ["model"], "no temporary folder left");
    assertEquals(await Deno.readTextFile(path.join(dir, "metadata.json")), "first");
    const loaded = await loadModel(dir);
    assertEquals(predict(loaded), expected);
    for (const x of [first, loaded]) x.dispose();
  });
});

Deno.test("saveModel removes leftovers of dead processes and restores a save orphaned between two renames", async () => {
  await withTempDir("model_io_test_", async (tmp) => {
    const dir = path.join(tmp, "model");
    const m = model(1);
    await saveModel(m, dir);
    const dead = await deadPid();
    // A crash between "rename the old save away" and "rename the new one in": only the old one exists.
    const orphan = `${dir}.old-${dead}-0123abcd`;
    await Deno.rename(dir, orphan);
    await Deno.mkdir(`${dir}.saving-${dead}-89abcdef`);
    await Deno.writeTextFile(`${dir}.saving-${dead}-89abcdef/weights.bin`, "partial");
    await assertRejects(() => loadModel(dir), Error, `the previous complete save is ${orphan}`);
    // The next save puts the old one back first, then replaces it; nothing of the dead process remains.
    await saveModel(model(2), dir, { files: { "metadata.json": "{}" } });
    assertEquals(fs.readdirSync(tmp), ["model"]);
    assertEquals(fs.readdirSync(dir).sort(), [
      ".tl-manifest.json",
      "metadata.json",
      "model.json",
      "weights.bin",
    ]);
    m.dispose();
  });
});

Deno.test("saveModel: concurrent saves to one folder take turns; the result is one complete save", async () => {
  await withTempDir("model_io_test_", async (tmp) => {
    const dir = path.join(tmp, "model");
    const models = [model(1), model(2), model(3)];
    await Promise.all(models.map((m, i) => saveModel(m, dir, { files: { "who.txt": String(i) } })));
    const who = Number(await Deno.readTextFile(path.join(dir, "who.txt")));
    const loaded = await loadModel(dir);
    assertEquals(predict(loaded), predict(models[who]));
    assertEquals(fs.readdirSync(tmp), ["model"]);
    for (const x of [...models, loaded]) x.dispose();
  });
});

Deno.test("loadModel names the file and the problem for each corruption, and leaks no tensor", async () => {
  await withTempDir("model_io_test_", async (tmp) => {
    const m = model(1);
    const good = path.join(tmp, "good");
    await saveModel(m, good);
    const json = await Deno.readTextFile(path.join(good, "model.json"));
    const weights = await Deno.readFile(path.join(good, "weights.bin"));
    let n = 0;
    async function corrupt(edit: (dir: string) => Promise<void>, expected: RegExp) {
      const dir = path.join(tmp, `bad${n++}`);
      await Deno.mkdir(dir);
      await Deno.writeTextFile(path.join(dir, "model.json"), json);
      await Deno.writeFile(path.join(dir, "weights.bin"), weights);
      await edit(dir);
      const before = tf.memory().numTensors;
      const e = await assertRejects(() => loadModel(dir));
      assertMatch(e.message, expected);
      assertEquals(tf.memory().numTensors, before, `tensors after: ${e.message}`);
    }
    const file = (dir: string, name: string) =>
      path.join(dir, name).replaceAll(/[.*+?^${}()|[\]\\]/g, "\\$&");
    await corrupt(
      (d) => Deno.writeTextFile(path.join(d, "model.json"), json.slice(0, json.length >> 1)),
      new RegExp(`${file(path.join(tmp, "bad0"), "model.json")} is not valid JSON`),
    );
    await corrupt(async (d) => {
      const j = JSON.parse(json);
      delete j.weightsManifest;
      await Deno.writeTextFile(path.join(d, "model.json"), JSON.stringify(j));
    }, /model\.json has no weightsManifest: the model would load without its trained weights/);
    await corrupt(
      (d) => Deno.writeFile(path.join(d, "weights.bin"), weights.subarray(0, 1000)),
      new RegExp(`${file(path.join(tmp, "bad2"), "weights.bin")} holds 1000 bytes but .*model\\.json lists`),
    );
    await corrupt(
      (d) => Deno.remove(path.join(d, "weights.bin")),
      new RegExp(
        `${file(path.join(tmp, "bad3"), "weights.bin")} \\(listed in .*model\\.json\\) cannot be read`,
      ),
    );
    await corrupt(
      (d) =>
        Deno.writeTextFile(
          path.join(d, "model.json"),
          json.replace('"class_name":"Dense"', '"class_name":"Densest"'),
        ),
      /model\.json uses the layer class "Densest", which is not registered/,
    );
    await corrupt(async (d) => {
      const j = JSON.parse(json);
      j.weightsManifest[0].weights[0].name = "renamed/kernel";
      await Deno.writeTextFile(path.join(d, "model.json"), JSON.stringify(j));
    }, /model\.json does not describe a loadable model/);
    await corrupt(
      (d) => Deno.writeTextFile(path.join(d, "model.json"), "[1, 2]"),
      /model\.json has no modelTopology/,
    );
    await assertRejects(() => loadModel(path.join(tmp, "none")), Error, "does not exist");
    m.dispose();
  });
});
