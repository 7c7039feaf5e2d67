/**
 * `report.html` of a trained classifier: one self-contained page — the run in numbers, the learning
 * curves, the confusion matrix, precision and recall per class, the most confused pairs and the images
 * with the highest loss, and where the model looked in them and in a few images it got right (Grad-CAM
 * heatmaps), each part shown when `metadata.json` records it (the heatmaps: when the model is given).
 * Charts are Vega-Lite rendered to SVG here, images are data URLs inside them; the one script is the map
 * of the data's interactive version (Vega's runtime inlined, thumbnails on hover), drawn over its static SVG.
 * No network: the page opens offline, from any folder, with or without JavaScript.
 *
 * @module
 */
import {
  compileToVega,
  confusionMatrixSpec,
  dataMapSpec,
  gradCamTiles,
  learningCurvesSpec,
  perClassMetricsSpec,
  renderSvg,
  topLossesSpec,
} from "../analysis/mod.ts";
import type { LearningHistory, MapPoint, TopLossTile } from "../analysis/mod.ts";
import fs from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { PROJECT_ROOT, tf } from "../runtime/mod.ts";
import type { LayersModel, Tensor3D } from "../runtime/mod.ts";
import { concatHistories } from "../train/mod.ts";
import { testMetricsOf } from "./metadata.ts";
import type { ClassifierMetadata, HistoriesRecord, StageMetrics, StageTime } from "./metadata.ts";
import { shellQuote } from "./review_script.ts";
import type { ReviewFindings } from "./review.ts";
import type { ReviewedImage } from "./review_report.ts";

/** What the report shows. */
export interface ReportInput {
  /** The classifier's metadata: every part of the report comes from it. */
  metadata: ClassifierMetadata;
  /** The highest-loss validation images (`interpret`'s `topLosses`); none: no top-losses section. */
  topLosses: readonly TopLossTile[];
  /**
   * The model, for Grad-CAM heatmaps over the top losses and over `correct` (`interpret`'s `correct`: a
   * few images it classified right per class); absent: no heatmap section.
   */
  explain?: { model: LayersModel; correct: readonly TopLossTile[] };
  /** The folder the model is saved in, for the "how to use this model" commands (default `DIR`). */
  modelDir?: string;
  /**
   * Photos to fix and the map of the data (`reviewFolder` over the training data after training); absent:
   * neither section.
   */
  review?: ReviewFindings;
  /** The classifier on the folder's `test/` images after training; absent: no test-set section. */
  testSet?: TestSetResult;
}

/** A classifier's results on a test set: images it never saw in training or to choose an epoch. */
export interface TestSetResult {
  /** The test folder. */
  dir: string;
  /** Images in it. */
  images: number;
  /** Share classified right. */
  accuracy: number;
  /** Mean cross-entropy. */
  loss: number;
  /** Rows: actual class, columns: predicted class. */
  confusionMatrix: number[][];
}

/**
 * Escapes text for HTML: `&`, `<`, `>`, `"` and `'` become character references.
 *
 * @example
 * ```ts
 * import { escapeHtml } from "./mod.ts";
 * import assert from "node:assert";
 *
 * assert.equal(escapeHtml(`<b class="x">cats & dogs</b>`), "&#60;b class=&#34;x&#34;&#62;cats &#38; dogs&#60;/b&#62;");
 * assert.equal(escapeHtml(42), "42");
 * ```
 */
