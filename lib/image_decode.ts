/**
 * Image decoding and resizing exactly as Keras' `image_dataset_from_directory` does it: TensorFlow's own
 * `DecodeImage` op (`tf.io.decode_image(..., expand_animations=False)`: JPEG, PNG, GIF — first frame — and
 * BMP; grayscale, CMYK and alpha converted by TensorFlow to the requested channels) run on the native
 * backend, then `tf.image.resize` (half-pixel centers, no antialiasing) to float32 values in [0, 255].
 *
 * @module
 */
import { tf } from "./tf.ts";
import type { Tensor, Tensor3D } from "./tf.ts";

/** The file extensions Keras reads (`ALLOWLIST_FORMATS`), matched case-insensitively. */
export const ALLOWED_FORMATS: readonly string[] = [".bmp", ".gif", ".jpeg", ".jpg", ".png"];

/** Keras' `color_mode`: 3, 4 or 1 channels. */
export type ColorMode = "rgb" | "rgba" | "grayscale";

/** Resize methods of `tf.image.resize` available here. */
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
}

/** Thrown for bytes TensorFlow cannot decode; names the file. */
export class ImageDecodeError extends Error {
  constructor(readonly file: string, detail: string, options?: ErrorOptions) {
    super(`Cannot decode image ${file}: ${detail}`, options);
    this.name = "ImageDecodeError";
  }
}

/** Number of channels of a color mode. */
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

/** TensorFlow's `DecodeImage` op: a uint8 tensor `[h, w, channels]` held natively (tfjs labels it int32). */
function decodeNative(bytes: Uint8Array, channels: number): Tensor3D {
  const backend = tf.backend() as unknown as NativeBackend;
  const contents = tf.scalar(bytes, "string");
  try {
    return backend.executeSingleOutput("DecodeImage", [
      { name: "channels", type: backend.binding.TF_ATTR_INT, value: channels },
      { name: "dtype", type: backend.binding.TF_ATTR_TYPE, value: backend.binding.TF_UINT8 },
      { name: "expand_animations", type: backend.binding.TF_ATTR_BOOL, value: false },
    ], [contents]) as Tensor3D;
  } finally {
    contents.dispose();
  }
}

/** Keras' `smart_resize` crop box `[top, left, height, width]` for a `height × width` image. */
export function aspectCropBox(
  height: number,
  width: number,
  [targetHeight, targetWidth]: [number, number],
): [number, number, number, number] {
  const cropHeight = Math.max(Math.min(height, Math.trunc((width * targetHeight) / targetWidth)), 1);
  const cropWidth = Math.max(Math.min(width, Math.trunc((height * targetWidth) / targetHeight)), 1);
  return [Math.trunc((height - cropHeight) / 2), Math.trunc((width - cropWidth) / 2), cropHeight, cropWidth];
}

/**
 * Decodes `bytes` and resizes them to `imageSize`: a float32 tensor `[height, width, channels]` with values
 * in [0, 255], equal to what Keras' `image_dataset_from_directory` yields for that file.
 * `file` only names the source in errors.
 */
export function loadImage(bytes: Uint8Array, options: LoadImageOptions, file = "<bytes>"): Tensor3D {
  const channels = channelsOf(options.colorMode ?? "rgb");
  const interpolation = options.interpolation ?? "bilinear";
  if (interpolation !== "bilinear" && interpolation !== "nearest") {
    throw new Error(`interpolation must be "bilinear" or "nearest", got ${JSON.stringify(interpolation)}`);
  }
  let decoded: Tensor3D;
  try {
    decoded = decodeNative(bytes, channels);
  } catch (e) {
    const message = (e as Error).message.replace(/^Invalid TF_Status: \d+\s*Message:\s*/s, "").trim();
    throw new ImageDecodeError(file, message, { cause: e });
  }
  return tf.tidy(() => {
    let image: Tensor3D = tf.cast(decoded, "int32");
    decoded.dispose();
    if (options.cropToAspectRatio) {
      const [top, left, h, w] = aspectCropBox(image.shape[0], image.shape[1], options.imageSize);
      image = tf.slice(image, [top, left, 0], [h, w, channels]);
    }
    const resized = interpolation === "bilinear"
      ? tf.image.resizeBilinear(image, options.imageSize, false, true)
      : tf.image.resizeNearestNeighbor(image, options.imageSize, false, true);
    return tf.cast(resized, "float32");
  });
}
