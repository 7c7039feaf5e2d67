/**
 * Our side of the benchmark: the tutorial's frozen and fine-tuning phases on the real data and weights,
 * through the project's `lib/` (imageDatasetFromDirectory → buildClassifier → fit), timed.
 *
 *     deno run -A bench/train_bench.ts [--epochs 3] [--phase both|frozen|finetune] [--seed 1]
 *     deno run -A bench/train_bench.ts --decode-only        # input pipeline alone: cold, cached, no cache
 *     deno run -A bench/train_bench.ts --step-only          # one training step on a fixed batch
 *     deno run -A bench/train_bench.ts --profile            # where a step's time goes
 *     deno run -A bench/train_bench.ts --experiment eager   # op by op: no compiled frozen graph, no compiled step
 *     deno run -A bench/train_bench.ts --experiment uncompiled  # tfjs' own training step (frozen graph kept)
 *     deno run -A bench/train_bench.ts --data-dir DIR       # DIR/train and DIR/validation (bench --large)
 *
 * Stdout: one JSON line per epoch (`kind: "epoch"`), one per phase (`kind: "phase"`: median/min/max epoch
 * seconds, training images/s, peak RSS, `tf.memory().numTensors` before/after each epoch, backend and
 * TensorFlow version), or the `decode` / `step` / `profile` lines of the other modes. `deno task bench`
 * runs this beside the Keras side (`tools/keras/keras_tutorial.py`) and compares.
 *
 * @module
 */
import path from "node:path";
import process from "node:process";
import { parseArgs } from "node:util";
import { tf } from "../lib/runtime/mod.ts";
import type { LayersModel, Logs, Scalar, Tensor, Variable } from "../lib/runtime/mod.ts";
import { type ImageDataset, imageDatasetFromDirectory } from "../lib/data/mod.ts";
import { compiledStepStatus, fit, useCompiledStep } from "../lib/train/mod.ts";
import { machineCeiling, trainingGflopsPerImage } from "./flops.ts";
import { accuracy, binaryCrossentropyFromLogits } from "../lib/model/mod.ts";
import type { InferenceModel } from "../lib/model/mod.ts";
import {
  BATCH_SIZE,
  benchSettings,
  cpuSeconds,
  emit,
  environment,
  IMAGE_SIZE,
  note,
  round,
  rssMB,
  startFineTuning,
  stats,
  tutorialData,
  tutorialModel,
  tutorialRoot,
} from "./workload.ts";

const { values: args } = parseArgs({
  args: Deno.args,
  options: {
    epochs: { type: "string", default: "3" },
    phase: { type: "string", default: "both" },
    seed: { type: "string", default: "1" },
    steps: { type: "string", default: "10" },
    warmup: { type: "string", default: "3" },
    "decode-only": { type: "boolean", default: false },
    "step-only": { type: "boolean", default: false },
    profile: { type: "boolean", default: false },
    experiment: { type: "string" },
    "data-dir": { type: "string" },
  },
});

function wholeNumber(name: string, raw: string, min: number): number {
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min) throw new Error(`--${name} ${raw}: expected a whole number ≥ ${min}`);
  return n;
}
const epochs = wholeNumber("epochs", args.epochs!, 1);
const seed = wholeNumber("seed", args.seed!, 0);
const steps = wholeNumber("steps", args.steps!, 1);
const warmup = wholeNumber("warmup", args.warmup!, 0);
const phase = args.phase!;
const dataDir = args["data-dir"];
if (!["both", "frozen", "finetune"].includes(phase)) {
  throw new Error(`--phase ${phase}: expected frozen, finetune or both`);
}

const settings = benchSettings();
const config = {
  alpha: settings.alpha,
  data: settings.dataUrl,
  weights: settings.weightsUrl ?? "imagenet",
  seed,
};

/**
 * The tutorial's model; `--experiment eager` runs its frozen part op by op instead of as one graph (and
 * the training step as tfjs' own, see `compiledStep`).
 */
async function benchModel() {
  const m = await tutorialModel(settings, seed);
  m.base.frozenGraph = !experiments.includes("eager");
  return m;
}