export function escapeHtml(s: unknown): string {
  return String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

const pct = (v: unknown) => typeof v === "number" && Number.isFinite(v) ? `${(v * 100).toFixed(1)} %` : "–";
const num = (v: unknown, digits = 4) => typeof v === "number" && Number.isFinite(v) ? v.toFixed(digits) : "–";
const seconds = (v: number | undefined) => v === undefined ? "–" : `${v.toFixed(1)} s`;

function table(head: string[], rows: unknown[][]): string {
  const th = head.map((h) => `<th>${escapeHtml(h)}</th>`).join("");
  const tr = rows.map((r) => `<tr>${r.map((c) => `<td>${escapeHtml(c)}</td>`).join("")}</tr>`).join("\n");
  // Scrolls on its own on a narrow screen rather than widening the page.
  return `<div class="scroll"><table><thead><tr>${th}</tr></thead><tbody>\n${tr}\n</tbody></table></div>`;
}

/** The opening paragraph: classes, data, model, input, output, time. */
function summary(m: ClassifierMetadata): string {
  const { data, training } = m;
  const lines = [`<p>Classes: ${m.classNames.map((c) => `<code>${escapeHtml(c)}</code>`).join(", ")}.`];
  if (data) {
    lines.push(
      `Data: <code>${escapeHtml(data.source)}</code> — ${escapeHtml(data.files)} images`,
      `(${escapeHtml(data.trainImages)} training, ${
        escapeHtml(data.validationImages)
      } validation), fingerprint`,
      `<code>${escapeHtml(data.fingerprint.slice(0, 19))}…</code>.`,
    );
  }
  const weights = training?.weights === undefined
    ? ""
    : `, weights <code>${escapeHtml(training.weights)}</code>`;
  lines.push(
    `Model: ${escapeHtml(training?.baseName ?? "classifier")} (alpha ${escapeHtml(m.alpha)}${weights}),`,
    `input ${m.imageSize.join("×")}${
      training?.batchSize === undefined ? "" : `, batch ${escapeHtml(training.batchSize)}`
    }, output ${escapeHtml(m.output)}.`,
  );
  if (m.created !== undefined) lines.push(`Created ${escapeHtml(m.created)}.`);
  return `${lines.join("\n")}</p>`;
}

/** The validation results and times of each stage that ran. */
function stagesSection(m: ClassifierMetadata, histories: HistoriesRecord): string {
  const { training, metrics } = m;
  const row = (name: string, values?: StageMetrics, time?: StageTime) =>
    values
      ? [
        name,
        pct(values.val_accuracy),
        num(values.val_loss),
        seconds(time?.wallSeconds),
        seconds(time?.cpuSeconds),
      ]
      : null;
  const epochs = training?.epochs ?? histories.frozen.epoch.length;
  const fineEpochs = training?.fineTuneEpochs ?? histories.fineTuning?.epoch.length;
  const from = training?.fineTuneAt === undefined ? "" : ` from layer ${training.fineTuneAt}`;
  const rows = [
    row(`1. head only, base frozen (${epochs} epochs)`, metrics?.frozen, training?.stages?.frozen),
    row(`2. fine-tuning${from} (${fineEpochs} epochs)`, metrics?.fineTuning, training?.stages?.fineTuning),
  ].filter((r): r is string[] => r !== null);
  return `<h2>Accuracy per stage (validation images)</h2>
${table(["stage", "val_accuracy", "val_loss", "wall time", "CPU time"], rows)}`;
}

/**
 * Which epoch's weights were saved and why (`training.kept`), early stopping, and the class imbalance
 * with its weighting (`training.classWeight`); empty when the metadata records none of them.
 */
function keptAndBalance(m: ClassifierMetadata): string {
  const { kept, earlyStopping, classWeight } = m.training ?? {};
  const lines: string[] = [];
  if (kept) {
    const stage = kept.stage === "frozen" ? "stage 1, base frozen" : "stage 2, fine-tuning";
    lines.push(
      `<p><strong>Saved: epoch ${escapeHtml(kept.epoch)} of ${escapeHtml(kept.epochsRun)}</strong> ` +
        `(${stage}; val_loss ${num(kept.value)}) — ${escapeHtml(kept.reason)}. ` +
        `Marked “Kept Epoch” on the learning curves.</p>`,
    );
  }
  const stopped = Object.values(earlyStopping?.stoppedAt ?? {});
  if (earlyStopping) {
    lines.push(
      `<p>Early stopping (patience ${escapeHtml(earlyStopping.patience)}): ${
        stopped.length ? `stopped at epoch ${stopped.map(escapeHtml).join(" and ")}` : "did not stop a stage"
      }.</p>`,
    );
  }
  if (classWeight && classWeight.imbalanceRatio >= 3) {
    const rows = m.classNames.map((c, i) => [c, classWeight.counts[i], num(classWeight.weights[i], 3)]);
    lines.push(
      `<p class="warning">⚠ Imbalanced classes: the largest has ${
        num(classWeight.imbalanceRatio, 1)
      }× the training images of the smallest; trained ${
        classWeight.mode === "balanced" ? "with balanced class weights" : "without class weights"
      }. Accuracy favours the large classes: read the balanced accuracy.</p>`,
      table(["class", "training images", "class weight"], rows),
    );
  }
  return lines.join("\n");
}

/**
 * Balanced accuracy (the mean of the per-class recalls: each class counts the same, whatever its size)
 * and the recall of each class — the numbers to read first when the classes are imbalanced.
 */
function balancedSection(m: ClassifierMetadata): string {
  const perClass = m.metrics?.perClass;
  if (!perClass?.length) return "";
  // A class without validation images has no recall: it is left out of the mean.
  const recalls = perClass.map((r) => r.recall).filter((r): r is number => typeof r === "number");
  const balanced = recalls.reduce((a, b) => a + b, 0) / recalls.length;
  const recallList = perClass.map((r) => `${escapeHtml(r.className)} ${pct(r.recall)}`).join(" · ");
  return `<p><strong>Balanced accuracy ${pct(balanced)}</strong> (mean recall per class), accuracy ${
    pct(m.metrics?.final?.val_accuracy)
  } — recall per class: ${recallList}.</p>`;
}

/** Accuracy and loss per epoch over both stages, the start of fine-tuning and the kept epoch marked. */
async function curvesSection(histories: HistoriesRecord, keptEpoch?: number): Promise<string> {
  const joined = histories.fineTuning
    ? concatHistories(histories.frozen, histories.fineTuning)
    : histories.frozen;
  const h = joined.history;
  const curves: LearningHistory = {
    accuracy: h.accuracy ?? [],
    loss: h.loss ?? [],
    ...(h.val_accuracy ? { val_accuracy: h.val_accuracy } : {}),
    ...(h.val_loss ? { val_loss: h.val_loss } : {}),
  };
  const losses = [...curves.loss, ...(curves.val_loss ?? [])].filter(Number.isFinite);
  const svg = await renderSvg(learningCurvesSpec(curves, {
    fineTuneAt: histories.fineTuning ? histories.frozen.epoch.length : undefined,
    ...(keptEpoch !== undefined && keptEpoch <= curves.loss.length ? { keptEpoch } : {}),
    lossMax: Math.max(1, Math.ceil(Math.max(...losses) * 2) / 2),
  }));
  return `<h2>Learning curves</h2>
<div class="chart">${svg}</div>`;
}

/** The confusion matrix, precision and recall per class, and the most confused pairs. */
async function errorSections(m: ClassifierMetadata): Promise<string[]> {
  const { confusionMatrix, perClass, mostConfused } = m.metrics ?? {};
  const sections: string[] = [];
  if (confusionMatrix) {
    sections.push(`<h2>Confusion matrix (validation images)</h2>
<div class="chart square">${await renderSvg(confusionMatrixSpec(confusionMatrix, m.classNames))}</div>`);
  }
  if (perClass) {
    const rows = perClass.map((r) => [r.className, pct(r.precision), pct(r.recall), r.support]);
    sections.push(`<h2>Precision and recall per class</h2>
${table(["class", "precision", "recall", "images"], rows)}
<div class="chart square">${await renderSvg(perClassMetricsSpec(perClass))}</div>`);
  }
  if (mostConfused) {
    // Pairs that matter: those seen at least twice, or else the five most frequent.
    const twice = mostConfused.filter((p) => p.count >= 2);
    const confused = twice.length >= 5 ? twice.slice(0, 10) : mostConfused.slice(0, 5);
    sections.push(`<h2>Most confused pairs</h2>
${
      confused.length
        ? table(["actual", "predicted as", "images"], confused.map((p) => [p.actual, p.predicted, p.count]))
        : "<p>None: every validation image was classified right.</p>"
    }`);
  }
  return sections;
}

/** The test set's score, balanced accuracy and confusion matrix. */
async function testSetSection(t: TestSetResult, classNames: string[]): Promise<string> {
  const m = t.confusionMatrix;
  const balanced = testMetricsOf(t).balancedAccuracy;
  return `<h2>Test set</h2>
<p><strong>Test accuracy ${pct(t.accuracy)}</strong> on ${escapeHtml(t.images)} images of
<code>${escapeHtml(t.dir)}</code> (balanced accuracy ${pct(balanced)}, loss ${num(t.loss)}) — images used
neither in training nor to choose the saved epoch: the estimate to quote.</p>
<div class="chart square">${await renderSvg(confusionMatrixSpec(m, classNames))}</div>`;
}

/** Height of the top losses' thumbnails, in pixels. */
const THUMB_HEIGHT = 180;

/**
 * A JPEG data URL of `file` at its own aspect ratio, {@link THUMB_HEIGHT} pixels high or, with `longest`,
 * that many pixels on its longest side; `""` when the file cannot be read or decoded any more (the report
 * is still written).
 */
async function thumbnail(file: string, fit: { longest?: number; quality?: number } = {}): Promise<string> {
  let bytes: Uint8Array;
  try {
    bytes = fs.readFileSync(file);
  } catch {
    return "";
  }
  let image;
  try {
    image = tf.tidy(() => {
      const decoded = tf.node.decodeImage(bytes, 3, "int32", false) as Tensor3D;
      const [h, w] = decoded.shape;
      const scale = fit.longest ? fit.longest / Math.max(h, w) : THUMB_HEIGHT / h;
      const size: [number, number] = [Math.max(1, Math.round(h * scale)), Math.max(1, Math.round(w * scale))];
      return tf.image.resizeBilinear(decoded, size, false, true).round().toInt() as Tensor3D;
    });
  } catch {
    return "";
  }
  try {
    const jpeg = await tf.node.encodeJpeg(image, "rgb", fit.quality ?? 85);
    return `data:image/jpeg;base64,${btoa(Array.from(jpeg, (b) => String.fromCharCode(b)).join(""))}`;
  } finally {
    image.dispose();
  }
}

/** The highest-loss images as a grid, and their files (relative to the data folder) as a table. */
async function topLossesSection(m: ClassifierMetadata, topLosses: readonly TopLossTile[]): Promise<string> {
  const folder = m.data?.folder ?? "";
  const rows: string[] = [];
  for (const t of topLosses.filter((t) => t.file)) {
    const shown = folder && t.file!.startsWith(folder)
      ? t.file!.slice(folder.length).replace(/^[\\/]/, "")
      : t.file!;
    const href = escapeHtml(pathToFileURL(t.file!).href);
    const thumb = await thumbnail(t.file!);
    const cells = [
      thumb ? `<a href="${href}"><img class="thumb" src="${thumb}" alt=""></a>` : "",
      `<a href="${href}">${escapeHtml(shown)}</a>`,
      ...[m.classNames[t.actual], m.classNames[t.predicted], pct(t.probability), num(t.loss, 3)].map(
        escapeHtml,
      ),
    ];
    rows.push(`<tr>${cells.map((c) => `<td>${c}</td>`).join("")}</tr>`);
  }
  const head = ["photo", "file", "actual", "predicted", "probability", "loss"].map((h) => `<th>${h}</th>`);
  const files = rows.length
    ? `<div class="scroll"><table><thead><tr>${head.join("")}</tr></thead><tbody>\n${
      rows.join("\n")
    }\n</tbody></table></div>`
    : "";
  return `<h2>Top losses</h2>
<p>The validation images the model was most wrong (or least sure) about: predicted class and its probability,
then the actual class and the image's loss.</p>
<div class="chart">${await renderSvg(await topLossesSpec(topLosses, m.classNames))}</div>
<p>Each photo as it is on disk (its aspect ratio, before the model's resize); click to open the file.</p>
${files}`;
}

/** Rows shown per list of photos to fix (the review's JSON has them all). */
const FIX_ROWS = 20;

/** A photo of the review as a table cell: its thumbnail and its path (part and label), both linked. */
async function photoCell(root: string, image: ReviewedImage): Promise<string> {
  const file = path.join(root, ...image.file.split("/"));
  const href = escapeHtml(pathToFileURL(file).href);
  const thumb = await thumbnail(file);
  const img = thumb ? `<a href="${href}"><img class="thumb small" src="${thumb}" alt=""></a>` : "";
  return `${img}<a href="${href}">${escapeHtml(image.file)}</a> (${escapeHtml(image.part)})`;
}

const KIND_TEXT = {
  leak: "leak: in training and in validation/test",
  conflict: "conflict: the same photo with two labels",
  duplicate: "duplicate: a second copy in one class",
} as const;

/** Likely mislabels and near-duplicate pairs, with thumbnails and the command that writes the script. */
async function photosToFixSection(review: ReviewFindings, modelDir = "DIR"): Promise<string> {
  const { thresholds: t, mislabels, duplicates, root } = review;
  const rows = (cells: string[]) => `<tr>${cells.map((c) => `<td>${c}</td>`).join("")}</tr>`;
  const head = (h: string[]) => `<thead><tr>${h.map((x) => `<th>${x}</th>`).join("")}</tr></thead>`;
  const mis: string[] = [];
  for (const m of mislabels.slice(0, FIX_ROWS)) {
    mis.push(rows([await photoCell(root, m), ...[m.label, m.predicted, pct(m.probability)].map(escapeHtml)]));
  }
  const pairs: string[] = [];
  for (const d of duplicates.slice(0, FIX_ROWS)) {
    const kind = `<span class="kind-${d.kind}">${escapeHtml(KIND_TEXT[d.kind])}</span>`;
    pairs.push(rows([kind, num(d.similarity, 3), await photoCell(root, d.a), await photoCell(root, d.b)]));
  }
  const more = (n: number) => n > FIX_ROWS ? `<p>… and ${n - FIX_ROWS} more (see the review below).</p>` : "";
  const dir = /^[\w./-]+$/.test(modelDir) ? modelDir : shellQuote(modelDir);
  const counts = Object.entries(review.images).map(([p, n]) => `${n} ${p}`).join(", ");
  return `<h2>Photos to fix</h2>
<p>Every image of the data (${escapeHtml(counts)}) embedded by the trained model. <strong>Likely
mislabels</strong>: the model gives another class at least ${pct(t.minConfidence)} — often the model is the
one that is wrong, so look before moving. <strong>Near-duplicates</strong>: pairs whose embeddings have a cosine
similarity of at least ${num(t.minSimilarity, 2)}; a <em>leak</em> between training and validation inflates
the validation accuracy.</p>
<h3>Likely mislabels (${mislabels.length})</h3>
${
    mis.length
      ? `<div class="scroll"><table>${head(["photo", "label", "predicted", "probability"])}<tbody>\n${
        mis.join("\n")
      }\n</tbody></table></div>${more(mislabels.length)}`
      : "<p>None.</p>"
  }
<h3>Near-duplicates and leaks (${duplicates.length})</h3>
${
    pairs.length
      ? `<div class="scroll"><table>${head(["kind", "similarity", "first", "second"])}<tbody>\n${
        pairs.join("\n")
      }\n</tbody></table></div>${more(duplicates.length)}`
      : "<p>None.</p>"
  }
<p>To get them as JSON and as a shell script of <code>mv</code>/<code>rm</code> lines to edit and run
(nothing is moved by the tool), from the project's folder:</p>
<pre>deno task review -- --model ${escapeHtml(dir)}</pre>`;
}

/** The map's thumbnails at most: they make most of the report's size (about 5 kB each). */
export const MAP_THUMBNAILS = 200;

/** Longest side of the map's thumbnails, in pixels. */
const MAP_THUMB_SIZE = 96;

/**
 * The indices of the map's points that get a thumbnail: the misclassified first, then the others spread
 * evenly over the rest, {@link MAP_THUMBNAILS} at most.
 */
export function mapThumbnailPicks(points: readonly MapPoint[], max: number = MAP_THUMBNAILS): Set<number> {
  const wrong = points.flatMap((p, i) => p.label !== p.predicted ? [i] : []);
  const right = points.flatMap((p, i) => p.label === p.predicted ? [i] : []);
  const picks = wrong.slice(0, max);
  const room = Math.min(max - picks.length, right.length);
  for (let k = 0; k < room; k++) picks.push(right[Math.floor(k * right.length / room)]);
  return new Set(picks);
}

/** Options of {@link withThumbnails}. */
export interface MapThumbnailOptions {
  /** Thumbnails at most (default {@link MAP_THUMBNAILS}), picked by {@link mapThumbnailPicks}. */
  max?: number;
  /** Also give each point its file's `file://` URL as `href` (a click opens it); default false. */
  links?: boolean;
}

/**
 * The map's points (`name`: the file's path relative to `root`, with `/`) with a thumbnail as `image` —
 * a JPEG data URL, {@link MAP_THUMB_SIZE} px on the longest side, at the photo's aspect ratio — for those
 * {@link mapThumbnailPicks} picks (a file that cannot be read gets none). `dataMapSpec` then shows the photo
 * on hover: in the report, and in JupyterLab, whose Vega tooltip shows a field named `image` as a picture.
 */
export async function withThumbnails(
  points: readonly MapPoint[],
  root: string,
  options: MapThumbnailOptions = {},
): Promise<MapPoint[]> {
  const picks = mapThumbnailPicks(points, options.max);
  const out: MapPoint[] = [];
  for (const [i, p] of points.entries()) {
    const file = path.join(root, ...p.name.split("/"));
    const image = picks.has(i) ? await thumbnail(file, { longest: MAP_THUMB_SIZE, quality: 80 }) : "";
    out.push({
      ...p,
      ...(options.links ? { href: pathToFileURL(file).href } : {}),
      ...(image ? { image } : {}),
    });
  }
  return out;
}

/** Vega's browser build (one file, its dependencies inside) from the project's own `node_modules`. */
const VEGA_RUNTIME = path.join(PROJECT_ROOT, "node_modules", "vega", "build", "vega.min.js");

/**
 * Draws the compiled map (`#map-spec`) with Vega into `#map-interactive` and, once drawn, hides the static
 * SVG (`#map-static`). The tooltip is a box by the pointer with the thumbnail and the point's fields.
 */
const MAP_SCRIPT = `(() => {
  const box = document.getElementById("map-interactive");
  const tip = document.createElement("div");
  tip.className = "map-tip";
  tip.hidden = true;
  document.body.append(tip);
  const place = (event) => {
    const r = tip.getBoundingClientRect();
    const x = event.clientX + 14 + r.width > innerWidth ? event.clientX - 14 - r.width : event.clientX + 14;
    const y = event.clientY + 14 + r.height > innerHeight ? event.clientY - 14 - r.height : event.clientY + 14;
    tip.style.left = Math.max(0, x) + "px";
    tip.style.top = Math.max(0, y) + "px";
  };
  const show = (_handler, event, _item, value) => {
    if (value === null || value === undefined || typeof value !== "object") return void (tip.hidden = true);
    tip.replaceChildren();
    if (value.image) tip.append(Object.assign(new Image(), { src: value.image, alt: "" }));
    for (const [key, text] of Object.entries(value)) {
      if (key !== "image") tip.append(Object.assign(document.createElement("div"), { textContent: key + ": " + text }));
    }
    tip.hidden = false;
    place(event);
  };
  const spec = JSON.parse(document.getElementById("map-spec").textContent);
  const view = new vega.View(vega.parse(spec), { renderer: "svg" }).tooltip(show).initialize(box).hover();
  view.runAsync().then(() => {
    box.hidden = false;
    document.getElementById("map-static").hidden = true;
  });
})();`;

/**
 * The map drawn in the page by Vega (its runtime inlined) with thumbnails on hover; `""` when Vega's
 * browser build is missing (the static map stays).
 */
async function interactiveMap(review: ReviewFindings): Promise<string> {
  let runtime: string;
  try {
    runtime = fs.readFileSync(VEGA_RUNTIME, "utf8");
  } catch {
    return "";
  }
  const { $schema: _, ...spec } = compileToVega(
    dataMapSpec(await withThumbnails(review.map, review.root, { links: true }), { method: review.mapMethod }),
  );
  // In a <script> element only "</script" and "<!--" end or change the text: "<" as \u003c avoids both.
  const json = JSON.stringify(spec).replaceAll("<", "\\u003c");
  return `<div class="chart" id="map-interactive" hidden></div>
<script type="application/json" id="map-spec">${json}</script>
<script>${runtime.replaceAll("</script", "<\\/script")}</script>
<script>${MAP_SCRIPT}</script>`;
}

/**
 * The map of the data: the review's points as a static scatter plot and, drawn over it in the browser, the
 * same plot with each photo's thumbnail on hover.
 */
async function dataMapSection(review: ReviewFindings): Promise<string> {
  if (review.map.length === 0) return "";
  const shown = Math.min(review.map.length, MAP_THUMBNAILS);
  return `<h2>Map of the data</h2>
<p>Each point is a validation image, placed by its embedding (${
    review.mapMethod === "umap" ? "UMAP, seeded" : "PCA"
  }): close points are images the model sees alike.
Colour: the label; a cross: the model got it wrong. A cross among another class's points is worth a look.
Point at a dot to see the photo (${
    shown < review.map.length
      ? `${shown} of the ${review.map.length} photos have a thumbnail: the misclassified first, then a spread of the rest`
      : "every photo has a thumbnail"
  }); click it to open the file.</p>
<div class="chart" id="map-static">${await renderSvg(
    dataMapSpec(review.map, { method: review.mapMethod }),
  )}</div>
${await interactiveMap(review)}`;
}

/** Grad-CAM overlays of `tiles` (for the predicted class) as a grid; the overlays are freed after. */
async function heatGrid(model: LayersModel, tiles: readonly TopLossTile[], classNames: string[]) {
  const overlays = gradCamTiles(model, tiles);
  try {
    const spec = await topLossesSpec(overlays, classNames, { count: overlays.length });
    return `<div class="chart">${await renderSvg(spec)}</div>`;
  } finally {
    tf.dispose(overlays.map((t) => t.image));
  }
}

/**
 * Where the model looked: Grad-CAM heatmaps (`docs/interpretation.md`) of the predicted class over the
 * top losses and over a few correctly classified images of each class.
 */
async function heatmapSection(input: ReportInput): Promise<string> {
  const { explain, topLosses, metadata: m } = input;
  if (!explain || (topLosses.length === 0 && explain.correct.length === 0)) return "";
  const parts = [`<h2>Where the model looked (Grad-CAM)</h2>
<p>Red marks the parts of each image that most raised the score of the class the model predicted
(Grad-CAM on the base's last convolutional block, <code>out_relu</code>); blue, the parts that did not.
A model that looks at the background, a watermark or a frame rather than the subject has learned a
shortcut.</p>`];
  if (topLosses.length) {
    parts.push(`<h3>The top losses: why the model chose its class</h3>
${await heatGrid(explain.model, topLosses, m.classNames)}`);
  }
  if (explain.correct.length) {
    parts.push(`<h3>Images it classified right</h3>
${await heatGrid(explain.model, explain.correct, m.classNames)}`);
  }
  return parts.join("\n");
}

/**
 * The TypeScript lines that load the model saved in `modelDir` and classify a photo, run from the
 * project's root (the report's "how to use this model"; tests/tasks/report_test.ts type-checks them).
 */
export function usageCode(modelDir: string): string {
  return `import { loadClassifier, predictFiles } from "./lib/tasks/mod.ts";

const saved = await loadClassifier(${JSON.stringify(modelDir)});
for await (const r of predictFiles(saved, ["photo.jpg"])) {
  console.log(r.file, r.ok ? r.predictions[0] : r.error);
}
saved.model.dispose();
`;
}

/** How to use this model: the predict, review and serve commands and the TypeScript lines. */
function usageSection(modelDir = "DIR"): string {
  const dir = /^[\w./-]+$/.test(modelDir) ? modelDir : shellQuote(modelDir);
  return `<h2>How to use this model</h2>
<p>From the project's folder: classify photos, list photos to fix in the training data, or open the web
page that classifies in the browser.</p>
<pre>deno task predict -- --model ${escapeHtml(dir)} photo.jpg more_photos/
deno task review -- --model ${escapeHtml(dir)}
deno task serve -- --model ${escapeHtml(dir)}</pre>
<p>In TypeScript (Deno, from the project's root):</p>
<pre>${escapeHtml(usageCode(modelDir))}</pre>`;
}

const STYLE =
  `body { font: 14px/1.45 system-ui, sans-serif; margin: 2em auto; max-width: 980px; padding: 0 1em; color: #222; }
h1 { font-size: 1.6em; } h2 { font-size: 1.25em; margin-top: 2em; border-bottom: 1px solid #ddd; }
table { border-collapse: collapse; margin: .5em 0; } td, th { border: 1px solid #ddd; padding: 3px 9px; text-align: left; }
th { background: #f4f4f4; } .warning { background: #fff4e0; padding: 4px 8px; } code { background: #f4f4f4; padding: 0 3px; }
.chart svg { width: 100%; height: auto; display: block; } .chart.square svg { max-width: 640px; } /* small charts: full width would only enlarge their text */
img.thumb { height: ${THUMB_HEIGHT}px; max-width: 100%; object-fit: contain; display: block; }
img.thumb.small { height: ${THUMB_HEIGHT / 2}px; } .kind-leak { color: #b00; font-weight: bold; }
.scroll { overflow-x: auto; } pre { background: #f4f4f4; padding: 8px; overflow-x: auto; }
.map-tip { position: fixed; z-index: 10; pointer-events: none; background: #fff; border: 1px solid #bbb; padding: 4px 6px; font-size: 12px; box-shadow: 0 2px 6px #0003; max-width: 240px; overflow-wrap: anywhere; }
.map-tip img { display: block; max-width: ${MAP_THUMB_SIZE}px; max-height: ${MAP_THUMB_SIZE}px; margin-bottom: 3px; }
@media (max-width: 600px) { body { margin: 1em auto; } img.thumb { height: auto; max-height: ${THUMB_HEIGHT}px; } }`;

/** The report page for a saved classifier: the parts its metadata records. */
export async function buildReport(input: ReportInput): Promise<string> {
  const m = input.metadata;
  const sections = [
    ...(m.histories
      ? [stagesSection(m, m.histories), await curvesSection(m.histories, m.training?.kept?.epoch)]
      : []),
    ...await errorSections(m),
    ...(input.testSet ? [await testSetSection(input.testSet, m.classNames)] : []),
    ...(input.topLosses.length ? [await topLossesSection(m, input.topLosses)] : []),
    await heatmapSection(input),
    ...(input.review
      ? [await photosToFixSection(input.review, input.modelDir), await dataMapSection(input.review)]
      : []),
    usageSection(input.modelDir),
  ].filter((section) => section !== "");
  const title = `Classifier report: ${m.classNames.length} classes`;
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>${escapeHtml(title)}</title>
<style>
${STYLE}
</style>
</head>
<body>
<h1>${escapeHtml(title)}</h1>
${summary(m)}
${balancedSection(m)}
${keptAndBalance(m)}

${sections.join("\n\n")}
</body>
</html>
`;
}
