/**
 * `report.html` of a trained classifier: one self-contained page — the run in numbers, the learning
 * curves, the confusion matrix, precision and recall per class, the most confused pairs and the images
 * with the highest loss. Charts are Vega-Lite rendered to SVG here (no script, no network), images are
 * PNG data URLs inside them, so the page opens offline, from any folder.
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
import type { ClassMetrics, ConfusedPair, LearningHistory, TopLossTile } from "../analysis/mod.ts";
import { concatHistories } from "../train/mod.ts";
import type { History } from "../train/mod.ts";
import type { ClassifierMetadata } from "./saved_classifier.ts";

/** What the report shows. */
export interface ReportInput {
  metadata: ClassifierMetadata;
  /** The highest-loss validation images (`interpret`'s `topLosses`). */
  topLosses: readonly TopLossTile[];
}

/** Escapes text for HTML. */
export function escapeHtml(s: unknown): string {
  return String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

const pct = (v: unknown) => typeof v === "number" && Number.isFinite(v) ? `${(v * 100).toFixed(1)} %` : "–";
const num = (v: unknown, digits = 4) => typeof v === "number" && Number.isFinite(v) ? v.toFixed(digits) : "–";

function table(head: string[], rows: unknown[][]): string {
  const th = head.map((h) => `<th>${escapeHtml(h)}</th>`).join("");
  const tr = rows.map((r) => `<tr>${r.map((c) => `<td>${escapeHtml(c)}</td>`).join("")}</tr>`).join("\n");
  return `<table><thead><tr>${th}</tr></thead><tbody>\n${tr}\n</tbody></table>`;
}

/** The report page for a finished run. */
export async function buildReport(input: ReportInput): Promise<string> {
  const m = input.metadata;
  const histories = m.histories as { frozen: History; fineTuning?: History };
  const training = m.training as {
    epochs: number;
    fineTuneEpochs: number;
    fineTuneAt: number;
    batchSize: number;
    weights: string;
    baseName: string;
    stages: Record<string, { wallSeconds: number; cpuSeconds: number }>;
  };
  const metrics = m.metrics as {
    frozen: Record<string, number>;
    fineTuning?: Record<string, number>;
    confusionMatrix: number[][];
    perClass: ClassMetrics[];
    mostConfused: ConfusedPair[];
  };
  const data = m.data as Record<string, unknown>;
  const joined = histories.fineTuning
    ? concatHistories(histories.frozen, histories.fineTuning)
    : histories.frozen;
  const curves = joined.history as unknown as LearningHistory;
  const losses = [...curves.loss, ...(curves.val_loss ?? [])].filter(Number.isFinite);
  const svgs = {
    curves: await renderSvg(learningCurvesSpec(curves, {
      fineTuneAt: histories.fineTuning ? histories.frozen.epoch.length : undefined,
      lossMax: Math.max(1, Math.ceil(Math.max(...losses) * 2) / 2),
    })),
    confusion: await renderSvg(confusionMatrixSpec(metrics.confusionMatrix, m.classNames)),
    perClass: await renderSvg(perClassMetricsSpec(metrics.perClass)),
    topLosses: input.topLosses.length
      ? await renderSvg(await topLossesSpec(input.topLosses, m.classNames))
      : "",
  };
  const stage = (name: string, key: string, values?: Record<string, number>) => {
    const t = training.stages[key];
    return values && t
      ? [
        name,
        pct(values.val_accuracy),
        num(values.val_loss),
        `${t.wallSeconds.toFixed(1)} s`,
        `${t.cpuSeconds.toFixed(1)} s`,
      ]
      : null;
  };
  const stages = [
    stage(`1. head only, base frozen (${training.epochs} epochs)`, "frozen", metrics.frozen),
    stage(
      `2. fine-tuning from layer ${training.fineTuneAt} (${training.fineTuneEpochs} epochs)`,
      "fineTuning",
      metrics.fineTuning,
    ),
  ].filter((r): r is string[] => r !== null);
  const confused = metrics.mostConfused.slice(0, 10);
  const folder = typeof data.folder === "string" ? data.folder : "";
  const topFiles = input.topLosses.filter((t) => t.file).map((t) => [
    folder && t.file!.startsWith(folder) ? t.file!.slice(folder.length).replace(/^[\\/]/, "") : t.file,
    m.classNames[t.actual],
    m.classNames[t.predicted],
    pct(t.probability),
    num(t.loss, 3),
  ]);
  const title = `Classifier report: ${m.classNames.length} classes`;
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>${escapeHtml(title)}</title>
<style>
body { font: 14px/1.45 system-ui, sans-serif; margin: 2em auto; max-width: 980px; padding: 0 1em; color: #222; }
h1 { font-size: 1.6em; } h2 { font-size: 1.25em; margin-top: 2em; border-bottom: 1px solid #ddd; }
table { border-collapse: collapse; margin: .5em 0; } td, th { border: 1px solid #ddd; padding: 3px 9px; text-align: left; }
th { background: #f4f4f4; } .chart { overflow-x: auto; } code { background: #f4f4f4; padding: 0 3px; }
</style>
</head>
<body>
<h1>${escapeHtml(title)}</h1>
<p>Classes: ${m.classNames.map((c) => `<code>${escapeHtml(c)}</code>`).join(", ")}.
Data: <code>${escapeHtml(data.source)}</code> — ${escapeHtml(data.files)} images
(${escapeHtml(data.trainImages)} training, ${escapeHtml(data.validationImages)} validation), fingerprint
<code>${escapeHtml(String(data.fingerprint).slice(0, 19))}…</code>.
Model: ${escapeHtml(training.baseName)} (alpha ${escapeHtml(m.alpha)}, weights <code>${
    escapeHtml(training.weights)
  }</code>),
input ${m.imageSize.join("×")}, batch ${escapeHtml(training.batchSize)}, output ${escapeHtml(m.output)}.
Created ${escapeHtml(m.created)}.</p>

<h2>Accuracy per stage (validation images)</h2>
${table(["stage", "val_accuracy", "val_loss", "wall time", "CPU time"], stages)}

<h2>Learning curves</h2>
<div class="chart">${svgs.curves}</div>

<h2>Confusion matrix (validation images)</h2>
<div class="chart">${svgs.confusion}</div>

<h2>Precision and recall per class</h2>
${
    table(
      ["class", "precision", "recall", "images"],
      metrics.perClass.map((r) => [r.className, pct(r.precision), pct(r.recall), r.support]),
    )
  }
<div class="chart">${svgs.perClass}</div>

<h2>Most confused pairs</h2>
${
    confused.length
      ? table(["actual", "predicted as", "images"], confused.map((p) => [p.actual, p.predicted, p.count]))
      : "<p>None: every validation image was classified right.</p>"
  }

<h2>Top losses</h2>
<p>The validation images the model was most wrong (or least sure) about: predicted class and its probability,
then the actual class and the image's loss.</p>
<div class="chart">${svgs.topLosses}</div>
${topFiles.length ? table(["file", "actual", "predicted", "probability", "loss"], topFiles) : ""}
</body>
</html>
`;
}
