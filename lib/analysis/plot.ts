/**
 * Vega-Lite v5 specs for the tutorial's figures: image grids (samples, augmentations, predictions) and
 * learning curves. Inputs are plain tensors and arrays; images are embedded as PNG data URLs so a spec
 * is self-contained. Show a spec with `show` (`display.ts`).
 *
 * @module
 */
import { Buffer } from "node:buffer";
import type { Tensor3D, Tensor4D } from "../runtime/mod.ts";
import { tf } from "../runtime/mod.ts";
import type { TopLevelSpec } from "./display.ts";
import type { ClassMetrics } from "./interpret.ts";

export type { TopLevelSpec };

/**
 * One image `[h, w, c]`, a batch `[n, h, w, c]`, or a list of images (tensors, or nested arrays such as
 * `sampleImages` returns); `c` is 1 or 3.
 */
export type ImagesInput = Tensor3D | Tensor4D | (Tensor3D | number[][][])[];

/** Options of the image grids. */
export interface ImageGridOptions {
  /** Chart title. */
  title?: string;
  /** Images shown: the first `count` of the input (default 9, the tutorial's 3×3). */
  count?: number;
  /** Grid columns (default 3). */
  columns?: number;
  /** Side of each tile in pixels (default 160, the tutorial's image size). */
  size?: number;
  /** Pixel value range mapped to 0…255 (default `[0, 255]`, the datasets' raw pixels). */
  valueRange?: [number, number];
}

/** Training history with Keras' keys, one value per epoch. */
export interface LearningHistory {
  /** Training accuracy per epoch. */
  accuracy: number[];
  /** Training loss per epoch. */
  loss: number[];
  /** Validation accuracy per epoch. */
  val_accuracy?: number[];
  /** Validation loss per epoch. */
  val_loss?: number[];
}

/** Options of {@link learningCurvesSpec}. */
export interface LearningCurvesOptions {
  /** Draws the "Start Fine Tuning" rule after this many epochs (1-based, the last frozen epoch). */
  fineTuneAt?: number;
  /** Lower limit of the accuracy axis (default: the lowest accuracy rounded down to 0.1). */
  accuracyMin?: number;
  /** Panel width in pixels (default 420). */
  width?: number;
  /** Upper limit of the loss axis (default 1, the tutorial's; cross-entropy over many classes starts higher). */
  lossMax?: number;
  /** Draws a dashed "Kept Epoch" rule at this epoch (1-based): the epoch whose weights were saved. */
  keptEpoch?: number;
}

const SCHEMA = "https://vega.github.io/schema/vega-lite/v5.json";
// matplotlib's default cycle, as in the tutorial's figures.
const BLUE = "#1f77b4", ORANGE = "#ff7f0e", GREEN = "#2ca02c", RED = "#d62728";

/** Encodes one image tensor `[h, w, c]` as a PNG `data:` URL; values in `valueRange` map to 0…255. */
export async function pngDataUrl(
  image: Tensor3D,
  valueRange: [number, number] = [0, 255],
): Promise<string> {
  if (image.rank !== 3 || ![1, 3].includes(image.shape[2])) {
    throw new Error(
      `pngDataUrl: expected an image tensor [height, width, 1 or 3], got shape [${image.shape}]`,
    );
  }
  const [lo, hi] = valueRange;
  if (!(hi > lo)) throw new Error(`pngDataUrl: valueRange [${lo}, ${hi}] must have high > low`);
  const pixels = tf.tidy(() =>
    tf.clipByValue(tf.round(tf.mul(tf.sub(image.toFloat(), lo), 255 / (hi - lo))), 0, 255)
      .toInt() as Tensor3D
  );
  try {
    const png = await tf.node.encodePng(pixels);
    return `data:image/png;base64,${Buffer.from(png).toString("base64")}`;
  } finally {
    pixels.dispose();
  }
}

async function imageUrls(
  images: ImagesInput,
  count: number,
  valueRange?: [number, number],
): Promise<string[]> {
  const urls: string[] = [];
  if (Array.isArray(images) || images.rank === 3) {
    for (const item of (Array.isArray(images) ? images : [images as Tensor3D]).slice(0, count)) {
      const image = item instanceof tf.Tensor ? item : tf.tensor3d(item);
      try {
        urls.push(await pngDataUrl(image, valueRange));
      } finally {
        if (image !== item) image.dispose();
      }
    }
    return urls;
  }
  if (images.rank !== 4) {
    throw new Error(
      `images: expected [n, height, width, channels] or [height, width, channels], got [${images.shape}]`,
    );
  }
  for (let i = 0; i < Math.min(count, images.shape[0]); i++) {
    const image = tf.tidy(() => (images as Tensor4D).slice(i, 1).squeeze([0]) as Tensor3D);
    try {
      urls.push(await pngDataUrl(image, valueRange));
    } finally {
      image.dispose();
    }
  }
  return urls;
}

