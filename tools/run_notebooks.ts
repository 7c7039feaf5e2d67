/**
 * `deno task run`: executes the notebooks headless with this deno as the Jupyter kernel, through
 * `tools/run_notebooks.py` in the project's `.venv` (made by `deno task setup`). Arguments pass through
 * (notebook paths, `--out`, `--timeout`, `--grace`, `--no-check`); the exit status is the runner's.
 *
 * @module
 */
import fs from "node:fs";
import path from "node:path";
import { PROJECT_ROOT } from "../lib/config.ts";

const python = path.join(
  PROJECT_ROOT,
  ".venv",
  Deno.build.os === "windows" ? "Scripts/python.exe" : "bin/python",
);
if (!fs.existsSync(python)) {
  console.error(`${python} is missing: run \`deno task setup\` first (it creates .venv with nbclient).`);
  Deno.exit(1);
}
const runner = path.join(PROJECT_ROOT, "tools", "run_notebooks.py");
const { code } = await new Deno.Command(python, {
  args: [runner, "--deno", Deno.execPath(), ...Deno.args],
  stdin: "null",
  env: { PYTHONUNBUFFERED: "1" },
}).spawn().status;
Deno.exit(code);
