/**
 * Photos to fix (fastai's `ImageClassifierCleaner`, as lists): likely mislabels — the model is confident in
 * another class than the label, so the loss is high — and near-duplicates — pairs whose embeddings
 * (`embeddings.ts`) are nearly identical: within a class (a redundant copy), across classes (the same photo
 * with two labels) and between training and validation (a leak: the model is validated on a photo it
 * trained on, which inflates validation accuracy).
 *
 * Defaults (measured on the flowers, docs/interpretation.md): {@link REVIEW_DEFAULTS}.
 *
 * @module
 */
import { tf } from "../runtime/mod.ts";
import type { Embeddings } from "./embeddings.ts";

/** Default thresholds of {@link likelyMislabels} and {@link nearDuplicates}. */
export const REVIEW_DEFAULTS = {
  /** A likely mislabel: the model gives another class at least this probability. */
  minConfidence: 0.9,
  /** A near-duplicate: cosine similarity of the two embeddings at least this. */
  minSimilarity: 0.95,
} as const;

/** An image the model confidently puts in another class than its label. */
export interface Mislabel {
  /** Position of the image (row of the embeddings). */
  index: number;
  /** Its label. */
  label: number;
  /** The class the model predicts. */
  predicted: number;
  /** Probability of `predicted`. */
  probability: number;
  /** Cross-entropy of the image under its label: `−ln p(label)`. */
  loss: number;
}

/** Which part of the data an image is in. */
export type DataPart = "train" | "validation" | "test";

/**
 * What a near-duplicate pair means: `"leak"` (the two are in different parts, e.g. training and
 * validation), `"conflict"` (same part, different labels), `"duplicate"` (same part, same label).
 */
export type DuplicateKind = "leak" | "conflict" | "duplicate";

/** Two images with nearly identical embeddings. */
export interface DuplicatePair {
  /** Position of the first image. */
  a: number;
  /** Position of the second image, `b > a`. */
  b: number;
  /** Cosine similarity of their embeddings, ≤ 1. */
  similarity: number;
  /** What the pair means: a leak, a conflict or a duplicate. */
  kind: DuplicateKind;
}

/**
 * Images whose predicted class is not their label with probability ≥ `minConfidence`, highest loss first.
 */
export function likelyMislabels(
  embeddings: Pick<Embeddings, "probabilities" | "labels" | "numClasses">,
  options: { minConfidence?: number } = {},
): Mislabel[] {
  const minConfidence = options.minConfidence ?? REVIEW_DEFAULTS.minConfidence;
  if (!(minConfidence > 0 && minConfidence <= 1)) {
    throw new Error(`likelyMislabels: minConfidence must be in (0, 1], got ${minConfidence}`);
  }
  const { probabilities, labels, numClasses: k } = embeddings;
  const found: Mislabel[] = [];
  for (let i = 0; i < labels.length; i++) {
    const row = probabilities.subarray(i * k, (i + 1) * k);
    let best = 0;
    for (let c = 1; c < k; c++) if (row[c] > row[best]) best = c;
    if (labels[i] < 0 || best === labels[i] || row[best] < minConfidence) continue;
    const loss = -Math.log(Math.max(row[labels[i]], 1e-7));
    found.push({ index: i, label: labels[i], predicted: best, probability: row[best], loss });
  }
  return found.sort((x, y) => y.loss - x.loss);
}

/** Options of {@link nearDuplicates}. */
export interface NearDuplicateOptions {
  /** Least cosine similarity of a pair (default {@link REVIEW_DEFAULTS}.minSimilarity). */
  minSimilarity?: number;
  /** The part of each image (default: all in one part, so no leaks). */
  parts?: ArrayLike<DataPart>;
  /** Rows compared per TensorFlow call (default 512): bounds memory to `rows × count` similarities. */
  rowsPerCall?: number;
}

/**
 * Pairs of images whose normalised embeddings have cosine similarity ≥ `minSimilarity`, most similar
 * first. One matrix product per block of rows.
 */
export function nearDuplicates(
  embeddings: Pick<Embeddings, "features" | "dim" | "count" | "labels">,
  options: NearDuplicateOptions = {},
): DuplicatePair[] {
  const minSimilarity = options.minSimilarity ?? REVIEW_DEFAULTS.minSimilarity;
  if (!(minSimilarity > 0 && minSimilarity <= 1)) {
    throw new Error(`nearDuplicates: minSimilarity must be in (0, 1], got ${minSimilarity}`);
  }
  const { features, dim, count, labels } = embeddings;
  const parts = options.parts;
  if (parts && parts.length !== count) {
    throw new Error(`nearDuplicates: ${parts.length} parts for ${count} images`);
  }
  const rows = options.rowsPerCall ?? 512;
  const pairs: DuplicatePair[] = [];
  const all = tf.tensor2d(features, [count, dim]);
  try {
    for (let start = 0; start < count; start += rows) {
      const n = Math.min(rows, count - start);
      const s = tf.tidy(() => tf.matMul(all.slice([start, 0], [n, dim]), all, false, true));
      const sim = s.dataSync();
      s.dispose();
      for (let r = 0; r < n; r++) {
        const a = start + r;
        for (let b = a + 1; b < count; b++) {
          const similarity = Math.min(sim[r * count + b], 1);
          if (similarity < minSimilarity) continue;
          const kind: DuplicateKind = parts && parts[a] !== parts[b]
            ? "leak"
            : labels[a] !== labels[b]
            ? "conflict"
            : "duplicate";
          pairs.push({ a, b, similarity, kind });
        }
      }
    }
  } finally {
    all.dispose();
  }
  return pairs.sort((x, y) => y.similarity - x.similarity);
}
