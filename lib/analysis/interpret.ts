/**
 * Where a trained classifier errs: its predictions over a labelled dataset, the confusion matrix,
 * per-class precision and recall, the most confused pairs of classes and the images with the highest
 * loss (fastai's `ClassificationInterpretation`, in numbers; `plot.ts` draws them).
 *
 * A dataset is read once, batch by batch; only the `topK` highest-loss images and a few correctly
 * classified ones per class are kept (as tensors, until `dispose`), so any dataset size fits in memory.
 *
 * @module
 */
import { tf } from "../runtime/mod.ts";
import type { LayersModel, Tensor, Tensor3D } from "../runtime/mod.ts";
import { classProbabilities, headUnits, lossAndMetricFor, numClassesOf } from "../model/mod.ts";
import { checkImages, checkLabels, classNamesOf, emptyDataset } from "../train/mod.ts";
import type { BatchDataset } from "../train/mod.ts";

/** One of the highest-loss images. */
export interface TopLoss {
  /** Position of the image in the dataset's order. */
  index: number;
  /** The image as the model saw it (0..255 RGB, `[h, w, c]`); disposed by {@link Interpretation.dispose}. */
  image: Tensor3D;
  /** Its class (index into `classNames`). */
  actual: number;
  /** The class the model predicted. */
  predicted: number;
  /** Probability of the predicted class. */
  probability: number;
  /** Probability the model gave the actual class. */
  actualProbability: number;
  /** Cross-entropy of this image (the training loss, per example). */
  loss: number;
  /** The image's file, when `files` were given. */
  file?: string;
}

/** Predictions of a classifier over a labelled dataset. */
export interface Interpretation {
  /** Name of each class, by index. */
  classNames: string[];
  /** Classes the model tells apart. */
  numClasses: number;
  /** Actual class per image, in the dataset's order. */
  labels: Int32Array;
  /** Predicted class (the most probable) per image. */
  predicted: Int32Array;
  /** Class probabilities, `labels.length × numClasses`, row-major. */
  probabilities: Float32Array;
  /** Cross-entropy per image. */
  losses: Float32Array;
  /** The `topK` highest-loss images, highest first. */
  topLosses: TopLoss[];
  /**
   * Up to `correctPerClass` correctly classified images of each class (the first in the dataset's order),
   * class by class: examples of what the model gets right (e.g. for Grad-CAM heatmaps beside the errors).
   */
  correct: TopLoss[];
  /** Frees the kept images. */
  dispose(): void;
}

/** Options of {@link interpret}. */
export interface InterpretOptions {
  /** Class names (default: the dataset's `classNames`, else "0", "1", …). */
  classNames?: string[];
  /** Highest-loss images kept (default 9). */
  topK?: number;
  /** File of each image in the dataset's order (an unshuffled dataset's `filePaths`), for the top losses. */
  files?: string[];
  /** Correctly classified images kept per class in {@link Interpretation.correct} (default 2). */
  correctPerClass?: number;
}

/**
 * Runs `model` (inference mode) over every `{xs, ys}` batch of `dataset` and keeps what
 * {@link confusionMatrix}, {@link perClassMetrics}, {@link mostConfused} and the top-losses grid need.
 * Batches are checked like `evaluate`'s (image size, labels fitting the head).
 */
