/**
 * The conventions every command-line task of the project (`deno task run`, `test`, `setup`, `bench`,
 * `train`, `predict`, `serve`, `export`) shares, in one place so they behave alike:
 *
 * - `--help` / `-h` prints the help on stdout, exit code 0;
 * - a usage error is ONE line on stderr, the last one: the problem, "did you mean `--model`?" when an
 *   unknown option is close to a known one, and where the help is; exit code 2; never a stack trace;
 * - the `--` that `deno task NAME -- ARGS` passes on is dropped.
 *
 * This module imports no npm package: a tool answers `--help` and usage errors before setup has
 * installed anything (see `tools/cli/task.ts`).
 *
 * @module
 */
import { parseArgs, type ParseArgsConfig } from "node:util";

/** A bad command line: reported in one line, exit code 2 ({@link parseCommandLine}, {@link runTool}). */
export class UsageError extends Error {
  /** `"UsageError"`. */
  override name = "UsageError";
}

/**
 * `deno task NAME -- ARGS` passes the `--` on: drop it.
 *
 * @example
 * ```ts
 * import { withoutSeparator } from "./mod.ts";
 * import assert from "node:assert";
 *
 * assert.deepEqual(withoutSeparator(["--", "--epochs", "2"]), ["--epochs", "2"]);
 * assert.deepEqual(withoutSeparator(["photos"]), ["photos"]);
 * ```
 */
export function withoutSeparator(args: readonly string[]): string[] {
  return args[0] === "--" ? args.slice(1) : [...args];
}

/**
 * Whether the command line asks for the help (`--help` or `-h` before any later `--`).
 *
 * @example
 * ```ts
 * import { wantsHelp } from "./mod.ts";
 * import assert from "node:assert";
 *
 * assert.equal(wantsHelp(["--", "-h"]), true);
 * assert.equal(wantsHelp(["--", "photos", "--", "--help"]), false); // after `--`: a file named --help
 * ```
 */
export function wantsHelp(args: readonly string[]): boolean {
  const rest = withoutSeparator(args);
  const end = rest.indexOf("--");
  return (end < 0 ? rest : rest.slice(0, end)).some((a) => a === "--help" || a === "-h");
}

/**
 * The optimal string alignment distance of `a` and `b` (Damerau–Levenshtein without repeated edits of a
 * substring): insertions, deletions, substitutions and swaps of two neighbours each count 1.
 *
 * @example
 * ```ts
 * import { editDistance } from "./mod.ts";
 * import assert from "node:assert";
 *
 * assert.equal(editDistance("--modle", "--model"), 1); // a swap of two neighbours
 * assert.equal(editDistance("kitten", "sitting"), 3);
 * ```
 */
export function editDistance(a: string, b: string): number {
  const rows = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) rows[0][j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      rows[i][j] = Math.min(rows[i - 1][j] + 1, rows[i][j - 1] + 1, rows[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        rows[i][j] = Math.min(rows[i][j], rows[i - 2][j - 2] + 1);
      }
    }
  }
  return rows[a.length][b.length];
}

/**
 * The candidate `word` was most likely meant to be: the only one it is a prefix of, else the closest
 * within a third of its length (at least 1 edit, at most 3); `undefined` when none is that close.
 *
 * @example
 * ```ts
 * import { closest } from "./mod.ts";
 * import assert from "node:assert";
 *
 * const options = ["--epochs", "--fine-tune-epochs", "--model"];
 * assert.equal(closest("--epohcs", options), "--epochs");
 * assert.equal(closest("--fine", options), "--fine-tune-epochs"); // the only one it starts
 * assert.equal(closest("--colour", options), undefined);
 * ```
 */
export function closest(word: string, candidates: readonly string[]): string | undefined {
  const w = word.toLowerCase();
  const prefixed = candidates.filter((c) => w.length >= 2 && c.toLowerCase().startsWith(w));
  if (prefixed.length === 1) return prefixed[0];
  const limit = Math.min(3, Math.max(1, Math.floor(w.length / 3)));
  let best: string | undefined;
  let bestDistance = limit + 1;
  for (const c of candidates) {
    const d = editDistance(w, c.toLowerCase());
    if (d < bestDistance) [best, bestDistance] = [c, d];
  }
  return best;
}

type Options = NonNullable<ParseArgsConfig["options"]>;

/** "; did you mean `--model`?" for an unknown option as typed (`--modle`, `-model`, `-m`), or "". */
function suggestion(typed: string, options: Options): string {
  const name = typed.split("=")[0];
  // A single dash is often meant as two: `-model`, `-m` are compared with the long names.
  const asLong = name.startsWith("--") ? name : `-${name}`;
  const guess = closest(asLong, Object.keys(options).map((n) => `--${n}`));
  return guess ? `; did you mean \`${guess}\`?` : "";
}

