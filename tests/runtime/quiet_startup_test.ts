import fs from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { assert, assertEquals, assertMatch } from "../_assert.ts";
import { PROJECT_ROOT } from "../../lib/runtime/config.ts";
import { withCapturedStderr, withoutInfoLines } from "../../lib/runtime/quiet_startup.ts";
import { tf } from "../../lib/runtime/tf.ts";
import type { Tensor3D } from "../../lib/runtime/tf.ts";
import { buildClassifier } from "../../lib/model/classifier.ts";
import { saveModel } from "../../lib/model/model_io.ts";
import { tinyBase, tinyMetadata } from "../../lib/testing/tiny.ts";

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

Deno.test("withCapturedStderr: what native code writes to stderr during the call is caught, the result or error passes", () => {
  // As TensorFlow writes: straight to file descriptor 2 (deno test catches what Deno.stderr writes).
  const libc = Deno.dlopen("libc.so.6", {
    write: { parameters: ["i32", "buffer", "usize"], result: "isize" },
  });
  const write = (text: string) => {
    const bytes = new TextEncoder().encode(text);
    libc.symbols.write(2, bytes, BigInt(bytes.length));
  };
  let caught = "";
  assertEquals(withCapturedStderr(() => (write("native noise\n"), 42), (t) => caught = t), 42);
  assertEquals(caught, "native noise\n");
  const error = new Error("the op failed");
  try {
    withCapturedStderr(() => {
      write("E0000 00:00:1.5   7 jpeg_mem.cc:331] Premature end of JPEG data\n");
      throw error;
    }, (t) => caught = t);
    assert(false, "the error passes through");
  } catch (e) {
    assert(e === error);
  }
  assertMatch(caught, /^E0000 .* jpeg_mem\.cc:331\] Premature end of JPEG data\n$/, "only this call's text");
  assertEquals(withCapturedStderr(() => "quiet", (t) => caught = t), "quiet");
  assertEquals(caught, "");
  libc.close();
});

/** Lines TensorFlow and libjpeg print on a photo that does not decode (the W0000/E0000 lines). */
const DECODER_NOISE =
  /jpeg_mem\.cc|local_rendezvous\.cc|Premature end|Corrupt JPEG|Input file read error|InitializeLog|^[IWEF]\d{4} /m;

/**
 * In `dir`: a JPEG cut in half (libjpeg: "Premature end of JPEG data"), one whose data is garbage, and a
 * good PNG; their paths.
 */
async function photos(dir: string): Promise<{ cut: string; garbage: string; good: string }> {
  const image = tf.tidy(() => tf.randomUniform([64, 48, 3], 0, 255, "int32", 3) as Tensor3D);
  const jpeg = await tf.node.encodeJpeg(image, "rgb", 90);
  const png = await tf.node.encodePng(image);
  image.dispose();
  const files = {
    cut: path.join(dir, "cut.jpg"),
    garbage: path.join(dir, "garbage.jpg"),
    good: path.join(dir, "good.png"),
  };
  fs.writeFileSync(files.cut, jpeg.subarray(0, Math.floor(jpeg.length / 2)));
  fs.writeFileSync(
    files.garbage,
    new Uint8Array([0xff, 0xd8, 0xff, 0xe0, ...new TextEncoder().encode("not a jpeg at all")]),
  );
  fs.writeFileSync(files.good, png);
  return files;
}

/** `deno run -A` of `args` from the project's root, with `env` on top of ours (`undefined` unsets). */
async function denoRun(args: string[], env: Record<string, string | undefined> = {}) {
  const childEnv = { ...Deno.env.toObject() };
  for (const [k, v] of Object.entries(env)) {
    if (v === undefined) delete childEnv[k];
    else childEnv[k] = v;
  }
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", ...args],
    cwd: PROJECT_ROOT,
    env: childEnv,
    clearEnv: true,
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(120_000),
  }).output();
  const text = (b: Uint8Array) => new TextDecoder().decode(b);
  return { code: out.code, stdout: text(out.stdout), stderr: text(out.stderr) };
}

Deno.test("predict on corrupt JPEGs: stderr has our one-line errors, none of TensorFlow's or libjpeg's lines", async () => {
  const tmp = Deno.makeTempDirSync({ prefix: "tl-quiet-decode-" });
  try {
    const { cut, garbage, good } = await photos(tmp);
    const { model } = buildClassifier({ base: tinyBase([16, 16, 3], 3), numClasses: 3, seed: 2 });
    const modelDir = path.join(tmp, "model");
    await saveModel(model, modelDir, { files: { "metadata.json": JSON.stringify(tinyMetadata()) } });
    model.dispose();
    const predict = path.join(PROJECT_ROOT, "tools", "cli", "predict.ts");
    const r = await denoRun([predict, "--model", modelDir, cut, garbage, good], {
      TF_CPP_MIN_LOG_LEVEL: undefined,
    });
    assertEquals(r.code, 1, r.stderr);
    assert(!DECODER_NOISE.test(r.stderr), r.stderr);
    const lines = r.stderr.trimEnd().split("\n");
    assertEquals(lines.length, 3, r.stderr);
    assertMatch(lines[0], new RegExp(`^predict: skipped ${cut}: Cannot decode image ${cut}: \\S`));
    assertMatch(lines[1], new RegExp(`^predict: skipped ${garbage}: Cannot decode image ${garbage}: \\S`));
    assertEquals(lines[2], "predict: 2 of 3 input(s) failed");
    assertMatch(r.stdout, /good\.png\s+[abc]\s/, "the good photo is still classified");
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
});

/** Decodes `files` as one batch (one TensorFlow session call, as training does), then prints the error. */
function decodeBatchScript(files: string[]): string {
  const url = pathToFileURL(path.join(PROJECT_ROOT, "lib", "data", "batch_decoder.ts")).href;
  return [
    `import fs from "node:fs";`,
    `const { decodeBatch } = await import("${url}");`,
    `const files = ${JSON.stringify(files)}.map((f) => fs.readFileSync(f));`,
    `try {`,
    `  decodeBatch(files, { imageSize: [8, 8], colorMode: "rgb", interpolation: "bilinear" });`,
    `} catch (e) {`,
    `  console.error("caught:", e.message.split("\\n")[0]);`,
    `}`,
  ].join("\n");
}

Deno.test("a batch with a corrupt JPEG decoded in a session: only the error; TF_CPP_MIN_LOG_LEVEL=0 shows TensorFlow's lines", async () => {
  const tmp = Deno.makeTempDirSync({ prefix: "tl-quiet-batch-" });
  try {
    const { cut, good } = await photos(tmp);
    const script = path.join(tmp, "decode.ts");
    fs.writeFileSync(script, decodeBatchScript([good, cut]));
    const config = ["--config", path.join(PROJECT_ROOT, "deno.json")];
    const quiet = await denoRun([...config, script], { TF_CPP_MIN_LOG_LEVEL: undefined });
    assertEquals(quiet.code, 0, quiet.stderr);
    assertMatch(quiet.stderr, /^caught: .*jpeg::Uncompress failed/, quiet.stderr);
    assertEquals(quiet.stderr.trimEnd().split("\n").length, 1, quiet.stderr);
    // The same run asked to show everything: the lines are TensorFlow's to print, and this test sees them.
    const loud = await denoRun([...config, script], { TF_CPP_MIN_LOG_LEVEL: "0" });
    assertMatch(loud.stderr, /jpeg_mem\.cc:\d+\] Premature end of JPEG data/, loud.stderr);
    assertMatch(loud.stderr, /^caught: .*jpeg::Uncompress failed/m);
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
});