/** The cache's memory budget (shared by training and validation with the default settings), MB. */
function budgetField(ds: ImageDataset) {
  const limit = ds.cacheInfo().limitBytes;
  return {
    cache_mode: ds.cacheInfo().mode,
    cache_budget_mb: limit === null ? null : round(limit / 2 ** 20, 1),
  };
}

function rssFields() {
  const { rss, peak } = rssMB();
  return { rss_mb: rss, peak_rss_mb: peak };
}

/** One pass over `ds`, images/s; the images are only assembled into tensors and dropped. */
async function pass(ds: ImageDataset): Promise<{ images: number; seconds: number; cpu: number }> {
  const start = performance.now();
  const cpuStart = cpuSeconds();
  let images = 0;
  await ds.forEachAsync((b) => {
    images += b.xs.shape[0];
    tf.dispose([b.xs, b.ys!]);
  });
  return { images, seconds: (performance.now() - start) / 1e3, cpu: cpuSeconds() - cpuStart };
}

/**
 * The input pipeline alone: the first pass over the training set (decoding and filling the cache, the
 * first epoch's work), a second one from the cache, then one pass of the same files without a cache
 * (decoding only, as `tf.data` does every epoch) — what filling the cache costs is the difference.
 */
async function decodeOnly() {
  const { train } = await tutorialData(settings, seed, dataDir);
  const cold = await pass(train);
  const warm = await pass(train);
  const root = dataDir ?? await tutorialRoot(settings);
  const streamed = await pass(
    await imageDatasetFromDirectory(path.join(root, "train"), {
      batchSize: BATCH_SIZE,
      imageSize: IMAGE_SIZE,
      shuffle: true,
      seed,
      verbose: false,
      cache: false,
    }),
  );
  emit({
    kind: "decode",
    side: "ours",
    images: cold.images,
    seconds: round(cold.seconds),
    images_per_second: round(cold.images / cold.seconds, 1),
    cpu_seconds: round(cold.cpu, 2),
    images_per_cpu_second: round(cold.images / cold.cpu, 1),
    cached_seconds: round(warm.seconds),
    cached_images_per_second: round(warm.images / warm.seconds, 1),
    stream_images_per_second: round(streamed.images / streamed.seconds, 1),
    stream_images_per_cpu_second: round(streamed.images / streamed.cpu, 1),
    cache_mb: round(train.cacheInfo().bytes / 2 ** 20, 1),
    ...budgetField(train),
    ...rssFields(),
    environment: environment(),
    config,
  });
}

/** A fixed batch of real images and labels (the first training batch). */
async function fixedBatch(): Promise<{ x: Tensor; y: Tensor }> {
  const { train } = await tutorialData(settings, seed);
  const it = await train.take(1).iterator();
  const { value } = await it.next();
  return { x: value.xs, y: value.ys };
}

async function timeSteps(model: LayersModel, x: Tensor, y: Tensor) {
  for (let i = 0; i < warmup; i++) await model.trainOnBatch(x, y);
  const times: number[] = [];
  const before = tf.memory().numTensors;
  const cpu0 = cpuMs();
  for (let i = 0; i < steps; i++) {
    const t = performance.now();
    await model.trainOnBatch(x, y);
    times.push((performance.now() - t) / 1e3);
  }
  const s = stats(times);
  return {
    cpu_seconds_per_step: round((cpuMs() - cpu0) / 1e3 / steps, 4),
    median_seconds: s.median,
    min_seconds: s.min,
    max_seconds: s.max,
    repeats: steps,
    warmup,
    num_tensors: [before, tf.memory().numTensors],
  };
}

async function stepOnly() {
  const { x, y } = await fixedBatch();
  const { model, base } = await benchModel();
  // The machine's own limit, measured in this process just before the steps.
  emit({ kind: "ceiling", side: "ours", ...machineCeiling(), environment: environment() });
  if (compiledStep) useCompiledStep(model);
  const emitStep = async (phase: "frozen" | "finetune") => {
    const timing = await timeSteps(model, x, y);
    const gflop = trainingGflopsPerImage(model).total;
    emit({
      kind: "step",
      side: "ours",
      phase,
      batch_size: x.shape[0],
      ...timing,
      compiled_step: compiledStepStatus.get(model) ?? { compiled: false },
      gflop_per_image: round(gflop, 4),
      achieved_gflops: round(gflop * x.shape[0] / timing.median_seconds, 1),
      // Frozen steps first, then fine-tuning in the same process: the growth is what fine-tuning's step keeps.
      ...rssFields(),
      environment: environment(),
    });
  };
  await emitStep("frozen");
  startFineTuning(model, base);
  await emitStep("finetune");
}

