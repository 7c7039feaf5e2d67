/**
 * `saveClassifier` into folders that are not new (lib/tasks/save_classifier.ts, over lib/io/output_folder.ts):
 * what the project wrote is replaced, anything else — the user's notes and photos, another tool's model —
 * is refused before anything is written, or with `force` moved aside whole.
 */
import fs from "node:fs";
import path from "node:path";
import { tf } from "../../lib/runtime/tf.ts";
import type { LayersModel } from "../../lib/runtime/tf.ts";
import { assert, assertEquals, assertMatch, assertRejects } from "../_assert.ts";
import { listTree, withTempDir } from "../_temp.ts";
import { buildClassifier } from "../../lib/model/classifier.ts";
import { saveClassifier } from "../../lib/tasks/save_classifier.ts";
import type { SaveClassifierOptions, TrainingData } from "../../lib/tasks/save_classifier.ts";
import { loadClassifier } from "../../lib/tasks/saved_classifier.ts";
import { readMetadata } from "../../lib/tasks/metadata.ts";
import { OutputFolderError } from "../../lib/io/output_folder.ts";
import { tinyBase } from "../../lib/testing/tiny.ts";

const OURS = [".tl-manifest.json", "metadata.json", "model.json", "report.html", "weights.bin"];

function tinyClassifier(seed = 1): LayersModel {
  return buildClassifier({ base: tinyBase([16, 16, 3], seed), numClasses: 3, augmentation: null, seed })
    .model;
}

const options = { classNames: ["a", "b", "c"], alpha: 0.35 };

/** Writes `files` (relative name → text) under `dir`. */
function put(dir: string, files: Record<string, string>) {
  for (const [name, text] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    fs.writeFileSync(path.join(dir, name), text);
  }
}

/** `listTree` with each file's content, to show nothing changed. */
const snapshot = (dir: string) =>
  listTree(dir).map((p) => {
    const f = path.join(dir, p);
    return fs.statSync(f).isFile() ? `${p}=${fs.readFileSync(f, "hex")}` : p;
  });

Deno.test("saveClassifier over a save beside the user's notes and photos: refused before any work, nothing changed; force moves it all aside", async () => {
  await withTempDir("tl-save-foreign-", async (tmp) => {
    const model = tinyClassifier();
    const out = path.join(tmp, "cats");
    await saveClassifier(model, out, options);
    put(out, { "notes.txt": "my notes", "photos/1.jpg": "jpeg", "photos/2.jpg": "jpeg" });
    const before = snapshot(out);
    const tensors = tf.memory().numTensors;
    const e = await assertRejects(() => saveClassifier(model, out, options), OutputFolderError);
    assertEquals(
      e.message,
      `${out} holds files this project did not write (notes.txt, photos/): pick another --out, or --force to ` +
        `move the old content aside to ${out}.old-<time> (nothing is deleted)`,
    );
    assertEquals(snapshot(out), before);
    assertEquals(fs.readdirSync(tmp), ["cats"], "no lock, no temporary folder");
    assertEquals(tf.memory().numTensors, tensors);

    const said: string[] = [];
    await saveClassifier(model, out, { ...options, force: true, log: (m) => said.push(m) });
    const aside = /aside to (\S+) \(nothing deleted\)$/.exec(said.join("\n"))?.[1];
    assert(aside && aside.startsWith(`${out}.old-`), said.join("\n"));
    assertEquals(snapshot(aside), before, "the old content, the user's files with it, kept whole");
    assertEquals(listTree(out), OURS);
    const saved = await loadClassifier(out);
    saved.model.dispose();
    model.dispose();
  });
});

Deno.test("saveClassifier over another tool's model folder (a Teachable Machine export), with or without photos: refused", async () => {
  await withTempDir("tl-save-tm-", async (tmp) => {
    const model = tinyClassifier();
    const tm = path.join(tmp, "tm");
    const tmMetadata = JSON.stringify({ tfjsVersion: "1.3.1", tmVersion: "2.4.7", labels: ["a", "b", "c"] });
    put(tm, { "model.json": "{}", "metadata.json": tmMetadata, "weights.bin": "w" });
    const before = snapshot(tm);
    await assertRejects(
      () => saveClassifier(model, tm, options),
      OutputFolderError,
      `${tm} was not written by this project (no .tl-manifest.json) and holds metadata.json, model.json, ` +
        `weights.bin: pick another --out`,
    );
    put(tm, { "photos/cat.jpg": "jpeg" });
    await assertRejects(() => saveClassifier(model, tm, options), OutputFolderError, "and 1 more");
    assertEquals(snapshot(tm), [...before, "photos", "photos/cat.jpg=6a706567"].sort(), "nothing changed");
    model.dispose();
  });
});

