/**
 * Reading a trained classifier's results: where it errs ({@link interpret}: predictions over a labelled
 * dataset, {@link confusionMatrix}, {@link perClassMetrics}, {@link mostConfused}, the highest-loss images),
 * photos to fix ({@link embedDataset}, {@link likelyMislabels}, {@link nearDuplicates}: mislabels,
 * near-duplicates and train/validation leaks; a map of the data: {@link projectMap} (UMAP, PCA),
 * {@link dataMapSpec}),
 * test-time augmentation ({@link ttaProbabilities}), the
 * tutorial's figures as Vega-Lite specs (image grids, learning curves, confusion matrix, top losses) and
 * showing a spec in the notebook ({@link show}) or as SVG ({@link renderSvg}), and why the model decides:
 * Grad-CAM heatmaps ({@link gradCam}) painted over the photos ({@link gradCamOverlay}). Training is
 * `lib/train/`'s.
 *
 * How the parts fit: `interpret.ts` computes numbers (plain arrays, except the top-loss images it keeps
 * until `dispose`); `plot.ts` turns numbers and image tensors into self-contained specs (images embedded as
 * PNG data URLs); `display.ts` renders and shows a spec; `grad_cam.ts` explains single predictions
 * (`docs/interpretation.md` says exactly what it computes).
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
 * @example Grad-CAM: where a classifier looks, as a heatmap over each photo
 * ```ts
 * import assert from "node:assert";
 * import { gradCam, gradCamOverlay, heatAt } from "./mod.ts";
 * import { buildClassifier } from "../model/mod.ts";
 * import { tf } from "../runtime/mod.ts";
 * import type { Tensor3D, Tensor4D } from "../runtime/mod.ts";
 * import { tinyBase } from "../testing/mod.ts";
 *
 * const { model } = buildClassifier({ base: tinyBase(), numClasses: 3, seed: 1 });
 * const images = tf.randomUniform([2, 16, 16, 3], 0, 255) as Tensor4D;
 * const cam = gradCam(model, images); // explains each image's predicted class at layer "out_relu"
 * assert.deepEqual(cam.heatmaps.shape, [2, 4, 4]); // the layer's grid, scaled to [0, 1]
 * assert.deepEqual(cam.upsampled.shape, [2, 16, 16]); // resized to the photo
 * const photo = images.slice([0], [1]).squeeze([0]) as Tensor3D;
 * const heat = heatAt(cam.upsampled, 0);
 * const overlay = gradCamOverlay(photo, heat); // int32 RGB, ready for tf.node.encodePng
 * assert.deepEqual(overlay.shape, [16, 16, 3]);
 * tf.dispose([images, photo, heat, overlay]);
 * cam.dispose();
 * model.dispose();
 * ```
 *
 * @module
 */
export { type ChartBundle, chartBundle, compileToVega, describeSpec, renderSvg, show } from "./display.ts";
export { embedDataset, EMBEDDING_LAYER, embeddingModel, type Embeddings } from "./embeddings.ts";
export {
  dataMapSpec,
  type MapMethod,
  type MapPoint,
  pca2d,
  projectMap,
  type ProjectMapOptions,
  UMAP_MIN_POINTS,
} from "./data_map.ts";
export { TTA_DEGREES, type TtaOptions, ttaProbabilities, ttaVariants } from "./tta.ts";
// The types the signatures above name (deno doc --lint: no reference to a private type).
export type { Tensor2D, Tensor4D } from "../runtime/mod.ts";
export type { BatchDataset } from "../train/mod.ts";
export {
  type DataPart,
  type DuplicateKind,
  type DuplicatePair,
  likelyMislabels,
  type Mislabel,
  type NearDuplicateOptions,
  nearDuplicates,
  REVIEW_DEFAULTS,
} from "./review.ts";
export {
  GRAD_CAM_LAYER,
  gradCam,
  type GradCamOptions,
  gradCamOverlay,
  gradCamPng,
  type GradCamResult,
  gradCamTiles,
  heatAt,
  jetColours,
  type OverlayOptions,
} from "./grad_cam.ts";
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
  type LrFindCurve,
  lrFindSpec,
  perClassMetricsSpec,
  pngDataUrl,
  predictionGridSpec,
  type TopLevelSpec,
  topLossesSpec,
  type TopLossTile,
} from "./plot.ts";
