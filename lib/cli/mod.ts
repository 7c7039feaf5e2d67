/**
 * The command-line conventions every `deno task` shares: `--help`/`-h`, a usage error as one line with
 * "did you mean …" and exit code 2, failures as one line with exit code 1, never a stack trace for a user's
 * mistake; path arguments taken from the folder the user typed the command in (`user_path.ts`). The
 * ground floor of `lib/`: it imports nothing of the project and no TensorFlow, so a tool can answer
 * `--help` and report a typo before setup has installed anything (on a fresh clone that takes minutes).
 *
 * @example A tool's command line: the help, a usage error (exit code 2) or the parsed options
 * ```ts
 * import { parseCommandLine, parseOptions, UsageError } from "./mod.ts";
 * import assert from "node:assert";
 *
 * const parse = (args: string[]) =>
 *   parseCommandLine("greet", "Usage: deno task greet -- --name NAME", () => {
 *     const { values } = parseOptions({
 *       args,
 *       options: { name: { type: "string" }, help: { type: "boolean", short: "h" } },
 *     });
 *     if (values.help) return "help";
 *     if (!values.name) throw new UsageError("--name NAME is required");
 *     return values;
 *   });
 * assert.deepEqual(parse(["--", "--name", "Ada"]), { name: "Ada" });
 * assert.equal(parse(["--nmae", "Ada"]), 2); // stderr: "greet: unknown option --nmae; did you mean `--name`? …"
 * ```
 *
 * @module
 */
export {
  ARGS_ONLY_ENV,
  closest,
  editDistance,
  parseCommandLine,
  parseOptions,
  runTool,
  UsageError,
  usageLine,
  wantsHelp,
  wholeNumberOption,
  withoutSeparator,
} from "./cli.ts";
export { INIT_CWD_ENV, invocationDir, shownPath, userModelArg, userPath, userSource } from "./user_path.ts";
export { DETERMINISTIC_FLAG, deterministicEnv, wantsDeterminism } from "./deterministic_env.ts";
export type { EnvReader } from "./user_path.ts";
