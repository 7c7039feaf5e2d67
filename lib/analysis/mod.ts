/**
 * Reading a trained classifier's results: where it errs ({@link interpret}: predictions over a labelled
 * dataset, {@link confusionMatrix}, {@link perClassMetrics}, {@link mostConfused}, the highest-loss images),
 * the tutorial's figures as Vega-Lite specs (image grids, learning curves, confusion matrix, top losses) and
 * showing a spec in the notebook ({@link show}) or as SVG ({@link renderSvg}). Training is `lib/train/`'s.
 *
 * How the parts fit: `interpret.ts` computes numbers (plain arrays, except the top-loss images it keeps
 * until `dispose`); `plot.ts` turns numbers and image tensors into self-contained specs (images embedded as
 * PNG data URLs); `display.ts` renders and shows a spec.
 *
 * @example The confusion matrix of a few predictions, as numbers and as a chart
 * ```ts
 * import assert from "node:assert";
 * import { confusionMatrix, confusionMatrixSpec, matrixAccuracy, mostConfused, renderSvg } from "./mod.ts";
 *
 * const classNames = ["cats", "dogs"];
 * const matrix = confusionMatrix([0, 0, 1, 1, 1], [0, 1, 1, 1, 0], 2);
 * assert.deepEqual(matrix, [[1, 1], [1, 2]]);
 * assert.equal(matrixAccuracy(matrix), 3 / 5);
 * assert.deepEqual(mostConfused(matrix, classNames)[0], { actual: "cats", predicted: "dogs", count: 1 });
 * const svg = await renderSvg(confusionMatrixSpec(matrix, classNames));
 * assert.match(svg, /^<svg/);
 * ```
 *
 * @module
 */
export { type ChartBundle, chartBundle, describeSpec, renderSvg, show } from "./display.ts";
export {
  type ClassMetrics,
  type ConfusedPair,
  confusionMatrix,
  interpret,
  type Interpretation,
  type InterpretOptions,
  matrixAccuracy,
  mostConfused,
  perClassMetrics,
  type TopLoss,
} from "./interpret.ts";
export {
  augmentationGridSpec,
  type ConfusionMatrixOptions,
  confusionMatrixSpec,
  type ImageGridOptions,
  imageGridSpec,
  type ImagesInput,
  type LearningCurvesOptions,
  learningCurvesSpec,
  type LearningHistory,
  perClassMetricsSpec,
  pngDataUrl,
  predictionGridSpec,
  type TopLevelSpec,
  topLossesSpec,
  type TopLossTile,
} from "./plot.ts";
