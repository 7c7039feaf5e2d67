/**
 * Image decoding and resizing exactly as Keras' `image_dataset_from_directory` does it: TensorFlow's own
 * `DecodeImage` op (`tf.io.decode_image(..., expand_animations=False)`: JPEG, PNG, GIF — first frame — and
 * BMP; grayscale, CMYK and alpha converted by TensorFlow to the requested channels) run on the native
 * backend, then `tf.image.resize` (half-pixel centers, no antialiasing) to float32 values in [0, 255].
 *
 * Optionally (`orientation: "exif"`) the decoded pixels are first turned upright by the photo's EXIF
 * Orientation (`exif_orientation.ts`) — a transpose and reversals of the uint8 image, exact — so that the
 * crop and the resize see the photo as people and browsers do. The default, `"ignore"`, is Keras'.
 *
 * @module
 */
import { tf } from "../runtime/mod.ts";
import type { Tensor, Tensor3D as TfTensor3D } from "../runtime/mod.ts";
import {
  checkOrientationMode,
  ORIENTATION_TRANSFORMS,
  type OrientationMode,
  readExifOrientation,
} from "./exif_orientation.ts";

/** @internal TensorFlow.js' `Tensor3D`, documented by tfjs (keeps `deno doc --lint` from asking us to). */
type Tensor3D = TfTensor3D;

/** The file extensions Keras reads (`ALLOWLIST_FORMATS`), matched case-insensitively. */
export const ALLOWED_FORMATS: readonly string[] = [".bmp", ".gif", ".jpeg", ".jpg", ".png"];

/** Keras' `color_mode`: 3, 4 or 1 channels. */
export type ColorMode = "rgb" | "rgba" | "grayscale";

/**
 * How pixels are resampled (Keras' `interpolation`): the resize methods of `tf.image.resize` available
 * here, and the same two of the augmentation layers.
 */
export type Interpolation = "bilinear" | "nearest";

/** How {@link loadImage} shapes an image. */
export interface LoadImageOptions {
  /** `[height, width]` of the output. */
  imageSize: [number, number];
  /** Default `"rgb"`. */
  colorMode?: ColorMode;
  /** Default `"bilinear"`. */
  interpolation?: Interpolation;
  /** Crop the largest centred window of the target aspect ratio before resizing (Keras' `smart_resize`). */
  cropToAspectRatio?: boolean;
  /**
   * `"exif"`: turn the photo upright by its EXIF Orientation before cropping and resizing, as photo viewers
   * and browsers show it. Default `"ignore"`: the pixels as stored, as Keras decodes them.
   */
  orientation?: OrientationMode;
}

/** Thrown for bytes TensorFlow cannot decode; names the file. */
export class ImageDecodeError extends Error {
  /** `file`: the image (named in the message); `detail`: TensorFlow's reason. */
  constructor(readonly file: string, detail: string, options?: ErrorOptions) {
    super(`Cannot decode image ${file}: ${detail}`, options);
    this.name = "ImageDecodeError";
  }
}

/**
 * Number of channels of a color mode; anything else is an error listing the modes.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { channelsOf } from "./mod.ts";
 *
 * assert.deepStrictEqual([channelsOf("rgb"), channelsOf("rgba"), channelsOf("grayscale")], [3, 4, 1]);
 * ```
 */
export function channelsOf(colorMode: ColorMode): 1 | 3 | 4 {
  switch (colorMode) {
    case "rgb":
      return 3;
    case "rgba":
      return 4;
    case "grayscale":
      return 1;
    default:
      throw new Error(`colorMode must be "rgb", "rgba" or "grayscale", got ${JSON.stringify(colorMode)}`);
  }
}

type NativeBackend = {
  binding: Record<string, number>;
  executeSingleOutput(name: string, attrs: unknown[], inputs: Tensor[]): Tensor;
};

/**
 * Runs TensorFlow op `name` with type attributes given as TF_DataType names (`"TF_UINT8"`). Used for the
 * uint8 images DecodeImage returns, which tfjs (no uint8 dtype) can only pass on untouched.
 */
function native(name: string, attrs: Record<string, string | number | boolean>, inputs: Tensor[]): Tensor {
  const backend = tf.backend() as unknown as NativeBackend;
  const b = backend.binding;
  const list = Object.entries(attrs).map(([key, value]) =>
    typeof value === "boolean"
      ? { name: key, type: b.TF_ATTR_BOOL, value }
      : typeof value === "number"
      ? { name: key, type: b.TF_ATTR_INT, value }
      : { name: key, type: b.TF_ATTR_TYPE, value: b[value] }
  );
  return backend.executeSingleOutput(name, list, inputs);
}

