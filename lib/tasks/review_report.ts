/**
 * The review's findings as data: {@link ReviewReport}, what `deno task review` writes as `review.json`,
 * and the images, mislabels and duplicate pairs in it — the format `review.ts` writes and `review_script.ts`
 * turns into a shell script, in a module of its own so that neither imports the other for it.
 *
 * @module
 */
import type { DataPart, DuplicateKind, MapMethod, MapPoint } from "../analysis/mod.ts";

/** `format` of a {@link ReviewReport}. */
export const REVIEW_FORMAT = "transfer-learning-ts/review";

/** One image of the data, as a review names it. */
export interface ReviewedImage {
  /** Path relative to the data folder (`root`), with `/`. */
  file: string;
  /** Its part: training, validation or test. */
  part: DataPart;
  /** Its label (the class folder's name). */
  label: string;
}

/** A likely mislabel in a {@link ReviewReport}. */
export interface ReviewMislabel extends ReviewedImage {
  /** The class the model is confident in. */
  predicted: string;
  /** Probability the model gives `predicted`. */
  probability: number;
  /** Cross-entropy under the label, `−ln p(label)`. */
  loss: number;
}

/** A near-duplicate pair in a {@link ReviewReport}. */
export interface ReviewDuplicate {
  /** `"leak"`: across parts; `"conflict"`: same part, other labels; `"duplicate"`: same part and label. */
  kind: DuplicateKind;
  /** Cosine similarity of the two embeddings. */
  similarity: number;
  /** The first image, in the data's order (the script keeps the training copy of a leak, whichever it is). */
  a: ReviewedImage;
  /** The second image. */
  b: ReviewedImage;
}

/** What `deno task review` writes as JSON (`review.json`). */
export interface ReviewReport {
  /** `"transfer-learning-ts/review"`. */
  format: typeof REVIEW_FORMAT;
  /** Version of this layout. */
  formatVersion: 1;
  /** The model folder reviewed with (absolute). */
  model: string;
  /** The data folder holding the parts (absolute); the files below are relative to it. */
  root: string;
  /** `false` when the folder's files differ from those the model was trained on (`data.fingerprint`). */
  sameDataAsTraining: boolean;
  /** The thresholds used. */
  thresholds: { minConfidence: number; minSimilarity: number };
  /** Images reviewed per part. */
  images: Partial<Record<DataPart, number>>;
  /** Likely mislabels, highest loss first. */
  mislabels: ReviewMislabel[];
  /** Near-duplicate pairs, most similar first. */
  duplicates: ReviewDuplicate[];
  /** The validation images on a map of their embeddings (`projectMap`; `dataMapSpec` draws it). */
  map: MapPoint[];
  /** How `map` was projected: UMAP (seeded), or PCA for small sets or on request. */
  mapMethod: MapMethod;
}
