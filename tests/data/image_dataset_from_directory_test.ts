/**
 * `imageDatasetFromDirectory` on folders as users have them: what it lists, what it says it left out (the
 * exact lines), and the class folders it refuses or skips. The Keras-faithful behaviour on ordinary folders
 * is tested in `image_dataset_test.ts`.
 */
import fs from "node:fs";
import path from "node:path";
import { tf } from "../../lib/runtime/tf.ts";
import {
  type ImageBatch,
  type ImageDataset,
  imageDatasetFromDirectory,
  type ImageDatasetOptions,
} from "../../lib/data/mod.ts";
import { assert, assertEquals, assertRejects } from "../_assert.ts";
import { withTempDir } from "../_temp.ts";
import { mkfifo, RED_WEBP, WEBP_COLOUR, writeModelFolder, writePng, writeText } from "../_odd_folders.ts";

const BLUE: [number, number, number] = [20, 40, 220];
const GREEN: [number, number, number] = [30, 200, 40];

/** Two classes of two PNGs each: `cats/a.png`, `cats/b.png`, `dogs/c.png`, `dogs/d.png`. */
async function twoClasses(dir: string): Promise<void> {
  for (const f of ["cats/a.png", "cats/b.png"]) await writePng(path.join(dir, f), BLUE);
  for (const f of ["dogs/c.png", "dogs/d.png"]) await writePng(path.join(dir, f), GREEN);
}

/** The dataset of `dir` and the lines it logged (the cache line left out). */
async function listed(
  dir: string,
  options: ImageDatasetOptions = {},
): Promise<{ ds: ImageDataset; lines: string[] }> {
  const lines: string[] = [];
  const ds = await imageDatasetFromDirectory(dir, {
    imageSize: [5, 7],
    shuffle: false,
    batchSize: 8,
    log: (m) => lines.push(...m.split("\n").filter((l) => !l.startsWith("Keeping all"))),
    ...options,
  });
  return { ds, lines };
}

/** Every image of one epoch, as nested arrays, disposing the batches. */
async function images(ds: ImageDataset): Promise<number[][][][]> {
  const out: number[][][][] = [];
  await ds.forEachAsync((b: ImageBatch) => {
    out.push(...(b.xs.arraySync() as number[][][][]));
    tf.dispose([b.xs, b.ys!]);
  });
  return out;
}

const rel = (dir: string, files: string[]) => files.map((f) => path.relative(dir, f));

Deno.test("one .webp among PNGs: read with formats: decodable (its pixels are the file's), named in the summary line with Keras' formats; no tensor leaks", async () => {
  await withTempDir("idfd_webp_", async (dir) => {
    await twoClasses(dir);
    fs.writeFileSync(path.join(dir, "cats", "c.webp"), RED_WEBP);
    writeText(path.join(dir, "dogs", "IMG_0001.HEIC"), "a phone photo TensorFlow does not read");

    const keras = await listed(dir);
    assertEquals(keras.lines, [
      "Found 4 files belonging to 2 classes.",
      'Skipped 2 files: 1 .heic, 1 .webp — convert them to JPEG or PNG (.webp: or list with formats: "decodable", which reads it).',
    ]);

    const { ds, lines } = await listed(dir, { formats: "decodable" });
    assertEquals(lines, [
      "Found 5 files belonging to 2 classes.",
      "Skipped 1 file: 1 .heic — convert it to JPEG or PNG.",
    ]);
    assertEquals(rel(dir, ds.filePaths), [
      "cats/a.png",
      "cats/b.png",
      "cats/c.webp",
      "dogs/c.png",
      "dogs/d.png",
    ]);
    for (const cache of [false, "float32"] as const) {
      const before = tf.memory().numTensors;
      const { ds: again } = await listed(dir, { formats: "decodable", cache, batchSize: 3 });
      const all = await images(again);
      assertEquals(tf.memory().numTensors, before + again.cacheInfo().images, "no tensor but the cache's");
      again.dispose();
      assertEquals(tf.memory().numTensors, before, "no tensor left behind");
      assertEquals(all.length, 5);
      assert(
        all[2].flat().every((px) => px.join() === WEBP_COLOUR.join()),
        `the WebP's pixels: ${all[2][0]}`,
      );
      assert(all[0].flat().every((px) => px.join() === BLUE.join()));
    }
  });
});

Deno.test("macOS ._ files and hidden files do not stop training: left out, counted when verbose, silent otherwise", async () => {
  await withTempDir("idfd_hidden_", async (dir) => {
    await twoClasses(dir);
    // What a copy from a Mac leaves beside each photo: an AppleDouble file, not a PNG.
    writeText(path.join(dir, "cats", "._a.png"), "\u0000\u0005\u0016\u0007Mac OS X        ATTR");
    writeText(path.join(dir, "dogs", ".c.png.swp"), "an editor's swap file");
    writeText(path.join(dir, "dogs", "notes.txt"), "where the photos come from");
    const { ds, lines } = await listed(dir);
    assertEquals(lines, [
      "Found 4 files belonging to 2 classes.",
      'Ignored 2 hidden files (1 of them macOS "._" files) and 1 file that is not an image (1 .txt).',
    ]);
    assertEquals((await images(ds)).length, 4, "every batch decodes");
    const silent = await listed(dir, { verbose: false });
    assertEquals(silent.lines, [], "nothing to warn of");
  });
});

