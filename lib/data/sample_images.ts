/**
 * {@link sampleImages}: the tutorial's look at a few training images (`for images, labels in
 * train_dataset.take(1)`), as plain arrays that a plot draws.
 *
 * @module
 */
import { tf } from "../runtime/mod.ts";
import type { ImageDataset } from "./image_dataset.ts";
import type { ImageBatch } from "./image_source.ts";

/** The first `count` images of one epoch's first batch, as plain arrays, for a sample grid. */
export interface ImageSample {
  /** `[count][height][width][channels]`, values in [0, 255]. */
  images: number[][][][];
  /** Class index of each image (argmax for categorical labels); empty when the dataset has no labels. */
  labels: number[];
  /** Class name of each image. */
  labelNames: string[];
}

/**
 * First-batch images and labels (Keras: `for images, labels in dataset.take(1)`), without advancing
 * `dataset`; `count` images at most (default 9, the tutorial's 3 × 3 grid).
 */
export async function sampleImages(dataset: ImageDataset, count = 9): Promise<ImageSample> {
  const iterator = await dataset.take(1).iterator();
  const { value, done } = await iterator.next();
  if (done || !value) throw new Error("sampleImages: the dataset is empty");
  const { xs, ys } = value as ImageBatch;
  try {
    const batched = dataset.batchSize !== null;
    const all = (batched ? await xs.array() : [await xs.array()]) as number[][][][];
    const images = all.slice(0, count);
    let labels: number[] = [];
    if (ys) {
      const y = ys.rank === (batched ? 2 : 1) && ys.shape[ys.rank - 1] !== 1
        ? tf.tidy(() => tf.argMax(ys, -1))
        : ys;
      labels = Array.from(await y.data()).slice(0, count).map((v) => Math.round(Number(v)));
      if (y !== ys) y.dispose();
    }
    return { images, labels, labelNames: labels.map((l) => dataset.classNames[l]) };
  } finally {
    xs.dispose();
    ys?.dispose();
  }
}
