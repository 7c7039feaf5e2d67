/**
 * The data folder of `deno task train` as users leave it: a model saved inside it by an earlier run, macOS'
 * `._*` files, a WebP among the photos, a class folder without photos. (The ordinary folders, archives and
 * links: `train_folder_test.ts`.)
 */
import fs from "node:fs";
import path from "node:path";
import { assertEquals, assertRejects } from "../_assert.ts";
import { withTempDir } from "../_temp.ts";
import { folderFingerprint, loadFolderDatasets, resolveDataFolder } from "../../lib/tasks/data_folder.ts";
import { writeColourFolder } from "../../lib/testing/tiny.ts";
import { RED_WEBP, writeModelFolder, writeText } from "../_odd_folders.ts";

const rel = (dir: string, files: string[]) => files.map((f) => path.relative(dir, f)).sort();

Deno.test("a model saved under the data folder (--out DATA/model) is never a class, nor counted in the fingerprint", async () => {
  await withTempDir("data_folder_model_", async (tmp) => {
    const data = path.join(tmp, "photos");
    await writeColourFolder(data, { numClasses: 2, perClass: 5 });
    const before = folderFingerprint(data);
    writeModelFolder(path.join(data, "model"));
    writeText(path.join(data, "red", "._0.png"), "\u0000\u0005\u0016\u0007Mac OS X");
    assertEquals(folderFingerprint(data), before, "the same photos, the same fingerprint");

    const folder = await resolveDataFolder(data);
    assertEquals([folder.trainDir, folder.validationDir], [data, null]);
    const lines: string[] = [];
    const { train, validation, classNames } = await loadFolderDatasets(folder, {
      imageSize: [8, 8],
      batchSize: 4,
      log: (m) => lines.push(...m.split("\n")),
    });
    assertEquals(classNames, ["green", "red"]);
    assertEquals(train.filePaths.length + validation.filePaths.length, 10);
    assertEquals(lines.slice(0, 2), [
      "Found 10 files belonging to 2 classes.",
      'Ignored 1 hidden macOS "._" file.',
    ]);
    assertEquals(
      lines[2],
      "Skipped 1 folder holding a saved model (model.json or metadata.json), which is never data: " +
        path.join(data, "model"),
    );

    // A wrapper folder around the photos and a model saved beside them: the photos are entered.
    const wrapper = path.join(tmp, "wrapper");
    fs.mkdirSync(wrapper);
    fs.renameSync(data, path.join(wrapper, "photos"));
    writeModelFolder(path.join(wrapper, "model"));
    const entered = await resolveDataFolder(wrapper);
    assertEquals([entered.name, entered.trainDir], ["photos", path.join(wrapper, "photos")]);
  });
});

Deno.test("training reads .webp as predict does; a class folder without images is an error, or left out with skipEmptyClasses", async () => {
  await withTempDir("data_folder_webp_", async (tmp) => {
    const data = path.join(tmp, "photos");
    await writeColourFolder(data, { numClasses: 2, perClass: 6, split: 0.5 });
    fs.writeFileSync(path.join(data, "train", "red", "phone.webp"), RED_WEBP);
    writeText(path.join(data, "train", "red", "IMG_0001.heic"));
    for (const part of ["train", "validation"]) fs.mkdirSync(path.join(data, part, "blue"));
    const folder = await resolveDataFolder(data);
    await assertRejects(
      () => loadFolderDatasets(folder, { imageSize: [8, 8], verbose: false, log: () => {} }),
      Error,
      `Class folder ${
        path.join(data, "train", "blue")
      } has no images to learn from: it is empty. Add images ` +
        "(.bmp, .gif, .jpeg, .jpg, .png, .webp) to it or remove it, or leave such folders out with " +
        "skipEmptyClasses (deno task train: --skip-empty-classes).",
    );
    const lines: string[] = [];
    const { train, validation, classNames } = await loadFolderDatasets(folder, {
      imageSize: [8, 8],
      verbose: false,
      skipEmptyClasses: true,
      log: (m) => lines.push(...m.split("\n")),
    });
    assertEquals(classNames, ["green", "red"]);
    assertEquals(rel(data, train.filePaths).filter((f) => f.startsWith("train/red/")), [
      "train/red/3.png",
      "train/red/4.png",
      "train/red/5.png",
      "train/red/phone.webp",
    ]);
    assertEquals(validation.filePaths.length, 6);
    // Warnings come without verbose too: the class left out, the photo not read.
    assertEquals(lines, [
      `Left out class folder ${path.join(data, "train", "blue")}: no images to learn from (it is empty).`,
      "Skipped 1 file: 1 .heic — convert it to JPEG or PNG.",
    ]);
  });
});

Deno.test("resolveDataFolder: test/ beside train/ and validation/ is found as testDir, and only there", async () => {
  await withTempDir("data_folder_test_dir_", async (tmp) => {
    const data = path.join(tmp, "photos");
    for (const part of ["train", "validation", "test"]) {
      await writeColourFolder(path.join(data, part), { numClasses: 2, perClass: 1 });
    }
    const folder = await resolveDataFolder(data);
    assertEquals([folder.validationDir, folder.testDir], [
      path.join(data, "validation"),
      path.join(data, "test"),
    ]);
    const { classNames } = await loadFolderDatasets(folder, { imageSize: [8, 8], verbose: false });
    assertEquals(classNames, ["green", "red"], "test/ is not a class");
    fs.rmSync(path.join(data, "validation"), { recursive: true });
    assertEquals((await resolveDataFolder(data)).testDir, undefined, "without validation/, test/ is a class");
  });
});
