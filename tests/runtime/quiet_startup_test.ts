import path from "node:path";
import { pathToFileURL } from "node:url";
import { assert, assertEquals, assertMatch } from "../_assert.ts";
import { PROJECT_ROOT } from "../../lib/runtime/config.ts";
import { withoutInfoLines } from "../../lib/runtime/quiet_startup.ts";

const ONEDNN =
  "I0000 00:00:1796003817.557624   22003 port.cc:153] oneDNN custom operations are on. You may see…\n";
const NOTICE = "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR\n";
const WARN =
  "W0000 00:00:1796003817.600000   22003 cpu_allocator_impl.cc:83] Allocation exceeds 10% of memory.\n";
const ERR = "E1130 01:59:00.123456   22003 op_kernel.cc:1830] OP_REQUIRES failed\n";

Deno.test("withoutInfoLines: drops INFO lines and Abseil's notice at level ≥ 1; keeps warnings, errors, other text", () => {
  const text = `${NOTICE}${ONEDNN}${WARN}plain text\n${ERR}I0000 00:00:1.5   7 x.cc:1] last, no newline`;
  assertEquals(withoutInfoLines(text, 1), `${WARN}plain text\n${ERR}`);
  assertEquals(withoutInfoLines(text, 2), `${WARN}plain text\n${ERR}`, "warnings are TensorFlow's to hide");
  assertEquals(withoutInfoLines(text, 0), text, "level 0 shows everything");
  assertEquals(withoutInfoLines("Info: I0000 is not at the start\n", 1), "Info: I0000 is not at the start\n");
});

/** A fresh Deno importing `lib/runtime/tf.ts` (and vega through `lib/analysis/display.ts`), with `env` on top of ours. */
async function importInSubprocess(env: Record<string, string | undefined>) {
  const url = (f: string) => pathToFileURL(path.join(PROJECT_ROOT, f)).href;
  const code = [
    `console.error("before");`,
    `const { tf } = await import("${url("lib/runtime/tf.ts")}");`,
    `await import("${url("lib/analysis/display.ts")}");`,
    `const process = (await import("node:process")).default;`,
    `process.emitWarning("another deprecation", "DeprecationWarning", "DEP0999");`,
    `await new Promise((r) => setTimeout(r, 10));`,
    `console.error("after", tf.getBackend());`,
  ].join("\n");
  const childEnv = { ...Deno.env.toObject() };
  for (const [k, v] of Object.entries(env)) {
    if (v === undefined) delete childEnv[k];
    else childEnv[k] = v;
  }
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["eval", code],
    cwd: PROJECT_ROOT,
    env: childEnv,
    clearEnv: true,
    stdout: "piped",
    stderr: "piped",
  }).output();
  return { code: out.code, stderr: new TextDecoder().decode(out.stderr) };
}

/**
 * An INFO line as TensorFlow logs it: through Abseil (`I0000 00:00:1796003817.557624   22003 port.cc:153] …`,
 * the wheel's TensorFlow 2.21) or its own logger (`2026-12-03 09:20:00.123456: I tensorflow/…/x.cc:42] …`,
 * libtensorflow 2.9.1, which setup takes when its host is reachable). Which ones it
 * logs while loading depends on the CPU — oneDNN's "custom operations are on" only where oneDNN is on by
 * default (and before TensorFlow reads TF_CPP_MIN_LOG_LEVEL: the filter's case), cpu_feature_guard's only
 * where the CPU has instructions the build lacks — so the tests below ask for VLOG(1) lines as well
 * (`TF_CPP_MAX_VLOG_LEVEL=1`), which TensorFlow logs while loading on every CPU.
 */
const INFO_LINE =
  /^(I\d{4} \d\d:\d\d:\d+\.\d+\s+\d+ [^\]\s]+:\d+\] |\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+: I \S+:\d+\] )/m;

Deno.test("importing lib/runtime/tf.ts prints no INFO line, no Abseil notice, no DEP0040; stderr works after", async () => {
  const r = await importInSubprocess({ TF_CPP_MIN_LOG_LEVEL: undefined, TF_CPP_MAX_VLOG_LEVEL: "1" });
  assertEquals(r.code, 0, r.stderr);
  assert(!INFO_LINE.test(r.stderr), r.stderr);
  assert(!/oneDNN|InitializeLog|cpu_feature_guard|DEP0040|punycode/.test(r.stderr), r.stderr);
  assertMatch(r.stderr, /^before\n/);
  assertMatch(r.stderr, /\[DEP0999\] DeprecationWarning: another deprecation/, "other warnings still print");
  assertMatch(r.stderr, /after tensorflow\n$/, "stderr restored after the addon loaded");
});

Deno.test("TF_CPP_MIN_LOG_LEVEL=0 set by the user still shows TensorFlow's INFO lines", async () => {
  const r = await importInSubprocess({ TF_CPP_MIN_LOG_LEVEL: "0", TF_CPP_MAX_VLOG_LEVEL: "1" });
  assertEquals(r.code, 0, r.stderr);
  // Those TensorFlow logs while loading, before the "after" line.
  assertMatch(r.stderr.slice(0, r.stderr.indexOf("after tensorflow")), INFO_LINE);
});
