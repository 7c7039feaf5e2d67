/**
 * Keeps TensorFlow's start-up noise, and what its image decoders print, out of every command's and
 * notebook's stderr without hiding real problems.
 *
 * - TensorFlow's C library logs INFO lines (`oneDNN custom operations are on…`) through Abseil while the
 *   native addon loads — before TensorFlow reads `TF_CPP_MIN_LOG_LEVEL`, so the variable cannot hide them.
 *   {@link withNativeLogLevel} sends stderr (file descriptor 2) to a temporary file while the addon loads,
 *   then writes back everything except the INFO lines that `TF_CPP_MIN_LOG_LEVEL` asks to hide (and Abseil's
 *   "before absl::InitializeLog()" notice that precedes them). Warnings and errors pass through.
 * - A photo that does not decode makes TensorFlow's decoders print their own lines before the error comes
 *   back (libjpeg's `Corrupt JPEG data: …`, `E0000 … jpeg_mem.cc:331] Premature end of JPEG data`, and from a
 *   session `W0000 … local_rendezvous.cc:412] Local rendezvous is aborting …`), and a photo that decodes
 *   despite a flaw prints libjpeg's warning: lines that name no file and say nothing the error (which names
 *   the file) does not. {@link quietImageDecoding} sends stderr to a temporary file while a decoding op runs
 *   and drops what it caught. `TF_CPP_MIN_LOG_LEVEL=0` shows it all.
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

const LIBC_SYMBOLS = {
  dup: { parameters: ["i32"], result: "i32" },
  dup2: { parameters: ["i32", "i32"], result: "i32" },
  close: { parameters: ["i32"], result: "i32" },
  mkstemp: { parameters: ["buffer"], result: "i32" },
  lseek: { parameters: ["i32", "i64", "i32"], result: "i64" },
  read: { parameters: ["i32", "buffer", "usize"], result: "isize" },
  ftruncate: { parameters: ["i32", "i64"], result: "i32" },
  unlink: { parameters: ["buffer"], result: "i32" },
} as const;

type Libc = Deno.DynamicLibrary<typeof LIBC_SYMBOLS>;

function openLibc(): Libc | null {
  const name = Deno.build.os === "linux"
    ? "libc.so.6"
    : Deno.build.os === "darwin"
    ? "libSystem.dylib"
    : null;
  if (name === null) return null;
  try {
    return Deno.dlopen(name, LIBC_SYMBOLS);
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

/** A file stderr goes to while a decoding op runs: unlinked at once, so nothing is left behind. */
interface CaptureFile {
  libc: Libc;
  fd: number;
}

/** `undefined`: not opened yet; `null`: not possible here (no FFI permission, Windows). */
let captureFile: CaptureFile | null | undefined;

function openCaptureFile(): CaptureFile | null {
  if (captureFile !== undefined) return captureFile;
  const libc = openLibc();
  const template = new TextEncoder().encode(`${Deno.env.get("TMPDIR") ?? "/tmp"}/tl-decoder-XXXXXX\0`);
  const fd = libc === null ? -1 : libc.symbols.mkstemp(template);
  if (libc === null || fd < 0) {
    libc?.close();
    return captureFile = null;
  }
  libc.symbols.unlink(template); // the open file stays usable, and nothing is left if the process dies
  return captureFile = { libc, fd };
}

/** What was written to `file` since it was emptied (at most 1 MB), and empties it again. */
function drain({ libc, fd }: CaptureFile): string {
  const SEEK_SET = 0, SEEK_CUR = 1;
  const size = Math.min(Number(libc.symbols.lseek(fd, 0n, SEEK_CUR)), 1 << 20);
  let text = "";
  if (size > 0) {
    const buffer = new Uint8Array(size);
    libc.symbols.lseek(fd, 0n, SEEK_SET);
    const n = Number(libc.symbols.read(fd, buffer, BigInt(size)));
    text = new TextDecoder().decode(buffer.subarray(0, Math.max(n, 0)));
  }
  libc.symbols.ftruncate(fd, 0n);
  libc.symbols.lseek(fd, 0n, SEEK_SET);
  return text;
}

