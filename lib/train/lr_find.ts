/**
 * The learning-rate range test (Leslie Smith, 2015; fastai's `lr_find`): train for up to `numIter`
 * batches while the learning rate grows exponentially from `startLR` to `endLR`, record the smoothed loss
 * at each rate, stop once the loss diverges, and suggest a rate from the curve. Then everything is put back:
 * the weights, the optimizer's slots, step count and rate, and the random state (`random_state.ts`) are as
 * before the test, bit for bit.
 *
 * As fastai: the rate of iteration `i` is `startLR · (endLR / startLR)^(i / numIter)`; the loss is smoothed
 * with an exponential moving average (`beta`, default 0.98) corrected for its start
 * (`avg / (1 − betaⁱ⁺¹)`); `stopDiv` stops when the smoothed loss exceeds 4 × the best so far (or is not a
 * number). The suggestions look at the curve without its first tenth and last 5 points, as fastai's do:
 * - `suggestion` — fastai's default, **valley**: the longest stretch over which the loss keeps falling,
 *   and the rate about half-way down it (a rate that trains fast yet safely away from the divergence);
 * - `steep` — the rate where the loss falls fastest per step of `log(lr)`;
 * - `minimum` — a tenth of the rate with the lowest loss.
 *
 * The test trains through {@link fit} (the compiled step, `classWeight` as in training). Not put back: the
 * state of the dataset (a shuffling dataset has moved on).
 *
 * @module
 */
import type { LayersModel, Logs } from "../runtime/mod.ts";
import { setLearningRate } from "../model/mod.ts";
import { fit } from "./fit.ts";
import type { BatchDataset } from "./batch_checks.ts";
import type { ClassWeight } from "./class_weight.ts";
import { OptimizerSnapshot } from "./optimizer_snapshot.ts";
import { randomState, setRandomState } from "./random_state.ts";
import { WeightSnapshot } from "./weight_snapshot.ts";

/** Options of {@link lrFind} (fastai's names in camelCase, and its defaults). */
export interface LrFindOptions {
  /** The first rate; default 1e-7. */
  startLR?: number;
  /** The rate the schedule heads for; default 10. */
  endLR?: number;
  /** Batches to train at most; default 100 (at least 6). */
  numIter?: number;
  /** Stop once the smoothed loss exceeds 4 × its best; default true. */
  stopDiv?: boolean;
  /** Smoothing of the loss; default 0.98. */
  beta?: number;
  /** Class weights, as `fit`'s. */
  classWeight?: ClassWeight;
  /** Called after each iteration (e.g. to draw progress). */
  onStep?: (step: LrFindStep) => void;
}

/** One iteration of the test. */
export interface LrFindStep {
  /** 0-based. */
  iteration: number;
  /** The rate the batch trained with. */
  learningRate: number;
  /** The batch's loss. */
  loss: number;
  /** The smoothed loss (what the curve shows). */
  smoothedLoss: number;
}

/** The curve and the suggested rates; see the module notes. */
export interface LrFindResult {
  /** The rate of each iteration. */
  lrs: number[];
  /** The smoothed loss of each iteration. */
  losses: number[];
  /** The batch losses, unsmoothed. */
  rawLosses: number[];
  /** fastai's default suggestion ("valley"); `undefined` when the curve is too short (< 2 points left). */
  suggestion: number | undefined;
  /** The steepest descent's rate. */
  steep: number | undefined;
  /** A tenth of the rate of the lowest loss. */
  minimum: number | undefined;
  /** Whether the loss diverged before `numIter`. */
  diverged: boolean;
}

function checkOptions(o: LrFindOptions): Required<Omit<LrFindOptions, "classWeight" | "onStep">> {
  const startLR = o.startLR ?? 1e-7, endLR = o.endLR ?? 10, beta = o.beta ?? 0.98;
  const numIter = Math.max(6, o.numIter ?? 100);
  if (!(startLR > 0 && endLR > startLR && Number.isFinite(endLR))) {
    throw new Error(`lrFind: need 0 < startLR < endLR, got startLR ${startLR}, endLR ${endLR}`);
  }
  if (!Number.isInteger(numIter)) throw new Error(`lrFind: numIter must be a whole number, got ${o.numIter}`);
  if (!(beta >= 0 && beta < 1)) throw new Error(`lrFind: beta must be in [0, 1), got ${beta}`);
  return { startLR, endLR, numIter, beta, stopDiv: o.stopDiv ?? true };
}

