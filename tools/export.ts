/**
 * `deno task export -- [--model models/NAME] --out DIR`: the web page with the classifier as a folder any
 * static host can serve (the same files `deno task serve` serves), written atomically.
 *
 * @module
 */
import path from "node:path";
import { parseCommandLine, parseOptions, UsageError } from "../lib/cli.ts";

const USAGE = `Usage: deno task export -- --out DIR [--model DIR] [--json]

Writes the photo-classifier web page and the model (inference-only TensorFlow.js export, TensorFlow.js
and its WASM backend included) into DIR, ready for any static web host. DIR must be new, empty or a
previous export (it is replaced whole).

  --out DIR     the folder to write
  --model DIR   a folder written by \`deno task train\`; default: the model trained last
  --json        print the result as JSON
  --help        this text`;

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
  const { buildSite, latestModelDir, writeSite } = await import("../lib/site.ts");
  const modelDir = values.model ?? latestModelDir();
  const site = await buildSite(modelDir);
  await writeSite(site, values.out!);
  const out = path.resolve(values.out!);
  if (values.json) {
    console.log(JSON.stringify({ model: path.resolve(modelDir), out, files: [...site.entries.keys()] }));
  } else {
    console.log(`export: wrote ${site.entries.size} files to ${out} (model "${site.metadata.name}")`);
    console.log(
      `export: serve that folder with any static web server, e.g. \`python3 -m http.server -d ${out}\``,
    );
  }
  return 0;
}

if (import.meta.main) {
  try {
    Deno.exit(await main(Deno.args));
  } catch (e) {
    console.error(`export: ${e instanceof Error ? e.message : e}`);
    Deno.exit(1);
  }
}
