/**
 * Where the first epoch's decoding time goes: the parts of filling the decoded-image cache, each timed on
 * its own in wall and CPU milliseconds per batch of 32, and whole passes over the training folder with and
 * without the cache (images per wall and per CPU second), all in one process.
 *
 *     deno run -A bench/decode_profile.ts [--batches 20] [--passes 2]
 *
 * Parts (per batch, the tutorial's 160×160 images): the next batch of a dataset without a cache (reading
 * the files, the decode graph's session call, labels), reading the decoded batch back into JavaScript
 * (`dataSync`, as the cache does), the per-image copies the cache makes (`uint8` rounding, `slice`), a batch
 * made again from cached per-image arrays (JS → native copy and `concat`; or one JS array and one tensor),
 * and the same from cached tensors (`stack` in TensorFlow). Then, per round, one pass over the files with
 * each decoded batch dropped, kept as per-image tensors (`unstack`, what the float32 cache does), or read
 * back and kept in JavaScript (what the cache did before it kept tensors, and what `"uint8"` still does
 * before rounding) — what keeping costs, without the cache's bookkeeping — and passes of the dataset with
 * each cache mode, the dataset disposed after each. Stdout: JSON lines (`kind: "decode_part"`,
 * `"decode_fill"`, `"decode_pass"`).
 *
 * @module
 */
import path from "node:path";
import process from "node:process";
import { parseArgs } from "node:util";
import { tf } from "../lib/runtime/mod.ts";
import type { Tensor } from "../lib/runtime/mod.ts";
import { type ImageDataset, imageDatasetFromDirectory } from "../lib/data/mod.ts";
import { BATCH_SIZE, benchSettings, emit, environment, IMAGE_SIZE, round, tutorialRoot } from "./workload.ts";

const { values: args } = parseArgs({
  args: Deno.args,
  options: { batches: { type: "string", default: "20" }, passes: { type: "string", default: "2" } },
});
const batches = Number(args.batches);
const passes = Number(args.passes);

/** CPU milliseconds of this process (all threads), microsecond resolution. */
function cpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e3;
}

const root = await tutorialRoot(benchSettings());
const trainDir = path.join(root, "train");

/** The training folder as the bench loads it, in file order, with the given cache. */
function dataset(cache: false | "float32" | "uint8"): Promise<ImageDataset> {
  return imageDatasetFromDirectory(trainDir, {
    batchSize: BATCH_SIZE,
    imageSize: IMAGE_SIZE,
    shuffle: false,
    cache,
    verbose: false,
  });
}

/** Accumulated wall and CPU milliseconds per named part. */
const parts = new Map<string, { wall: number; cpu: number; n: number }>();
async function timed<T>(name: string, fn: () => T | Promise<T>): Promise<T> {
  const w = performance.now();
  const c = cpuMs();
  const out = await fn();
  const p = parts.get(name) ?? { wall: 0, cpu: 0, n: 0 };
  p.wall += performance.now() - w;
  p.cpu += cpuMs() - c;
  p.n++;
  parts.set(name, p);
  return out;
}