export async function interpret(
  model: LayersModel,
  dataset: BatchDataset,
  options: InterpretOptions = {},
): Promise<Interpretation> {
  const numClasses = numClassesOf(model);
  const classNames = options.classNames ?? classNamesOf(dataset) ??
    Array.from({ length: numClasses }, (_, i) => String(i));
  if (classNames.length !== numClasses) {
    throw new Error(
      `interpret: ${classNames.length} class names (${classNames.join(", ")}) for a model that tells ` +
        `${numClasses} classes apart`,
    );
  }
  const topK = options.topK ?? 9;
  if (!Number.isInteger(topK) || topK < 0) {
    throw new Error(`interpret: topK must be an integer ≥ 0, got ${topK}`);
  }
  const { loss: lossFn } = lossAndMetricFor(headUnits(model));
  const collected = new Collected(numClasses, topK, options.files, options.correctPerClass ?? 2);
  let batch = 0;
  try {
    await dataset.forEachAsync((element: { xs: Tensor; ys: Tensor }) => {
      const { xs, ys } = element;
      checkImages("interpret", model, xs, batch);
      checkLabels("interpret", model, ys, { batch, images: xs.shape[0], classNames });
      const [p, l, y] = tf.tidy(() => {
        const logits = model.predictOnBatch(xs) as Tensor;
        return [classProbabilities(logits), lossFn(ys, logits), ys.reshape([-1]).cast("int32")];
      });
      const pv = p.dataSync(), lv = l.dataSync(), yv = y.dataSync();
      tf.dispose([p, l, y]);
      collected.add(xs, pv, lv, yv);
      batch++;
    });
  } catch (e) {
    collected.disposeImages();
    throw e;
  }
  if (collected.labels.length === 0) throw emptyDataset("interpret");
  const { labels, predicted, losses, probabilities, top } = collected;
  const correct = collected.correct.flat();
  return {
    classNames,
    numClasses,
    labels: Int32Array.from(labels),
    predicted: Int32Array.from(predicted),
    probabilities: Float32Array.from(probabilities),
    losses: Float32Array.from(losses),
    topLosses: top,
    correct,
    dispose: () => tf.dispose([...top, ...correct].map((t) => t.image)),
  };
}

/** A numeric tensor's values as `dataSync` returns them. */
type Values = Float32Array | Int32Array | Uint8Array;

/** What {@link interpret} gathers batch by batch: per-image results and the `topK` highest-loss images. */
class Collected {
  readonly labels: number[] = [];
  readonly predicted: number[] = [];
  readonly losses: number[] = [];
  readonly probabilities: number[] = [];
  /** Highest loss first, at most `topK`. */
  readonly top: TopLoss[] = [];
  /** Per class, its first `correctPerClass` correctly classified images. */
  readonly correct: TopLoss[][];

  constructor(
    private readonly numClasses: number,
    private readonly topK: number,
    private readonly files?: string[],
    private readonly correctPerClass = 0,
  ) {
    this.correct = Array.from({ length: numClasses }, () => []);
  }

  /** Image `i` of the batch `xs` (the dataset's image `index`) with its results, kept as a tensor. */
  private keep(xs: Tensor, i: number, index: number, result: Omit<TopLoss, "index" | "image">): TopLoss {
    const image = tf.tidy(() => xs.slice(i, 1).squeeze([0]) as Tensor3D);
    const file = this.files?.[index];
    return { index, image, ...result, ...(file !== undefined ? { file } : {}) };
  }

  /** One batch: images `xs`, class probabilities (row-major), losses and labels. */
  add(xs: Tensor, pv: Values, lv: Values, yv: Values): void {
    const { numClasses, topK, top } = this;
    const start = this.labels.length;
    for (let i = 0; i < yv.length; i++) {
      const row = pv.subarray(i * numClasses, (i + 1) * numClasses);
      let best = 0;
      for (let k = 1; k < numClasses; k++) if (row[k] > row[best]) best = k;
      this.labels.push(yv[i]);
      this.predicted.push(best);
      this.losses.push(lv[i]);
      this.probabilities.push(...row);
      const result = {
        actual: yv[i],
        predicted: best,
        probability: row[best],
        actualProbability: row[yv[i]],
        loss: lv[i],
      };
      if (topK > 0 && (top.length < topK || lv[i] > top[top.length - 1].loss)) {
        top.push(this.keep(xs, i, start + i, result));
        top.sort((a, b) => b.loss - a.loss);
        if (top.length > topK) top.pop()!.image.dispose();
      }
      const examples = this.correct[yv[i]];
      if (best === yv[i] && examples && examples.length < this.correctPerClass) {
        examples.push(this.keep(xs, i, start + i, result));
      }
    }
  }

  /** Frees the kept images (after a failure). */
  disposeImages(): void {
    tf.dispose([...this.top, ...this.correct.flat()].map((t) => t.image));
  }
}

