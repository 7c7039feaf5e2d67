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
 * One graph per image count (a batch and the last, smaller batch), kept in a small pool of sessions.
 * When any image of a batch fails, {@link decodeBatch} throws and the caller decodes image by image, so
 * that the error names the file (or the file is skipped).
 *
 * @module
 */
import { tf } from "./tf.ts";
import type { Tensor, Tensor4D } from "./tf.ts";
import { DT_FLOAT, DT_INT32, DT_STRING, DT_UINT8, GraphSession, GraphWriter } from "./graph_session.ts";
import { channelsOf, type ColorMode, type Interpolation } from "./image_decode.ts";

/** How a batch is decoded (as `loadImage`, without `cropToAspectRatio`, which stays per image). */
export interface BatchDecodeOptions {
  imageSize: [number, number];
  colorMode: ColorMode;
  interpolation: Interpolation;
}

/** Images per session call: larger batches are decoded in chunks of this size and concatenated. */
export const MAX_GRAPH_IMAGES = 32;
/** Sessions kept (one per image count and decode options). */
const MAX_SESSIONS = 8;
const sessions = new Map<string, GraphSession>();

/** The graph: string `[n]` of encoded files → float32 `[n, height, width, channels]` in [0, 255]. */
function writeGraph(n: number, o: BatchDecodeOptions): { graph: GraphWriter; output: string } {
  const g = new GraphWriter();
  const channels = channelsOf(o.colorMode);
  const input = g.op("files", "Placeholder", [], { dtype: { type: DT_STRING }, shape: { shape: [n] } });
  g.inputs.push(input);
  const files = n === 1
    ? [g.op("file", "Squeeze", [input], { T: { type: DT_STRING }, squeeze_dims: { ints: [0] } })]
    : (() => {
      const parts = g.op("unpack", "Unpack", [input], {
        T: { type: DT_STRING },
        num: { i: n },
        axis: { i: 0 },
      });
      return Array.from({ length: n }, (_, i) => i === 0 ? parts : `${parts}:${i}`);
    })();
  const size = g.constant("size", new Int32Array(o.imageSize), [2]);
  const zero = g.constant("zero", new Int32Array([0]), []);
  const uint8 = { T: { type: DT_UINT8 } };
  const images = files.map((file, i) => {
    const decoded = g.op(`decode_${i}`, "DecodeImage", [file], {
      channels: { i: channels },
      dtype: { type: DT_UINT8 },
      expand_animations: { b: false },
    });
    const batch = g.op(`expand_${i}`, "ExpandDims", [decoded, zero], { ...uint8, Tdim: { type: DT_INT32 } });
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

function session(n: number, o: BatchDecodeOptions): GraphSession {
  const key = `${n}|${o.imageSize.join("x")}|${o.colorMode}|${o.interpolation}`;
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
      const input = tf.tensor1d(part as unknown as string[], "string");
      try {
        chunks.push(session(part.length, o).run([input])[0]);
      } finally {
        input.dispose();
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
