/** The command-line conventions shared by the deno tasks (lib/cli.ts). */
import { assertEquals, assertMatch, assertThrows } from "./_assert.ts";
import {
  parseCommandLine,
  parseOptions,
  UsageError,
  wholeNumberOption,
  withoutSeparator,
} from "../lib/cli.ts";

/** Runs `fn` with console.log / console.error captured. */
function captured<T>(fn: () => T): { result: T; out: string; err: string } {
  const { log, error } = console;
  let out = "", err = "";
  console.log = (m: string) => void (out += m + "\n");
  console.error = (m: string) => void (err += m + "\n");
  try {
    return { result: fn(), out, err };
  } finally {
    Object.assign(console, { log, error });
  }
}

Deno.test("withoutSeparator drops the leading -- that deno task passes on, only that one", () => {
  assertEquals(withoutSeparator(["--", "--x", "--"]), ["--x", "--"]);
  assertEquals(withoutSeparator(["a", "--"]), ["a", "--"]);
  assertEquals(withoutSeparator([]), []);
});

Deno.test("parseOptions: parseArgs without the --; its errors become UsageErrors", () => {
  const options = { n: { type: "string" as const } };
  assertEquals(parseOptions({ args: ["--", "--n", "3"], options }).values.n, "3");
  const e = assertThrows(() => parseOptions({ args: ["--bogus"], options }), UsageError);
  assertMatch(e.message, /--bogus/);
});

Deno.test("parseCommandLine: usage error → help on stderr, 2; help → stdout, 0; other errors propagate", () => {
  const usage = captured(() =>
    parseCommandLine("tool", "HELP TEXT", () => {
      throw new UsageError("bad --n");
    })
  );
  assertEquals(usage.result, 2);
  assertEquals(usage.err, "tool: bad --n\n\nHELP TEXT\n");
  assertEquals(usage.out, "");
  const help = captured(() => parseCommandLine("tool", "HELP TEXT", () => "help"));
  assertEquals([help.result, help.out, help.err], [0, "HELP TEXT\n", ""]);
  const ok = captured(() => parseCommandLine("tool", "HELP TEXT", () => ({ n: 1 })));
  assertEquals([ok.result, ok.out, ok.err], [{ n: 1 }, "", ""]);
  assertThrows(() =>
    parseCommandLine("tool", "HELP", () => {
      throw new RangeError("not usage");
    }), RangeError);
});

Deno.test("wholeNumberOption: absent is undefined, a whole number ≥ min is taken, anything else is a usage error", () => {
  assertEquals(wholeNumberOption("epochs", undefined, 1), undefined);
  assertEquals(wholeNumberOption("epochs", "3", 1), 3);
  assertEquals(wholeNumberOption("seed", "0", 0), 0);
  for (const bad of ["0", "1.5", "x", ""]) {
    assertThrows(
      () => wholeNumberOption("epochs", bad, 1),
      UsageError,
      `--epochs: expected a whole number ≥ 1`,
    );
  }
});