/** Runs the range test on `model` (compiled) over `dataset`; see the module notes. */
export async function lrFind(
  model: LayersModel,
  dataset: BatchDataset,
  options: LrFindOptions = {},
): Promise<LrFindResult> {
  const o = checkOptions(options);
  if (!model.optimizer) throw new Error(`lrFind: model "${model.name}" is not compiled`);
  const optimizer = OptimizerSnapshot.take(model.optimizer, "lrFind");
  const weights = WeightSnapshot.take(model);
  const random = randomState(model);
  const curve = { lrs: [] as number[], losses: [] as number[], rawLosses: [] as number[], diverged: false };
  try {
    await fit(model, dataset, {
      epochs: o.numIter,
      verbose: 0,
      ...(options.classWeight ? { classWeight: options.classWeight } : {}),
      callbacks: [rangeTest(model, o, curve, options.onStep)],
    });
  } finally {
    weights.restore();
    optimizer.restore();
    setRandomState(model, random);
    weights.dispose();
    optimizer.dispose();
  }
  return { ...curve, ...suggestions(curve.lrs, curve.losses, o.numIter) };
}

/** The callback that sets each batch's rate, records the smoothed loss and stops the test. */
function rangeTest(
  model: LayersModel,
  o: ReturnType<typeof checkOptions>,
  curve: { lrs: number[]; losses: number[]; rawLosses: number[]; diverged: boolean },
  onStep?: (step: LrFindStep) => void,
) {
  let average = 0, best = Infinity;
  const rateAt = (i: number) => o.startLR * (o.endLR / o.startLR) ** (i / o.numIter);
  return {
    onBatchBegin: () => setLearningRate(model.optimizer, rateAt(curve.lrs.length)),
    onBatchEnd: (_batch: number, logs?: Logs) => {
      const i = curve.lrs.length;
      const loss = Number(logs?.loss);
      average = o.beta * average + (1 - o.beta) * loss;
      const smoothed = average / (1 - o.beta ** (i + 1));
      curve.lrs.push(rateAt(i));
      curve.losses.push(smoothed);
      curve.rawLosses.push(loss);
      onStep?.({ iteration: i, learningRate: rateAt(i), loss, smoothedLoss: smoothed });
      if (smoothed < best) best = smoothed;
      if (o.stopDiv && (smoothed > 4 * best || Number.isNaN(smoothed))) curve.diverged = true;
      if (curve.diverged || curve.lrs.length >= o.numIter) model.stopTraining = true;
    },
  };
}

/** fastai's suggestions from the curve without its first tenth and last 5 points (and from the first NaN). */
export function suggestions(
  lrs: number[],
  losses: number[],
  numIter: number,
): Pick<LrFindResult, "suggestion" | "steep" | "minimum"> {
  const end = Math.max(0, lrs.length - 5);
  let r = lrs.slice(Math.floor(numIter / 10), end);
  let l = losses.slice(Math.floor(numIter / 10), end);
  const nan = l.findIndex((v) => Number.isNaN(v));
  if (nan >= 0) [r, l] = [r.slice(0, nan), l.slice(0, nan)];
  if (r.length < 2) return { suggestion: undefined, steep: undefined, minimum: undefined };
  const min = l.indexOf(Math.min(...l));
  let steepest = 0, slope = Infinity;
  for (let i = 0; i + 1 < r.length; i++) {
    const s = (l[i + 1] - l[i]) / (Math.log(r[i + 1]) - Math.log(r[i]));
    if (s < slope) [slope, steepest] = [s, i];
  }
  return { suggestion: r[valley(l)], steep: r[steepest], minimum: r[min] / 10 };
}

/**
 * fastai's "valley": the longest run of decreasing losses (a longest decreasing subsequence ending at each
 * point), and the index a third plus a sixth of the way along it.
 */
function valley(losses: number[]): number {
  const n = losses.length;
  const lengths = new Array<number>(n).fill(1);
  let maxStart = 0, maxEnd = 0;
  for (let i = 1; i < n; i++) {
    for (let j = 0; j < i; j++) {
      if (losses[i] < losses[j] && lengths[i] < lengths[j] + 1) lengths[i] = lengths[j] + 1;
      if (lengths[maxEnd] < lengths[i]) {
        maxEnd = i;
        maxStart = maxEnd - lengths[maxEnd];
      }
    }
  }
  const sections = (maxEnd - maxStart) / 3;
  // A run from the first point gives maxStart −1 (fastai's Python would then index from the end).
  return Math.max(0, maxStart + Math.trunc(sections) + Math.trunc(sections / 2));
}