/** CPU milliseconds (user + system, all threads) of this process so far, at microsecond resolution. */
function cpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e3;
}

/** CPU milliseconds per run of the last {@link ms} call (median wall time is what `ms` returns). */
let lastCpuMs = NaN;

/**
 * Median milliseconds of `f` over `steps` runs after `warmup`; `f`'s tensors are disposed. The mean CPU
 * milliseconds per run (both cores, user + system) are left in `lastCpuMs`.
 */
function ms(f: () => unknown): number {
  const run = () => {
    const out = f();
    tf.dispose(out as Tensor);
  };
  for (let i = 0; i < warmup; i++) tf.tidy(run);
  const times: number[] = [];
  const cpu0 = cpuMs();
  for (let i = 0; i < steps; i++) {
    const t = performance.now();
    tf.tidy(run);
    times.push(performance.now() - t);
  }
  lastCpuMs = round((cpuMs() - cpu0) / steps, 1);
  return round(stats(times).median, 1);
}

/** Runs {@link ms} for each named part: wall and CPU milliseconds per run. */
function timeParts(
  parts: Record<string, () => unknown>,
): { wall: Record<string, number>; cpu: Record<string, number> } {
  const wall: Record<string, number> = {}, cpu: Record<string, number> = {};
  for (const [name, f] of Object.entries(parts)) {
    wall[name] = ms(f);
    cpu[name] = lastCpuMs;
  }
  return { wall, cpu };
}

/**
 * Where one training step's time goes, measured part by part on a fixed batch (tfjs-node runs every op
 * synchronously, so wall time around a call is its compute): the JS→native copy of the batch,
 * augmentation, forward, backward, optimizer update, metrics, the loss read-back, and the per-kernel
 * totals of `tf.profile` over one `trainOnBatch`.
 */
