/**
 * Decoding a whole batch of images in one TensorFlow session call, on TensorFlow's own threads.
 *
 * `loadImage` (image_decode.ts) runs DecodeImage and ResizeBilinear eagerly, one image after the other on
 * the JavaScript thread. Here a small graph takes the encoded files of a batch as one string tensor, splits
 * it (`Unpack`), decodes and resizes every image in its own branch and concatenates the results: the
 * branches are independent, so TensorFlow's executor runs them in parallel on its inter-op threads, the
 * way `tf.data`'s parallel `map` does in Keras. The ops and attributes are the same as `loadImage`'s, so
 * the pixels are identical (tests compare them with the Keras fixture).
 *
 * With `orientation: "exif"` each image is turned upright by its EXIF Orientation right after decoding, as
 * `loadImage` does: the graph then takes, besides the files, each image's transposition and reversals
 * (`Transpose`, `Reverse`; read from the files by `readExifOrientation` before the call).
 *
 * One graph per image count (a batch and the last, smaller batch), kept in a small pool of sessions.
 * When any image of a batch fails, {@link decodeBatch} throws and the caller decodes image by image, so
 * that the error names the file (or the file is skipped).
 *
 * @module
 */
import { tf } from "../runtime/mod.ts";
import type { Tensor, Tensor4D } from "../runtime/mod.ts";
import { DT_BOOL, DT_FLOAT, DT_INT32, DT_STRING, DT_UINT8, GraphSession, GraphWriter } from "../graph/mod.ts";
import { channelsOf, type ColorMode, type Interpolation } from "./image_decode.ts";
import { ORIENTATION_TRANSFORMS, type OrientationMode, readExifOrientation } from "./exif_orientation.ts";

/** How a batch is decoded (as `loadImage`). */
export interface BatchDecodeOptions {
  imageSize: [number, number];
  colorMode: ColorMode;
  interpolation: Interpolation;
  /** Keras' `smart_resize` crop (`aspectCropBox`, computed in the graph from each image's shape). */
  cropToAspectRatio?: boolean;
  /** `"exif"`: each image turned upright by its EXIF Orientation first; default `"ignore"` (Keras'). */
  orientation?: OrientationMode;
}

/** Images per session call: larger batches are decoded in chunks of this size and concatenated. */
export const MAX_GRAPH_IMAGES = 32;
/** Sessions kept (one per image count and decode options). */
const MAX_SESSIONS = 8;
const sessions = new Map<string, GraphSession>();

/**
 * A placeholder of `n` rows (`[n, ...row]` of `type`) split into its rows, as the graph's next input: the
 * `i`-th name is row `i`.
 */
function rowsOf(g: GraphWriter, name: string, n: number, type: number, row: number[]): string[] {
  const input = g.op(name, "Placeholder", [], { dtype: { type }, shape: { shape: [n, ...row] } });
  g.inputs.push(input);
  if (n === 1) return [g.op(`${name}_row`, "Squeeze", [input], { T: { type }, squeeze_dims: { ints: [0] } })];
  const parts = g.op(`${name}_rows`, "Unpack", [input], { T: { type }, num: { i: n }, axis: { i: 0 } });
  return Array.from({ length: n }, (_, i) => i === 0 ? parts : `${parts}:${i}`);
}

/**
 * Inputs turning each decoded image upright (`orientation: "exif"`): per image, the permutation of
 * `Transpose` (int32 `[3]`) and the axes `Reverse` reverses (int32 0/1 `[3]`, cast to bool).
 */
function orientationInputs(g: GraphWriter, n: number): { perms: string[]; reversals: string[] } {
  const perms = rowsOf(g, "perms", n, DT_INT32, [3]);
  const flags = rowsOf(g, "reversals", n, DT_INT32, [3]);
  const reversals = flags.map((f, i) =>
    g.op(`reverse_dims_${i}`, "Cast", [f], {
      SrcT: { type: DT_INT32 },
      DstT: { type: DT_BOOL },
      Truncate: { b: false },
    })
  );
  return { perms, reversals };
}

