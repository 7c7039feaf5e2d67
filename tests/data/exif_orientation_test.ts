import fs from "node:fs";
import path from "node:path";
import { tf } from "../../lib/runtime/tf.ts";
import {
  type ImageBatch,
  imageDatasetFromDirectory,
  loadImage,
  type LoadImageOptions,
  readExifOrientation,
} from "../../lib/data/mod.ts";
import { decodeBatch } from "../../lib/data/batch_decoder.ts";
import { displayedPosition, storedPixels, withExifOrientation } from "../../lib/testing/mod.ts";
import { assert, assertEquals, assertNotEquals, assertRejects, assertThrows } from "../_assert.ts";
import { withTempDir } from "../_temp.ts";

const ORIENTATIONS = [1, 2, 3, 4, 5, 6, 7, 8];

/** An upright 5 × 7 RGB picture whose every value differs: any turn or mirror changes it. */
const UPRIGHT: [number, number, number] = [5, 7, 3];
const uprightValues = Array.from({ length: 5 * 7 * 3 }, (_, i) => (i * 37) % 251);

async function png(values: number[], shape: [number, number, number]): Promise<Uint8Array> {
  const image = tf.tensor3d(values, shape, "int32");
  try {
    return await tf.node.encodePng(image);
  } finally {
    image.dispose();
  }
}

async function jpeg(values: number[], shape: [number, number, number]): Promise<Uint8Array> {
  const image = tf.tensor3d(values, shape, "int32");
  try {
    return await tf.node.encodeJpeg(image, "rgb", 95);
  } finally {
    image.dispose();
  }
}

/** The stored picture of {@link UPRIGHT} under `orientation`, as a PNG tagged with it. */
async function phonePng(orientation: number): Promise<{ bytes: Uint8Array; stored: number[] }> {
  const { values, shape } = storedPixels(uprightValues, UPRIGHT, orientation);
  return { bytes: withExifOrientation(await png(values, shape), orientation), stored: values };
}

const decode = (
  bytes: Uint8Array,
  o: Omit<LoadImageOptions, "imageSize"> & { imageSize: [number, number] },
) => tf.tidy(() => Array.from(loadImage(bytes, o).dataSync()));

Deno.test("readExifOrientation reads Orientation 1..8 from a JPEG's APP1 segment and a PNG's eXIf chunk", async () => {
  const plainPng = await png(uprightValues, UPRIGHT);
  const plainJpeg = await jpeg(uprightValues, UPRIGHT);
  for (const o of ORIENTATIONS) {
    assertEquals(readExifOrientation(withExifOrientation(plainPng, o)), o, `PNG ${o}`);
    assertEquals(readExifOrientation(withExifOrientation(plainJpeg, o)), o, `JPEG ${o}`);
  }
});

Deno.test("readExifOrientation: 1 without EXIF, without the tag, for values out of 1..8 and for non-images", async () => {
  const plainPng = await png(uprightValues, UPRIGHT);
  const plainJpeg = await jpeg(uprightValues, UPRIGHT);
  assertEquals(readExifOrientation(plainPng), 1);
  assertEquals(readExifOrientation(plainJpeg), 1);
  assertEquals(readExifOrientation(withExifOrientation(plainJpeg, null)), 1, "EXIF without Orientation");
  for (const bad of [0, 9, 65535]) assertEquals(readExifOrientation(withExifOrientation(plainPng, bad)), 1);
  const truncated = withExifOrientation(plainJpeg, 6).subarray(0, 30); // cut inside the EXIF block
  assertEquals(readExifOrientation(truncated), 1);
  assertEquals(readExifOrientation(new TextEncoder().encode("not an image")), 1);
  assertEquals(readExifOrientation(new Uint8Array(0)), 1);
  const fixtures = path.join("tests", "fixtures", "decode");
  for (const f of ["birds/rgb.bmp", "cats/anim.gif", "cats/rgb.jpg"]) {
    assertEquals(readExifOrientation(fs.readFileSync(path.join(fixtures, f))), 1, f);
  }
});

Deno.test("loadImage orientation exif: each of the 8 orientations gives the upright picture, exactly", async () => {
  const before = tf.memory().numTensors;
  for (const o of ORIENTATIONS) {
    const { bytes, stored } = await phonePng(o);
    const storedSize: [number, number] = o >= 5 ? [UPRIGHT[1], UPRIGHT[0]] : [UPRIGHT[0], UPRIGHT[1]];
    // Resized to its own size: bilinear with half-pixel centres leaves every value as it is.
    assertEquals(
      decode(bytes, { imageSize: [5, 7], orientation: "exif" }),
      uprightValues,
      `orientation ${o}`,
    );
    assertEquals(decode(bytes, { imageSize: storedSize, orientation: "ignore" }), stored, `ignore, ${o}`);
    assertEquals(decode(bytes, { imageSize: storedSize }), stored, `default (Keras'), ${o}`);
    if (o !== 1) assertNotEquals(stored, uprightValues);
  }
  assertEquals(tf.memory().numTensors, before);
});

