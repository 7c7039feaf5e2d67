/**
 * Photo folders as users really have them, made in a test's temporary folder: images of one colour, a
 * WebP, files of formats TensorFlow does not read, macOS' `._*` files, FIFOs.
 */
import fs from "node:fs";
import path from "node:path";
import { tf } from "../lib/runtime/tf.ts";
import type { Tensor3D } from "../lib/runtime/tf.ts";

/** The colour of {@link RED_WEBP}. */
export const WEBP_COLOUR: [number, number, number] = [200, 10, 30];

/**
 * A 7 × 5 lossless WebP (VP8L) of the one colour {@link WEBP_COLOUR}, 38 bytes as libwebp (through sharp)
 * writes it.
 */
export const RED_WEBP = Uint8Array.from([
  82,
  73,
  70,
  70,
  30,
  0,
  0,
  0,
  87,
  69,
  66,
  80,
  86,
  80,
  56,
  76,
  17,
  0,
  0,
  0,
  47,
  6,
  0,
  1,
  0,
  7,
  80,
  133,
  34,
  215,
  163,
  255,
  129,
  136,
  232,
  127,
  0,
  0,
]);

/** Writes a PNG of one colour at `file` (making its folder): `size` × `size`, or `[height, width]`. */
export async function writePng(
  file: string,
  colour: [number, number, number],
  size: number | [number, number] = 8,
): Promise<void> {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const [height, width] = typeof size === "number" ? [size, size] : size;
  const image = tf.tidy(() =>
    tf.tile(tf.tensor3d(colour, [1, 1, 3], "int32"), [height, width, 1]) as Tensor3D
  );
  const png = await tf.node.encodePng(image);
  image.dispose();
  fs.writeFileSync(file, png);
}

/** Writes `text` at `file` (making its folder): a file that is not an image, or a broken one. */
export function writeText(file: string, text = "not an image"): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, text);
}

/** Makes a FIFO (named pipe) at `file` with `mkfifo`: opening it to read waits for a writer, forever. */
export async function mkfifo(file: string): Promise<void> {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const { code, stderr } = await new Deno.Command("mkfifo", { args: [file], stderr: "piped" }).output();
  if (code !== 0) throw new Error(`mkfifo ${file} failed: ${new TextDecoder().decode(stderr)}`);
}

/** A saved model's folder, as `deno task train --out DIR` leaves it (the files' contents do not matter here). */
export function writeModelFolder(dir: string): void {
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, "model.json"), JSON.stringify({ format: "layers-model" }));
  fs.writeFileSync(path.join(dir, "weights.bin"), new Uint8Array(16));
  fs.writeFileSync(
    path.join(dir, "metadata.json"),
    JSON.stringify({ format: "transfer-learning-ts/classifier", formatVersion: 1 }),
  );
  fs.writeFileSync(path.join(dir, "report.html"), "<html></html>");
}