/** The one-line message for what `parseArgs` (strict) rejected in `args`. */
function describeRejection(args: string[], config: ParseArgsConfig, error: Error): string {
  const options: Options = config.options ?? {};
  const { tokens } = parseArgs({ ...config, args, strict: false, allowPositionals: true, tokens: true });
  for (const t of tokens) {
    if (t.kind === "option" && !(t.name in options)) {
      const raw = args[t.index];
      const typed = raw.startsWith("--") ? raw.split("=")[0] : raw.length > 2 ? raw : t.rawName;
      return `unknown option ${typed}${suggestion(typed, options)}`;
    }
    if (t.kind === "option" && options[t.name].type === "string" && t.value === undefined) {
      return `'${t.rawName}' needs a value`;
    }
    if (
      t.kind === "option" && options[t.name].type === "string" && !t.inlineValue && t.value?.startsWith("-")
    ) {
      return `'${t.rawName}' needs a value: "${t.value}" looks like an option ` +
        `(write ${t.rawName}=${t.value} if it is the value)`;
    }
    if (t.kind === "option" && options[t.name].type === "boolean" && t.inlineValue) {
      return `${t.rawName} takes no value (got "${t.rawName}=${t.value}")`;
    }
    if (t.kind === "positional" && !config.allowPositionals) {
      return `unexpected argument "${t.value}" (this command takes only options)`;
    }
  }
  // parseArgs' own wording, without its advice about positional arguments that start with "-".
  return error.message.split(". ")[0];
}

/**
 * `node:util`'s `parseArgs` over `config.args` without the `--`. What it rejects becomes a
 * {@link UsageError} in one line (an unknown option with the closest known one).
 */
export function parseOptions<T extends ParseArgsConfig>(config: T): ReturnType<typeof parseArgs<T>> {
  const args = withoutSeparator(config.args ?? []);
  try {
    return parseArgs<T>({ ...config, args });
  } catch (e) {
    throw new UsageError(describeRejection(args, config, e as Error));
  }
}

/**
 * The one-line report of a usage error of `deno task NAME`.
 *
 * @example
 * ```ts
 * import { usageLine } from "./mod.ts";
 * import assert from "node:assert";
 *
 * assert.equal(
 *   usageLine("train", "expected the data folder DIR"),
 *   "train: expected the data folder DIR (see `deno task train --help`)",
 * );
 * ```
 */
export function usageLine(command: string, message: string): string {
  return `${command}: ${message.replace(/\s*\n\s*/g, " ")} (see \`deno task ${command} --help\`)`;
}

/**
 * Set by `tools/cli/task.ts` before setup has run: parse the command line, report a usage error (exit 2)
 * or the help (exit 0), and otherwise stop with exit code 0 without running anything.
 */
export const ARGS_ONLY_ENV = "TL_TASK_ARGS_ONLY";

/**
 * The parsed command line, or the exit code when there is nothing to run: `parse` threw a
 * {@link UsageError} (one line on stderr: 2), returned `"help"` (the help on stdout: 0), or the task
 * launcher only asked whether the arguments are valid ({@link ARGS_ONLY_ENV}: 0). Other errors propagate.
 */
export function parseCommandLine<T extends object>(
  command: string,
  help: string,
  parse: () => T | "help",
): T | number {
  let parsed;
  try {
    parsed = parse();
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    console.error(usageLine(command, e.message));
    return 2;
  }
  if (parsed === "help") {
    console.log(help.trimEnd());
    return 0;
  }
  if (Deno.env.get(ARGS_ONLY_ENV) === "1") return 0;
  return parsed;
}

/**
 * Runs a tool's `main` and exits with its code. A {@link UsageError} thrown late (e.g. by a check that
 * needs the file system) is one line with exit code 2; any other error is `command: message` with exit
 * code 1 — no stack trace for what is usually a wrong file or setting (set `TL_DEBUG=1` for one).
 */
export async function runTool(command: string, main: () => Promise<number>): Promise<never> {
  let code: number;
  try {
    code = await main();
  } catch (e) {
    if (e instanceof UsageError) {
      console.error(usageLine(command, e.message));
      code = 2;
    } else {
      const debug = Deno.env.get("TL_DEBUG") === "1" && e instanceof Error ? `\n${e.stack}` : "";
      console.error(`${command}: ${e instanceof Error ? e.message : e}${debug}`);
      code = 1;
    }
  }
  Deno.exit(code);
}

/**
 * The whole number an option `--name` was given (at least `min`), `undefined` when absent; else a usage error.
 *
 * @example
 * ```ts
 * import { UsageError, wholeNumberOption } from "./mod.ts";
 * import assert from "node:assert";
 *
 * assert.equal(wholeNumberOption("epochs", "3", 1), 3);
 * assert.equal(wholeNumberOption("epochs", undefined, 1), undefined);
 * assert.throws(() => wholeNumberOption("epochs", "0", 1), UsageError);
 * ```
 */
export function wholeNumberOption(name: string, raw: string | undefined, min: number): number | undefined {
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (!(Number.isInteger(n) && n >= min)) {
    throw new UsageError(`--${name}: expected a whole number ≥ ${min}, got "${raw}"`);
  }
  return n;
}
