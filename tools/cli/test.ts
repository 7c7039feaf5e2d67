/**
 * `deno task test [-- options] [FILE…]`: the project's tests (`deno test` over `tests/`, or the files
 * given), after setup. A wrapper so that `--help` describes this project's tests and answers without
 * running setup first (see `tools/cli/task.ts`), and so that a mistyped option is reported like every other
 * task's (lib/cli/cli.ts). The options are the `deno test` ones this project's tests are run with; for any
 * other, run `deno test -A --no-check=remote …` itself.
 *
 * @module
 */
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { INIT_CWD_ENV, parseCommandLine, parseOptions, UsageError, userPath } from "../../lib/cli/mod.ts";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");

const HELP = `Usage: deno task test [-- options] [FILE...]

Runs the project's tests with \`deno test -A --no-check=remote\`: every tests/**/*_test.ts and the
examples in lib/'s documentation (--doc), or only the
FILEs (or folders) given, from the folder you type the command in. Setup runs first when something is
missing.

Several tests train small models or run a notebook (a few minutes in all on 2 cores); a test that
needs something absent (.venv, Chromium) says so and is skipped.

Options (deno test's):
  --filter TEXT      only the tests whose name contains TEXT (/…/ for a regular expression)
  --fail-fast        stop at the first failure
  --parallel         run test files in parallel
  --reporter R       pretty (default), dot, junit or tap
  -h, --help         show this help
For other deno test options, run \`deno test -A --no-check=remote\` itself.

Examples:
  deno task test
  deno task test -- tests/cli/cli_test.ts tests/tasks/tasks_help_test.ts
  deno task test -- --filter "did you mean"`;

/**
 * The \`deno test\` arguments of a \`deno task test\` command line, or "help". FILEs are taken from `from`
 * (default: where the user typed the command) and passed on as absolute paths.
 */
export function testArgs(args: string[], from: string = userPath(".")): string[] | "help" {
  const { values: v, positionals } = parseOptions({
    args,
    allowPositionals: true,
    options: {
      filter: { type: "string" },
      "fail-fast": { type: "boolean" },
      parallel: { type: "boolean" },
      reporter: { type: "string" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (v.help) return "help";
  const files = positionals.map((p) => userPath(p, from));
  files.forEach((file, i) => {
    if (!fs.existsSync(file)) {
      throw new UsageError(`${positionals[i]}: no such test file or folder (looked for ${file})`);
    }
  });
  if (v.reporter !== undefined && !["pretty", "dot", "junit", "tap"].includes(v.reporter)) {
    throw new UsageError(`--reporter: expected pretty, dot, junit or tap, got "${v.reporter}"`);
  }
  return [
    "test",
    "-A",
    "--no-check=remote",
    ...(v.filter === undefined ? [] : ["--filter", v.filter]),
    ...(v["fail-fast"] ? ["--fail-fast"] : []),
    ...(v.parallel ? ["--parallel"] : []),
    ...(v.reporter === undefined ? [] : ["--reporter", v.reporter]),
    // By default also the @example blocks of lib/'s documentation, run as tests (deno test --doc).
    ...(files.length ? files : ["--doc", "tests/", "lib/"]),
  ];
}

async function main(): Promise<number> {
  const argv = parseCommandLine("test", HELP, () => testArgs(Deno.args));
  if (typeof argv === "number") return argv;
  // The tests run tasks of their own (`deno task …`), each from a folder it chooses: `deno task` keeps an
  // INIT_CWD it inherits, so ours (where the user typed `deno task test`) must not reach them.
  const env = Deno.env.toObject();
  delete env[INIT_CWD_ENV];
  const { code } = await new Deno.Command(Deno.execPath(), {
    args: argv,
    cwd: ROOT,
    env,
    clearEnv: true,
    stdin: "inherit",
    stdout: "inherit",
    stderr: "inherit",
  }).spawn().status;
  return code;
}

if (import.meta.main) Deno.exit(await main());