Deno.test("loadImage orientation exif on JPEGs: the decoded pixels moved as the standard says, for all 8", async () => {
  const before = tf.memory().numTensors;
  const { values: stored, shape } = storedPixels(uprightValues, UPRIGHT, 6); // a 7 × 5 picture stored
  const plain = await jpeg(stored, shape);
  const [h, w] = [shape[0], shape[1]];
  const asStored = decode(plain, { imageSize: [h, w] });
  for (const o of ORIENTATIONS) {
    const tagged = withExifOrientation(plain, o);
    const size: [number, number] = o >= 5 ? [w, h] : [h, w];
    const upright = decode(tagged, { imageSize: size, orientation: "exif" });
    const expected = new Array<number>(upright.length);
    for (let r = 0; r < h; r++) {
      for (let c = 0; c < w; c++) {
        const [dr, dc] = displayedPosition(o, [h, w], [r, c]);
        for (let k = 0; k < 3; k++) expected[(dr * size[1] + dc) * 3 + k] = asStored[(r * w + c) * 3 + k];
      }
    }
    assertEquals(upright, expected, `orientation ${o}`);
    assertEquals(decode(tagged, { imageSize: [h, w], orientation: "ignore" }), asStored);
  }
  assertEquals(tf.memory().numTensors, before);
});

Deno.test("loadImage: the crop and the resize see the upright picture; a bad orientation is refused", async () => {
  const { bytes } = await phonePng(6); // stored 7 × 5, upright 5 × 7
  const plain = await png(uprightValues, UPRIGHT);
  for (
    const o of [{ imageSize: [3, 3] as [number, number], cropToAspectRatio: true }, { imageSize: [4, 9] }]
  ) {
    const options = { ...o, imageSize: o.imageSize as [number, number] };
    assertEquals(decode(bytes, { ...options, orientation: "exif" }), decode(plain, options));
  }
  assertThrows(
    () => loadImage(bytes, { imageSize: [2, 2], orientation: "upright" as "exif" }),
    Error,
    'orientation must be "exif" or "ignore", got "upright"',
  );
});

Deno.test("decodeBatch orientation exif: one session call gives loadImage's pixels for mixed orientations", async () => {
  const files = await Promise.all(ORIENTATIONS.map(async (o) => (await phonePng(o)).bytes));
  files.push(await png(uprightValues, UPRIGHT), fs.readFileSync("tests/fixtures/decode/cats/rgb.jpg"));
  const before = tf.memory().numTensors;
  for (const cropToAspectRatio of [false, true]) {
    const o = {
      imageSize: [4, 6] as [number, number],
      colorMode: "rgb" as const,
      interpolation: "bilinear" as const,
      cropToAspectRatio,
      orientation: "exif" as const,
    };
    for (const part of [files, files.slice(5, 6)]) { // a batch, and a batch of one (its own graph)
      const batch = decodeBatch(part, o);
      const expected = tf.tidy(() => tf.stack(part.map((b) => loadImage(b, o))));
      assertEquals(Array.from(batch.dataSync()), Array.from(expected.dataSync()));
      tf.dispose([batch, expected]);
    }
    const ignored = decodeBatch(files, { ...o, orientation: "ignore" });
    const keras = tf.tidy(() => tf.stack(files.map((b) => loadImage(b, { ...o, orientation: "ignore" }))));
    assertEquals(Array.from(ignored.dataSync()), Array.from(keras.dataSync()));
    tf.dispose([ignored, keras]);
  }
  assertEquals(tf.memory().numTensors, before);
});

Deno.test("imageDatasetFromDirectory orientation: exif yields upright photos, the default (Keras') as stored", async () => {
  await withTempDir("tl-exif-", async (dir) => {
    for (const o of [1, 3, 6, 8]) {
      fs.mkdirSync(path.join(dir, `o${o}`));
      fs.writeFileSync(path.join(dir, `o${o}`, "photo.png"), (await phonePng(o)).bytes);
    }
    const before = tf.memory().numTensors;
    const read = async (orientation?: "exif" | "ignore") => {
      const ds = await imageDatasetFromDirectory(dir, {
        imageSize: [5, 7],
        batchSize: 4,
        shuffle: false,
        verbose: false,
        cache: false,
        ...(orientation ? { orientation } : {}),
      });
      const images: number[][] = [];
      await ds.forEachAsync(({ xs, ys }: ImageBatch) => {
        const [n] = xs.shape;
        const values = Array.from(xs.dataSync());
        for (let i = 0; i < n; i++) images.push(values.slice(i * 105, (i + 1) * 105));
        tf.dispose([xs, ys!]);
      });
      return images;
    };
    const upright = await read("exif");
    assertEquals(upright.length, 4);
    for (const image of upright) assertEquals(image, uprightValues);
    const stored = await read();
    assertEquals(stored[0], uprightValues, "orientation 1 is stored upright");
    assert(stored.slice(1).every((image) => JSON.stringify(image) !== JSON.stringify(uprightValues)));
    assertEquals(tf.memory().numTensors, before);
    await assertRejects(
      () => imageDatasetFromDirectory(dir, { orientation: "auto" as "exif", verbose: false }),
      Error,
      `imageDatasetFromDirectory(${JSON.stringify(dir)}): orientation must be "exif" or "ignore", got "auto"`,
    );
  });
});
