import path from "node:path";
import { tf } from "../../lib/runtime/tf.ts";
import { decodeBatch, MAX_GRAPH_IMAGES } from "../../lib/data/batch_decoder.ts";
import { loadImage } from "../../lib/data/image_decode.ts";
import { PROJECT_ROOT } from "../../lib/runtime/config.ts";
import { assert, assertEquals, assertThrows } from "../_assert.ts";

const DECODE = path.join(PROJECT_ROOT, "tests", "fixtures", "decode");
const FILES = [
  "birds/alpha.png",
  "birds/rgb.bmp",
  "cats/cmyk.jpg",
  "cats/rgb.jpg",
  "dogs/gray.png",
  "cats/anim.gif",
];

Deno.test("decodeBatch: one session call gives loadImage's exact pixels, in order, for each mode", async () => {
  const bytes = await Promise.all(FILES.map((f) => Deno.readFile(path.join(DECODE, f))));
  for (
    const o of [
      {
        imageSize: [6, 8] as [number, number],
        colorMode: "rgb" as const,
        interpolation: "bilinear" as const,
      },
      {
        imageSize: [5, 9] as [number, number],
        colorMode: "grayscale" as const,
        interpolation: "nearest" as const,
      },
    ]
  ) {
    const before = tf.memory().numTensors;
    // TensorFlow decodes GIFs and CMYK JPEGs to RGB only.
    const files = o.colorMode === "grayscale" ? [bytes[0], bytes[3], bytes[4]] : bytes;
    const batch = decodeBatch(files, o);
    const expected = tf.tidy(() => tf.stack(files.map((b) => loadImage(b, o))));
    assertEquals(batch.shape, expected.shape);
    assertEquals(Array.from(batch.dataSync()), Array.from(expected.dataSync()));
    tf.dispose([batch, expected]);
    assertEquals(tf.memory().numTensors, before);
  }
});

Deno.test("decodeBatch: batches larger than one graph are decoded in chunks; a bad image throws and leaves nothing", async () => {
  const one = await Deno.readFile(path.join(DECODE, "cats", "rgb.jpg"));
  const o = {
    imageSize: [4, 4] as [number, number],
    colorMode: "rgb" as const,
    interpolation: "bilinear" as const,
  };
  const before = tf.memory().numTensors;
  const many = decodeBatch(Array(MAX_GRAPH_IMAGES + 3).fill(one), o);
  assertEquals(many.shape, [MAX_GRAPH_IMAGES + 3, 4, 4, 3]);
  many.dispose();
  const files = Array(MAX_GRAPH_IMAGES + 3).fill(one);
  files[MAX_GRAPH_IMAGES + 1] = new TextEncoder().encode("not an image");
  assertThrows(() => decodeBatch(files, o));
  assertEquals(tf.memory().numTensors, before);
});

Deno.test("decodeBatch: cropToAspectRatio in the graph crops as aspectCropBox (Keras' smart_resize)", async () => {
  const bytes = await Promise.all(FILES.slice(0, 5).map((f) => Deno.readFile(path.join(DECODE, f))));
  for (const imageSize of [[4, 7], [7, 3], [5, 5]] as Array<[number, number]>) {
    const o = {
      imageSize,
      colorMode: "rgb" as const,
      interpolation: "bilinear" as const,
      cropToAspectRatio: true,
    };
    const before = tf.memory().numTensors;
    const batch = decodeBatch(bytes, o);
    const expected = tf.tidy(() => tf.stack(bytes.map((b) => loadImage(b, o))));
    const uncropped = decodeBatch(bytes, { ...o, cropToAspectRatio: false });
    assertEquals(Array.from(batch.dataSync()), Array.from(expected.dataSync()), `${imageSize}`);
    assert(
      Array.from(uncropped.dataSync()).some((v, i) => v !== batch.dataSync()[i]),
      "the crop changes the pixels",
    );
    tf.dispose([batch, expected, uncropped]);
    assertEquals(tf.memory().numTensors, before);
  }
});