interface Tile {
  url: string;
  title?: string | string[];
  color?: string;
}

function gridSpec(tiles: Tile[], options: ImageGridOptions, description: string): TopLevelSpec {
  const size = options.size ?? 160;
  return {
    $schema: SCHEMA,
    ...(options.title
      ? { title: { text: options.title, fontSize: 16, fontWeight: "bold", anchor: "start" } }
      : {}),
    description,
    columns: options.columns ?? 3,
    spacing: 12,
    concat: tiles.map((tile) => ({
      ...(tile.title !== undefined ? { title: { text: tile.title, color: tile.color ?? "black" } } : {}),
      width: size,
      height: size,
      data: { values: [{ url: tile.url }] },
      mark: { type: "image", width: size, height: size, align: "left", baseline: "top" },
      encoding: { x: { value: 0 }, y: { value: 0 }, url: { field: "url", type: "nominal" } },
    })),
    config: { view: { stroke: null }, title: { fontSize: 13, fontWeight: "normal" } },
  } as TopLevelSpec;
}

function checkCount(what: string, got: number, needed: number) {
  if (got < needed) {
    throw new Error(`${what}: expected at least ${needed} entries (one per image shown), got ${got}`);
  }
}

/** A grid of images with a title each, like the tutorial's 3×3 sample figure (titles = class names). */
export async function imageGridSpec(
  images: ImagesInput,
  titles?: readonly string[],
  options: ImageGridOptions = {},
): Promise<TopLevelSpec> {
  const urls = await imageUrls(images, options.count ?? 9, options.valueRange);
  if (titles) checkCount("titles", titles.length, urls.length);
  const tiles = urls.map((url, i) => ({ url, title: titles?.[i] }));
  return gridSpec(
    tiles,
    options,
    `Image grid: ${urls.length} images${titles ? ` (${titles.slice(0, urls.length).join(", ")})` : ""}`,
  );
}

/** A grid of augmented versions of one image, untitled tiles (the tutorial's augmentation figure). */
export function augmentationGridSpec(
  images: ImagesInput,
  options: ImageGridOptions = {},
): Promise<TopLevelSpec> {
  return imageGridSpec(images, undefined, { title: "Random augmentations of one image", ...options });
}

/**
 * A grid of images titled with their predicted class. With true `labels`, right predictions are green
 * with "✓" and wrong ones red with "✗", and the chart title counts them.
 */
export async function predictionGridSpec(
  images: ImagesInput,
  predicted: ArrayLike<number>,
  classNames: readonly string[],
  options: ImageGridOptions & { labels?: ArrayLike<number> } = {},
): Promise<TopLevelSpec> {
  const urls = await imageUrls(images, options.count ?? 9, options.valueRange);
  checkCount("predicted", predicted.length, urls.length);
  if (options.labels) checkCount("labels", options.labels.length, urls.length);
  const name = (what: string, k: number) => {
    const n = classNames[k];
    if (n === undefined) throw new Error(`${what}: class index ${k} is outside classNames [${classNames}]`);
    return n;
  };
  let right = 0;
  const tiles = urls.map((url, i) => {
    const title = name("predicted", predicted[i]);
    if (!options.labels) return { url, title };
    const ok = predicted[i] === options.labels[i];
    name("labels", options.labels[i]);
    if (ok) right++;
    return { url, title: `${title} ${ok ? "✓" : "✗"}`, color: ok ? GREEN : RED };
  });
  const title = options.title ??
    (options.labels ? `Predictions: ${right} of ${urls.length} right` : "Predictions");
  return gridSpec(tiles, { ...options, title }, `Prediction grid: ${tiles.map((t) => t.title).join(", ")}`);
}

function series(values: number[] | undefined, label: string, key: string, epochs: number) {
  if (values === undefined) return [];
  if (!Array.isArray(values) || values.length !== epochs) {
    throw new Error(
      `history.${key}: expected an array of ${epochs} numbers (one per epoch), got ${values?.length}`,
    );
  }
  return values.map((v, i) => ({ epoch: i + 1, series: label, value: Number.isFinite(v) ? v : null }));
}

