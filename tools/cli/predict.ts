/**
 * `deno task predict -- --model DIR FILE|FOLDER…`: classifies image files with a classifier saved by
 * `deno task train`, decoding each image exactly as training did. Prints a table, or JSON lines with
 * `--json`. An unreadable file is named and skipped, the others are still classified; the exit code is 1
 * when any file failed. A thin command line over `lib/tasks/predict_files.ts`.
 *
 * @module
 */
import { parseCommandLine, parseOptions, runTool, UsageError, wholeNumberOption } from "../../lib/cli/mod.ts";
// Types only: TensorFlow is imported once the command line is known to be good.
import type { FilePrediction } from "../../lib/tasks/mod.ts";

const HELP = `Usage: deno task predict -- --model DIR [options] FILE|FOLDER...

Classifies images with a classifier saved by \`deno task train\` (DIR holds model.json, weights.bin and
metadata.json). A FOLDER stands for the image files in it (.jpg, .jpeg, .png, .gif, .bmp; recursively).

Prints one row per file: the file, the most probable class and its probability (for 3 or more classes,
the top 3). A file that cannot be read or decoded is named on stderr and skipped.

Options:
  --model DIR       the saved classifier (required): models/NAME, or just NAME
  --top N           classes listed per file (default 3, at most the number of classes)
  --batch-size N    images per batch (default 32)
  --shard I/N       only shard I of N (0 ≤ I < N) of the files, chosen by a hash of each file's path under
                    its FOLDER: N processes with I = 0 … N−1 classify every file exactly once
  --json            one JSON object per line: {"file", "class", "probability", "top": [{"class", "probability"}]},
                    or {"file", "error"} for a file that failed
  -h, --help        show this help

Exit codes: 0 all files classified, 1 some file failed (or the model could not be loaded), 2 usage error.
`;

function parse(args: string[]) {
  const { values: v, positionals } = parseOptions({
    args,
    allowPositionals: true,
    options: {
      model: { type: "string" },
      top: { type: "string" },
      "batch-size": { type: "string" },
      json: { type: "boolean" },
      shard: { type: "string" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (v.help) return "help" as const;
  if (!v.model) throw new UsageError("--model DIR is required (a folder written by `deno task train`)");
  if (positionals.length === 0) throw new UsageError("expected at least one FILE or FOLDER to classify");
  return {
    model: v.model,
    inputs: positionals,
    top: wholeNumberOption("top", v.top, 1) ?? 3,
    batchSize: wholeNumberOption("batch-size", v["batch-size"], 1) ?? 32,
    json: v.json ?? false,
    shard: v.shard === undefined ? undefined : parseShard(v.shard),
  };
}

/** `--shard I/N`. */
function parseShard(raw: string): { index: number; count: number } {
  const m = /^(\d+)\/(\d+)$/.exec(raw);
  const [index, count] = m ? [Number(m[1]), Number(m[2])] : [NaN, NaN];
  if (!(count >= 1 && index < count)) {
    throw new UsageError(`--shard: expected INDEX/COUNT with 0 ≤ INDEX < COUNT (e.g. 0/4), got "${raw}"`);
  }
  return { index, count };
}

const pct = (p: number) => `${(p * 100).toFixed(1)}%`;

function tableRow(r: FilePrediction & { ok: true }, widths: number[], more: boolean): string {
  const [best] = r.predictions;
  const cells = [
    r.file.padEnd(widths[0]),
    best.className.padEnd(widths[1]),
    pct(best.probability).padStart(11),
  ];
  if (more) cells.push(r.predictions.slice(1).map((p) => `${p.className} ${pct(p.probability)}`).join(", "));
  return cells.join("  ").trimEnd();
}

/** `--json`'s line for a classified file. */
function jsonLine(r: FilePrediction & { ok: true }): string {
  const [best] = r.predictions;
  return JSON.stringify({
    file: r.file,
    class: best.className,
    probability: best.probability,
    top: r.predictions.map((p) => ({ class: p.className, probability: p.probability })),
  });
}

async function main(): Promise<number> {
  const o = parseCommandLine("predict", HELP, () => parse(Deno.args));
  if (typeof o === "number") return o;
  const { expandInputs, loadClassifier, predictFiles, resolveModelDir } = await import(
    "../../lib/tasks/mod.ts"
  );
  const { shardFiles } = await import("../../lib/data/mod.ts");
  const model = resolveModelDir(o.model);
  if (model.note) console.error(`predict: ${model.note}`);
  let saved;
  try {
    saved = await loadClassifier(model.dir);
  } catch (e) {
    console.error(`predict: cannot load the classifier: ${e instanceof Error ? e.message : e}`);
    return 1;
  }
  const expanded = expandInputs(o.inputs);
  const { missing } = expanded;
  const files = o.shard ? shardFiles(o.inputs, expanded.files, o.shard) : expanded.files;
  let failed = 0;
  const fail = (file: string, error: string) => {
    failed++;
    console.error(`predict: skipped ${file}: ${error}`);
    if (o.json) console.log(JSON.stringify({ file, error }));
  };
  for (const m of missing) fail(m.file, m.error);
  const top = Math.min(o.top, saved.metadata.numClasses);
  const more = top > 1 && saved.metadata.numClasses >= 3;
  const widths = [
    Math.max(4, ...files.map((f) => f.length)),
    Math.max(5, ...saved.metadata.classNames.map((c) => c.length)),
  ];
  if (!o.json && files.length > 0) {
    const head = ["file".padEnd(widths[0]), "class".padEnd(widths[1]), "probability"];
    if (more) head.push(`next ${top - 1}`);
    console.log(head.join("  "));
  }
  try {
    for await (const r of predictFiles(saved, files, { batchSize: o.batchSize, top: more ? top : 1 })) {
      if (!r.ok) {
        fail(r.file, r.error);
        continue;
      }
      console.log(o.json ? jsonLine(r) : tableRow(r, widths, more));
    }
  } finally {
    saved.model.dispose();
  }
  if (failed > 0) console.error(`predict: ${failed} of ${files.length + missing.length} input(s) failed`);
  return failed > 0 ? 1 : 0;
}

if (import.meta.main) await runTool("predict", main);
