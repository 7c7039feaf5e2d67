/**
 * Checks at the boundary between a dataset and a classifier, so that data that does not fit the model is
 * a clear error naming the value and what was expected — not a crash deep inside tfjs, and not a silent
 * wrong result (a third class folder trained into a one-logit head makes the binary cross-entropy go
 * negative and accuracy meaningless; images of another size pass through a fully convolutional base).
 *
 * What is checked, for `fit`, `evaluate` and `predictOnBatch`:
 * - images: rank 4 with the model's height, width and channels;
 * - labels: the label mode fits the head (integer class indices, or 0/1 for the one-logit head — not
 *   one-hot rows), every label in `[0, numClasses)`; a dataset that knows its `classNames` must have as
 *   many classes as the head;
 * - the dataset is not empty.
 * Shapes are checked on every batch (free); label values are read on every batch too — one small int
 * tensor next to a batch of images, negligible beside a training step.
 *
 * @module
 */
import { tf } from "../runtime/mod.ts";
import type { data, LayersModel, Tensor } from "../runtime/mod.ts";
import { classesFor } from "../model/mod.ts";

/**
 * A tfjs-data dataset of `{xs, ys}` batches — images `[b, h, w, c]` (0..255) and integer labels `[b]` — as
 * `imageDatasetFromDirectory` yields them: what `fit`, `evaluate` and `interpret` read.
 */
export type BatchDataset = data.Dataset<any>;

/** `[height, width, channels]` the model's input expects (`null` where any size is accepted). */
function expectedImageShape(model: LayersModel): (number | null)[] {
  return model.inputs[0].shape.slice(1);
}

/** Logits per example of the model's output (1 for the two-class head). */
function headWidth(model: LayersModel): number {
  const shape = model.outputs[0].shape;
  return shape[shape.length - 1] ?? 1;
}

/** Classes the head tells apart: 2 for one logit, else one per logit. */
function classesOf(model: LayersModel): number {
  return classesFor(headWidth(model));
}

const dims = (shape: (number | null)[]) => shape.map((d) => d ?? "any").join("×");

/** Throws unless `xs` is a batch of images of the model's height, width and channels. */
export function checkImages(where: string, model: LayersModel, xs: Tensor, batch?: number): void {
  const expected = expectedImageShape(model);
  const at = batch === undefined ? "" : ` in batch ${batch}`;
  if (!(xs instanceof tf.Tensor)) {
    throw new Error(`${where}: expected a batch of images as a tensor${at}, got ${typeof xs}`);
  }
  if (xs.rank !== expected.length + 1) {
    throw new Error(
      `${where}: expected a batch of images [batch, ${dims(expected).replaceAll("×", ", ")}]${at}, got a ` +
        `tensor of shape [${xs.shape}]`,
    );
  }
  const got = xs.shape.slice(1);
  const [h, w, c] = expected;
  if ((h !== null && got[0] !== h) || (w !== null && got[1] !== w)) {
    throw new Error(
      `${where}: images of ${got[0]}×${got[1]} pixels${at} do not match the model's input of ` +
        `${h ?? "any"}×${w ?? "any"} (height × width): load them with imageSize [${h}, ${w}]`,
    );
  }
  if (c !== null && got[2] !== c) {
    throw new Error(
      `${where}: images with ${got[2]} channels${at} do not match the model's input of ${c} channels ` +
        `(${c === 3 ? 'colorMode "rgb"' : `${c} channels`})`,
    );
  }
}

/**
 * Throws unless `ys` fits the head: one label per image, integer class indices (or 0/1 floats, the
 * `"binary"` label mode, for the one-logit head) in `[0, numClasses)`. `classNames`, when known, name
 * the classes in the message.
 */