function panel(
  metric: "Accuracy" | "Loss",
  rows: { epoch: number; series: string; value: number | null }[],
  domain: [number, number],
  width: number,
  marks: { fineTuneAt?: number; keptEpoch?: number } = {},
) {
  const { fineTuneAt, keptEpoch } = marks;
  const epochs = Math.max(...rows.map((r) => r.epoch));
  const step = Math.ceil(epochs / 10);
  const ticks = Array.from({ length: epochs }, (_, i) => i + 1).filter((e) => e === 1 || e % step === 0);
  const labels = [
    `Training ${metric}`,
    `Validation ${metric}`,
    ...(fineTuneAt !== undefined ? ["Start Fine Tuning"] : []),
    ...(keptEpoch !== undefined ? ["Kept Epoch"] : []),
  ];
  const color = {
    field: "series",
    type: "nominal",
    title: null,
    scale: { domain: labels, range: [BLUE, ORANGE, ...(fineTuneAt !== undefined ? [GREEN] : []), RED] },
    legend: {
      orient: metric === "Accuracy" ? "bottom-right" : "top-right",
      fillColor: "white",
      strokeColor: "#ccc",
      padding: 6,
    },
  };
  const layers: unknown[] = [{
    data: { values: rows },
    mark: { type: "line", point: { size: 20 }, clip: true },
    encoding: {
      x: { field: "epoch", type: "quantitative", title: "epoch", axis: { values: ticks, format: "d" } },
      y: { field: "value", type: "quantitative", title: metric, scale: { domain, zero: false } },
      color,
    },
  }];
  if (fineTuneAt !== undefined) {
    layers.push({
      data: { values: [{ epoch: fineTuneAt, series: "Start Fine Tuning" }] },
      mark: { type: "rule", strokeWidth: 1.5 },
      encoding: { x: { field: "epoch", type: "quantitative" }, color },
    });
  }
  if (keptEpoch !== undefined) {
    layers.push({
      data: { values: [{ epoch: keptEpoch, series: "Kept Epoch" }] },
      mark: { type: "rule", strokeWidth: 1.5, strokeDash: [5, 3] },
      encoding: { x: { field: "epoch", type: "quantitative" }, color },
    });
  }
  return { title: `Training and Validation ${metric}`, width, height: 200, layer: layers };
}

/**
 * The tutorial's learning-curve figure: accuracy (y from `accuracyMin` to 1) above loss (y from 0 to 1),
 * training and validation lines over epochs 1…n, and an optional "Start Fine Tuning" rule.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { learningCurvesSpec } from "./mod.ts";
 *
 * const spec = learningCurvesSpec({ accuracy: [0.6, 0.8, 0.9], loss: [0.7, 0.4, 0.3] }, { fineTuneAt: 2 });
 * assert.equal(spec.description, "Learning curves over 3 epochs, fine-tuning from epoch 3");
 * assert.throws(() => learningCurvesSpec({ accuracy: [0.5], loss: [] }), /history.loss/);
 * ```
 */
export function learningCurvesSpec(
  history: LearningHistory,
  options: LearningCurvesOptions = {},
): TopLevelSpec {
  const epochs = history?.accuracy?.length;
  if (!epochs) throw new Error("history.accuracy: expected a non-empty array of per-epoch accuracies");
  const acc = [
    ...series(history.accuracy, "Training Accuracy", "accuracy", epochs),
    ...series(history.val_accuracy, "Validation Accuracy", "val_accuracy", epochs),
  ];
  const loss = [
    ...series(history.loss, "Training Loss", "loss", epochs),
    ...series(history.val_loss, "Validation Loss", "val_loss", epochs),
  ];
  const { fineTuneAt, keptEpoch } = options;
  for (const [name, epoch] of [["fineTuneAt", fineTuneAt], ["keptEpoch", keptEpoch]] as const) {
    if (epoch !== undefined && !(epoch >= 1 && epoch <= epochs)) {
      throw new Error(`${name}: expected an epoch between 1 and ${epochs}, got ${epoch}`);
    }
  }
  const finite = acc.map((r) => r.value).filter((v): v is number => v !== null);
  const accMin = options.accuracyMin ?? Math.max(0, Math.floor(Math.min(...finite, 1) * 10) / 10);
  const width = options.width ?? 420;
  return {
    $schema: SCHEMA,
    description: `Learning curves over ${epochs} epochs` +
      (fineTuneAt !== undefined ? `, fine-tuning from epoch ${fineTuneAt + 1}` : "") +
      (keptEpoch !== undefined ? `, epoch ${keptEpoch} kept` : ""),
    vconcat: [
      panel("Accuracy", acc, [accMin, 1], width, { fineTuneAt, keptEpoch }),
      panel("Loss", loss, [0, options.lossMax ?? 1], width, { fineTuneAt, keptEpoch }),
    ],
    resolve: { scale: { color: "independent" } },
    spacing: 24,
  } as TopLevelSpec;
}

