/**
 * `deno task export -- --model DIR --format onnx --out model.onnx`'s work: a saved classifier written as
 * one ONNX file ({@link exportOnnxFile}) — the whole inference model (`lib/model/`'s `exportOnnx`), with
 * its class names, output kind and preprocessing from `metadata.json` in the file's `metadata_props` —
 * checked in ONNX Runtime against TensorFlow.js before anything is written, and written atomically.
 *
 * @module
 */
import fs from "node:fs";
import path from "node:path";
import { tf } from "../runtime/mod.ts";
import type { Tensor4D } from "../runtime/mod.ts";
import { writeFileAtomic } from "../io/mod.ts";
import { readOnnxSummary } from "../graph/mod.ts";
import { exportOnnx, onnxMaxDifference, type OnnxOutputKind } from "../model/mod.ts";
import { loadClassifier } from "./saved_classifier.ts";

/** What `exportOnnx` writes as `producer_name`: a file with another producer is never replaced. */
const PRODUCER = "transfer-learning-ts";

/** Options of {@link exportOnnxFile}. */
export interface OnnxExportFileOptions {
  /** ONNX opset (default 13; `ONNX_OPSETS` lists those written). */
  opset?: number;
  /** The output (default `metadata.json`'s: sigmoid for two classes, softmax for more; or `"logits"`). */
  output?: OnnxOutputKind;
  /** Largest |ONNX Runtime − TensorFlow.js| accepted on the check images (default 1e-4). */
  tolerance?: number;
  /** Random 0..255 images the check runs (default 2). */
  checkImages?: number;
}

/** What {@link exportOnnxFile} wrote. */
export interface OnnxExportFileResult {
  /** The file written (absolute). */
  out: string;
  /** Its size in bytes. */
  bytes: number;
  /** The opset written. */
  opset: number;
  /** The output kind written. */
  output: OnnxOutputKind;
  /** The class names, in output order. */
  classNames: string[];
  /** `[height, width]` of the `images` input. */
  imageSize: [number, number];
  /** Largest |ONNX Runtime − TensorFlow.js| on the check images. */
  maxDifference: number;
}

/** Throws unless `out` can be written: its folder exists, and it is new or an ONNX file this project wrote. */
async function checkTarget(out: string): Promise<void> {
  const dir = path.dirname(out);
  if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) {
    throw new Error(
      `--out ${out}: the folder ${dir} does not exist; create it first or choose another --out`,
    );
  }
  if (!fs.existsSync(out)) return;
  if (!fs.statSync(out).isFile()) {
    throw new Error(`--out ${out} is a folder: give a file name, e.g. model.onnx`);
  }
  const producer = await readOnnxSummary(await Deno.readFile(out)).then((s) => s.producer, () => "");
  if (producer !== PRODUCER) {
    throw new Error(
      `--out ${out} exists and is not an ONNX file written by this export: it is left as it is; remove it ` +
        `yourself or choose another --out`,
    );
  }
}

/**
 * Writes the classifier saved in `modelDir` (`deno task train`'s folder) to `outFile` as an ONNX model,
 * after checking that ONNX Runtime computes what TensorFlow.js computes on random images. Replaces
 * `outFile` only when it is an earlier export.
 *
 * @example Export a saved classifier (needs a trained model: not run here)
 * ```ts ignore
 * import { exportOnnxFile } from "./mod.ts";
 *
 * const result = await exportOnnxFile("models/flowers", "flowers.onnx");
 * console.log(result.bytes, result.maxDifference);
 * ```
 */
export async function exportOnnxFile(
  modelDir: string,
  outFile: string,
  options: OnnxExportFileOptions = {},
): Promise<OnnxExportFileResult> {
  const { opset = 13, tolerance = 1e-4, checkImages = 2 } = options;
  const out = path.resolve(outFile);
  await checkTarget(out);
  const { model, metadata } = await loadClassifier(modelDir);
  const output = options.output ?? metadata.output;
  let images: Tensor4D | undefined;
  try {
    const onnx = await exportOnnx(model, {
      opset,
      output,
      preprocessing: metadata.preprocessing,
      classNames: metadata.classNames,
    });
    images = tf.randomUniform([checkImages, ...metadata.imageSize, 3], 0, 255, "float32", 7) as Tensor4D;
    const maxDifference = await onnxMaxDifference(model, onnx, images, output);
    if (!(maxDifference <= tolerance)) {
      throw new Error(
        `${modelDir}: the ONNX model's outputs differ from TensorFlow.js' by ${maxDifference} (more than ` +
          `${tolerance}); nothing was written`,
      );
    }
    await writeFileAtomic(out, onnx);
    const { classNames, imageSize } = metadata;
    return { out, bytes: onnx.length, opset, output, classNames, imageSize, maxDifference };
  } finally {
    images?.dispose();
    model.dispose();
  }
}
