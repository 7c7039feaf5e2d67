/**
 * The one import point for TensorFlow.js: the tfjs-node native backend (TensorFlow's C library), loaded with
 * the kernels `lib/runtime/native_kernels.ts` adds or corrects.
 *
 * Deno's `node:util` lacks helpers that tfjs-node calls (`isNullOrUndefined`; tfjs issue 8609), so they
 * are patched in before tfjs-node loads. If the native addon is missing this module throws; it never
 * falls back to the pure-JS backend.
 *
 * @module
 */
import util from "node:util";
import {
  ignoreDeprecation,
  type OpBinding,
  quietImageDecoding,
  withNativeLogLevel,
} from "./quiet_startup.ts";
import { installNativeKernels } from "./native_kernels.ts";
import type { TensorFlow } from "./tf_types.ts";

const nodeUtil = util as unknown as Record<string, unknown>;
nodeUtil.isNullOrUndefined ??= (x: unknown) => x === null || x === undefined;
nodeUtil.isArray ??= Array.isArray;

// TensorFlow's C++ INFO logs (oneDNN, CPU feature notes) would fill every command's and notebook cell's
// stderr; level 1 hides INFO only, so TensorFlow's warnings and errors still show.
if (Deno.env.get("TF_CPP_MIN_LOG_LEVEL") === undefined) Deno.env.set("TF_CPP_MIN_LOG_LEVEL", "1");
// oneDNN's kernels: TensorFlow turns them on by itself only on CPUs with AVX-512 VNNI/BF16, AVX-VNNI or AMX
// (`IsMKLEnabled()`), and leaves AVX2-only CPUs on Eigen's, where oneDNN's halve a training step
// (docs/performance.md, "oneDNN by default"). On by default everywhere, so that every x86 CPU runs what
// TensorFlow already runs on the newest; `TF_ENABLE_ONEDNN_OPTS=0` still turns them off. Set before the
// native library loads: TensorFlow reads the variable once.
if (Deno.env.get("TF_ENABLE_ONEDNN_OPTS") === undefined) Deno.env.set("TF_ENABLE_ONEDNN_OPTS", "1");
// vega's node-fetch requires `punycode`: a deprecation in a dependency, nothing the user can act on.
ignoreDeprecation("DEP0040");

/** Thrown when the tfjs-node native backend cannot be loaded. */
export class NativeBackendError extends Error {
  /** `detail`: what went wrong (the loader's first error line, or the backend found instead). */
  constructor(detail: string, options?: ErrorOptions) {
    super(
      `The TensorFlow native backend (tfjs-node) is not installed or cannot load: run \`deno task setup\` ` +
        `in the project folder, then retry. (${detail})`,
      options,
    );
    this.name = "NativeBackendError";
  }
}

async function loadNative(): Promise<TensorFlow> {
  let mod: TensorFlow;
  try {
    // The INFO lines TensorFlow logs while it loads come before it reads TF_CPP_MIN_LOG_LEVEL.
    mod = await withNativeLogLevel(() => import("@tensorflow/tfjs-node"));
  } catch (e) {
    const message = e instanceof Error ? e.message.split("\n")[0] : String(e);
    throw new NativeBackendError(message, { cause: e });
  }
  // tfjs-node registers and selects "tensorflow" on import; anything else means a silent fallback.
  if (mod.getBackend() !== "tensorflow") {
    throw new NativeBackendError(`active backend is "${mod.getBackend()}", expected "tensorflow"`);
  }
  // A photo that does not decode makes libjpeg and TensorFlow print lines of their own before the error
  // (which names the file) comes back: dropped, unless TF_CPP_MIN_LOG_LEVEL=0 (quiet_startup.ts).
  const backend = mod.backend() as unknown as { binding: OpBinding };
  backend.binding = quietImageDecoding(backend.binding);
  return mod;
}

/** TensorFlow.js with the tfjs-node API (`tf.node`, `tf.io.fileSystem`, …) on the native backend. */
export const tf: TensorFlow = await loadNative();
installNativeKernels(tf);

/** Version of the TensorFlow C library the native backend runs (e.g. `"2.21.0"`). */
export function tensorflowVersion(): string {
  const backend = tf.backend() as unknown as { binding?: { TF_Version?: string } };
  const version = backend.binding?.TF_Version;
  if (typeof version !== "string") throw new NativeBackendError("the addon did not report TF_Version");
  return version;
}

export { selectBroadcast } from "./native_kernels.ts";
export default tf;

/** TensorFlow.js types (`Tensor`, `Tensor4D`, `LayersModel`, …), importable as types: `import type { Tensor } from "./tf.ts"`. */
export type * from "./tf_types.ts";
