/**
 * Phone photos in the own-images tasks: training's datasets turn them upright, `metadata.json` records it,
 * and `predict` follows what the model was trained with (`"ignore"` for files written before it was
 * recorded). The page's side is checked in a browser by tools/browser/web_check.ts.
 */
import fs from "node:fs";
import path from "node:path";
import { tf } from "../../lib/runtime/tf.ts";
import type { Tensor3D } from "../../lib/runtime/tf.ts";
import { buildClassifier } from "../../lib/model/classifier.ts";
import type { ImageBatch } from "../../lib/data/mod.ts";
import { loadFolderDatasets, resolveDataFolder } from "../../lib/tasks/data_folder.ts";
import { orientationOf, parseMetadata, PREPROCESSING } from "../../lib/tasks/metadata.ts";
import { predictFiles } from "../../lib/tasks/predict_files.ts";
import type { FilePrediction } from "../../lib/tasks/predict_files.ts";
import { storedPixels, tinyBase, tinyMetadata, withExifOrientation } from "../../lib/testing/mod.ts";
import { assert, assertEquals, assertThrows } from "../_assert.ts";
import { withTempDir } from "../_temp.ts";

/** An upright 16 × 24 picture, a diagonal gradient: its quarter turns look different to a model. */
const SHAPE: [number, number, number] = [16, 24, 3];
const UPRIGHT = Array.from({ length: 16 * 24 * 3 }, (_, i) => {
  const [r, c, k] = [Math.floor(i / 72), Math.floor(i / 3) % 24, i % 3];
  return k === 0 ? r * 15 : k === 1 ? c * 10 : (r * c) % 256;
});

async function png(values: number[], shape: [number, number, number]): Promise<Uint8Array> {
  const image = tf.tensor3d(values, shape, "int32") as Tensor3D;
  try {
    return await tf.node.encodePng(image);
  } finally {
    image.dispose();
  }
}

/** The picture as a phone stores it with Orientation `o` (pixels sideways, the tag saying so). */
async function phonePhoto(o: number): Promise<Uint8Array> {
  const { values, shape } = storedPixels(UPRIGHT, SHAPE, o);
  return withExifOrientation(await png(values, shape), o);
}

Deno.test("metadata records the orientation; a file without it reads as ignore; a wrong value is refused", () => {
  assertEquals(PREPROCESSING.orientation, "exif");
  const meta = tinyMetadata();
  const text = (preprocessing: unknown) => JSON.stringify({ ...meta, preprocessing });
  assertEquals(orientationOf(parseMetadata(text(PREPROCESSING), "m.json")), "exif");
  assertEquals(
    orientationOf(parseMetadata(text({ ...PREPROCESSING, orientation: "ignore" }), "m.json")),
    "ignore",
  );
  const { orientation: _, ...before } = PREPROCESSING;
  assertEquals(orientationOf(parseMetadata(text(before), "m.json")), "ignore");
  assertThrows(
    () => parseMetadata(text({ ...PREPROCESSING, orientation: "sideways" }), "m/metadata.json"),
    Error,
    'm/metadata.json: preprocessing.orientation must be "exif" or "ignore", got "sideways"',
  );
});

Deno.test("predictFiles follows the model's orientation: exif sees a phone photo upright, ignore as stored", async () => {
  await withTempDir("tl-orient-predict-", async (dir) => {
    const files = {
      phone: path.join(dir, "phone.png"),
      upright: path.join(dir, "upright.png"),
      stored: path.join(dir, "stored.png"),
    };
    fs.writeFileSync(files.phone, await phonePhoto(6));
    fs.writeFileSync(files.upright, await png(UPRIGHT, SHAPE));
    const stored = storedPixels(UPRIGHT, SHAPE, 6);
    fs.writeFileSync(files.stored, await png(stored.values, stored.shape));
    const { model } = buildClassifier({ base: tinyBase([16, 24, 3], 5), numClasses: 3, seed: 2 });
    const before = tf.memory().numTensors;
    const run = async (orientation: "exif" | "ignore") => {
      const metadata = tinyMetadata({
        imageSize: [16, 24],
        preprocessing: { ...PREPROCESSING, orientation },
      });
      const out: Record<string, number[]> = {};
      const all = [files.phone, files.upright, files.stored];
      for await (const r of predictFiles({ model, metadata }, all)) {
        assert(r.ok, JSON.stringify(r));
        const p = (r as Extract<FilePrediction, { ok: true }>).predictions;
        out[path.basename(r.file)] = p.sort((a, b) => a.className < b.className ? -1 : 1).map((c) =>
          c.probability
        );
      }
      return out;
    };
    const exif = await run("exif");
    const ignore = await run("ignore");
    // The same pixels (tests/data/exif_orientation_test.ts): equal up to the batch row's float rounding.
    const close = (a: number[], b: number[]) => a.every((p, k) => Math.abs(p - b[k]) < 1e-6);
    assert(close(exif["phone.png"], exif["upright.png"]), `${exif["phone.png"]} vs ${exif["upright.png"]}`);
    assert(
      close(ignore["phone.png"], ignore["stored.png"]),
      `${ignore["phone.png"]} vs ${ignore["stored.png"]}`,
    );
    assert(
      exif["phone.png"].some((p, k) => Math.abs(p - ignore["phone.png"][k]) > 1e-4),
      `the model tells the turn apart: ${exif["phone.png"]} vs ${ignore["phone.png"]}`,
    );
    assertEquals(tf.memory().numTensors, before);
    model.dispose();
  });
});

Deno.test("loadFolderDatasets (train's data) turns phone photos upright, so the report's top losses show them so", async () => {
  await withTempDir("tl-orient-folder-", async (dir) => {
    for (const [c, orientations] of [["a", [1, 6, 3]], ["b", [8, 2, 5]]] as const) {
      for (const o of orientations) {
        fs.mkdirSync(path.join(dir, "validation", c), { recursive: true });
        fs.mkdirSync(path.join(dir, "train", c), { recursive: true });
        const bytes = await phonePhoto(o);
        fs.writeFileSync(path.join(dir, "validation", c, `o${o}.png`), bytes);
        fs.writeFileSync(path.join(dir, "train", c, `o${o}.png`), bytes);
      }
    }
    const before = tf.memory().numTensors;
    const data = await loadFolderDatasets(await resolveDataFolder(dir), {
      imageSize: [16, 24],
      batchSize: 6,
      verbose: false,
    });
    for (const ds of [data.train, data.validation]) {
      await ds.forEachAsync(({ xs, ys }: ImageBatch) => {
        const values = Array.from(xs.dataSync());
        assertEquals(xs.shape, [6, 16, 24, 3]);
        for (let i = 0; i < 6; i++) {
          assertEquals(values.slice(i * UPRIGHT.length, (i + 1) * UPRIGHT.length), UPRIGHT);
        }
        tf.dispose([xs, ys!]);
      });
      ds.dispose(); // its decoded-image cache
    }
    assertEquals(tf.memory().numTensors, before);
  });
});
