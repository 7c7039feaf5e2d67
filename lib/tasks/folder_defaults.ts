/**
 * The settings for one's own photos (`deno task train`, `notebooks/your_own_images.ipynb`): the data
 * folder's loading ({@link loadFolderDatasets}) and both training stages ({@link trainFolder}) default to
 * them.
 *
 * @module
 */

/**
 * Defaults for one's own photos; three differ from the tutorial's, which the tutorial notebook keeps
 * (`orientation`, below, and these two). The tutorial's Adam rate for the head, 1e-4, suits its 2,000
 * images × 10 epochs (630 steps); a folder of a few hundred photos gets a fraction of those steps and stops
 * far short, so the head trains at Keras' default for Adam, 1e-3. Fine-tuning stays at the tutorial's
 * 1e-5: a tenth of the new rate made the validation accuracy jump from epoch to epoch, and the saved model
 * is the last epoch's. 224 × 224 is the size the ImageNet weights were trained at: about twice the time of
 * 160 × 160, a few points more accuracy. The measurements are in README's "Your own images".
 *
 * @example The head's rate is Keras' default for Adam, ten times the tutorial's
 * ```ts
 * import { FOLDER_DEFAULTS } from "./mod.ts";
 * import assert from "node:assert";
 *
 * assert.equal(FOLDER_DEFAULTS.learningRate, 1e-3);
 * assert.deepEqual(FOLDER_DEFAULTS.imageSize, [224, 224]);
 * ```
 */
export const FOLDER_DEFAULTS = {
  /** Epochs of each stage. */
  epochs: 10,
  /** Adam's rate while the base is frozen. */
  learningRate: 1e-3,
  /** RMSprop's rate while fine-tuning (the tutorial's). */
  fineTuneLearningRate: 1e-5,
  /** `[height, width]` in pixels: the ImageNet weights' size. */
  imageSize: [224, 224] as [number, number],
  /** Images per batch. */
  batchSize: 32,
  /** Seed of the shuffles, the split, the augmentation and the head's initial weights. */
  seed: 42,
  /** Held-out fraction when the folder has no `validation/`. */
  validationSplit: 0.2,
  /**
   * Photos turned upright by their EXIF Orientation, as the web page and photo viewers show them (the
   * tutorial keeps Keras' `"ignore"`): a phone photo stored sideways is trained on, predicted and shown
   * the same way everywhere.
   */
  orientation: "exif",
} as const;
