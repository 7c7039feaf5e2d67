/**
 * Phone photos for the tests and the web check: an image's encoded bytes given an EXIF Orientation tag the
 * way cameras write it ({@link withExifOrientation}: a JPEG APP1 "Exif" segment, a PNG `eXIf` chunk), and the
 * pixels a camera stores for an upright picture under each orientation ({@link storedPixels}), worked out
 * from the wording of the standard rather than from `lib/data`'s transforms, so that tests of those
 * transforms have an independent expectation.
 *
 * Standards: CIPA DC-008 (Exif 2.32) §4.6.4 A, tag 0x0112 Orientation (SHORT, in IFD0), and §4.7.2, the APP1
 * marker segment ("Exif\0\0" then a TIFF structure); PNG Third Edition §11.3.6.1, the `eXIf` chunk (the TIFF
 * structure alone, before the first `IDAT`).
 *
 * @module
 */
import { Buffer } from "node:buffer";
import zlib from "node:zlib";

/** Where the stored image's row 0 and column 0 are shown, per Orientation value (Exif 2.32, tag 0x0112). */
const SIDES: Record<number, { row0: "top" | "bottom" | "left" | "right"; column0: string }> = {
  1: { row0: "top", column0: "left" },
  2: { row0: "top", column0: "right" },
  3: { row0: "bottom", column0: "right" },
  4: { row0: "bottom", column0: "left" },
  5: { row0: "left", column0: "top" },
  6: { row0: "right", column0: "top" },
  7: { row0: "right", column0: "bottom" },
  8: { row0: "left", column0: "bottom" },
};

/**
 * Where the stored pixel `(r, c)` of an `h × w` image with Orientation `orientation` is shown: `[row,
 * column]` in the displayed image (`w × h` for 5–8).
 */
export function displayedPosition(
  orientation: number,
  [h, w]: [number, number],
  [r, c]: [number, number],
): [number, number] {
  const side = SIDES[orientation];
  if (!side) throw new Error(`orientation must be 1..8, got ${orientation}`);
  if (side.row0 === "top" || side.row0 === "bottom") {
    return [side.row0 === "top" ? r : h - 1 - r, side.column0 === "left" ? c : w - 1 - c];
  }
  // Rows of the stored image are columns of the displayed one (displayed size w × h).
  return [side.column0 === "top" ? c : w - 1 - c, side.row0 === "left" ? r : h - 1 - r];
}

/**
 * The pixels a camera stores for the upright `height × width × channels` picture `upright` (row-major
 * values) under `orientation`: returns the stored values and their `[height, width]`.
 */
export function storedPixels(
  upright: ArrayLike<number>,
  [height, width, channels]: [number, number, number],
  orientation: number,
): { values: number[]; shape: [number, number, number] } {
  const [h, w] = orientation >= 5 ? [width, height] : [height, width];
  const values = new Array<number>(h * w * channels);
  for (let r = 0; r < h; r++) {
    for (let c = 0; c < w; c++) {
      const [dr, dc] = displayedPosition(orientation, [h, w], [r, c]);
      for (let k = 0; k < channels; k++) {
        values[(r * w + c) * channels + k] = upright[(dr * width + dc) * channels + k];
      }
    }
  }
  return { values, shape: [h, w, channels] };
}

/**
 * A big-endian TIFF structure whose IFD0 holds Orientation = `orientation` (`null`: no Orientation, only a
 * ResolutionUnit entry, as in a photo whose EXIF says nothing of its orientation).
 */
export function tiffWithOrientation(orientation: number | null): Uint8Array {
  const bytes = new Uint8Array(8 + 2 + 12 + 4);
  const view = new DataView(bytes.buffer);
  bytes.set([0x4d, 0x4d, 0x00, 0x2a]); // "MM", 42
  view.setUint32(4, 8); // IFD0 right after the header
  view.setUint16(8, 1); // one entry
  view.setUint16(10, orientation === null ? 0x0128 : 0x0112); // tag
  view.setUint16(12, 3); // SHORT
  view.setUint32(14, 1); // count
  view.setUint16(18, orientation ?? 2); // value, left-justified in the 4-byte field
  view.setUint32(22, 0); // no next IFD
  return bytes;
}

const concat = (...parts: Uint8Array[]) => new Uint8Array(Buffer.concat(parts));

/** `jpeg` with an APP1 Exif segment holding `tiff`, after the SOI marker and a JFIF APP0 segment if any. */
function jpegWithTiff(jpeg: Uint8Array, tiff: Uint8Array): Uint8Array {
  let at = 2;
  if (jpeg[2] === 0xff && jpeg[3] === 0xe0) at = 4 + ((jpeg[4] << 8) | jpeg[5]);
  const payload = concat(new TextEncoder().encode("Exif\0\0"), tiff);
  const length = payload.length + 2;
  const segment = concat(new Uint8Array([0xff, 0xe1, length >> 8, length & 0xff]), payload);
  return concat(jpeg.subarray(0, at), segment, jpeg.subarray(at));
}

/** `png` with an `eXIf` chunk holding `tiff`, right after `IHDR` (before any `IDAT`). */
function pngWithTiff(png: Uint8Array, tiff: Uint8Array): Uint8Array {
  const ihdrEnd = 8 + 4 + 4 + 13 + 4;
  const type = new TextEncoder().encode("eXIf");
  const chunk = new Uint8Array(12 + tiff.length);
  const view = new DataView(chunk.buffer);
  view.setUint32(0, tiff.length);
  chunk.set(type, 4);
  chunk.set(tiff, 8);
  view.setUint32(8 + tiff.length, zlib.crc32(chunk.subarray(4, 8 + tiff.length)));
  return concat(png.subarray(0, ihdrEnd), chunk, png.subarray(ihdrEnd));
}

/**
 * The encoded image `bytes` (a JPEG or a PNG without EXIF) with an EXIF block holding Orientation =
 * `orientation` (`null`: an EXIF block without Orientation). The pixels are left as they are.
 *
 * @example A PNG's `eXIf` chunk comes right after `IHDR`
 * ```ts
 * import assert from "node:assert";
 * import { tf } from "../runtime/mod.ts";
 * import { withExifOrientation } from "./mod.ts";
 *
 * const image = tf.zeros([2, 3, 3], "int32") as import("../runtime/mod.ts").Tensor3D;
 * const png = await tf.node.encodePng(image);
 * image.dispose();
 * const tagged = withExifOrientation(png, 6);
 * assert.equal(new TextDecoder().decode(tagged.subarray(37, 41)), "eXIf");
 * ```
 */
export function withExifOrientation(bytes: Uint8Array, orientation: number | null): Uint8Array {
  const tiff = tiffWithOrientation(orientation);
  if (bytes[0] === 0xff && bytes[1] === 0xd8) return jpegWithTiff(bytes, tiff);
  if (bytes[0] === 0x89 && bytes[1] === 0x50 && bytes[2] === 0x4e && bytes[3] === 0x47) {
    return pngWithTiff(bytes, tiff);
  }
  throw new Error("withExifOrientation: expected a JPEG or a PNG");
}
