/** The command-line conventions shared by the deno tasks (lib/cli/cli.ts). */
import { assert, assertEquals, assertThrows } from "../_assert.ts";
import {
  ARGS_ONLY_ENV,
  closest,
  editDistance,
  parseCommandLine,
  parseOptions,
  UsageError,
  usageLine,
  wantsHelp,
  wholeNumberOption,
  withoutSeparator,
} from "../../lib/cli/cli.ts";

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

Deno.test("parseOptions: parseArgs without the --; what it rejects is a one-line UsageError", () => {
  const options = {
    model: { type: "string" as const },
    json: { type: "boolean" as const },
    help: { type: "boolean" as const, short: "h" },
  };
  assertEquals(parseOptions({ args: ["--", "--model", "3"], options }).values.model, "3");
  const fails = (args: string[], allowPositionals = false) =>
    assertThrows(() => parseOptions({ args, options, allowPositionals }), UsageError).message;
  assertEquals(fails(["--modle", "m"], true), "unknown option --modle; did you mean `--model`?");
  assertEquals(fails(["--modle=m"]), "unknown option --modle; did you mean `--model`?");
  assertEquals(fails(["-model", "m"], true), "unknown option -model; did you mean `--model`?");
  assertEquals(fails(["--jsno"]), "unknown option --jsno; did you mean `--json`?");
  assertEquals(fails(["-m", "x"], true), "unknown option -m; did you mean `--model`?");
  assertEquals(fails(["--bogus"]), "unknown option --bogus");
  assertEquals(fails(["--model"]), "'--model' needs a value");
  assertEquals(
    fails(["--model", "-x"], true),
    `'--model' needs a value: "-x" looks like an option (write --model=-x if it is the value)`,
  );
  assertEquals(fails(["--json=1"]), `--json takes no value (got "--json=1")`);
  assertEquals(fails(["photo.jpg"]), `unexpected argument "photo.jpg" (this command takes only options)`);
  // node:util's own wording had an unbalanced quote and advice about positional arguments.
  for (const args of [["--modle"], ["-model"], ["-m"], ["--model", "-x"]]) {
    const message = fails(args, true);
    assert(!message.includes("\n") && !message.includes("positional"), message);
  }
});

Deno.test("editDistance counts a swap of neighbours as one edit; closest: a unique prefix or a near name", () => {
  assertEquals(editDistance("modle", "model"), 1);
  assertEquals(editDistance("epoch", "epochs"), 1);
  assertEquals(editDistance("kitten", "sitting"), 3);
  assertEquals(editDistance("", "abc"), 3);
  const options = ["--model", "--epochs", "--fine-tune-epochs", "--fine-tune-at", "--json"];
  assertEquals(closest("--modle", options), "--model");
  assertEquals(closest("--epoch", options), "--epochs");
  assertEquals(closest("--fine-tune-a", options), "--fine-tune-at");
  assertEquals(closest("--fine", options), undefined, "a prefix of two options is no suggestion");
  assertEquals(closest("--verbose", options), undefined);
  assertEquals(closest("--JSON", options), "--json");
});

Deno.test("wantsHelp: --help or -h, before a later --", () => {
  assert(wantsHelp(["--", "--model", "m", "-h"]));
  assert(wantsHelp(["--help"]));
  assert(!wantsHelp(["--", "x", "--", "--help"]));
  assert(!wantsHelp(["--helpful"]));
});

Deno.test("parseCommandLine: usage error → ONE line on stderr, 2; help → stdout, 0; other errors propagate", () => {
  const usage = captured(() =>
    parseCommandLine("tool", "HELP TEXT", () => {
      throw new UsageError("bad --n");
    })
  );
  assertEquals(usage.result, 2);
  assertEquals(usage.err, "tool: bad --n (see `deno task tool --help`)\n");
  assertEquals(usage.out, "");
  const help = captured(() => parseCommandLine("tool", "HELP TEXT\n", () => "help"));
  assertEquals([help.result, help.out, help.err], [0, "HELP TEXT\n", ""]);
  const ok = captured(() => parseCommandLine("tool", "HELP TEXT", () => ({ n: 1 })));
  assertEquals([ok.result, ok.out, ok.err], [{ n: 1 }, "", ""]);
  assertThrows(() =>
    parseCommandLine("tool", "HELP", () => {
      throw new RangeError("not usage");
    }), RangeError);
  assertEquals(usageLine("tool", "two\n  lines"), "tool: two lines (see `deno task tool --help`)");
});

Deno.test("parseCommandLine: when the task launcher only checks the arguments, good ones are exit 0", () => {
  Deno.env.set(ARGS_ONLY_ENV, "1");
  try {
    const ok = captured(() => parseCommandLine("tool", "HELP", () => ({ n: 1 })));
    assertEquals([ok.result, ok.out, ok.err], [0, "", ""]);
    const bad = captured(() =>
      parseCommandLine("tool", "HELP", () => {
        throw new UsageError("bad");
      })
    );
    assertEquals(bad.result, 2);
  } finally {
    Deno.env.delete(ARGS_ONLY_ENV);
  }
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
