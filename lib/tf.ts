/**
 * The one import point for TensorFlow.js: the tfjs-node native backend (TensorFlow's C library).
 *
 * Deno's `node:util` lacks helpers that tfjs-node calls (`isNullOrUndefined`; tfjs issue 8609), so they
 * are patched in before tfjs-node loads. If the native addon is missing this module throws; it never
 * falls back to the pure-JS backend.
 *
 * @module
 */
import util from "node:util";

type NodeTf = typeof import("@tensorflow/tfjs-node");

const nodeUtil = util as unknown as Record<string, unknown>;
nodeUtil.isNullOrUndefined ??= (x: unknown) => x === null || x === undefined;
nodeUtil.isArray ??= Array.isArray;

// TensorFlow's C++ INFO logs (oneDNN, CPU feature notes) would fill every notebook cell's stderr.
if (Deno.env.get("TF_CPP_MIN_LOG_LEVEL") === undefined) Deno.env.set("TF_CPP_MIN_LOG_LEVEL", "2");

/** Thrown when the tfjs-node native backend cannot be loaded. */
export class NativeBackendError extends Error {
  constructor(detail: string, options?: ErrorOptions) {
    super(
      `The TensorFlow native backend (tfjs-node) is not installed or cannot load: run \`deno task setup\` ` +
        `in the project folder, then retry. (${detail})`,
      options,
    );
    this.name = "NativeBackendError";
  }
}

async function loadNative(): Promise<NodeTf> {
  let mod: NodeTf;
  try {
    mod = await import("@tensorflow/tfjs-node");
  } catch (e) {
    const message = e instanceof Error ? e.message.split("\n")[0] : String(e);
    throw new NativeBackendError(message, { cause: e });
  }
  // tfjs-node registers and selects "tensorflow" on import; anything else means a silent fallback.
  if (mod.getBackend() !== "tensorflow") {
    throw new NativeBackendError(`active backend is "${mod.getBackend()}", expected "tensorflow"`);
  }
  return mod;
}

/** TensorFlow.js with the tfjs-node API (`tf.node`, `tf.io.fileSystem`, …) on the native backend. */
export const tf: NodeTf = await loadNative();

/** Version of the TensorFlow C library the native backend runs (e.g. `"2.21.0"`). */
export function tensorflowVersion(): string {
  const backend = tf.backend() as unknown as { binding?: { TF_Version?: string } };
  const version = backend.binding?.TF_Version;
  if (typeof version !== "string") throw new NativeBackendError("the addon did not report TF_Version");
  return version;
}

export default tf;
