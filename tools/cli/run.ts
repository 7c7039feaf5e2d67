/**
 * `deno task run`: executes the notebooks headless with this deno as the Jupyter kernel, through
 * `tools/notebooks/run_notebooks.py` in the project's `.venv` (made by `deno task setup`). The command line is
 * checked here (lib/cli/cli.ts conventions) and passed on; the exit status is the runner's.
 *
 * @module
 */
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseCommandLine, parseOptions, runTool, UsageError, userPath } from "../../lib/cli/mod.ts";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");

const HELP = `Usage: deno task run [-- options] [NOTEBOOK...]

Runs the notebooks (default: every notebooks/*.ipynb) from top to bottom, headless, with Deno as the
Jupyter kernel, and writes each executed notebook and its HTML page to out/. Shows each cell as it
starts, a line per training epoch as it ends, and at the end each notebook's final metrics and files.
A failing cell stops its notebook: named with its error, exit code 1.

Options:
  --out DIR      where the executed notebooks (.ipynb) and pages (.html) go (default out/ in the project)
  --timeout S    seconds a cell may run (default 3600)
  --grace S      seconds to wait for output a cell sends after it finished (default 0.5)
  --no-check     do not check the outputs (every cell has one, cells tagged plot a chart)
  -h, --help     show this help

NOTEBOOK and --out are taken from the folder you type the command in.

Settings (environment variables, all optional; relative paths are from the project's root):
  TL_DATA_URL     the tutorial's images: zip URL or path (default: the tutorial's
                  cats_and_dogs_filtered.zip)
  TL_WEIGHTS_URL  MobileNetV2's ImageNet weights, .h5 URL or path (default: Keras' file for TL_ALPHA)
  TL_ALPHA        MobileNetV2's width multiplier (default 1.0; offline, the alpha of the mirror's weights)
  TL_EPOCHS       epochs of each training stage, frozen then fine-tuning (default 10)
  TL_DATA_DIR     your_own_images.ipynb: your folder of class folders, or a zip (default: TL_DATA_URL)
  TL_MIRROR       a folder of local copies used, by file name, when a download fails (default
                  ../shared when it exists; none: no mirror)
  TL_CACHE_DIR    where downloads are kept (default data/)
  TL_CACHE_MB     memory for decoded images, MB (default a quarter of the available memory)

Example: TL_EPOCHS=2 deno task run -- notebooks/transfer_learning.ipynb`;

/** The checked command line, as the Python runner's arguments. */
export function parseRunArgs(args: string[]): string[] | "help" {
  const { values: v, positionals } = parseOptions({
    args,
    allowPositionals: true,
    options: {
      out: { type: "string" },
      timeout: { type: "string" },
      grace: { type: "string" },
      "no-check": { type: "boolean" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (v.help) return "help";
  const seconds = (name: string, raw: string | undefined, whole: boolean) => {
    if (raw === undefined) return [];
    const n = Number(raw);
    if (!(Number.isFinite(n) && n > 0 && (!whole || Number.isInteger(n)))) {
      throw new UsageError(
        `--${name}: expected a ${whole ? "whole " : ""}number of seconds > 0, got "${raw}"`,
      );
    }
    return [`--${name}`, raw];
  };
  for (const nb of positionals) {
    if (!nb.endsWith(".ipynb")) throw new UsageError(`${nb}: expected a notebook (.ipynb)`);
    const where = path.isAbsolute(nb) ? "" : ` (looked for ${userPath(nb)})`;
    if (!fs.existsSync(userPath(nb))) throw new UsageError(`${nb}: no such notebook${where}`);
  }
  return [
    ...(v.out === undefined ? [] : ["--out", userPath(v.out)]),
    ...seconds("timeout", v.timeout, true),
    ...seconds("grace", v.grace, false),
    ...(v["no-check"] ? ["--no-check"] : []),
    ...positionals.map((nb) => userPath(nb)),
  ];
}

async function main(): Promise<number> {
  const runnerArgs = parseCommandLine("run", HELP, () => parseRunArgs(Deno.args));
  if (typeof runnerArgs === "number") return runnerArgs;
  const python = path.join(ROOT, ".venv", Deno.build.os === "windows" ? "Scripts/python.exe" : "bin/python");
  if (!fs.existsSync(python)) {
    throw new Error(`${python} is missing: run \`deno task setup\` first (it creates .venv with nbclient)`);
  }
  const { code } = await new Deno.Command(python, {
    args: [
      path.join(ROOT, "tools", "notebooks", "run_notebooks.py"),
      "--deno",
      Deno.execPath(),
      ...runnerArgs,
    ],
    stdin: "null",
    env: { PYTHONUNBUFFERED: "1" },
  }).spawn().status;
  return code;
}

if (import.meta.main) await runTool("run", main);
