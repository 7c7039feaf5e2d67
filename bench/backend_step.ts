/**
 * What the native backend buys: one training step of the tutorial's model, the same script on TensorFlow.js'
 * pure-JavaScript `cpu` backend and on the native `tensorflow` backend (tfjs-node).
 *
 *     deno run -A bench/backend_step.ts --backend tensorflow   # builds the base, saves it to out/bench/
 *     deno run -A bench/backend_step.ts --backend cpu          # loads that base with plain @tensorflow/tfjs
 *
 * Options: `--phases frozen,finetune` (default both; a fine-tuning step takes minutes on `cpu`),
 * `--steps`, `--warmup`, `--batch-size` (default 32).
 *
 * The project's `lib/runtime/tf.ts` refuses anything but the native backend, so in `cpu` mode this script does not
 * import `lib/` at all: it imports `@tensorflow/tfjs` + `@tensorflow/tfjs-backend-cpu` and loads the base
 * MobileNetV2 (weights included) from the tfjs-format copy the `tensorflow` run saved. The step itself is
 * written here with plain tfjs ops — flip and rotation augmentation, `x/127.5 − 1`, the base in inference
 * mode, global average pooling, dropout 0.2, one-logit dense, cross-entropy from logits — so both backends
 * run exactly the same code; it is not `lib/`'s training path (see `train_bench.ts --step-only` for that).
 *
 * @module
 */
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import * as tfjs from "@tensorflow/tfjs";
import "@tensorflow/tfjs-backend-cpu";

const { values: args } = parseArgs({
  args: Deno.args,
  options: {
    backend: { type: "string", default: "cpu" },
    steps: { type: "string" },
    warmup: { type: "string" },
    "batch-size": { type: "string", default: "32" },
    phases: { type: "string", default: "frozen,finetune" },
  },
});
const backend = args.backend!;
if (backend !== "cpu" && backend !== "tensorflow") {
  throw new Error(`--backend ${backend}: expected cpu or tensorflow`);
}
const steps = Number(args.steps ?? (backend === "cpu" ? 2 : 10));
const warmup = Number(args.warmup ?? (backend === "cpu" ? 1 : 3));
const batchSize = Number(args["batch-size"]);
for (
  const [name, n, min] of [["steps", steps, 1], ["warmup", warmup, 0], ["batch-size", batchSize, 1]] as const
) {
  if (!Number.isInteger(n) || n < min) {
    throw new Error(`--${name}: expected a whole number ≥ ${min}, got ${n}`);
  }
}

const PROJECT_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const alpha = Number(Deno.env.get("TL_ALPHA") || 0.35);
const saved = path.join(PROJECT_ROOT, "out", "bench", `mobilenet_v2_${alpha}_160`);

type Tf = typeof tfjs;
let tf: Tf = tfjs;
let environment: Record<string, unknown> = {};
let base: tfjs.LayersModel;

if (backend === "tensorflow") {
  // The project's path: tfjs-node, native kernels, the base built and loaded by lib/.
  const lib = await import("../lib/runtime/mod.ts");
  const { mobileNetV2 } = await import("../lib/model/mod.ts");
  const { benchSettings } = await import("./workload.ts");
  tf = lib.tf as unknown as Tf;
  const s = benchSettings();
  base = await mobileNetV2({
    inputShape: [160, 160, 3],
    alpha: s.alpha,
    includeTop: false,
    weights: s.weightsUrl ?? "imagenet",
    cacheDir: s.cacheDir,
  }) as unknown as tfjs.LayersModel;
  fs.mkdirSync(saved, { recursive: true });
  await base.save(`file://${saved}`);
  environment = { tensorflow: lib.tensorflowVersion() };
} else {
  await tf.setBackend("cpu");
  const json = path.join(saved, "model.json");
  if (!fs.existsSync(json)) {
    throw new Error(
      `${json} is missing: run \`deno run -A bench/backend_step.ts --backend tensorflow\` first`,
    );
  }
  const artifacts = JSON.parse(fs.readFileSync(json, "utf8"));
  const specs = artifacts.weightsManifest.flatMap((g: { weights: unknown[] }) => g.weights);
  const buffers = artifacts.weightsManifest.flatMap((g: { paths: string[] }) =>
    g.paths.map((p) => fs.readFileSync(path.join(saved, p)))
  );
  const weightData = new Uint8Array(buffers.reduce((n: number, b: Uint8Array) => n + b.byteLength, 0));
  let offset = 0;
  for (const b of buffers) {
    weightData.set(b, offset);
    offset += b.byteLength;
  }
  base = await tf.loadLayersModel(
    tf.io.fromMemory({
      modelTopology: artifacts.modelTopology,
      weightSpecs: specs,
      weightData: weightData.buffer,
    }),
  );
}
if (tf.getBackend() !== backend) throw new Error(`backend is ${tf.getBackend()}, expected ${backend}`);

