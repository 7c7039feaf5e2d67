/**
 * `deno task predict -- --model DIR FILE|FOLDER…`: classifies image files with a classifier saved by
 * `deno task train`, decoding each image exactly as training did. Prints a table, or JSON lines with
 * `--json`. An unreadable file is named and skipped, the others are still classified; the exit code is 1
 * when any file failed. `--explain DIR` also writes each file's Grad-CAM overlay into DIR. A thin command line over `lib/tasks/predict_files.ts`.
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
import type { FilePrediction } from "../../lib/tasks/mod.ts";

const HELP = `Usage: deno task predict -- --model DIR [options] FILE|FOLDER...

Classifies images with a classifier saved by \`deno task train\` (DIR holds model.json, weights.bin and
metadata.json). A FOLDER stands for the image files in it (.jpg, .jpeg, .png, .gif, .bmp, .webp;
recursively; hidden files, FIFOs and other special files, saved models and links back into the folder are
left out, and what was left out is said on stderr).

Prints one row per file: the file, the most probable class and its probability (for 3 or more classes,
the top 3). A file that cannot be read or decoded is named on stderr and skipped.

Options:
  --model DIR       the saved classifier (required): models/NAME, or just NAME
  --top N           classes listed per file (default 3, at most the number of classes)
  --batch-size N    images per batch (default 32)
  --shard I/N       only shard I of N (0 ≤ I < N) of the files, chosen by a hash of each file's path under
                    its FOLDER: N processes with I = 0 … N−1 classify every file exactly once
  --json            one JSON object per line: {"file", "class", "probability", "top": [{"class", "probability"}]},
                    or {"file", "error"} for a file that failed; with --explain also "explanation": the
                    overlay's path
  --explain DIR     also write, per photo, where the model looked for its class (Grad-CAM: a heat map
                    over the photo as the model saw it, red = most evidence) as DIR/<photo name>.png;
                    DIR is new, empty or written by an earlier --explain, and appears when complete
  --force           if DIR holds anything else, move that folder aside to DIR.old-<time> first
  --tta             test-time augmentation: average over the photo, its mirror image and two copies
                    turned 10° either way (four times the work; docs/interpretation.md)
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
      tta: { type: "boolean" },
      shard: { type: "string" },
      explain: { type: "string" },
      force: { type: "boolean" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (v.help) return "help" as const;
  if (!v.model) throw new UsageError("--model DIR is required (a folder written by `deno task train`)");
  if (positionals.length === 0) throw new UsageError("expected at least one FILE or FOLDER to classify");
  return {
    model: v.model,
    inputs: positionals.map((p) => userPath(p)),
    top: wholeNumberOption("top", v.top, 1) ?? 3,
    batchSize: wholeNumberOption("batch-size", v["batch-size"], 1) ?? 32,
    json: v.json ?? false,
    tta: v.tta ?? false,
    shard: v.shard === undefined ? undefined : parseShard(v.shard),
    explain: v.explain === undefined ? undefined : userPath(v.explain),
    force: v.force ?? false,
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
    shownPath(r.file).padEnd(widths[0]),
    best.className.padEnd(widths[1]),
    pct(best.probability).padStart(11),
  ];
  if (more) cells.push(r.predictions.slice(1).map((p) => `${p.className} ${pct(p.probability)}`).join(", "));
  return cells.join("  ").trimEnd();
}

/** `--json`'s line for a classified file (`explanation`: the path of its overlay, with `--explain`). */
function jsonLine(r: FilePrediction & { ok: true }, explanation?: string): string {
  const [best] = r.predictions;
  return JSON.stringify({
    file: shownPath(r.file),
    class: best.className,
    probability: best.probability,
    top: r.predictions.map((p) => ({ class: p.className, probability: p.probability })),
    ...(explanation === undefined ? {} : { explanation }),
  });
}

/**
 * Runs `classify` with a `save` that writes each overlay into the explanation folder `dir` (whole, swapped
 * in when complete) and returns the path it will have.
 */
async function explainInto(
  dir: string,
  files: string[],
  options: { force: boolean; inputs: string[] },
  classify: (save: (i: number, png: Uint8Array) => Promise<string>) => Promise<void>,
): Promise<void> {
  const { explanationNames, writeExplanationFolder } = await import("../../lib/tasks/mod.ts");
  const names = explanationNames(files);
  const { movedAside } = await writeExplanationFolder(dir, async (temp) => {
    await classify(async (i, png) => {
      await Deno.writeFile(path.join(temp, names[i]), png);
      return shownPath(path.join(dir, names[i]));
    });
  }, options);
  if (movedAside) {
    console.error(`predict: moved the previous content of ${shownPath(dir)} aside to ${movedAside}`);
  }
  console.error(`predict: wrote the Grad-CAM overlays to ${shownPath(dir)}`);
}

async function main(): Promise<number> {
  const o = parseCommandLine("predict", HELP, () => parse(Deno.args));
  if (typeof o === "number") return o;
  const { checkExplanationFolder, expandInputs, loadClassifier, predictFiles, resolveModelDir } =
    await import(
      "../../lib/tasks/mod.ts"
    );
  const explaining = { force: o.force, inputs: o.inputs };
  if (o.explain) checkExplanationFolder(o.explain, explaining); // before the model is loaded
  const { shardFiles } = await import("../../lib/data/mod.ts");
  const model = resolveModelDir(userModelArg(o.model));
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
  for (const note of expanded.notes) console.error(`predict: ${note}`);
  const files = o.shard ? shardFiles(o.inputs, expanded.files, o.shard) : expanded.files;
  let failed = 0;
  const fail = (given: string, error: string) => {
    const file = shownPath(given);
    failed++;
    console.error(`predict: skipped ${file}: ${error}`);
    if (o.json) console.log(JSON.stringify({ file, error }));
  };
  for (const m of missing) fail(m.file, m.error);
  const top = Math.min(o.top, saved.metadata.numClasses);
  const more = top > 1 && saved.metadata.numClasses >= 3;
  const widths = [
    Math.max(4, ...files.map((f) => shownPath(f).length)),
    Math.max(5, ...saved.metadata.classNames.map((c) => c.length)),
  ];
  if (!o.json && files.length > 0) {
    const head = ["file".padEnd(widths[0]), "class".padEnd(widths[1]), "probability"];
    if (more) head.push(`next ${top - 1}`);
    console.log(head.join("  "));
  }
  const classify = async (save?: (i: number, png: Uint8Array) => Promise<string>) => {
    const options = { batchSize: o.batchSize, top: more ? top : 1, explain: save !== undefined, tta: o.tta };
    let i = 0;
    for await (const r of predictFiles(saved, files, options)) {
      const index = i++;
      if (!r.ok) {
        fail(r.file, r.error);
        continue;
      }
      const explanation = save && r.explanation ? await save(index, r.explanation) : undefined;
      console.log(o.json ? jsonLine(r, explanation) : tableRow(r, widths, more));
    }
  };
  try {
    if (o.explain) await explainInto(o.explain, files, explaining, classify);
    else await classify();
  } finally {
    saved.model.dispose();
  }
  if (failed > 0) console.error(`predict: ${failed} of ${files.length + missing.length} input(s) failed`);
  return failed > 0 ? 1 : 0;
}

if (import.meta.main) await runTool("predict", main);