/** The graph's orientation inputs for `files`: what {@link orientationInputs} takes, as int32 tensors. */
function orientationTensors(files: Uint8Array[]): Tensor[] {
  const transforms = files.map((f) => ORIENTATION_TRANSFORMS[readExifOrientation(f)]);
  const perms = transforms.flatMap((t) => t.transpose ? [1, 0, 2] : [0, 1, 2]);
  const reversals = transforms.flatMap((t) => [Number(t.reverseRows), Number(t.reverseColumns), 0]);
  return [tf.tensor2d(perms, [files.length, 3], "int32"), tf.tensor2d(reversals, [files.length, 3], "int32")];
}

/**
 * The graph: string `[n]` of encoded files (and, with `orientation: "exif"`, the orientation inputs) →
 * float32 `[n, height, width, channels]` in [0, 255].
 */
function writeGraph(n: number, o: BatchDecodeOptions): { graph: GraphWriter; output: string } {
  const g = new GraphWriter();
  const channels = channelsOf(o.colorMode);
  const files = rowsOf(g, "files", n, DT_STRING, []);
  const upright = o.orientation === "exif" ? orientationInputs(g, n) : null;
  const size = g.constant("size", new Int32Array(o.imageSize), [2]);
  const zero = g.constant("zero", new Int32Array([0]), []);
  const uint8 = { T: { type: DT_UINT8 } };
  const images = files.map((file, i) => {
    let decoded = g.op(`decode_${i}`, "DecodeImage", [file], {
      channels: { i: channels },
      dtype: { type: DT_UINT8 },
      expand_animations: { b: false },
    });
    if (upright) {
      const turned = g.op(`transpose_${i}`, "Transpose", [decoded, upright.perms[i]], {
        ...uint8,
        Tperm: { type: DT_INT32 },
      });
      decoded = g.op(`reverse_${i}`, "Reverse", [turned, upright.reversals[i]], uint8);
    }
    const image = o.cropToAspectRatio ? cropToAspect(g, decoded, i, o.imageSize) : decoded;
    const batch = g.op(`expand_${i}`, "ExpandDims", [image, zero], { ...uint8, Tdim: { type: DT_INT32 } });
    const resizeAttrs = { ...uint8, align_corners: { b: false }, half_pixel_centers: { b: true } };
    if (o.interpolation === "bilinear") {
      return g.op(`resize_${i}`, "ResizeBilinear", [batch, size], resizeAttrs);
    }
    const nearest = g.op(`resize_${i}`, "ResizeNearestNeighbor", [batch, size], resizeAttrs);
    return g.op(`cast_${i}`, "Cast", [nearest], {
      SrcT: { type: DT_UINT8 },
      DstT: { type: DT_FLOAT },
      Truncate: { b: false },
    });
  });
  if (n === 1) return { graph: g, output: images[0] };
  const axis = g.constant("axis", new Int32Array([0]), []);
  const output = g.op("batch", "ConcatV2", [...images, axis], {
    T: { type: DT_FLOAT },
    N: { i: n },
    Tidx: { type: DT_INT32 },
  });
  return { graph: g, output };
}

/**
 * `aspectCropBox` (image_decode.ts) in graph ops: the largest centred window of the target aspect ratio,
 * with the same integer arithmetic (sizes are positive, so truncation is floor division).
 */