let capturing = false;

/**
 * Runs the synchronous native call `run` with stderr (file descriptor 2) sent to a temporary file, and
 * returns its result (or throws its error); `caught` receives what was written meanwhile. JavaScript does
 * not run during the call, so only native code (TensorFlow and its threads) writes there. Where file
 * descriptors cannot be redirected (no FFI permission, Windows), `run` runs plainly.
 */
export function withCapturedStderr<T>(run: () => T, caught: (text: string) => void = () => {}): T {
  const file = capturing ? null : openCaptureFile();
  if (file === null) return run();
  const { symbols } = file.libc;
  const saved = symbols.dup(2);
  if (saved < 0 || symbols.dup2(file.fd, 2) < 0) {
    if (saved >= 0) symbols.close(saved);
    return run();
  }
  capturing = true;
  try {
    return run();
  } finally {
    symbols.dup2(saved, 2);
    symbols.close(saved);
    capturing = false;
    caught(drain(file));
  }
}

/** TensorFlow's image decoding ops, run eagerly. */
const DECODE_OPS: ReadonlySet<string> = new Set([
  "DecodeImage",
  "DecodeJpeg",
  "DecodeAndCropJpeg",
  "DecodePng",
  "DecodeGif",
  "DecodeBmp",
  "DecodeWebP",
  "ExtractJpegShape",
]);

/** A decoding op's name in a SavedModel's `saved_model.pb` (the op names are plain text in it). */
const DECODE_OP_IN_GRAPH = /Decode(Image|Jpeg|AndCropJpeg|Png|Gif|Bmp|WebP)/;

/** What {@link quietImageDecoding} wraps of tfjs-node's native binding (its methods are read-only). */
export interface OpBinding {
  /** Runs one op eagerly. */
  executeOp(name: string, ...rest: unknown[]): unknown;
  /** Loads a SavedModel folder as a session; its id. */
  loadSavedModel(path: string, tags: string): number;
  /** Runs a session. */
  runSavedModel(id: number, ...rest: unknown[]): unknown;
  /** Closes a session. */
  deleteSavedModel(id: number): void;
}

/** Whether the SavedModel in `dir` decodes images (a graph that decodes a batch of files). */
function graphDecodes(dir: string): boolean {
  try {
    const bytes = Deno.readFileSync(`${dir}/saved_model.pb`);
    return DECODE_OP_IN_GRAPH.test(new TextDecoder("latin1").decode(bytes));
  } catch {
    return false;
  }
}

/**
 * `binding` with stderr dropped while an image decoding op runs — eagerly, or in a session whose graph
 * decodes images — unless `TF_CPP_MIN_LOG_LEVEL` is 0. The failure itself still comes back as the op's
 * error, which the caller turns into a message that names the file.
 */
export function quietImageDecoding<B extends OpBinding>(binding: B): B {
  if (minLogLevel() < 1) return binding;
  const decoding = new Set<number>();
  const wrapped: OpBinding = {
    executeOp: (name, ...rest) => {
      const run = () => binding.executeOp(name, ...rest);
      return DECODE_OPS.has(name) ? withCapturedStderr(run) : run();
    },
    loadSavedModel: (path, tags) => {
      const id = binding.loadSavedModel(path, tags);
      if (graphDecodes(path)) decoding.add(id);
      return id;
    },
    runSavedModel: (id, ...rest) => {
      const run = () => binding.runSavedModel(id, ...rest);
      return decoding.has(id) ? withCapturedStderr(run) : run();
    },
    deleteSavedModel: (id) => {
      decoding.delete(id);
      binding.deleteSavedModel(id);
    },
  };
  // The binding's methods are read-only (even for assignment on an heir): an object that inherits the rest
  // (constants, other calls) and defines these four as its own.
  const own = Object.fromEntries(
    Object.entries(wrapped).map(([k, value]) => [k, { value, enumerable: true }]),
  );
  return Object.create(binding, own);
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
