/**
 * Fixtures for the tests and the checks in `tools/` (no layer imports this folder): tiny stand-ins that
 * build and train in well under a second — a MobileNetV2-shaped base with Keras' layer names
 * ({@link tinyBase}), generated colour-class image sets as tensors and datasets ({@link tinySet},
 * {@link tinyClassSet}) or as a folder of PNG files in class folders ({@link writeColourFolder}), a saved
 * classifier's `metadata.json` ({@link tinyMetadata}), phone photos with an EXIF Orientation
 * ({@link withExifOrientation}, {@link storedPixels}) — and comparisons ({@link maxAbsDiff},
 * {@link movingStats}, {@link weightsOf}).
 *
 * Not here: the project's own fixture files (`tests/fixtures/`), Keras reference outputs (`tools/keras/`).
 *
 * @example The tutorial's classifier on the tiny base, on eight generated images
 * ```ts
 * import { tinyBase, tinySet } from "./mod.ts";
 * import { buildClassifier } from "../model/mod.ts";
 * import type { Tensor } from "../runtime/mod.ts";
 * import assert from "node:assert";
 *
 * const { model } = buildClassifier({ base: tinyBase(), seed: 1 });
 * const set = tinySet(8);
 * const logits = model.predict(set.images) as Tensor;
 * assert.deepEqual(logits.shape, [8, 1]); // two classes: one logit
 * logits.dispose();
 * set.dispose();
 * model.dispose();
 * ```
 *
 * @module
 */
export {
  CLASS_COLOURS,
  COLOUR_NAMES,
  maxAbsDiff,
  movingStats,
  tinyBase,
  tinyClassSet,
  tinyMetadata,
  tinySet,
  weightsOf,
  writeColourFolder,
} from "./tiny.ts";
export type { TinySet } from "./tiny.ts";
// The types of other folders these fixtures take or return, so that callers (and `deno doc`) can name them.
export type { data, LayersModel, Tensor1D, Tensor4D, TensorContainer } from "../runtime/mod.ts";
export type { ClassifierMetadata } from "../tasks/mod.ts";
export { displayedPosition, storedPixels, tiffWithOrientation, withExifOrientation } from "./exif.ts";
