import fs from "node:fs";
import path from "node:path";
import {
  classFolders,
  CLASSIFIER_FORMAT,
  isModelFolder,
  listClassFiles,
  listImages,
  pathHash,
  shardFiles,
  shardOf,
  specialFileKind,
} from "../../lib/data/image_files.ts";
import { METADATA_FORMAT } from "../../lib/tasks/metadata.ts";
import { assert, assertEquals, assertThrows } from "../_assert.ts";
import { withTempDir } from "../_temp.ts";
import { mkfifo, writeModelFolder, writeText } from "../_odd_folders.ts";

/** Runs `fn` with a new empty folder, removed afterwards. */
function inTempDir(prefix: string, fn: (dir: string) => void): void {
  const dir = Deno.makeTempDirSync({ prefix });
  try {
    fn(dir);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
}

/** Empty files at `names` under `dir` (the listing does not read them). */
function touch(dir: string, names: string[]): void {
  for (const name of names) writeText(path.join(dir, name), "");
}

/** `files` relative to `dir`. */
const rel = (dir: string, files: string[]) => files.map((f) => path.relative(dir, f));

Deno.test("pathHash is FNV-1a 32 bits (stable across runs and machines)", () => {
  assertEquals(pathHash(""), 0x811c9dc5);
  assertEquals(pathHash("a"), 0xe40c292c);
  assertEquals(pathHash("foobar"), 0xbf9cf968);
});

Deno.test("shardOf: the path under the folder decides, with / separators; shards are roughly even", () => {
  const dir = path.join("/data", "photos");
  const file = path.join(dir, "cats", "cat.1.jpg");
  assertEquals(shardOf(dir, file, 7), pathHash("cats/cat.1.jpg") % 7);
  assertEquals(
    shardOf(path.join("/elsewhere"), path.join("/elsewhere", "cats", "cat.1.jpg"), 7),
    shardOf(dir, file, 7),
  );
  const counts = [0, 0, 0, 0];
  for (let i = 0; i < 4000; i++) counts[shardOf(dir, path.join(dir, "dogs", `dog.${i}.jpg`), 4)]++;
  assert(counts.every((c) => c > 850 && c < 1150), JSON.stringify(counts));
});

Deno.test("shardFiles: N shards of a command line's files are disjoint and cover them, whatever the folder's location", async () => {
  const root = await Deno.makeTempDir({ prefix: "image_files_test_" });
  try {
    const photos = path.join(root, "photos");
    const files: string[] = [];
    for (let i = 0; i < 40; i++) {
      const file = path.join(photos, i % 2 ? "a" : "b", `${i}.jpg`);
      await Deno.mkdir(path.dirname(file), { recursive: true });
      await Deno.writeFile(file, new Uint8Array());
      files.push(file);
    }
    const loose = path.join(root, "loose.png");
    await Deno.writeFile(loose, new Uint8Array());
    const inputs = [photos, loose];
    const all = [...files, loose];
    const parts = [0, 1, 2].map((index) => shardFiles(inputs, all, { index, count: 3 }));
    assertEquals(parts.flat().sort(), [...all].sort());
    assertEquals(new Set(parts.flat()).size, all.length);
    assert(parts.every((p) => p.length > 0));
    // The same folder elsewhere (another machine's mount point) splits the same way.
    const moved = path.join(root, "elsewhere");
    await Deno.rename(photos, moved);
    const again = shardFiles([moved], files.map((f) => f.replace(photos, moved)), { index: 1, count: 3 });
    assertEquals(again, parts[1].filter((f) => f !== loose).map((f) => f.replace(photos, moved)));
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("listImages: hidden and macOS ._ files left out and counted; other formats counted by extension; .webp only with formats: decodable", () => {
  inTempDir("image_files_odd_", (dir) => {
    touch(dir, ["a.jpg", "b.PNG", "._a.jpg", ".hidden.jpg", ".DS_Store", "x.heic", "y.webp", "notes.txt"]);
    touch(dir, ["sub/c.gif", "sub/IMG_1.HEIC", "sub/raw", ".thumbnails/t.jpg"]);
    const keras = listImages(dir);
    assertEquals(rel(dir, keras.files), ["a.jpg", "b.PNG", "sub/c.gif"]);
    assertEquals([...keras.notes.unsupported].sort(), [[".heic", 2], [".webp", 1]]);
    assertEquals([...keras.notes.notImages].sort(), [["", 1], [".txt", 1]]);
    assertEquals([keras.notes.hidden, keras.notes.appleDouble], [4, 1]);
    const decodable = listImages(dir, { formats: "decodable" });
    assertEquals(rel(dir, decodable.files), ["a.jpg", "b.PNG", "y.webp", "sub/c.gif"]);
    assertEquals([...decodable.notes.unsupported], [[".heic", 2]]);
  });
});

Deno.test("listing: a FIFO (or a link to one) named *.jpg is skipped and noted, never opened", async () => {
  await withTempDir("image_files_fifo_", async (dir) => {
    touch(dir, ["cats/a.jpg", "dogs/b.jpg"]);
    await mkfifo(path.join(dir, "cats", "pipe.jpg"));
    fs.symlinkSync("pipe.jpg", path.join(dir, "cats", "to-pipe.jpg"));
    // The assertions come before anything could read the FIFO: on a listing that kept it, reading would hang.
    const listing = listClassFiles(dir, { labelled: true });
    assertEquals(rel(dir, listing.files), ["cats/a.jpg", "dogs/b.jpg"]);
    assertEquals(rel(dir, listing.notes.specialFiles), ["cats/pipe.jpg", "cats/to-pipe.jpg"]);
    assertEquals(specialFileKind(fs.statSync(path.join(dir, "cats", "pipe.jpg"))), "a FIFO (named pipe)");
    assertEquals(specialFileKind(fs.statSync(path.join(dir, "cats", "a.jpg"))), null);
  });
});

Deno.test("links: self -> ., kittens -> cats, cats/loop -> .. are never followed back into the folder; no class holds every photo again", () => {
  inTempDir("image_files_links_", (tmp) => {
    const dir = path.join(tmp, "data");
    touch(dir, ["cats/a.jpg", "cats/b.jpg", "dogs/c.jpg"]);
    touch(tmp, ["outside/d.jpg"]);
    fs.symlinkSync(".", path.join(dir, "self"));
    fs.symlinkSync("cats", path.join(dir, "kittens"));
    fs.symlinkSync("..", path.join(dir, "cats", "loop"));
    fs.symlinkSync(path.join(dir, "dogs"), path.join(dir, "cats", "dogs-too"));
    fs.symlinkSync(path.join(tmp, "outside"), path.join(dir, "dogs", "more"));
    fs.symlinkSync(tmp, path.join(dir, "dogs", "up"));
    assertEquals(classFolders(dir), ["cats", "dogs"]);
    for (const followLinks of [false, true]) {
      const listing = listClassFiles(dir, { labelled: true, followLinks });
      assertEquals(listing.classNames, ["cats", "dogs"]);
      const dogs = followLinks ? ["dogs/c.jpg", "dogs/more/d.jpg"] : ["dogs/c.jpg"];
      assertEquals(rel(dir, listing.files), ["cats/a.jpg", "cats/b.jpg", ...dogs]);
      assertEquals(Array.from(listing.labels!), followLinks ? [0, 0, 1, 1] : [0, 0, 1]);
      const back = ["self", "kittens", ...(followLinks ? ["cats/loop", "cats/dogs-too", "dogs/up"] : [])];
      assertEquals(rel(dir, listing.notes.linksBack).sort(), back.sort());
    }
    // Unlabelled (predict's listing of a folder): the same links are not followed either.
    const all = listImages(dir, { followLinks: true });
    assertEquals(rel(dir, all.files), ["cats/a.jpg", "cats/b.jpg", "dogs/c.jpg", "dogs/more/d.jpg"]);
    assertEquals(new Set(all.files.map((f) => fs.realpathSync(f))).size, 4);
  });
});

Deno.test("a folder holding a saved model is never a class nor data: model.json, or our metadata.json", () => {
  inTempDir("image_files_model_", (dir) => {
    touch(dir, ["cats/a.jpg", "dogs/b.jpg"]);
    writeModelFolder(path.join(dir, "model")); // `deno task train -- DIR --out DIR/model` of an earlier run
    writeText(path.join(dir, "cats", "export", "model.json"), "{}"); // another tool's TensorFlow.js export
    touch(dir, ["cats/export/cover.jpg"]);
    writeText(path.join(dir, "half", "metadata.json"), JSON.stringify({ format: CLASSIFIER_FORMAT }));
    writeText(path.join(dir, "other", "metadata.json"), JSON.stringify({ format: "someone-else" }));
    touch(dir, ["other/c.jpg"]);
    assert(isModelFolder(path.join(dir, "model")) && isModelFolder(path.join(dir, "half")));
    assert(!isModelFolder(path.join(dir, "other")) && !isModelFolder(path.join(dir, "cats")));
    assertEquals(classFolders(dir), ["cats", "dogs", "other"]);
    const listing = listClassFiles(dir, { labelled: true });
    assertEquals(listing.classNames, ["cats", "dogs", "other"]);
    assertEquals(rel(dir, listing.files), ["cats/a.jpg", "dogs/b.jpg", "other/c.jpg"]);
    assertEquals(rel(dir, listing.notes.modelFolders).sort(), ["cats/export", "half", "model"]);
    assertEquals(rel(dir, listImages(dir).notes.modelFolders).sort(), ["cats/export", "half", "model"]);
  });
});

Deno.test("the saved-model marker here is the metadata format lib/tasks writes", () => {
  assertEquals(CLASSIFIER_FORMAT, METADATA_FORMAT);
});

Deno.test("class folders without images: one error naming each with what it holds; skipEmptyClasses leaves them out", () => {
  inTempDir("image_files_empty_", (dir) => {
    touch(dir, [
      "cats/a.jpg",
      "dogs/b.jpg",
      "dogs/c.jpg",
      "notes/readme.txt",
      "phone/IMG_1.HEIC",
      "phone/._x",
    ]);
    fs.mkdirSync(path.join(dir, "empty"));
    const error = assertThrows(() => listClassFiles(dir, { labelled: true }));
    assertEquals(
      error.message,
      `3 class folders of ${dir} have no images to learn from: empty (it is empty); notes (it holds only ` +
        "1 file that is not an image (1 .txt)); phone (it holds only 1 image of a format not read (1 .heic) " +
        'and 1 hidden macOS "._" file — convert it to JPEG or PNG). Add images (.bmp, .gif, ' +
        ".jpeg, .jpg, .png) to them or remove them, or leave such folders out with skipEmptyClasses (deno " +
        "task train: --skip-empty-classes).",
    );
    const one = assertThrows(() => listClassFiles(dir, { labelled: true, classNames: ["cats", "empty"] }));
    assertEquals(
      one.message,
      `Class folder ${path.join(dir, "empty")} has no images to learn from: it is empty. Add images (.bmp, ` +
        ".gif, .jpeg, .jpg, .png) to it or remove it, or leave such folders out with skipEmptyClasses " +
        "(deno task train: --skip-empty-classes).",
    );
    const skipped = listClassFiles(dir, { labelled: true, skipEmptyClasses: true });
    assertEquals(skipped.classNames, ["cats", "dogs"]);
    assertEquals(Array.from(skipped.labels!), [0, 1, 1]);
    assertEquals(skipped.emptyClasses.map((e) => e.name), ["empty", "notes", "phone"]);
    // Class names given (a validation folder following training's): labels follow them, the class stays.
    const given = listClassFiles(dir, {
      labelled: true,
      classNames: ["empty", "dogs"],
      skipEmptyClasses: true,
    });
    assertEquals([given.classNames, Array.from(given.labels!)], [["empty", "dogs"], [1, 1]]);
  });
});
