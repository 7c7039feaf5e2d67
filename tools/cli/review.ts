/**
 * `deno task review -- --model DIR`: photos to fix in the data a saved classifier was trained on — likely
 * mislabels, near-duplicates and train/validation leaks — written as JSON and as an editable shell script
 * of `mv`/`rm` lines. Nothing is moved by the tool. A thin command line over `lib/tasks/review.ts`.
 *
 * @module
 */
import path from "node:path";
import {
  parseCommandLine,
  parseOptions,
  runTool,
  shownPath,
  UsageError,
  userModelArg,
  userPath,
  wholeNumberOption,
} from "../../lib/cli/mod.ts";
// Types only: TensorFlow is imported once the command line is known to be good.
import type { ReviewReport } from "../../lib/tasks/mod.ts";

const HELP = `Usage: deno task review -- --model DIR [options]

Lists photos to fix in the data a classifier saved by \`deno task train\` was trained on (the data folder
recorded in DIR/metadata.json, or --data):
  - likely mislabels: the model gives another class than the label a high probability;
  - near-duplicates: pairs of photos the model sees as nearly identical (cosine similarity of the pooled
    base features), within a class, across classes ("conflict") and between training and validation
    ("leak": it inflates validation accuracy).

Writes DIR.review.json, DIR.review.sh and DIR.review-map.svg beside the model's folder (not inside it:
\`train\` can still write there again). The map shows the validation photos by their embeddings (PCA),
coloured by class, the misclassified ones as crosses. The script holds \`rm\` lines (active only for copies
of the same photo) and \`mv\` lines (commented out) to read, edit and run yourself. Nothing is moved or
removed by this task.

Options:
  --model DIR            the saved classifier (required): models/NAME, or just NAME
  --data FOLDER|ZIP      the data (default: the folder recorded in metadata.json)
  --script FILE          where to write the script (default DIR.review.sh)
  --out FILE             where to write the JSON (default DIR.review.json)
  --min-confidence P     likely mislabel from this probability of another class (default 0.9)
  --min-similarity S     near-duplicate from this cosine similarity (default 0.95)
  --batch-size N         images per batch (default 32)
  --json                 print the JSON on stdout instead of a summary
  -h, --help             show this help

Exit codes: 0 done (whether or not photos were found), 1 the model or data could not be read, 2 usage error.
`;

/** A `--name` value in (0, 1]. */
function fractionOption(name: string, raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (!(raw.trim() !== "" && n > 0 && n <= 1)) {
    throw new UsageError(`--${name}: expected a number in (0, 1], e.g. 0.9, got "${raw}"`);
  }
  return n;
}

function parse(args: string[]) {
  const { values: v } = parseOptions({
    args,
    options: {
      model: { type: "string" },
      data: { type: "string" },
      script: { type: "string" },
      out: { type: "string" },
      "min-confidence": { type: "string" },
      "min-similarity": { type: "string" },
      "batch-size": { type: "string" },
      json: { type: "boolean" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (v.help) return "help" as const;
  if (!v.model) throw new UsageError("--model DIR is required (a folder written by `deno task train`)");
  return {
    model: v.model,
    data: v.data === undefined ? undefined : userPath(v.data),
    script: v.script === undefined ? undefined : userPath(v.script),
    out: v.out === undefined ? undefined : userPath(v.out),
    minConfidence: fractionOption("min-confidence", v["min-confidence"]),
    minSimilarity: fractionOption("min-similarity", v["min-similarity"]),
    batchSize: wholeNumberOption("batch-size", v["batch-size"], 1) ?? 32,
    json: v.json ?? false,
  };
}

/** The summary printed without `--json`. */
function summary(report: ReviewReport, files: { json: string; script: string; map: string }): string {
  const counts = Object.entries(report.images).map(([part, n]) => `${n} ${part}`).join(", ");
  const kinds = ["leak", "conflict", "duplicate"].map((k) =>
    `${report.duplicates.filter((d) => d.kind === k).length} ${k}s`
  );
  const lines = [
    `Reviewed ${counts} images in ${shownPath(report.root)}.`,
    `Likely mislabels: ${report.mislabels.length}; near-duplicate pairs: ${report.duplicates.length} ` +
    `(${kinds.join(", ")}).`,
  ];
  for (const d of report.duplicates.slice(0, 10)) {
    lines.push(`  ${d.kind.padEnd(9)} ${d.similarity.toFixed(4)}  ${d.a.file}  ${d.b.file}`);
  }
  for (const m of report.mislabels.slice(0, 10)) {
    lines.push(
      `  mislabel? ${m.file}: labelled ${m.label}, model says ${m.predicted} ` +
        `${(m.probability * 100).toFixed(1)}%`,
    );
  }
  lines.push(
    `Wrote ${shownPath(files.json)}, ${shownPath(files.map)} and ${shownPath(files.script)} ` +
      "(run it with sh after editing).",
  );
  return lines.join("\n");
}

async function main(): Promise<number> {
  const o = parseCommandLine("review", HELP, () => parse(Deno.args));
  if (typeof o === "number") return o;
  const { loadClassifier, resolveModelDir, reviewClassifier, writeReview } = await import(
    "../../lib/tasks/mod.ts"
  );
  const model = resolveModelDir(userModelArg(o.model));
  if (model.note) console.error(`review: ${model.note}`);
  const saved = await loadClassifier(model.dir);
  let report: ReviewReport;
  try {
    report = await reviewClassifier(saved, model.dir, {
      ...(o.data !== undefined ? { data: o.data } : {}),
      ...(o.minConfidence !== undefined ? { minConfidence: o.minConfidence } : {}),
      ...(o.minSimilarity !== undefined ? { minSimilarity: o.minSimilarity } : {}),
      batchSize: o.batchSize,
      log: (m) => console.error(m),
    });
  } finally {
    saved.model.dispose();
  }
  if (!report.sameDataAsTraining) {
    console.error("review: the data folder's files differ from those the model was trained on");
  }
  const files = {
    json: o.out ?? `${path.resolve(model.dir)}.review.json`,
    script: o.script ?? `${path.resolve(model.dir)}.review.sh`,
    map: `${path.resolve(model.dir)}.review-map.svg`,
  };
  await writeReview(report, files);
  console.log(o.json ? JSON.stringify(report, null, 2) : summary(report, files));
  return 0;
}

if (import.meta.main) await runTool("review", main);
