/**
 * `deno task export -- [--model models/NAME] --out DIR`: the web page with the classifier as a folder any
 * static host can serve (the same files `deno task serve` serves), written atomically; with `--format onnx`,
 * the model alone as one ONNX file (`lib/tasks/onnx_export_file.ts`).
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

const USAGE =
  `Usage: deno task export -- --out DIR [--model DIR] [--quantize float16|uint8] [--force] [--json]
       deno task export -- --format onnx --out FILE [--model DIR] [--opset N] [--json]

Writes the photo-classifier web page and the model (inference-only TensorFlow.js export, TensorFlow.js
and its WASM backend included) into DIR, ready for any static web host. DIR must be new, empty or a
previous export with nothing added or changed (its files are replaced); a folder holding anything
else is refused before any work.

  --out DIR     the folder to write
  --model DIR   a folder written by \`deno task train\` (models/NAME, or just NAME); default: the
                model trained last
  --force       if DIR holds anything else, move that folder aside to DIR.old-<time> first
                (nothing is deleted)
  --format F    web (default): the page and the model as a folder; onnx: the model alone as one
                ONNX file (input "images" [N, height, width, 3] RGB 0..255, output the class
                probabilities, class names in its metadata), checked in ONNX Runtime against
                TensorFlow.js before it is written (docs/onnx.md)
  --opset N     with --format onnx: the ONNX opset, 13 to 21 (default 13)
  --quantize Q  with --format web: store the weights smaller with TensorFlow.js' weight
                quantization: float16 (half the size), or uint8 (about a third: the kernels in
                uint8, the rest in float16); docs/web-page.md has sizes and accuracy changes
  --json        print the result as JSON
  -h, --help    show this help

Open the result through a web server, not as a file (browsers do not let a page opened from disk load
its model): \`python3 -m http.server -d DIR\`, or any static host.`;

/** The ONNX opsets `--opset` takes (lib/model's `ONNX_OPSETS`; not imported: no TensorFlow before the usage is known). */
const OPSETS = { min: 13, max: 21 };

function checkFormat(values: { format: string; opset?: string; quantize?: string; force: boolean }): void {
  if (values.format !== "web" && values.format !== "onnx") {
    throw new UsageError(`--format ${values.format}: expected web or onnx`);
  }
  if (values.quantize !== undefined) {
    if (values.format !== "web") throw new UsageError("--quantize goes with --format web");
    if (values.quantize !== "float16" && values.quantize !== "uint8") {
      throw new UsageError(`--quantize ${values.quantize}: expected float16 or uint8`);
    }
  }
  if (values.format === "onnx" && values.force) {
    throw new UsageError(
      "--force goes with --format web (an ONNX export replaces only an earlier ONNX export)",
    );
  }
  if (values.opset === undefined) return;
  if (values.format !== "onnx") throw new UsageError("--opset goes with --format onnx");
  const opset = wholeNumberOption("opset", values.opset, OPSETS.min)!;
  if (opset > OPSETS.max) {
    throw new UsageError(`--opset: expected ${OPSETS.min} to ${OPSETS.max}, got "${values.opset}"`);
  }
}

async function writeOnnx(modelDir: string, out: string, values: { opset?: string; json: boolean }) {
  const { exportOnnxFile } = await import("../../lib/tasks/mod.ts");
  console.error(`export: writing ${shownPath(out)} (ONNX, checked in ONNX Runtime against TensorFlow.js)…`);
  const opset = values.opset === undefined ? undefined : Number(values.opset);
  const r = await exportOnnxFile(modelDir, out, { opset });
  if (values.json) {
    console.log(JSON.stringify({ model: path.resolve(modelDir), format: "onnx", ...r }));
  } else {
    console.log(
      `export: wrote ${shownPath(r.out)} (${
        (r.bytes / 1e6).toFixed(1)
      } MB, ONNX opset ${r.opset}, ${r.output} ` +
        `over ${r.classNames.length} classes: ${
          r.classNames.join(", ")
        }; ONNX Runtime equals TensorFlow.js ` +
        `within ${r.maxDifference.toExponential(1)})`,
    );
  }
  return 0;
}

async function main(args: string[]): Promise<number> {
  const values = parseCommandLine("export", USAGE, () => {
    const { values } = parseOptions({
      args,
      options: {
        model: { type: "string" },
        out: { type: "string" },
        force: { type: "boolean", default: false },
        format: { type: "string", default: "web" },
        opset: { type: "string" },
        quantize: { type: "string" },
        json: { type: "boolean", default: false },
        help: { type: "boolean", short: "h", default: false },
      },
      strict: true,
    });
    if (values.help) return "help";
    if (!values.out) throw new UsageError("--out DIR is required");
    checkFormat(values);
    return values;
  });
  if (typeof values === "number") return values;
  const { buildSite, checkSiteOutput, latestModelDir, resolveModelDir, writeSite } = await import(
    "../../lib/tasks/mod.ts"
  );
  const model = values.model === undefined
    ? { dir: latestModelDir() }
    : resolveModelDir(userModelArg(values.model));
  if (model.note) console.error(`export: ${model.note}`);
  const modelDir = model.dir;
  const out = userPath(values.out!);
  if (values.format === "onnx") return await writeOnnx(modelDir, out, values);
  const force = values.force;
  checkSiteOutput(out, { force, modelDir }); // before the model is loaded and exported
  const quantize = values.quantize as "float16" | "uint8" | undefined;
  const site = await buildSite(modelDir, { quantize });
  const { movedAside } = await writeSite(site, out, { force, modelDir });
  if (movedAside) console.error(`export: moved the previous content of ${out} aside to ${movedAside}`);
  if (values.json) {
    const files = [...site.entries.keys()];
    const { modelBytes, weights } = site.metadata;
    console.log(
      JSON.stringify({
        model: path.resolve(modelDir),
        out,
        files,
        modelBytes,
        weights,
        ...(movedAside ? { movedAside } : {}),
      }),
    );
  } else {
    console.log(
      `export: wrote ${site.entries.size} files to ${out} (model "${site.metadata.name}", ` +
        `${((site.metadata.modelBytes ?? 0) / 1e6).toFixed(2)} MB, ${site.metadata.weights} weights)`,
    );
    console.log(
      `export: serve that folder with any static web server, e.g. \`python3 -m http.server -d ${out}\`, ` +
        `then open http://localhost:8000/ (opened as a file, the page cannot load its model)`,
    );
  }
  return 0;
}

if (import.meta.main) await runTool("export", () => main(Deno.args));
