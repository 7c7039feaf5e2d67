/**
 * `deno task export -- [--model models/NAME] --out DIR`: the web page with the classifier as a folder any
 * static host can serve (the same files `deno task serve` serves), written atomically.
 *
 * @module
 */
import path from "node:path";
import { parseArgs } from "node:util";

const USAGE = `Usage: deno task export -- --out DIR [--model DIR] [--json]

Writes the photo-classifier web page and the model (inference-only TensorFlow.js export, TensorFlow.js
and its WASM backend included) into DIR, ready for any static web host. DIR must be new, empty or a
previous export (it is replaced whole).

  --out DIR     the folder to write
  --model DIR   a folder written by \`deno task train\`; default: the model trained last
  --json        print the result as JSON
  --help        this text`;

async function main(args: string[]): Promise<number> {
  let values;
  try {
    const parsed = parseArgs({
      // `deno task export -- --out X` passes the "--" through.
      args: args[0] === "--" ? args.slice(1) : args,
      options: {
        model: { type: "string" },
        out: { type: "string" },
        json: { type: "boolean", default: false },
        help: { type: "boolean", short: "h", default: false },
      },
      strict: true,
    });
    values = parsed.values;
    if (!values.help && !values.out) throw new Error("--out DIR is required");
  } catch (e) {
    console.error(`export: ${e instanceof Error ? e.message : e}\n\n${USAGE}`);
    return 2;
  }
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
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