async function profile(model: LayersModel, base: InferenceModel, phaseName: string, x: Tensor, y: Tensor) {
  const augmentation = model.layers.find((l) => l.name === "sequential")!;
  const host = x.dataSync().slice();
  const lossOf = (logits: Tensor) => tf.mean(binaryCrossentropyFromLogits(y, logits));
  const trainable = model.trainableWeights.map((w) => (w as unknown as { read(): Variable }).read());
  const optimizer = model.optimizer;
  const augmented = tf.tidy(() => augmentation.apply(x, { training: true }) as Tensor);
  const logits = tf.tidy(() => model.apply(augmented, { training: false }) as Tensor);
  const { grads } = tf.variableGrads(
    () => lossOf(model.apply(x, { training: true }) as Tensor) as Scalar,
    trainable,
  );
  const { wall: parts, cpu: cpuParts } = timeParts({
    // tfjs-node copies a new tensor's values into TensorFlow when an op first uses it (here a reshape).
    copy_in_ms: () => tf.reshape(tf.tensor4d(host, x.shape as [number, number, number, number]), [-1]),
    // One tiny native op and its read-back: the cost of a call into TensorFlow and back.
    read_back_loss_ms: () => tf.mean(y).dataSync(),
    augmentation_ms: () => augmentation.apply(x, { training: true }),
    forward_ms: () => model.apply(x, { training: true }),
    forward_backward_ms: () => {
      const { value, grads } = tf.variableGrads(
        () => lossOf(model.apply(x, { training: true }) as Tensor) as Scalar,
        trainable,
      );
      return [value, ...Object.values(grads)];
    },
    metrics_ms: () => [tf.mean(accuracy(y, logits)), lossOf(logits)],
    optimizer_ms: () => optimizer.applyGradients(grads),
    base_forward_inference_ms: () => base.apply(tf.sub(tf.div(augmented, 127.5), 1), { training: false }),
  });
  tf.dispose(Object.values(grads));
  for (const [out, p] of [[parts, parts], [cpuParts, cpuParts]]) {
    out.backward_ms = round(p.forward_backward_ms - p.forward_ms, 1);
    out.forward_without_augmentation_ms = round(p.forward_ms - p.augmentation_ms, 1);
  }
  const t = performance.now(), c = cpuMs();
  for (let i = 0; i < steps; i++) await model.trainOnBatch(x, y);
  parts.train_on_batch_ms = round((performance.now() - t) / steps, 1);
  cpuParts.train_on_batch_ms = round((cpuMs() - c) / steps, 1);

  const p = await tf.profile(async () => {
    await model.trainOnBatch(x, y);
  });
  const kernels = new Map<string, { ms: number; calls: number }>();
  for (const k of p.kernels) {
    const e = kernels.get(k.name) ?? { ms: 0, calls: 0 };
    e.ms += Number(k.kernelTimeMs) || 0;
    e.calls++;
    kernels.set(k.name, e);
  }
  // tf.profile hands back the engine's one profile object: read it before profiling again.
  const kernelCalls = p.kernels.length;
  const top = [...kernels].sort((a, b) => b[1].ms - a[1].ms).slice(0, 20)
    .map(([name, e]) => ({ name, ms: round(e.ms, 1), calls: e.calls }));
  // The same step compiled into one graph (lib/train/train_graph.ts): its time and the eager kernels left (the
  // session call itself is not a tfjs kernel).
  const undo = useCompiledStep(model);
  for (let i = 0; i < warmup; i++) await model.trainOnBatch(x, y);
  const tc = performance.now(), cc = cpuMs();
  for (let i = 0; i < steps; i++) await model.trainOnBatch(x, y);
  parts.compiled_step_ms = round((performance.now() - tc) / steps, 1);
  cpuParts.compiled_step_ms = round((cpuMs() - cc) / steps, 1);
  // The compiled step is the eager augmentation + one session call (forward, backward, optimizer, metrics).
  for (const p of [parts, cpuParts]) {
    p.compiled_graph_call_ms = round(p.compiled_step_ms - p.augmentation_ms, 1);
  }
  const pc = await tf.profile(async () => {
    await model.trainOnBatch(x, y);
  });
  const compiledKernels = pc.kernels.map((k) => k.name);
  undo();
  tf.dispose([augmented, logits]);
  emit({
    kind: "profile",
    side: "ours",
    phase: phaseName,
    batch_size: x.shape[0],
    ...parts,
    cpu_ms: cpuParts,
    kernel_calls: kernelCalls,
    top_kernels: top,
    compiled_step: compiledStepStatus.get(model) ?? { compiled: false },
    compiled_kernel_calls: compiledKernels.length,
    compiled_kernels: compiledKernels,
    gflop_per_image: round(trainingGflopsPerImage(model).total, 4),
    note: "kernel ms of nested kernels (e.g. ClipByValue → Minimum + Maximum) are counted at both levels",
    environment: environment(),
  });
}

async function profileBoth() {
  const { x, y } = await fixedBatch();
  const { model, base } = await benchModel();
  await profile(model, base, "frozen", x, y);
  startFineTuning(model, base);
  await profile(model, base, "finetune", x, y);
}

/**
 * Per-epoch timing inside `fit`: the training part ends with the last batch, validation (however `fit`
 * runs it) takes the rest until the epoch's end. A plain `tf.Callback`, so logs are not read per batch.
 */
class EpochTimer extends tf.Callback {
  start = 0;
  cpuStart = 0;
  lastBatch = 0;
  tensorsBefore = 0;
  constructor(private readonly onEnd: (epoch: number, logs: Logs | undefined, t: EpochTimer) => void) {
    super();
  }
  override onEpochBegin(): Promise<void> {
    this.tensorsBefore = tf.memory().numTensors;
    this.start = this.lastBatch = performance.now();
    this.cpuStart = cpuSeconds();
    return Promise.resolve();
  }
  override onBatchEnd(): Promise<void> {
    this.lastBatch = performance.now();
    return Promise.resolve();
  }
  /** Reads the epoch's logs into numbers and frees their tensors, as tfjs' `CustomCallback` does. */
  override async onEpochEnd(epoch: number, logs?: Logs): Promise<void> {
    for (const [key, value] of Object.entries(logs ?? {})) {
      if (typeof value === "number") continue;
      const t = value as unknown as Tensor;
      logs![key] = (await t.data())[0];
      t.dispose();
    }
    this.onEnd(epoch, logs, this);
  }
}