/** Rotation about the centre by `angle` (output → input pixel), as Keras' RandomRotation builds it. */
function rotation(angle: number, h: number, w: number): number[] {
  const c = Math.cos(angle), s = Math.sin(angle), cx = (w - 1) / 2, cy = (h - 1) / 2;
  return [c, -s, cx - c * cx + s * cy, s, c, cy - s * cx - c * cy, 0, 0];
}

const x = tf.randomUniform([batchSize, 160, 160, 3], 0, 255);
const y = tf.cast(tf.greater(tf.randomUniform([batchSize, 1]), 0.5), "float32");
const features = (base.outputs[0].shape.at(-1)) as number;
const kernel = tf.variable(tf.randomNormal([features, 1], 0, 0.05), true, "dense/kernel");
const bias = tf.variable(tf.zeros([1]), true, "dense/bias");

function loss(): tfjs.Scalar {
  const [b, h, w] = x.shape;
  const flip = tf.reshape(tf.less(tf.randomUniform([b]), 0.5), [b, 1, 1, 1]);
  const flipped = tf.where(tf.broadcastTo(flip, x.shape), tf.reverse(x, 2), x) as tfjs.Tensor4D;
  const angles = Array.from({ length: b }, () => (Math.random() * 2 - 1) * 0.2 * 2 * Math.PI);
  const rotated = tf.image.transform(
    flipped,
    tf.tensor2d(angles.flatMap((a) => rotation(a, h, w)), [b, 8]),
    "bilinear",
    "reflect",
  );
  const pre = tf.sub(tf.div(rotated, 127.5), 1);
  const fmap = base.apply(pre, { training: false }) as tfjs.Tensor4D;
  const pooled = tf.dropout(tf.mean(fmap, [1, 2]), 0.2);
  const z = tf.add(tf.matMul(pooled, kernel), bias);
  const l = tf.add(tf.sub(tf.relu(z), tf.mul(z, y)), tf.log1p(tf.exp(tf.neg(tf.abs(z)))));
  return tf.mean(l) as tfjs.Scalar;
}

function time(optimizer: tfjs.Optimizer, vars: tfjs.Variable[]) {
  const step = () => {
    const cost = optimizer.minimize(loss, true, vars)!;
    cost.dataSync();
    cost.dispose();
  };
  for (let i = 0; i < warmup; i++) step();
  const before = tf.memory().numTensors;
  const times: number[] = [];
  for (let i = 0; i < steps; i++) {
    const t = performance.now();
    step();
    times.push((performance.now() - t) / 1e3);
  }
  times.sort((a, b) => a - b);
  return {
    median_seconds: Math.round(times[times.length >> 1] * 1e4) / 1e4,
    min_seconds: Math.round(times[0] * 1e4) / 1e4,
    max_seconds: Math.round(times[times.length - 1] * 1e4) / 1e4,
    repeats: steps,
    warmup,
    num_tensors: [before, tf.memory().numTensors],
  };
}

const variablesOf = (layers: tfjs.layers.Layer[]) =>
  layers.flatMap((l) => l.trainableWeights.map((w) => (w as unknown as { read(): tfjs.Variable }).read()));
const phases = [
  { phase: "frozen", optimizer: tf.train.adam(1e-4), vars: [kernel, bias] },
  {
    phase: "finetune",
    optimizer: tf.train.rmsprop(1e-5),
    vars: [...variablesOf(base.layers.slice(100)), kernel, bias],
  },
];
const wanted = args.phases!.split(",");
for (const p of wanted) {
  if (!phases.some((q) => q.phase === p)) throw new Error(`--phases: unknown phase ${p} (frozen, finetune)`);
}
for (const { phase, optimizer, vars } of phases.filter((p) => wanted.includes(p.phase))) {
  const timing = time(optimizer, vars);
  console.log(JSON.stringify({
    kind: "backend_step",
    backend,
    label: backend === "cpu" ? "pure-JS tfjs cpu backend" : "native tfjs-node (TensorFlow C library)",
    phase,
    batch_size: batchSize,
    trainable_variables: vars.length,
    ...timing,
    environment: {
      ...environment,
      tfjs: tf.version.tfjs,
      cpus: navigator.hardwareConcurrency,
      load_average: Deno.loadavg(),
    },
  }));
}