/** The learning-rate finder's curve, as {@link lrFindSpec} draws it (`lrFind`'s result has these fields). */
export interface LrFindCurve {
  /** The rate of each iteration. */
  lrs: readonly number[];
  /** The smoothed loss of each iteration. */
  losses: readonly number[];
  /** The suggested rate, drawn as a rule; `undefined`: none. */
  suggestion?: number;
}

/**
 * fastai's `lr_find` plot: the smoothed loss against the learning rate (log scale), the suggested rate
 * marked with a rule and its value.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { lrFindSpec } from "./mod.ts";
 *
 * const spec = lrFindSpec({ lrs: [1e-5, 1e-4, 1e-3], losses: [0.7, 0.5, 0.9], suggestion: 1e-4 });
 * assert.equal(spec.description, "Loss against learning rate over 3 rates, suggested 1.00e-4");
 * ```
 */
export function lrFindSpec(curve: LrFindCurve, options: { width?: number } = {}): TopLevelSpec {
  const { lrs, losses, suggestion } = curve;
  if (!lrs?.length || lrs.length !== losses?.length) {
    throw new Error(
      `lrFindSpec: expected as many losses as rates (≥ 1), got ${lrs?.length} and ${losses?.length}`,
    );
  }
  const rows = lrs.map((lr, i) => ({ lr, loss: Number.isFinite(losses[i]) ? losses[i] : null }));
  const x = { field: "lr", type: "quantitative", title: "Learning Rate", scale: { type: "log" } };
  const layers: unknown[] = [{
    data: { values: rows },
    mark: { type: "line", color: BLUE },
    encoding: { x, y: { field: "loss", type: "quantitative", title: "Loss", scale: { zero: false } } },
  }];
  if (suggestion !== undefined) {
    const mark = [{ lr: suggestion, label: `suggested ${suggestion.toExponential(2)}` }];
    layers.push(
      { data: { values: mark }, mark: { type: "rule", color: RED, strokeDash: [5, 3] }, encoding: { x } },
      {
        data: { values: mark },
        mark: { type: "text", color: RED, align: "left", dx: 4, baseline: "top", y: 4 },
        encoding: { x, text: { field: "label" } },
      },
    );
  }
  return {
    $schema: SCHEMA,
    description: `Loss against learning rate over ${lrs.length} rates` +
      (suggestion !== undefined ? `, suggested ${suggestion.toExponential(2)}` : ""),
    title: "Learning-rate finder",
    width: options.width ?? 420,
    height: 240,
    layer: layers,
  } as TopLevelSpec;
}

/** Options of {@link confusionMatrixSpec}. */
export interface ConfusionMatrixOptions {
  /** Chart title (default: how many of how many are right). */
  title?: string;
  /** Side of each cell in pixels (default: 300 px over all classes, at least 28). */
  cellSize?: number;
}

/**
 * The confusion matrix as a heatmap with the count in each cell: rows the actual class, columns the
 * predicted class (sklearn's `ConfusionMatrixDisplay` layout).
 */
