/**
 * Photos as people see them: the EXIF Orientation tag that phones and cameras write instead of turning the
 * pixels (a portrait photo is stored sideways with Orientation 6), read with the `exifreader` library
 * ({@link readExifOrientation}), and the transform that shows the stored pixels upright
 * ({@link ORIENTATION_TRANSFORMS}) — what every photo viewer and browser does, and what TensorFlow's
 * decoder (hence Keras' `image_dataset_from_directory`) does not.
 *
 * Orientation values (CIPA DC-008, Exif 2.32, tag 0x0112 in IFD0): where the stored image's row 0 and
 * column 0 are shown — 1 top/left (as stored), 2 top/right, 3 bottom/right, 4 bottom/left, 5 left/top,
 * 6 right/top, 7 right/bottom, 8 left/bottom. Only the EXIF tag counts (of a JPEG's APP1 segment, a PNG's
 * `eXIf` chunk, a WebP's `EXIF` chunk), not XMP's `tiff:Orientation`: browsers read the EXIF tag alone.
 * An absent, unreadable or out-of-range value means 1, as in browsers.
 *
 * @module
 */
import ExifReader from "exifreader";

/**
 * How decoding treats the EXIF Orientation tag: `"exif"` shows the photo upright, as photo viewers and
 * browsers do; `"ignore"` keeps the pixels as stored, as TensorFlow and Keras do.
 */
export type OrientationMode = "exif" | "ignore";

/** The values of {@link OrientationMode}. */
export const ORIENTATION_MODES: readonly OrientationMode[] = ["exif", "ignore"];

/** An EXIF Orientation value: 1 (as stored) to 8. */
export type ExifOrientation = 1 | 2 | 3 | 4 | 5 | 6 | 7 | 8;

/**
 * From stored to upright pixels: swap rows and columns first (`transpose`), then reverse the order of the
 * rows (`reverseRows`: upside down) and of the columns (`reverseColumns`: mirrored left to right).
 */
export interface OrientationTransform {
  /** Swap height and width (orientations 5 to 8). */
  transpose: boolean;
  /** Reverse the rows (axis 0) after the transpose. */
  reverseRows: boolean;
  /** Reverse the columns (axis 1) after the transpose. */
  reverseColumns: boolean;
}

const t = (transpose: boolean, reverseRows: boolean, reverseColumns: boolean): OrientationTransform => ({
  transpose,
  reverseRows,
  reverseColumns,
});

/**
 * The transform of each Orientation value. 6 (row 0 on the right, column 0 at the top: the camera was
 * turned a quarter clockwise) is a transpose then a left-right mirror — a quarter turn clockwise.
 *
 * @example Orientation 6 turns the stored image a quarter clockwise
 * ```ts
 * import assert from "node:assert";
 * import { ORIENTATION_TRANSFORMS } from "./mod.ts";
 *
 * assert.deepStrictEqual(ORIENTATION_TRANSFORMS[6], {
 *   transpose: true,
 *   reverseRows: false,
 *   reverseColumns: true,
 * });
 * ```
 */
export const ORIENTATION_TRANSFORMS: Readonly<Record<ExifOrientation, OrientationTransform>> = {
  1: t(false, false, false),
  2: t(false, false, true),
  3: t(false, true, true),
  4: t(false, true, false),
  5: t(true, false, false),
  6: t(true, false, true),
  7: t(true, true, true),
  8: t(true, true, false),
};

const isExifOrientation = (v: unknown): v is ExifOrientation =>
  typeof v === "number" && Number.isInteger(v) && v >= 1 && v <= 8;

/**
 * The EXIF Orientation of the encoded image `bytes` (JPEG, PNG, WebP, TIFF, HEIC): 1 when there is none,
 * when its value is not 1..8, and for formats without EXIF (GIF, BMP) or bytes that are no image —
 * decoding reports those.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { readExifOrientation } from "./mod.ts";
 *
 * assert.equal(readExifOrientation(new TextEncoder().encode("not an image")), 1);
 * ```
 */
export function readExifOrientation(bytes: Uint8Array): ExifOrientation {
  let value: unknown;
  try {
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    value = ExifReader.loadView(view, { includeTags: { exif: ["Orientation"] } }).Orientation?.value;
  } catch {
    return 1; // no metadata, or none readable: shown as stored, by browsers too
  }
  return isExifOrientation(value) ? value : 1;
}

/**
 * `value` as an {@link OrientationMode}; anything else is an error naming `what` (the option) and the
 * allowed values.
 */
export function checkOrientationMode(value: unknown, what = "orientation"): OrientationMode {
  if (!ORIENTATION_MODES.includes(value as OrientationMode)) {
    throw new Error(`${what} must be "exif" or "ignore", got ${JSON.stringify(value)}`);
  }
  return value as OrientationMode;
}