/**
 * Keras' `smart_resize` crop box `[top, left, height, width]` for a `height × width` image: the largest
 * centred window of the target's aspect ratio.
 *
 * @example A 100 × 300 landscape cropped for a square target keeps its middle 100 × 100
 * ```ts
 * import assert from "node:assert";
 * import { aspectCropBox } from "./mod.ts";
 *
 * assert.deepStrictEqual(aspectCropBox(100, 300, [160, 160]), [0, 100, 100, 100]);
 * assert.deepStrictEqual(aspectCropBox(90, 90, [30, 60]), [22, 0, 45, 90]);
 * ```
 */
export function aspectCropBox(
  height: number,
  width: number,
  [targetHeight, targetWidth]: [number, number],
): [number, number, number, number] {
  const cropHeight = Math.max(Math.min(height, Math.trunc((width * targetHeight) / targetWidth)), 1);
  const cropWidth = Math.max(Math.min(width, Math.trunc((height * targetWidth) / targetHeight)), 1);
  return [Math.trunc((height - cropHeight) / 2), Math.trunc((width - cropWidth) / 2), cropHeight, cropWidth];
}

/** TensorFlow's DecodeImage: uint8 `[h, w, channels]`; a failure is an {@link ImageDecodeError} naming it. */
function decodeNative(bytes: Uint8Array, channels: number, file: string): Tensor {
  try {
    return native("DecodeImage", { channels, dtype: "TF_UINT8", expand_animations: false }, [
      tf.scalar(bytes, "string"),
    ]);
  } catch (e) {
    const message = (e as Error).message.replace(/^Invalid TF_Status: \d+\s*Message:\s*/s, "").trim();
    throw new ImageDecodeError(file, message, { cause: e });
  }
}

/**
 * The decoded uint8 `image` of `bytes` turned upright by the EXIF Orientation of `bytes` (`mode` `"exif"`),
 * else as it is: moving pixels only, so the values stay exact.
 */
function orient(image: Tensor, bytes: Uint8Array, mode: OrientationMode): Tensor {
  if (mode === "ignore") return image;
  const { transpose, reverseRows, reverseColumns } = ORIENTATION_TRANSFORMS[readExifOrientation(bytes)];
  let out = image;
  if (transpose) {
    out = native("Transpose", { T: "TF_UINT8", Tperm: "TF_INT32" }, [out, tf.tensor1d([1, 0, 2], "int32")]);
  }
  const axes = [...(reverseRows ? [0] : []), ...(reverseColumns ? [1] : [])];
  if (axes.length > 0) {
    out = native("ReverseV2", { T: "TF_UINT8", Tidx: "TF_INT32" }, [out, tf.tensor1d(axes, "int32")]);
  }
  return out;
}

/**
 * Decodes `bytes` and resizes them to `imageSize`: a float32 tensor `[height, width, channels]` with values
 * in [0, 255], equal to what Keras' `image_dataset_from_directory` yields for that file (with
 * `orientation: "exif"`: for the photo turned upright first). `file` only names the source in errors.
 */
export function loadImage(bytes: Uint8Array, options: LoadImageOptions, file = "<bytes>"): Tensor3D {
  const channels = channelsOf(options.colorMode ?? "rgb");
  const interpolation = options.interpolation ?? "bilinear";
  if (interpolation !== "bilinear" && interpolation !== "nearest") {
    throw new Error(`interpolation must be "bilinear" or "nearest", got ${JSON.stringify(interpolation)}`);
  }
  const orientation = checkOrientationMode(options.orientation ?? "ignore");
  const [height, width] = options.imageSize;
  return tf.tidy(() => {
    let image = orient(decodeNative(bytes, channels, file), bytes, orientation);
    if (options.cropToAspectRatio) {
      const [top, left, h, w] = aspectCropBox(image.shape[0]!, image.shape[1]!, options.imageSize);
      image = native("Slice", { T: "TF_UINT8", Index: "TF_INT32" }, [
        image,
        tf.tensor1d([top, left, 0], "int32"),
        tf.tensor1d([h, w, channels], "int32"),
      ]);
    }
    const batch = native("ExpandDims", { T: "TF_UINT8", Tdim: "TF_INT32" }, [image, tf.scalar(0, "int32")]);
    const size = tf.tensor1d([height, width], "int32");
    const resized = interpolation === "bilinear"
      ? native("ResizeBilinear", { T: "TF_UINT8", align_corners: false, half_pixel_centers: true }, [
        batch,
        size,
      ])
      : native("Cast", { SrcT: "TF_UINT8", DstT: "TF_FLOAT", Truncate: false }, [
        native("ResizeNearestNeighbor", { T: "TF_UINT8", align_corners: false, half_pixel_centers: true }, [
          batch,
          size,
        ]),
      ]);
    return tf.reshape(resized, [height, width, channels]);
  });
}