async function train() {
  const loadStart = performance.now();
  const { train, validation } = await tutorialData(settings, seed, dataDir);
  const { model, base } = await benchModel();
  const trainImages = train.filePaths.length;
  note(
    `[ours] set-up ${((performance.now() - loadStart) / 1e3).toFixed(1)}s; ${trainImages} training images` +
      (experiments.length ? `; experiments: ${experiments.join(", ")}` : ""),
  );

  const runPhase = async (name: string, initialEpoch: number) => {
    const records: Record<string, unknown>[] = [];
    const gflop = trainingGflopsPerImage(model).total;
    const timer = new EpochTimer((epoch, logs, t) => {
      const end = performance.now();
      const record = {
        kind: "epoch",
        side: "ours",
        phase: name,
        epoch: epoch + 1,
        seconds: round((end - t.start) / 1e3),
        cpu_seconds: round(cpuSeconds() - t.cpuStart, 2),
        train_seconds: round((t.lastBatch - t.start) / 1e3),
        val_seconds: round((end - t.lastBatch) / 1e3),
        train_images_per_second: round(trainImages / ((t.lastBatch - t.start) / 1e3), 1),
        gflop_per_image: round(gflop, 4),
        train_gflops: round(gflop * trainImages / ((t.lastBatch - t.start) / 1e3), 1),
        compiled_step: compiledStepStatus.get(model)?.compiled ?? false,
        ...Object.fromEntries(Object.entries(logs ?? {}).map(([k, v]) => [k, round(Number(v), 6)])),
        num_tensors_before: t.tensorsBefore,
        num_tensors_after: tf.memory().numTensors,
        ...rssFields(),
        cache_mb: round((train.cacheInfo().bytes + validation.cacheInfo().bytes) / 2 ** 20, 1),
        ...budgetField(train),
        ...(experiments.length ? { experiments } : {}),
      };
      records.push(record);
      emit(record);
      note(
        `[ours ${name}] epoch ${epoch + 1}: ${record.seconds.toFixed(1)}s (train ${
          record.train_seconds.toFixed(1)
        }s) loss ${Number(logs?.loss).toFixed(4)} accuracy ${Number(logs?.accuracy).toFixed(4)} ` +
          `val_accuracy ${
            Number(logs?.val_accuracy).toFixed(4)
          } tensors ${t.tensorsBefore}→${record.num_tensors_after}`,
      );
    });
    await fit(model, train, {
      epochs: initialEpoch + epochs,
      initialEpoch,
      validationData: validation,
      verbose: 0,
      callbacks: [timer],
      compiledStep,
    });
    const seconds = records.map((r) => r.seconds as number);
    const trainSeconds = records.map((r) => r.train_seconds as number);
    const s = stats(seconds);
    emit({
      kind: "phase",
      side: "ours",
      phase: name,
      epochs: records.length,
      median_epoch_seconds: s.median,
      min_epoch_seconds: s.min,
      max_epoch_seconds: s.max,
      median_train_seconds: stats(trainSeconds).median,
      train_images_per_second: round(trainImages / stats(trainSeconds).median, 1),
      epoch_seconds: seconds,
      num_tensors: records.map((r) => [r.num_tensors_before, r.num_tensors_after]),
      val_accuracy: records.map((r) => r.val_accuracy),
      peak_rss_mb: rssMB().peak,
      cache_mb: records.at(-1)?.cache_mb,
      ...budgetField(train),
      train_images: trainImages,
      ...(experiments.length ? { experiments } : {}),
      environment: environment(),
      config,
    });
  };
  if (phase !== "finetune") await runPhase("frozen", 0);
  if (phase !== "frozen") {
    startFineTuning(model, base);
    await runPhase("finetune", epochs);
  }
}

const experiments = args.experiment ? args.experiment.split(",") : [];
for (const e of experiments) {
  if (e !== "eager" && e !== "uncompiled") throw new Error(`--experiment ${e}: expected eager or uncompiled`);
}
/** Train with the compiled step (lib/train/train_graph.ts) unless an experiment asks for tfjs' own. */
const compiledStep = !experiments.includes("eager") && !experiments.includes("uncompiled");
if (args["decode-only"]) await decodeOnly();
else if (args["step-only"]) await stepOnly();
else if (args.profile) await profileBoth();
else await train();
