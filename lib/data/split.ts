/**
 * Splitting datasets: Keras' `validation_split` on the seeded file order ({@link splitSubsets}), and the
 * tutorial's validation/test split done so that it stays the same every epoch ({@link splitValidationTest}).
 *
 * @module
 */
import { STREAM } from "./epoch_plan.ts";
import { buildDataset, type ImageDataset } from "./image_dataset.ts";

/**
 * Keras' `validation_split`: the last `split` of the (shuffled) files, rounded down, are the validation
 * subset, the others the training subset.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { splitSubsets } from "./mod.ts";
 *
 * const { training, validation } = splitSubsets([4, 2, 0, 1, 3], 0.4);
 * assert.deepStrictEqual(training, [4, 2, 0]);
 * assert.deepStrictEqual(validation, [1, 3]);
 * assert.deepStrictEqual(splitSubsets([7, 8], 0.4).validation, []);
 * ```
 */
export function splitSubsets(order: number[], split: number): { training: number[]; validation: number[] } {
  const numVal = Math.floor(split * order.length);
  return {
    training: order.slice(0, order.length - numVal),
    validation: numVal === 0 ? [] : order.slice(order.length - numVal),
  };
}

/** Options of {@link splitValidationTest}. */
export interface ValidationTestOptions {
  /** The share of the batches that goes to the test part, rounded down; default 0.2 (the tutorial's 1/5). */
  testFraction?: number;
}

/**
 * Splits `dataset` into a test part — the first `testFraction` of its batches, rounded down, as the
 * tutorial's `take(cardinality // 5)` — and a validation part with the rest, *fixed once*: every epoch each
 * part holds the same files, only reshuffled inside the part (when `dataset` shuffles).
 *
 * The tutorial's `take`/`skip` on a dataset that reshuffles every epoch would pick different files each
 * epoch, so images would move between test and validation; here they never do.
 *
 * @example The tutorial's split of its validation dataset
 * ```ts ignore
 * import { imageDatasetFromDirectory, splitValidationTest } from "./mod.ts";
 *
 * const validationDataset = await imageDatasetFromDirectory("cats_and_dogs_filtered/validation", {
 *   imageSize: [160, 160],
 * });
 * const { validation, test } = splitValidationTest(validationDataset); // 26 and 6 batches
 * ```
 */
export function splitValidationTest(
  dataset: ImageDataset,
  { testFraction = 0.2 }: ValidationTestOptions = {},
): { validation: ImageDataset; test: ImageDataset } {
  if (!(testFraction > 0 && testFraction < 1)) {
    throw new Error(`splitValidationTest: testFraction must be between 0 and 1, got ${testFraction}`);
  }
  const groups = dataset.elementIndices(0);
  const testBatches = Math.floor(dataset.cardinality() * testFraction);
  if (testBatches === 0 || testBatches === groups.length) {
    throw new Error(
      `splitValidationTest: ${dataset.cardinality()} batches × testFraction ${testFraction} leaves an empty part`,
    );
  }
  const part = (items: number[], stream: number) =>
    buildDataset(dataset.source, items, {
      batchSize: dataset.batchSize,
      shuffle: dataset.shuffled,
      seed: dataset.seed,
      stream,
    });
  return {
    test: part(groups.slice(0, testBatches).flat(), STREAM.test),
    validation: part(groups.slice(testBatches).flat(), STREAM.validation),
  };
}
