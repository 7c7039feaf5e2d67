/**
 * Would the next batch's augmentation, put into the step's session call as an independent branch, come
 * off the frozen step's critical path? A prototype measured in one process, on the tutorial's model
 * (MobileNetV2, 160×160, batch 32):
 *
 * - `sequential` — today's order: the rotation (`ImageProjectiveTransformV3`, eager, as `RandomRotation`
 *   runs it) of one batch, then a session call with the frozen base's forward pass (the frozen step's
 *   session call is almost entirely that pass, docs/performance.md);
 * - `fused` — one session call over a graph holding both: the forward pass of this batch and, as an
 *   independent branch, the rotation of the next batch (TensorFlow's executor may run the two on its
 *   inter-op threads at once), the rotated batch returned as a second output.
 *
 * Both are timed alternately, step by step, wall and CPU milliseconds per step; the fused branch's output is
 * compared with the eager op's (same op, same kernel: expected equal).
 *
 *     deno run -A bench/augment_overlap.ts [--steps 30]
 *
 * Not used by the library: kept as the measurement behind the decision in docs/performance.md.
 *
 * @module
 */
import process from "node:process";
import { parseArgs } from "node:util";
import { tf } from "../lib/runtime/mod.ts";
import type { Tensor, Tensor2D, Tensor4D } from "../lib/runtime/mod.ts";
import {
  DT_FLOAT,
  FLOAT_T,
  foldableConvolutions,
  frozenRegion,
  GraphSession,
  GraphWriter,
  nodesInOrder,
  useCounts,
  writeForward,
} from "../lib/graph/mod.ts";
import type { Emitter } from "../lib/graph/mod.ts";
import { benchSettings, emit, environment, IMAGE_SIZE, round, stats, tutorialModel } from "./workload.ts";

const { values: args } = parseArgs({
  args: Deno.args,
  options: { steps: { type: "string", default: "30" } },
});
const steps = Number(args.steps);
if (!Number.isInteger(steps) || steps < 1) {
  throw new Error(`--steps ${args.steps}: expected a whole number ≥ 1`);
}
const [h, w] = IMAGE_SIZE;
const batch = 32;

const { base } = await tutorialModel(benchSettings(), 1);
const region = frozenRegion(base)!;

/** The frozen base's forward graph; with `augment`, plus the rotation of a second input as its own branch. */
function session(augment: boolean): GraphSession {
  const g = new GraphWriter();
  const names = new Map<number, string>();
  names.set(base.inputs[0].id, g.placeholder("input", [batch, h, w, 3]));
  const emitter: Emitter = {
    g,
    weight: (layer, i) => {
      const v = layer.getWeights()[i];
      const name = `${layer.name}/${layer.weights[i].originalName.split("/").pop()}`;
      return g.constant(name, v.dataSync() as Float32Array, v.shape);
    },
    constant: () => true,
    training: false,
  };
  const folds = foldableConvolutions(
    region.nodes,
    useCounts(nodesInOrder(base), base.outputs),
    () => true,
    new Set(region.boundary.map((t) => t.id)),
  );
  writeForward(region.nodes, folds, names, () => emitter);
  const outputs = region.boundary.map((t, i) => g.op(`output_${i}`, "Identity", [names.get(t.id)!], FLOAT_T));
  if (augment) {
    const next = g.placeholder("next", [batch, h, w, 3]);
    const transforms = g.placeholder("transforms", [batch, 8]);
    const rotated = g.op("rotated", "ImageProjectiveTransformV3", [
      next,
      transforms,
      g.constant("output_shape", new Int32Array([h, w]), [2]),
      g.scalar("fill_value", 0),
    ], { dtype: { type: DT_FLOAT }, interpolation: { s: "BILINEAR" }, fill_mode: { s: "REFLECT" } });
    outputs.push(rotated);
  }
  return GraphSession.load(g, outputs);
}

/**
 * Keras 3's rotation about the centre by `angles` (output → input pixel, `[b, 8]`), as `RandomRotation`
 * builds it (`rotationTransforms` in lib/model/augment.ts).
 */
function rotationTransforms(angles: number[]): Tensor2D {
  const [cx, cy] = [(w - 1) / 2, (h - 1) / 2];
  return tf.tensor2d(angles.map((a) => {
    const [cos, sin] = [Math.cos(a), Math.sin(a)];
    return [cos, -sin, cx - cx * cos + cy * sin, sin, cos, cy - cx * sin - cy * cos, 0, 0];
  }));
}

const cpuMs = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e3;
};

const x = tf.randomUniform([batch, h, w, 3], -1, 1, "float32", 1);
const next = tf.randomUniform([batch, h, w, 3], 0, 255, "float32", 2);
// RandomRotation(0.2)'s range of angles, spread over the batch.
const transforms = rotationTransforms(
  Array.from({ length: batch }, (_, i) => (i / (batch - 1) - 0.5) * 0.8 * Math.PI),
);
const plain = session(false);
const fused = session(true);

const eagerRotation = () => tf.image.transform(next as Tensor4D, transforms, "bilinear", "reflect", 0);
const ways: Record<string, () => Tensor[]> = {
  sequential: () => [eagerRotation(), ...plain.run([x])],
  fused: () => fused.run([x, next, transforms]),
};

const maxDiff = tf.tidy(() => {
  const [, rotated] = ways.fused();
  return tf.max(tf.abs(tf.sub(rotated, eagerRotation()))).dataSync()[0];
});

const timings: Record<string, { wall: number[]; cpu: number }> = {};
for (const name of Object.keys(ways)) {
  for (let i = 0; i < 3; i++) tf.dispose(ways[name]());
  timings[name] = { wall: [], cpu: 0 };
}
// Step by step alternately, so that the other work on a shared machine weighs on both ways alike.
for (let b = 0; b < steps; b++) {
  for (const [name, run] of Object.entries(ways)) {
    const c0 = cpuMs();
    const t = performance.now();
    tf.dispose(run());
    timings[name].wall.push(performance.now() - t);
    timings[name].cpu += cpuMs() - c0;
  }
}
const summary = Object.fromEntries(
  Object.entries(timings).map(([name, t]) => [name, {
    wall_ms_median: round(stats(t.wall).median, 1),
    cpu_ms_per_step: round(t.cpu / t.wall.length, 1),
  }]),
);
emit({
  kind: "augment_overlap",
  batch,
  steps,
  max_abs_diff: maxDiff,
  ...summary,
  environment: environment(),
});
tf.dispose([x, next, transforms]);
plain.dispose();
fused.dispose();