function cropToAspect(g: GraphWriter, image: string, i: number, [th, tw]: [number, number]): string {
  const int = { T: { type: DT_INT32 } };
  const k = (name: string, v: number) => g.constant(`${name}_${i}`, new Int32Array([v]), []);
  const shape = g.op(`shape_${i}`, "Shape", [image], { T: { type: DT_UINT8 }, out_type: { type: DT_INT32 } });
  const dim = (d: number) =>
    g.op(`dim${d}_${i}`, "StridedSlice", [
      shape,
      g.constant(`b${d}_${i}`, new Int32Array([d]), [1]),
      g.constant(`e${d}_${i}`, new Int32Array([d + 1]), [1]),
      g.constant(`s${d}_${i}`, new Int32Array([1]), [1]),
    ], {
      ...int,
      Index: { type: DT_INT32 },
      begin_mask: { i: 0 },
      end_mask: { i: 0 },
      ellipsis_mask: { i: 0 },
      new_axis_mask: { i: 0 },
      shrink_axis_mask: { i: 1 },
    });
  const [h, w] = [dim(0), dim(1)];
  const one = k("one", 1);
  const two = k("two", 2);
  // One side of the crop: max(min(own, other · num ÷ den), 1).
  const side = (name: string, [own, other]: string[], [num, den]: number[]) => {
    const scaled = g.op(`${name}_scaled_${i}`, "FloorDiv", [
      g.op(`${name}_mul_${i}`, "Mul", [other, k(`${name}_num`, num)], int),
      k(`${name}_den`, den),
    ], int);
    return g.op(
      `${name}_${i}`,
      "Maximum",
      [g.op(`${name}_min_${i}`, "Minimum", [own, scaled], int), one],
      int,
    );
  };
  const cropH = side("crop_h", [h, w], [th, tw]);
  const cropW = side("crop_w", [w, h], [tw, th]);
  const offset = (name: string, size: string, crop: string) =>
    g.op(`${name}_${i}`, "FloorDiv", [g.op(`${name}_sub_${i}`, "Sub", [size, crop], int), two], int);
  const pack = (name: string, parts: string[]) =>
    g.op(`${name}_${i}`, "Pack", parts, { ...int, N: { i: 3 }, axis: { i: 0 } });
  const begin = pack("begin", [offset("top", h, cropH), offset("left", w, cropW), k("zero_c", 0)]);
  const size = pack("size", [cropH, cropW, k("all_c", -1)]);
  return g.op(`crop_${i}`, "Slice", [image, begin, size], {
    T: { type: DT_UINT8 },
    Index: { type: DT_INT32 },
  });
}

function session(n: number, o: BatchDecodeOptions): GraphSession {
  const key = `${n}|${o.imageSize.join("x")}|${o.colorMode}|${o.interpolation}|${
    o.cropToAspectRatio ?? false
  }|${o.orientation ?? "ignore"}`;
  let s = sessions.get(key);
  if (s) {
    sessions.delete(key); // re-inserted last: the map's order is least recently used first
  } else {
    const { graph, output } = writeGraph(n, o);
    s = GraphSession.load(graph, [output]);
    if (sessions.size >= MAX_SESSIONS) {
      const [oldest, old] = sessions.entries().next().value!;
      sessions.delete(oldest);
      old.dispose();
    }
  }
  sessions.set(key, s);
  return s;
}

/**
 * Decodes and resizes the encoded images `files` (float32 `[n, height, width, channels]`, values as
 * `loadImage`'s). Throws, leaving no tensor behind, when any of them cannot be decoded.
 */
export function decodeBatch(files: Uint8Array[], o: BatchDecodeOptions): Tensor4D {
  if (files.length === 0) throw new Error("decodeBatch: no images");
  const chunks: Tensor[] = [];
  try {
    for (let start = 0; start < files.length; start += MAX_GRAPH_IMAGES) {
      const part = files.slice(start, start + MAX_GRAPH_IMAGES);
      const inputs: Tensor[] = [tf.tensor1d(part as unknown as string[], "string")];
      try {
        if (o.orientation === "exif") inputs.push(...orientationTensors(part));
        chunks.push(session(part.length, o).run(inputs)[0]);
      } finally {
        tf.dispose(inputs);
      }
    }
    if (chunks.length === 1) return chunks[0] as Tensor4D;
    const batch = tf.concat(chunks) as Tensor4D;
    tf.dispose(chunks);
    return batch;
  } catch (e) {
    tf.dispose(chunks);
    throw e;
  }
}
