/**
 * Keeps start-up noise out of every command's and notebook's stderr without hiding real problems.
 *
 * - TensorFlow's C library logs INFO lines (`oneDNN custom operations are on…`) through Abseil while the
 *   native addon loads — before TensorFlow reads `TF_CPP_MIN_LOG_LEVEL`, so the variable cannot hide them.
 *   {@link withNativeLogLevel} sends stderr (file descriptor 2) to a temporary file while the addon loads,
 *   then writes back everything except the INFO lines that `TF_CPP_MIN_LOG_LEVEL` asks to hide (and Abseil's
 *   "before absl::InitializeLog()" notice that precedes them). Warnings and errors pass through.
 * - Node's `[DEP0040]` warning (the `punycode` module, which vega's `node-fetch` dependency still requires)
 *   concerns a dependency the user cannot change: {@link ignoreDeprecation} drops that one code only.
 *
 * @module
 */
import process from "node:process";

/** Abseil's notice that precedes its first log line when nothing has initialized its logging. */
const ABSL_NOTICE =
  /^WARNING: All log messages before absl::InitializeLog\(\) is called are written to STDERR$/;
/** An Abseil/TensorFlow INFO line: `I0000 00:00:1796003817.557624   22003 port.cc:153] …`. */
const INFO_LINE = /^I\d{4} \d\d:\d\d:\d+\.\d+\s+\d+ [^\]\s]+:\d+\] /;

/** `TF_CPP_MIN_LOG_LEVEL` as TensorFlow reads it: 0 all, 1 no INFO, 2 no WARNING, 3 no ERROR. */
export function minLogLevel(): number {
  const n = Number(Deno.env.get("TF_CPP_MIN_LOG_LEVEL") ?? "0");
  return Number.isInteger(n) && n >= 0 ? n : 0;
}

/** `text` without the INFO lines (and Abseil's notice) hidden at `level` (≥ 1); everything else kept. */
export function withoutInfoLines(text: string, level: number): string {
  if (level < 1) return text;
  return text.split(/(?<=\n)/).filter((line) => {
    const bare = line.replace(/\r?\n$/, "");
    return !(INFO_LINE.test(bare) || ABSL_NOTICE.test(bare));
  }).join("");
}

type Libc = Deno.DynamicLibrary<{
  dup: { parameters: ["i32"]; result: "i32" };
  dup2: { parameters: ["i32", "i32"]; result: "i32" };
  close: { parameters: ["i32"]; result: "i32" };
  mkstemp: { parameters: ["buffer"]; result: "i32" };
}>;

function openLibc(): Libc | null {
  const name = Deno.build.os === "linux"
    ? "libc.so.6"
    : Deno.build.os === "darwin"
    ? "libSystem.dylib"
    : null;
  if (name === null) return null;
  try {
    return Deno.dlopen(name, {
      dup: { parameters: ["i32"], result: "i32" },
      dup2: { parameters: ["i32", "i32"], result: "i32" },
      close: { parameters: ["i32"], result: "i32" },
      mkstemp: { parameters: ["buffer"], result: "i32" },
    });
  } catch {
    return null; // no FFI permission or no libc by that name: load without the filter
  }
}

/**
 * Runs `load` (the native addon's import) with stderr captured, then writes the captured text back
 * without the INFO lines `TF_CPP_MIN_LOG_LEVEL` hides. Falls back to a plain `load()` where file
 * descriptors cannot be redirected (no FFI permission, Windows).
 */
export async function withNativeLogLevel<T>(load: () => Promise<T>): Promise<T> {
  const level = minLogLevel();
  const libc = level >= 1 ? openLibc() : null;
  if (libc === null) return await load();
  const template = new TextEncoder().encode(`${Deno.env.get("TMPDIR") ?? "/tmp"}/tl-stderr-XXXXXX\0`);
  const tmp = libc.symbols.mkstemp(template);
  const saved = tmp < 0 ? -1 : libc.symbols.dup(2);
  if (tmp < 0 || saved < 0 || libc.symbols.dup2(tmp, 2) < 0) {
    if (saved >= 0) libc.symbols.close(saved);
    if (tmp >= 0) libc.symbols.close(tmp);
    libc.close();
    return await load();
  }
  const tmpPath = new TextDecoder().decode(template.subarray(0, template.length - 1));
  try {
    return await load();
  } finally {
    libc.symbols.dup2(saved, 2);
    libc.symbols.close(saved);
    libc.symbols.close(tmp);
    libc.close();
    const captured = Deno.readFileSync(tmpPath);
    Deno.removeSync(tmpPath);
    const kept = withoutInfoLines(new TextDecoder().decode(captured), level);
    const bytes = new TextEncoder().encode(kept);
    for (let at = 0; at < bytes.length;) at += Deno.stderr.writeSync(bytes.subarray(at));
  }
}

let ignored: Set<string> | null = null;

/** Drops Node deprecation warnings with this code (e.g. `"DEP0040"`); all other warnings still print. */
export function ignoreDeprecation(code: string): void {
  if (ignored === null) {
    ignored = new Set();
    const codes = ignored;
    const emitWarning = process.emitWarning;
    // Node's signatures: (warning, type?, code?, ctor?) or (warning, { type, code, … }).
    process.emitWarning = function (this: unknown, warning: string | Error, ...rest: unknown[]) {
      const options = rest[0];
      const c = warning instanceof Error
        ? (warning as Error & { code?: string }).code
        : typeof options === "object" && options !== null
        ? (options as { code?: string }).code
        : rest[1];
      if (typeof c === "string" && codes.has(c)) return;
      return (emitWarning as (...args: unknown[]) => void).call(process, warning, ...rest);
    } as typeof process.emitWarning;
  }
  ignored.add(code);
}
