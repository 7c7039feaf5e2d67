/**
 * Inference speed of the exported ONNX model in ONNX Runtime (`onnxruntime-node`, CPU) beside the same
 * classifier's `predict` in tfjs-node (what `deno task predict` runs: the base as one TensorFlow graph), on
 * the same machine, batch 1 and 32, random 0..255 images (speed does not depend on the pixels).
 *
 *     deno run -A bench/onnx_speed.ts                       # MobileNetV2 0.35 at 224, ImageNet weights
 *     deno run -A bench/onnx_speed.ts --alpha 1.0 --size 160 # the tutorial's model (random weights)
 *
 * Options: `--runs` timed runs per case (default 20), `--warmup` (default 3), `--out FILE` (default
 * `out/bench/onnx_speed.json`). The two runtimes alternate run by run, so that a load from elsewhere on a
 * shared machine falls on both. Prints a table and writes the JSON with the machine's CPU and the date.
 *
 * @module
 */
import fs from "node:fs";
import path from "node:path";
import { parseArgs } from "node:util";
import { PROJECT_ROOT, resolveMirror, tensorflowVersion, tf } from "../lib/runtime/mod.ts";
import type { LayersModel, Tensor, Tensor4D } from "../lib/runtime/mod.ts";
import { OnnxSession } from "../lib/graph/mod.ts";
import { buildClassifier, exportOnnx, mobileNetV2 } from "../lib/model/mod.ts";

const { values: args } = parseArgs({
  args: Deno.args,
  options: {
    alpha: { type: "string", default: "0.35" },
    size: { type: "string", default: "224" },
    runs: { type: "string", default: "20" },
    warmup: { type: "string", default: "3" },
    out: { type: "string", default: path.join(PROJECT_ROOT, "out", "bench", "onnx_speed.json") },
  },
});
const alpha = Number(args.alpha);
const size = Number(args.size);
const runs = Number(args.runs);
const warmup = Number(args.warmup);

function cpuModel(): string {
  const text = new TextDecoder().decode(new Deno.Command("lscpu").outputSync().stdout);
  return text.match(/^Model name:\s*(.+)$/m)?.[1].trim() ?? "unknown";
}

/** The mirror's ImageNet weights for alpha 0.35 (`../shared`), when there. */
const WEIGHTS_035 = path.join(
  resolveMirror() ?? path.join(PROJECT_ROOT, "..", "shared"),
  "weights",
  "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_0.35_224_no_top.h5",
);

async function classifier(): Promise<{ model: LayersModel; weights: string }> {
  const imagenet = alpha === 0.35 && fs.existsSync(WEIGHTS_035);
  const weights = imagenet ? WEIGHTS_035 : null;
  const base = await mobileNetV2({ inputShape: [size, size, 3], alpha, includeTop: false, weights });
  const { model } = buildClassifier({ base, numClasses: 2, seed: 1 });
  return { model, weights: imagenet ? "imagenet" : "random" };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function measure(model: LayersModel, session: OnnxSession, batch: number) {
  const x = tf.randomUniform([batch, size, size, 3], 0, 255, "float32", 1) as Tensor4D;
  const pixels = x.dataSync() as Float32Array;
  const tfjs = () => tf.tidy(() => tf.sigmoid(model.predict(x) as Tensor).dataSync());
  const ort = () => session.run(pixels, [batch, size, size, 3]);
  for (let i = 0; i < warmup; i++) {
    tfjs();
    await ort();
  }
  const times = { tfjs: [] as number[], ort: [] as number[] };
  for (let i = 0; i < runs; i++) {
    let t = performance.now();
    tfjs();
    times.tfjs.push(performance.now() - t);
    t = performance.now();
    await ort();
    times.ort.push(performance.now() - t);
  }
  x.dispose();
  const row = (ms: number[]) => ({
    medianMs: +median(ms).toFixed(2),
    minMs: +Math.min(...ms).toFixed(2),
    imagesPerSecond: +(batch / (median(ms) / 1000)).toFixed(1),
  });
  return { batch, tfjsNode: row(times.tfjs), onnxRuntime: row(times.ort) };
}

const { model, weights } = await classifier();
const session = await OnnxSession.create(await exportOnnx(model));
const cases = [];
for (const batch of [1, 32]) cases.push(await measure(model, session, batch));
await session.release();
model.dispose();

const ort = await import("onnxruntime-node");
const result = {
  date: new Date().toISOString(),
  cpu: cpuModel(),
  cores: navigator.hardwareConcurrency,
  model: { alpha, size, weights, output: "sigmoid" },
  versions: {
    tfjsNode: tf.version.tfjs,
    tensorflow: tensorflowVersion(),
    onnxRuntime: ort.env.versions.node,
  },
  runs,
  warmup,
  cases,
};
console.log(`${result.cpu}, ${result.cores} cores, ${result.date}; MobileNetV2 ${alpha} at ${size}×${size}`);
for (const c of cases) {
  console.log(
    `batch ${c.batch}: tfjs-node ${c.tfjsNode.medianMs} ms (${c.tfjsNode.imagesPerSecond} img/s), ` +
      `ONNX Runtime ${c.onnxRuntime.medianMs} ms (${c.onnxRuntime.imagesPerSecond} img/s)`,
  );
}
fs.mkdirSync(path.dirname(path.resolve(args.out!)), { recursive: true });
fs.writeFileSync(args.out!, JSON.stringify(result, null, 1) + "\n");