Deno.test("a class folder that is empty, holds only .txt or only .heic is an error naming it; skipEmptyClasses: a warning and no class", async () => {
  await withTempDir("idfd_empty_", async (dir) => {
    await twoClasses(dir);
    fs.mkdirSync(path.join(dir, "birds"));
    writeText(path.join(dir, "fish", "readme.txt"));
    writeText(path.join(dir, "owls", "IMG_1.heic"));
    writeText(path.join(dir, "owls", "IMG_2.heic"));
    await assertRejects(
      () => listed(dir),
      Error,
      `3 class folders of ${dir} have no images to learn from: birds (it is empty); fish (it holds only 1 ` +
        "file that is not an image (1 .txt)); owls (it holds only 2 images of a format not read (2 .heic) — " +
        "convert them to JPEG or PNG). Add images",
    );
    await assertRejects(() => listed(dir, { verbose: false }), Error, "skipEmptyClasses");
    const { ds, lines } = await listed(dir, { skipEmptyClasses: true });
    assertEquals(lines, [
      "Found 4 files belonging to 2 classes.",
      `Left out class folder ${path.join(dir, "birds")}: no images to learn from (it is empty).`,
      `Left out class folder ${path.join(dir, "fish")}: no images to learn from (it holds only 1 file that ` +
      "is not an image (1 .txt)).",
      `Left out class folder ${
        path.join(dir, "owls")
      }: no images to learn from (it holds only 2 images of a ` +
      "format not read (2 .heic) — convert them to JPEG or PNG).",
      "Skipped 2 files: 2 .heic — convert them to JPEG or PNG; ignored 1 file that is not an image (1 .txt).",
    ]);
    assertEquals(ds.classNames, ["cats", "dogs"]);
    const quiet = await listed(dir, { skipEmptyClasses: true, verbose: false });
    assertEquals(quiet.lines.length, 4, `warnings even when not verbose: ${quiet.lines.join("\n")}`);
  });
});

Deno.test("a FIFO named *.jpg in a class folder is skipped with a warning and never opened", async () => {
  await withTempDir("idfd_fifo_", async (dir) => {
    await twoClasses(dir);
    const fifo = path.join(dir, "cats", "pipe.jpg");
    await mkfifo(fifo);
    const { ds, lines } = await listed(dir);
    // Checked before iterating: a dataset holding the FIFO would wait on it forever.
    assertEquals(rel(dir, ds.filePaths), ["cats/a.png", "cats/b.png", "dogs/c.png", "dogs/d.png"]);
    assertEquals(lines, [
      "Found 4 files belonging to 2 classes.",
      `Skipped 1 special file (a FIFO, socket or device: not an image, never opened): ${fifo}`,
    ]);
    assertEquals((await images(ds)).length, 4);
  });
});

Deno.test("a self-link loop and a model saved under the data folder make no class; links back are never followed", async () => {
  await withTempDir("idfd_links_", async (dir) => {
    await twoClasses(dir);
    fs.symlinkSync(".", path.join(dir, "self"));
    fs.symlinkSync("..", path.join(dir, "cats", "loop"));
    writeModelFolder(path.join(dir, "model"));
    for (const followLinks of [false, true]) {
      const { ds, lines } = await listed(dir, { followLinks });
      assertEquals(ds.classNames, ["cats", "dogs"]);
      assertEquals(ds.filePaths.length, 4, "no photo twice");
      const back = followLinks
        ? `2 linked folders leading back into the folder (a loop, or the same photos ` +
          `a second time): ${path.join(dir, "self")}, ${path.join(dir, "cats", "loop")}`
        : `1 linked folder ` +
          `leading back into the folder (a loop, or the same photos a second time): ${
            path.join(dir, "self")
          }`;
      assertEquals(lines, [
        "Found 4 files belonging to 2 classes.",
        `Did not follow ${back}`,
        "Skipped 1 folder holding a saved model (model.json or metadata.json), which is never data: " +
        path.join(dir, "model"),
      ]);
    }
  });
});

Deno.test("onError: skip reports each file left out through log", async () => {
  await withTempDir("idfd_log_", async (dir) => {
    await twoClasses(dir);
    writeText(path.join(dir, "dogs", "e.png"), "not a png at all");
    const { ds, lines } = await listed(dir, { onError: "skip", verbose: false });
    assertEquals(lines.length, 0);
    assertEquals((await images(ds)).length, 4);
    assertEquals(lines.length, 1);
    assert(lines[0].startsWith(`Skipped ${path.join(dir, "dogs", "e.png")} (1 skipped so far)`), lines[0]);
  });
});

Deno.test("the listing options are checked before any work", async () => {
  const missing = "/no/such/folder";
  for (
    const [o, text] of [
      [{ formats: "webp" }, 'formats must be "keras" or "decodable", got "webp"'],
      [{ skipEmptyClasses: "yes" }, 'skipEmptyClasses must be true or false, got "yes"'],
      [{ log: "stderr" }, "log must be a function of one message"],
    ] as Array<[Record<string, unknown>, string]>
  ) {
    await assertRejects(() => imageDatasetFromDirectory(missing, o as ImageDatasetOptions), Error, text);
  }
});
