/**
 * How `deno task NAME` starts a tool (deno.json: `deno run -A tools/cli/task.ts NAME`; `deno task` appends
 * the user's arguments): setup first, when it is needed, then the tool in a process of its own.
 *
 * - `--help` / `-h`: the tool prints its help at once; setup does not run (on a fresh clone it would take
 *   minutes).
 * - Setup not done yet (a fresh clone): the tool first only checks its arguments
 *   ({@link ARGS_ONLY_ENV}), so a typo is reported before the long setup rather than after it.
 * - Then `setup --if-needed` (silent when everything is in place), then the tool. It must be a new
 *   process: npm packages that setup has just installed cannot be resolved by a Deno process that
 *   started before they were there.
 *
 * `--deterministic` (train): the tool's process starts with TensorFlow's deterministic environment
 * (`deterministicEnv`: deterministic kernels, fixed thread pools), which TensorFlow reads only when it loads.
 *
 * Ctrl-C reaches the tool (same process group); this launcher waits for it and exits with its code.
 *
 * `deno task` runs this launcher in the project's root and sets `INIT_CWD` to the folder the user typed the
 * command in; the tool inherits both and takes its path arguments from `INIT_CWD` (lib/cli/user_path.ts).
 *
 * @module
 */
import path from "node:path";
import { fileURLToPath } from "node:url";
import {
  ARGS_ONLY_ENV,
  deterministicEnv,
  wantsDeterminism,
  wantsHelp,
  withoutSeparator,
} from "../../lib/cli/mod.ts";
import { runSetup, setupComplete } from "../setup/setup.ts";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");

/** The script of each task. */
export const TASK_SCRIPTS: Readonly<Record<string, string>> = {
  run: "tools/cli/run.ts",
  test: "tools/cli/test.ts",
  bench: "bench/bench.ts",
  train: "tools/cli/train.ts",
  predict: "tools/cli/predict.ts",
  review: "tools/cli/review.ts",
  serve: "tools/cli/serve.ts",
  export: "tools/cli/export.ts",
};

/**
 * Runs `script` with `args` in a new Deno process; its exit code. Meanwhile Ctrl-C is left to the tool
 * (serve stops its server): this process only waits for it.
 */
async function runScript(script: string, args: string[], env: Record<string, string> = {}): Promise<number> {
  const ignore = () => {};
  Deno.addSignalListener("SIGINT", ignore);
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", path.join(ROOT, script), ...args],
    env,
    stdin: "inherit",
    stdout: "inherit",
    stderr: "inherit",
  }).spawn();
  const status = await child.status;
  Deno.removeSignalListener("SIGINT", ignore);
  return status.signal ? 128 + (Deno.build.os === "windows" ? 0 : signalNumber(status.signal)) : status.code;
}

function signalNumber(signal: Deno.Signal): number {
  return ({ SIGINT: 2, SIGTERM: 15, SIGKILL: 9, SIGHUP: 1 } as Record<string, number>)[signal] ?? 1;
}

async function main(): Promise<number> {
  const [name, ...rest] = Deno.args;
  const script = TASK_SCRIPTS[name];
  if (!script) {
    console.error(
      `tools/cli/task.ts: unknown task "${name}" (one of ${Object.keys(TASK_SCRIPTS).join(", ")})`,
    );
    return 2;
  }
  const args = withoutSeparator(rest);
  if (wantsHelp(args)) return await runScript(script, args);
  if (!setupComplete()) {
    const checked = await runScript(script, args, { [ARGS_ONLY_ENV]: "1" });
    if (checked !== 0) return checked;
  }
  const setup = await runSetup({ ifNeeded: true });
  if (setup !== 0) return setup;
  return await runScript(script, args, wantsDeterminism(args) ? deterministicEnv() : {});
}

if (import.meta.main) Deno.exit(await main());
