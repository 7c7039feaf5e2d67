/** `--model` of predict, serve and export: `resolveModelDir` and `listModels` (lib/tasks/saved_classifier.ts). */
import fs from "node:fs";
import path from "node:path";
import { assert, assertEquals, assertMatch, assertThrows } from "../_assert.ts";
import { listModels, resolveModelDir } from "../../lib/tasks/saved_classifier.ts";

/** Runs `fn` in a new temporary folder, removed afterwards. */
function inTemp(fn: (dir: string) => void): void {
  const dir = Deno.makeTempDirSync({ prefix: "model-arg-" });
  try {
    fn(dir);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** models/ with two classifiers (metadata.json is what marks one), a folder that is not one, a hidden one. */
function makeModels(root: string): string {
  const models = path.join(root, "models");
  for (const name of ["pets", "flowers", ".partial", "notes"]) {
    fs.mkdirSync(path.join(models, name), { recursive: true });
  }
  for (const name of ["pets", "flowers", ".partial"]) {
    fs.writeFileSync(path.join(models, name, "metadata.json"), "{}");
    fs.writeFileSync(path.join(models, name, "model.json"), "{}");
  }
  fs.writeFileSync(path.join(models, "notes", "readme.txt"), "not a model");
  return models;
}

Deno.test("listModels: the folders holding a metadata.json, sorted, hidden ones left out", () => {
  inTemp((tmp) => {
    const models = makeModels(tmp);
    assertEquals(listModels(models), ["flowers", "pets"]);
    assertEquals(listModels(path.join(tmp, "none")), []);
  });
});

Deno.test("resolveModelDir: a folder as is; a file inside it or a bare name stand for the folder, and say so", () => {
  inTemp((tmp) => {
    const models = makeModels(tmp);
    const pets = path.join(models, "pets");
    assertEquals(resolveModelDir(pets, models), { dir: pets });
    const file = resolveModelDir(path.join(pets, "model.json"), models);
    assertEquals(file.dir, pets);
    assertMatch(file.note!, /--model .*pets\/model\.json is a file: using its folder .*pets$/);
    const named = resolveModelDir("flowers", models);
    assertEquals(named.dir, path.join(models, "flowers"));
    assertMatch(named.note!, /--model flowers: using .*models\/flowers$/);
  });
});

Deno.test("resolveModelDir: a wrong --model lists the models there are and how to train one", () => {
  inTemp((tmp) => {
    const models = makeModels(tmp);
    const listed =
      `the models under ${models}/: ${path.join(models, "flowers")}, ${path.join(models, "pets")} ` +
      "(or `deno task train -- DIR` trains one on a folder of class folders)";
    const missing = assertThrows(() => resolveModelDir(path.join(models, "pet"), models), Error).message;
    assertEquals(missing, `--model ${path.join(models, "pet")}: no such folder; ${listed}`);
    const missingFile = assertThrows(() =>
      resolveModelDir(path.join(models, "x", "model.json"), models)
    ).message;
    assert(missingFile.endsWith(listed), missingFile);
    const notModel = assertThrows(() => resolveModelDir(path.join(models, "notes"), models)).message;
    assertMatch(
      notModel,
      /notes has no metadata\.json: not a classifier written by `deno task train`; the models under/,
    );
    const stray =
      assertThrows(() => resolveModelDir(path.join(models, "notes", "readme.txt"), models)).message;
    assertMatch(stray, /readme\.txt is a file, not a classifier folder; the models under/);
    const empty = path.join(tmp, "empty");
    fs.mkdirSync(empty);
    assertEquals(
      assertThrows(() => resolveModelDir("pets", empty)).message,
      `--model pets: no such folder; there is no trained model under ${empty}/ yet: ` +
        "`deno task train -- DIR` trains one on a folder of class folders",
    );
  });
});