export function checkLabels(
  where: string,
  model: LayersModel,
  ys: Tensor,
  options: { batch?: number; images?: number; classNames?: string[] } = {},
): void {
  const { batch, classNames } = options;
  const n = classesOf(model);
  const at = batch === undefined ? "" : ` in batch ${batch}`;
  if (!(ys instanceof tf.Tensor)) {
    throw new Error(`${where}: expected labels as a tensor${at} (labelMode "int"), got ${typeof ys}`);
  }
  const b = options.images ?? ys.shape[0];
  if (ys.rank === 2 && ys.shape[1]! > 1) {
    throw new Error(
      `${where}: labels of shape [${ys.shape}]${at} look one-hot (labelMode "categorical"), but the model's ` +
        `head takes one integer class index per image (labelMode "int"${n === 2 ? ' or "binary"' : ""})`,
    );
  }
  if (ys.size !== b || ys.rank > 2) {
    throw new Error(
      `${where}: expected one label per image${at} (${b} images, labels [${b}]), got labels of shape [${ys.shape}]`,
    );
  }
  const values = ys.dataSync();
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (!(Number.isInteger(v) && v >= 0 && v < n)) {
      const names = classNames ? ` (${classNames.map((c, k) => `${k}: ${c}`).join(", ")})` : "";
      throw new Error(
        `${where}: label ${v}${at} (image ${i}) is outside [0, ${n}): the model's head tells ${n} classes ` +
          `apart${names}; build it with numClasses equal to the number of class folders`,
      );
    }
  }
}

/** The dataset's class names, when it knows them (`imageDatasetFromDirectory`'s datasets do). */
export function classNamesOf(dataset: BatchDataset): string[] | undefined {
  const names = (dataset as { classNames?: unknown }).classNames;
  return Array.isArray(names) && names.every((s) => typeof s === "string") ? names : undefined;
}

/** A dataset whose batches are checked against the model as they pass, counting them. */
export interface CheckedDataset {
  /** The same batches, each checked on its way. */
  dataset: BatchDataset;
  /** Batches seen so far (across epochs). */
  readonly batches: number;
}

/**
 * Checks what can be checked before a run (a known empty size, the class count), then wraps `dataset` so
 * each `{xs, ys}` batch is checked ({@link checkImages}, {@link checkLabels}) on its way to the model.
 * `labels: false` for datasets of images only.
 */
export function checkedDataset(
  where: string,
  model: LayersModel,
  dataset: BatchDataset,
  options: { labels?: boolean } = {},
): CheckedDataset {
  const { labels = true } = options;
  const size = (dataset as { size?: number }).size;
  if (size === 0) throw emptyDataset(where);
  const classNames = classNamesOf(dataset);
  const n = classesOf(model);
  if (labels && classNames && classNames.length !== n) {
    throw new Error(
      `${where}: the dataset has ${classNames.length} classes (${
        classNames.join(", ")
      }) but the model's head ` +
        `tells ${n} apart (${headWidth(model)} logit${headWidth(model) === 1 ? "" : "s"}): build the model ` +
        `with numClasses: ${classNames.length}`,
    );
  }
  const state = { batches: 0 };
  const mapped = dataset.map((element: any) => {
    const batch = state.batches++;
    const xs = element?.xs ?? element;
    try {
      checkImages(where, model, xs, batch);
      if (labels) {
        checkLabels(where, model, element?.ys, { batch, images: xs.shape[0], classNames });
      }
    } catch (e) {
      tf.dispose(element); // tfjs' map disposes its input only when the function returns
      throw e;
    }
    return element;
  });
  return {
    dataset: mapped,
    get batches() {
      return state.batches;
    },
  };
}

/** The error for a dataset that yields no batches. */
export function emptyDataset(where: string): Error {
  return new Error(
    `${where}: the dataset is empty (it yielded no batches); expected at least one batch of {xs, ys}`,
  );
}

/**
 * Throws {@link emptyDataset} when `dataset` yields no batch: from its `size` when known, else by opening
 * one iterator and reading its first element (disposed) — for validation data, which tfjs evaluates
 * only after a whole training epoch and then fails on obscurely when it is empty.
 */
export async function ensureNotEmpty(where: string, dataset: BatchDataset): Promise<void> {
  const size = (dataset as { size?: number | null }).size;
  if (typeof size === "number" && Number.isFinite(size) && size >= 0) {
    if (size === 0) throw emptyDataset(where);
    return;
  }
  const first = await (await dataset.iterator()).next();
  tf.dispose(first.value);
  if (first.done) throw emptyDataset(where);
}
