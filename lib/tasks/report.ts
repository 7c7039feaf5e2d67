/**
 * `report.html` of a trained classifier: one self-contained page — the run in numbers, the learning
 * curves, the confusion matrix, precision and recall per class, the most confused pairs and the images
 * with the highest loss, each part shown when `metadata.json` records it. Charts are Vega-Lite rendered
 * to SVG here (no script, no network), images are PNG data URLs inside them, so the page opens offline,
 * from any folder.
 *
 * @module
 */
import {
  confusionMatrixSpec,
  learningCurvesSpec,
  perClassMetricsSpec,
  renderSvg,
  topLossesSpec,
} from "../analysis/mod.ts";
import type { LearningHistory, TopLossTile } from "../analysis/mod.ts";
import { concatHistories } from "../train/mod.ts";
import type { ClassifierMetadata, HistoriesRecord, StageMetrics, StageTime } from "./metadata.ts";

/** What the report shows. */
export interface ReportInput {
  /** The classifier's metadata: every part of the report comes from it. */
  metadata: ClassifierMetadata;
  /** The highest-loss validation images (`interpret`'s `topLosses`); none: no top-losses section. */
  topLosses: readonly TopLossTile[];
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
  return `<table><thead><tr>${th}</tr></thead><tbody>\n${tr}\n</tbody></table>`;
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

/** Accuracy and loss per epoch over both stages, the start of fine-tuning marked. */
async function curvesSection(histories: HistoriesRecord): Promise<string> {
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
<div class="chart">${await renderSvg(confusionMatrixSpec(confusionMatrix, m.classNames))}</div>`);
  }
  if (perClass) {
    const rows = perClass.map((r) => [r.className, pct(r.precision), pct(r.recall), r.support]);
    sections.push(`<h2>Precision and recall per class</h2>
${table(["class", "precision", "recall", "images"], rows)}
<div class="chart">${await renderSvg(perClassMetricsSpec(perClass))}</div>`);
  }
  if (mostConfused) {
    const confused = mostConfused.slice(0, 10);
    sections.push(`<h2>Most confused pairs</h2>
${
      confused.length
        ? table(["actual", "predicted as", "images"], confused.map((p) => [p.actual, p.predicted, p.count]))
        : "<p>None: every validation image was classified right.</p>"
    }`);
  }
  return sections;
}

/** The highest-loss images as a grid, and their files (relative to the data folder) as a table. */
async function topLossesSection(m: ClassifierMetadata, topLosses: readonly TopLossTile[]): Promise<string> {
  const folder = m.data?.folder ?? "";
  const files = topLosses.filter((t) => t.file).map((t) => [
    folder && t.file!.startsWith(folder) ? t.file!.slice(folder.length).replace(/^[\\/]/, "") : t.file,
    m.classNames[t.actual],
    m.classNames[t.predicted],
    pct(t.probability),
    num(t.loss, 3),
  ]);
  return `<h2>Top losses</h2>
<p>The validation images the model was most wrong (or least sure) about: predicted class and its probability,
then the actual class and the image's loss.</p>
<div class="chart">${await renderSvg(await topLossesSpec(topLosses, m.classNames))}</div>
${files.length ? table(["file", "actual", "predicted", "probability", "loss"], files) : ""}`;
}

const STYLE =
  `body { font: 14px/1.45 system-ui, sans-serif; margin: 2em auto; max-width: 980px; padding: 0 1em; color: #222; }
h1 { font-size: 1.6em; } h2 { font-size: 1.25em; margin-top: 2em; border-bottom: 1px solid #ddd; }
table { border-collapse: collapse; margin: .5em 0; } td, th { border: 1px solid #ddd; padding: 3px 9px; text-align: left; }
th { background: #f4f4f4; } .chart { overflow-x: auto; } code { background: #f4f4f4; padding: 0 3px; }`;

/** The report page for a saved classifier: the parts its metadata records. */
export async function buildReport(input: ReportInput): Promise<string> {
  const m = input.metadata;
  const sections = [
    ...(m.histories ? [stagesSection(m, m.histories), await curvesSection(m.histories)] : []),
    ...await errorSections(m),
    ...(input.topLosses.length ? [await topLossesSection(m, input.topLosses)] : []),
  ];
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

${sections.join("\n\n")}
</body>
</html>
`;
}
