/**
 * The conventions the project's command-line tasks (`deno task train`, `predict`, `serve`, `export`)
 * share, in one place so they behave alike: a usage error names the problem and prints the help on
 * stderr with exit code 2, `--help` prints it on stdout with exit code 0, and the `--` that
 * `deno task NAME -- ARGS` passes on is dropped.
 *
 * @module
 */
import { parseArgs, type ParseArgsConfig } from "node:util";

/** A bad command line: reported with the help, exit code 2. */
export class UsageError extends Error {
  override name = "UsageError";
}

/** `deno task NAME -- ARGS` passes the `--` on: drop it. */
export function withoutSeparator(args: string[]): string[] {
  return args[0] === "--" ? args.slice(1) : args;
}

/** `node:util`'s `parseArgs` over `config.args` without the `--`; its errors are {@link UsageError}s. */
export function parseOptions<T extends ParseArgsConfig>(config: T): ReturnType<typeof parseArgs<T>> {
  try {
    return parseArgs<T>({ ...config, args: withoutSeparator(config.args ?? []) });
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
}

/**
 * The parsed command line, or the exit code when there is nothing to run: `parse` threw a
 * {@link UsageError} (printed with `help` on stderr: 2) or returned `"help"` (printed on stdout: 0).
 * Other errors propagate.
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
    console.error(`${command}: ${e.message}\n\n${help}`);
    return 2;
  }
  if (parsed === "help") {
    console.log(help);
    return 0;
  }
  return parsed;
}

/** The whole number an option `--name` was given (at least `min`), `undefined` when absent; else a usage error. */
export function wholeNumberOption(name: string, raw: string | undefined, min: number): number | undefined {
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (!(Number.isInteger(n) && n >= min)) {
    throw new UsageError(`--${name}: expected a whole number ≥ ${min}, got "${raw}"`);
  }
  return n;
}
