/**
 * `deno task export -- [--model models/NAME] --out DIR`: the web page with the classifier as a folder any
 * static host can serve (the same files `deno task serve` serves), written atomically.
 *
 * @module
 */
import path from "node:path";
import { parseCommandLine, parseOptions, runTool, UsageError } from "../../lib/cli/mod.ts";

const USAGE = `Usage: deno task export -- --out DIR [--model DIR] [--json]

Writes the photo-classifier web page and the model (inference-only TensorFlow.js export, TensorFlow.js
and its WASM backend included) into DIR, ready for any static web host. DIR must be new, empty or a
previous export (it is replaced whole).

  --out DIR     the folder to write
  --model DIR   a folder written by \`deno task train\` (models/NAME, or just NAME); default: the
                model trained last
  --json        print the result as JSON
  -h, --help    show this help

Open the result through a web server, not as a file (browsers do not let a page opened from disk load
its model): \`python3 -m http.server -d DIR\`, or any static host.`;

async function main(args: string[]): Promise<number> {
  const values = parseCommandLine("export", USAGE, () => {
    const { values } = parseOptions({
      args,
      options: {
        model: { type: "string" },
        out: { type: "string" },
        json: { type: "boolean", default: false },
        help: { type: "boolean", short: "h", default: false },
      },
      strict: true,
    });
    if (values.help) return "help";
    if (!values.out) throw new UsageError("--out DIR is required");
    return values;
  });
  if (typeof values === "number") return values;
  const { buildSite, latestModelDir, resolveModelDir, writeSite } = await import("../../lib/tasks/mod.ts");
  const model = values.model === undefined ? { dir: latestModelDir() } : resolveModelDir(values.model);
  if (model.note) console.error(`export: ${model.note}`);
  const modelDir = model.dir;
  const site = await buildSite(modelDir);
  await writeSite(site, values.out!);
  const out = path.resolve(values.out!);
  if (values.json) {
    console.log(JSON.stringify({ model: path.resolve(modelDir), out, files: [...site.entries.keys()] }));
  } else {
    console.log(`export: wrote ${site.entries.size} files to ${out} (model "${site.metadata.name}")`);
    console.log(
      `export: serve that folder with any static web server, e.g. \`python3 -m http.server -d ${out}\`, ` +
        `then open http://localhost:8000/ (opened as a file, the page cannot load its model)`,
    );
  }
  return 0;
}

if (import.meta.main) await runTool("export", () => main(Deno.args));
