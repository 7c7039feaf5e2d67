/**
 * Every `deno task` as a new user meets it, on a fresh clone: a copy of the project's code and deno.json
 * without `node_modules` or `.venv`. `--help` / `-h` must answer at once without running setup (which
 * would create `node_modules` and take minutes), and a mistyped option must be one line with exit code 2
 * — also before setup. Each case spawns `deno task` (two or three short Deno processes).
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { assert, assertEquals, assertMatch } from "../_assert.ts";
import { PROJECT_ROOT } from "../../lib/runtime/config.ts";

const TASKS = ["run", "test", "setup", "bench", "train", "predict", "review", "serve", "export"] as const;

/** A fresh clone's code: deno.json, deno.lock and the code folders, no node_modules, .venv or models. */
function freshClone(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "tl-fresh-clone-"));
  for (const name of ["deno.json", "deno.lock", "lib", "tools", "bench", "notebooks"]) {
    fs.cpSync(path.join(PROJECT_ROOT, name), path.join(dir, name), { recursive: true });
  }
  return dir;
}

async function denoTask(
  cwd: string,
  args: string[],
): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["task", "-q", ...args],
    cwd,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
    signal: AbortSignal.timeout(60_000),
  }).output();
  const text = (b: Uint8Array) => new TextDecoder().decode(b);
  return { code: out.code, stdout: text(out.stdout), stderr: text(out.stderr) };
}

/** Lines of a JavaScript stack trace (`    at f (file:…)`), or Deno's "error: Uncaught". */
const STACK = /^\s+at \S|error: Uncaught|Stack backtrace/m;

/** Runs `fn` in a fresh clone, then checks that setup never ran there and removes it. */
async function inFreshClone(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = freshClone();
  try {
    await fn(dir);
    assert(!fs.existsSync(path.join(dir, "node_modules")), "setup ran (node_modules was created)");
    assert(!fs.existsSync(path.join(dir, ".venv")), "setup ran (.venv was created)");
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

Deno.test("every task answers --help and -h with its usage, exit 0, without running setup", async () => {
  await inFreshClone(async (dir) => {
    for (const name of TASKS) {
      // `deno task NAME --help` and `deno task NAME -- -h`: deno task appends both to the last command.
      for (const args of [[name, "--help"], [name, "--", "-h"]]) {
        const r = await denoTask(dir, args);
        const what = `deno task ${args.join(" ")}`;
        assertEquals(r.code, 0, `${what}: ${r.stderr}`);
        assert(r.stdout.startsWith(`Usage: deno task ${name}`), `${what} printed:\n${r.stdout}`);
        assertMatch(r.stdout, /-h, --help/, what);
        assertEquals(r.stderr, "", `${what} wrote to stderr`);
      }
    }
  });
});

Deno.test("deno task run --help lists every TL_* setting the notebooks read", async () => {
  const r = await denoTask(PROJECT_ROOT, ["run", "--help"]);
  assertEquals(r.code, 0, r.stderr);
  const settings = [
    "DATA_URL",
    "WEIGHTS_URL",
    "ALPHA",
    "EPOCHS",
    "CACHE_DIR",
    "CACHE_MB",
    "DATA_DIR",
    "MIRROR",
  ];
  for (const s of settings) assertMatch(r.stdout, new RegExp(`^ +TL_${s} +\\S`, "m"), `TL_${s}`);
  assert(!/usage: run_notebooks\.py/.test(r.stdout), "the Python runner's own usage");
});

Deno.test("a mistyped option: one line, last, with the near option, exit 2 — before setup", async () => {
  await inFreshClone(async (dir) => {
    for (const name of ["predict", "serve", "export"]) {
      const r = await denoTask(dir, [name, "--", "--modle", "models/x"]);
      assertEquals(r.code, 2, `${name}: ${r.stderr}`);
      const lines = r.stderr.trimEnd().split("\n");
      assertEquals(lines.length, 1, `${name}: one line, got:\n${r.stderr}`);
      assertEquals(
        lines[0],
        `${name}: unknown option --modle; did you mean \`--model\`? (see \`deno task ${name} --help\`)`,
      );
      assertEquals(r.stdout, "");
    }
    const epoch = await denoTask(dir, ["train", "--", "photos", "--epoch", "3"]);
    assertEquals(epoch.code, 2, epoch.stderr);
    assertMatch(epoch.stderr, /^train: unknown option --epoch; did you mean `--epochs`\?/);
  });
});

Deno.test("every task: an unknown option or a bad value is one usage line (exit 2), no stack trace", async () => {
  await inFreshClone(async (dir) => {
    const cases: [string, string[], RegExp][] = [
      ...TASKS.map((
        n,
      ): [string, string[], RegExp] => [n, ["--bogus-option"], /unknown option --bogus-option/]),
      ["bench", ["--epochs", "0"], /--epochs: expected a whole number ≥ 1, got "0"/],
      ["run", ["--timeout", "soon"], /--timeout: expected a whole number of seconds > 0/],
      ["run", ["missing.ipynb"], /missing\.ipynb: no such notebook/],
      ["test", ["tests/no_such_test.ts"], /tests\/no_such_test\.ts: no such test file or folder/],
      ["predict", ["--model"], /'--model' needs a value/],
      ["export", ["--json=yes", "--out", "x"], /--json takes no value/],
      ["serve", ["extra"], /unexpected argument "extra"/],
    ];
    for (const [name, args, message] of cases) {
      const r = await denoTask(dir, [name, "--", ...args]);
      const what = `deno task ${name} -- ${args.join(" ")}`;
      assertEquals(r.code, 2, `${what}: ${r.stderr}`);
      const lines = r.stderr.trimEnd().split("\n");
      assertEquals(lines.length, 1, `${what}: ${r.stderr}`);
      assertMatch(lines[0], new RegExp(`^${name}: `), what);
      assertMatch(lines[0], message, what);
      assertMatch(lines[0], new RegExp(`\\(see \`deno task ${name} --help\`\\)$`), what);
      assert(!STACK.test(r.stderr), `${what}: stack trace:\n${r.stderr}`);
    }
  });
});