Deno.test("saveClassifier: a second save over its own folder works; a folder an earlier version saved (no manifest) too, unless the user added or changed a file", async () => {
  await withTempDir("tl-save-again-", async (tmp) => {
    const [first, second] = [tinyClassifier(1), tinyClassifier(2)];
    const out = path.join(tmp, "pets");
    const a = await saveClassifier(first, out, options);
    const b = await saveClassifier(second, out, options);
    assertEquals(listTree(out), OURS);
    assert(a.weightFiles![0].sha256 !== b.weightFiles![0].sha256, "the second model's weights were saved");
    assertEquals(readMetadata(out).weightFiles, b.weightFiles);

    // As an earlier version left it: no manifest, metadata.json without weightFiles.
    fs.rmSync(path.join(out, ".tl-manifest.json"));
    const { weightFiles: _, ...older } = readMetadata(out);
    fs.writeFileSync(path.join(out, "metadata.json"), JSON.stringify(older));
    await saveClassifier(first, out, options);
    assertEquals(listTree(out), OURS);

    // A file the project wrote and the user changed since is the user's now.
    fs.appendFileSync(path.join(out, "report.html"), "<p>my remarks</p>");
    await assertRejects(
      () => saveClassifier(first, out, options),
      OutputFolderError,
      `${out} holds report.html, changed since this project wrote it (yours now)`,
    );
    assertMatch(fs.readFileSync(path.join(out, "report.html"), "utf8"), /my remarks/);
    fs.rmSync(path.join(out, ".tl-manifest.json"));
    put(out, { "README.md": "mine" });
    await assertRejects(
      () => saveClassifier(first, out, options),
      OutputFolderError,
      `${out} holds files this project did not write (README.md)`,
    );
    first.dispose();
    second.dispose();
  });
});

Deno.test("saveClassifier: a symbolic link as the folder is refused, not replaced by a folder; its target is accepted", async () => {
  await withTempDir("tl-save-link-", async (tmp) => {
    const model = tinyClassifier();
    const target = path.join(tmp, "real");
    await saveClassifier(model, target, options);
    const link = path.join(tmp, "latest");
    fs.symlinkSync(target, link);
    await assertRejects(
      () => saveClassifier(model, link, options),
      OutputFolderError,
      `${link} is a symbolic link to ${target}: give --out ${target} to write there`,
    );
    assert(fs.lstatSync(link).isSymbolicLink(), "the link is not replaced by a folder");
    await saveClassifier(model, target, options);
    assertEquals(listTree(link), OURS, "the link shows the new save");
    model.dispose();
  });
});

Deno.test("saveClassifier records the orientation the model was trained with: the data's, the option's, else Keras' (ignore)", async () => {
  await withTempDir("tl-save-orientation-", async (tmp) => {
    const model = tinyClassifier();
    const photos = path.join(tmp, "photos");
    fs.mkdirSync(path.join(photos, "a"), { recursive: true });
    const folder = { source: photos, root: photos, name: "photos", trainDir: photos, validationDir: null };
    const data = (orientation: "exif" | "ignore"): TrainingData => ({
      folder,
      train: { filePaths: [], orientation },
      validation: { filePaths: [] },
    });
    const cases: [string, Partial<SaveClassifierOptions>, string][] = [
      ["none", {}, "ignore"],
      ["data-exif", { data: data("exif") }, "exif"],
      ["data-ignore", { data: data("ignore") }, "ignore"],
      ["option", { data: data("ignore"), orientation: "exif" }, "exif"],
    ];
    for (const [name, extra, expected] of cases) {
      const out = path.join(tmp, name);
      await saveClassifier(model, out, { ...options, ...extra });
      assertEquals(readMetadata(out).preprocessing.orientation, expected, name);
    }
    model.dispose();
  });
});