export function confusionMatrixSpec(
  matrix: number[][],
  classNames: readonly string[],
  options: ConfusionMatrixOptions = {},
): TopLevelSpec {
  const n = classNames.length;
  if (matrix.length !== n || matrix.some((row) => row.length !== n)) {
    throw new Error(`confusionMatrixSpec: expected a ${n}×${n} matrix (one row and column per class name)`);
  }
  const values = matrix.flatMap((row, a) =>
    row.map((count, p) => ({ actual: classNames[a], predicted: classNames[p], count }))
  );
  const max = Math.max(1, ...values.map((v) => v.count));
  const cell = options.cellSize ?? Math.max(28, Math.round(300 / n));
  const total = values.reduce((a, v) => a + v.count, 0);
  const right = matrix.reduce((a, row, k) => a + row[k], 0);
  const axis = (title: string) => ({
    field: title.toLowerCase(),
    type: "ordinal",
    sort: [...classNames],
    title,
  });
  return {
    $schema: SCHEMA,
    title: options.title ?? `Confusion matrix: ${right} of ${total} right`,
    description: `Confusion matrix over ${n} classes (${classNames.join(", ")})`,
    width: cell * n,
    height: cell * n,
    data: { values },
    encoding: {
      x: { ...axis("Predicted"), axis: { orient: "top", labelAngle: -40 } },
      y: axis("Actual"),
    },
    layer: [
      {
        mark: { type: "rect", stroke: "white" },
        encoding: {
          color: {
            field: "count",
            type: "quantitative",
            title: "images",
            scale: { scheme: "blues", domain: [0, max] },
          },
        },
      },
      {
        mark: { type: "text", fontSize: Math.min(14, Math.max(9, cell / 4)) },
        encoding: {
          text: { field: "count", type: "quantitative" },
          color: { condition: { test: `datum.count > ${max / 2}`, value: "white" }, value: "black" },
        },
      },
    ],
    config: { view: { stroke: null } },
  } as TopLevelSpec;
}

/** Per-class precision and recall (`perClassMetrics`' rows) as grouped horizontal bars. */
export function perClassMetricsSpec(
  rows: readonly ClassMetrics[],
  options: { title?: string } = {},
): TopLevelSpec {
  const values = rows.flatMap((r) => [
    { className: r.className, metric: "precision", value: r.precision },
    { className: r.className, metric: "recall", value: r.recall },
  ]).filter((v) => v.value !== null);
  return {
    $schema: SCHEMA,
    title: options.title ?? "Precision and recall per class",
    description: `Per-class precision and recall: ${
      rows.map((r) => `${r.className} ${fmt(r.precision)}/${fmt(r.recall)}`).join(", ")
    }`,
    data: { values },
    mark: { type: "bar" },
    width: 300,
    encoding: {
      y: { field: "className", type: "nominal", title: null, sort: rows.map((r) => r.className) },
      yOffset: { field: "metric", type: "nominal" },
      x: { field: "value", type: "quantitative", title: null, scale: { domain: [0, 1] } },
      color: { field: "metric", type: "nominal", title: null, scale: { range: [BLUE, ORANGE] } },
      tooltip: [{ field: "className" }, { field: "metric" }, { field: "value", format: ".3f" }],
    },
  } as TopLevelSpec;
}

function fmt(v: number | null): string {
  return v === null ? "–" : v.toFixed(2);
}

/** One tile of {@link topLossesSpec}: the image and what the model said about it. */
export interface TopLossTile {
  /** The image as the model saw it (0..255 RGB). */
  image: Tensor3D;
  /** Its class (index into the class names). */
  actual: number;
  /** The class the model predicted. */
  predicted: number;
  /** Probability of the predicted class. */
  probability: number;
  /** Its loss. */
  loss: number;
  /** Its file, when known. */
  file?: string;
}

/**
 * The images with the highest loss (fastai's `plot_top_losses`): each titled with the predicted class and
 * its probability, then the actual class and the loss; wrong predictions in red.
 */
export async function topLossesSpec(
  items: readonly TopLossTile[],
  classNames: readonly string[],
  options: ImageGridOptions = {},
): Promise<TopLevelSpec> {
  const shown = items.slice(0, options.count ?? 9);
  if (shown.length === 0) throw new Error("topLossesSpec: expected at least one image");
  const name = (k: number) => {
    const n = classNames[k];
    if (n === undefined) {
      throw new Error(`topLossesSpec: class index ${k} is outside classNames [${classNames}]`);
    }
    return n;
  };
  const tiles: Tile[] = [];
  for (const item of shown) {
    const wrong = item.predicted !== item.actual;
    tiles.push({
      url: await pngDataUrl(item.image),
      title: [
        `${name(item.predicted)} ${(item.probability * 100).toFixed(0)}%`,
        `actual ${name(item.actual)} · loss ${item.loss.toFixed(2)}`,
      ],
      color: wrong ? RED : GREEN,
    });
  }
  return gridSpec(
    tiles,
    { title: "Top losses: predicted (probability) / actual · loss", size: 128, columns: 3, ...options },
    `Top losses: ${
      shown.map((t) =>
        `${name(t.predicted)}/${name(t.actual)} ${t.loss.toFixed(2)}${t.file ? ` ${t.file}` : ""}`
      )
        .join(", ")
    }`,
  );
}
