/**
 * ONNX's own checker for the ONNX export's tests: `onnx.checker.check_model(…, full_check=True)` (the spec's
 * rules and strict shape inference) run by Python's `onnx` package in the project's `.venv`. Skipped, with a
 * message, where `.venv` or its `onnx` is absent (`.venv/bin/pip install onnx` adds it).
 *
 * @module
 */
import fs from "node:fs";
import path from "node:path";
import { PROJECT_ROOT } from "../lib/runtime/mod.ts";

const PYTHON = path.join(PROJECT_ROOT, ".venv", "bin", "python");
const CHECK = "import onnx, sys\n" +
  "m = onnx.load(sys.argv[1])\n" +
  "onnx.checker.check_model(m, full_check=True)\n" +
  "print(onnx.__version__)";

let available: boolean | undefined;

/** Whether `.venv`'s Python has `onnx`; prints why not, once. */
function haveChecker(test: string): boolean {
  if (available === undefined) {
    available = fs.existsSync(PYTHON) &&
      new Deno.Command(PYTHON, { args: ["-c", "import onnx"], stdout: "null", stderr: "null" }).outputSync()
        .success;
  }
  if (!available) {
    console.warn(`SKIPPED ${test}: ${PYTHON} with the onnx package is absent (.venv/bin/pip install onnx)`);
  }
  return available;
}

/**
 * ONNX's checker on `bytes`: `null` when skipped, else the `onnx` version that passed them; throws with the
 * checker's message when they fail.
 */
export async function onnxChecker(bytes: Uint8Array, test: string): Promise<string | null> {
  if (!haveChecker(test)) return null;
  const file = await Deno.makeTempFile({ suffix: ".onnx" });
  try {
    await Deno.writeFile(file, bytes);
    const r = await new Deno.Command(PYTHON, { args: ["-c", CHECK, file] }).output();
    const text = (b: Uint8Array) => new TextDecoder().decode(b).trim();
    if (!r.success) throw new Error(`onnx.checker failed: ${text(r.stderr).split("\n").slice(-3).join(" ")}`);
    return text(r.stdout);
  } finally {
    await Deno.remove(file);
  }
}