/** The parts of filling the cache, timed one by one on the first `batches` batches. */
async function profileParts(): Promise<void> {
  const warm = await (await dataset(false)).take(1).iterator();
  const first = (await warm.next()).value; // the decode session built outside the timings
  tf.dispose([first.xs, first.ys]);
  const it = await (await dataset(false)).iterator();
  const keptArrays: Float32Array[] = [];
  const keptTensors: Tensor[] = [];
  const pixels = IMAGE_SIZE[0] * IMAGE_SIZE[1] * 3;
  for (let b = 0; b < batches; b++) {
    const { xs, ys } = (await timed("next batch, no cache (read files, decode graph, labels)", () =>
      it.next()))
      .value;
    const n = xs.shape[0];
    const values = await timed("dataSync (read-back into JS)", () => xs.dataSync() as Float32Array);
    await timed("uint8 copies per image", () => {
      for (let i = 0; i < n; i++) new Uint8ClampedArray(values.subarray(i * pixels, (i + 1) * pixels));
    });
    await timed("slice() copies per image", () => {
      for (let i = 0; i < n; i++) keptArrays.push(values.slice(i * pixels, (i + 1) * pixels));
    });
    await timed("unstack into per-image tensors", () => keptTensors.push(...tf.unstack(xs)));
    await timed(
      "batch from cached arrays (JS→native + concat)",
      () =>
        tf.tidy(() => tf.concat(keptArrays.slice(-n).map((a) => tf.tensor4d(a, [1, ...IMAGE_SIZE, 3]))))
          .dispose(),
    );
    await timed("batch from cached arrays (one JS array, one tensor)", () => {
      const all = new Float32Array(n * pixels);
      keptArrays.slice(-n).forEach((a, i) => all.set(a, i * pixels));
      const t = tf.tensor4d(all, [n, ...IMAGE_SIZE, 3]);
      tf.tidy(() => tf.add(t, 0)).dispose(); // the JS → native copy happens at first use
      t.dispose();
    });
    await timed("batch from cached tensors (stack)", () => tf.stack(keptTensors.slice(-n)).dispose());
    tf.dispose([xs, ys]);
  }
  for (const [name, p] of parts) {
    emit({
      kind: "decode_part",
      part: name,
      wall_ms_per_batch: round(p.wall / p.n, 2),
      cpu_ms_per_batch: round(p.cpu / p.n, 2),
      batches: p.n,
    });
  }
  tf.dispose(keptTensors);
}
await profileParts();

/**
 * One pass over the files without a cache, each decoded batch then kept as a cache would keep it:
 * `"dropped"` (no cache), `"tensor"` (its rows kept as TensorFlow tensors, as the float32 cache does) or
 * `"array"` (read back into JavaScript and kept, as the cache did before); CPU milliseconds per batch.
 */
async function fillPass(
  keep: "dropped" | "tensor" | "array",
): Promise<{ keep: string; cpu_ms_per_batch: number }> {
  const ds = await dataset(false);
  const kept: unknown[] = [];
  const c = cpuMs();
  let n = 0;
  await ds.forEachAsync(({ xs, ys }) => {
    n++;
    if (keep === "tensor") kept.push(...tf.unstack(xs));
    else if (keep === "array") kept.push(xs.dataSync());
    tf.dispose([xs, ys!]);
  });
  const out = { keep, cpu_ms_per_batch: round((cpuMs() - c) / n, 1) };
  tf.dispose(kept.filter((k) => k instanceof tf.Tensor) as Tensor[]);
  ds.dispose();
  return out;
}

/** One pass over `ds`: images per wall and CPU second. */
async function pass(ds: ImageDataset) {
  const w = performance.now();
  const c = cpuMs();
  let images = 0;
  await ds.forEachAsync((x) => {
    images += x.xs.shape[0];
    tf.dispose([x.xs, x.ys!]);
  });
  const wall = (performance.now() - w) / 1e3;
  const cpu = (cpuMs() - c) / 1e3;
  return {
    images,
    wall: round(wall),
    cpu: round(cpu),
    per_s: round(images / wall, 1),
    per_cpu_s: round(images / cpu, 1),
  };
}

for (let p = 0; p < passes; p++) {
  for (const keep of ["dropped", "tensor", "array"] as const) {
    emit({ kind: "decode_fill", round: p, ...(await fillPass(keep)), numTensors: tf.memory().numTensors });
  }
  for (const cache of [false, "float32", "uint8"] as const) {
    const ds = (await dataset(cache)).prefetch(2);
    const first = await pass(ds);
    const second = cache === false ? null : await pass(ds);
    ds.dispose(); // the cached tensors: numTensors below is back to the start
    emit({ kind: "decode_pass", round: p, cache, first, cached: second, numTensors: tf.memory().numTensors });
  }
}
emit({ kind: "decode_profile_env", environment: environment() });