/**
 * Counts `[actual][predicted]`: row = actual class, column = predicted class.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { confusionMatrix } from "./mod.ts";
 *
 * assert.deepEqual(confusionMatrix([0, 1, 1, 2], [0, 1, 2, 2], 3), [[1, 0, 0], [0, 1, 1], [0, 0, 1]]);
 * ```
 */
export function confusionMatrix(
  labels: ArrayLike<number>,
  predicted: ArrayLike<number>,
  numClasses: number,
): number[][] {
  if (labels.length !== predicted.length) {
    throw new Error(`confusionMatrix: ${labels.length} labels but ${predicted.length} predictions`);
  }
  const m = Array.from({ length: numClasses }, () => new Array<number>(numClasses).fill(0));
  for (let i = 0; i < labels.length; i++) {
    const [a, p] = [labels[i], predicted[i]];
    if (!(a >= 0 && a < numClasses && p >= 0 && p < numClasses)) {
      throw new Error(
        `confusionMatrix: class indices must be in [0, ${numClasses}), got ${a} → ${p} at ${i}`,
      );
    }
    m[a][p]++;
  }
  return m;
}

/** Precision, recall and count of one class. */
export interface ClassMetrics {
  /** The class. */
  className: string;
  /** Of the images predicted as this class, the fraction that are; `null` when none was predicted. */
  precision: number | null;
  /** Of the images of this class, the fraction predicted as it; `null` when there are none. */
  recall: number | null;
  /** Images of this class. */
  support: number;
}

/**
 * Per-class precision and recall from a confusion matrix (rows actual, columns predicted).
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { perClassMetrics } from "./mod.ts";
 *
 * const [cats, dogs] = perClassMetrics([[3, 1], [0, 4]], ["cats", "dogs"]);
 * assert.deepEqual(cats, { className: "cats", precision: 1, recall: 0.75, support: 4 });
 * assert.equal(dogs.precision, 0.8);
 * ```
 */
export function perClassMetrics(matrix: number[][], classNames: string[]): ClassMetrics[] {
  if (matrix.length !== classNames.length) {
    throw new Error(`perClassMetrics: a ${matrix.length}-class matrix for ${classNames.length} class names`);
  }
  return classNames.map((className, k) => {
    const support = matrix[k].reduce((a, b) => a + b, 0);
    const predictedAs = matrix.reduce((a, row) => a + row[k], 0);
    return {
      className,
      precision: predictedAs === 0 ? null : matrix[k][k] / predictedAs,
      recall: support === 0 ? null : matrix[k][k] / support,
      support,
    };
  });
}

/**
 * Accuracy (the diagonal's share) of a confusion matrix; `NaN` when it counts nothing.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { matrixAccuracy } from "./mod.ts";
 *
 * assert.equal(matrixAccuracy([[3, 1], [0, 4]]), 7 / 8);
 * ```
 */
export function matrixAccuracy(matrix: number[][]): number {
  const total = matrix.flat().reduce((a, b) => a + b, 0);
  return total === 0 ? NaN : matrix.reduce((a, row, k) => a + row[k], 0) / total;
}

/** One off-diagonal cell of the confusion matrix. */
export interface ConfusedPair {
  /** The images' class. */
  actual: string;
  /** The class they were taken for. */
  predicted: string;
  /** How many. */
  count: number;
}

/**
 * The off-diagonal cells with at least `minCount` images, most frequent first (fastai's `most_confused`).
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { mostConfused } from "./mod.ts";
 *
 * const pairs = mostConfused([[5, 2, 0], [1, 6, 3], [0, 0, 7]], ["a", "b", "c"], 2);
 * assert.deepEqual(pairs.map((p) => `${p.actual}→${p.predicted} ${p.count}`), ["b→c 3", "a→b 2"]);
 * ```
 */
export function mostConfused(matrix: number[][], classNames: string[], minCount = 1): ConfusedPair[] {
  const pairs: ConfusedPair[] = [];
  matrix.forEach((row, a) =>
    row.forEach((count, p) => {
      if (a !== p && count >= minCount) {
        pairs.push({ actual: classNames[a], predicted: classNames[p], count });
      }
    })
  );
  return pairs.sort((x, y) => y.count - x.count || x.actual.localeCompare(y.actual));
}
