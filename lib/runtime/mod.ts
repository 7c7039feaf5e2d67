/**
 * The runtime every other folder stands on: TensorFlow.js on its native backend, where output goes, the
 * run's settings, and what keeps a notebook kernel alive and tidy. It imports no other folder of `lib/`.
 *
 * - **TensorFlow.js** — `tf.ts` loads tfjs-node (TensorFlow's C library) quietly (`quiet_startup.ts`) and
 *   installs the kernels tfjs-node lacks or gets wrong (`native_kernels.ts`); `tf_types.ts` names the
 *   TensorFlow.js types the project uses (`Tensor`, `LayersModel`, `data.Dataset`, …). Import `tf` from
 *   here, never `@tensorflow/tfjs-node` directly: the patches and the backend check come with it.
 * - **Output** — `output.ts` is the one path for printing (`print`, `display`): inside the Jupyter kernel a
 *   block is one message, so that it lands under its own cell. `status_line.ts` is the line that is redrawn
 *   in place (training and download progress: a kernel display, a `\r` terminal line, or finished lines
 *   only), with the formats it shows (`formatDuration`, `formatBytes`, `progressBar`).
 * - **Settings** — `config.ts` reads the `TL_*` variables ({@link loadConfig}). Only the edges call it
 *   (notebooks, `lib/tasks/` entry points, `tools/`); the folders above take the values as options
 *   ({@link fetchOptions} bundles those `getFile` needs).
 * - **The kernel's life** — `interrupt.ts` turns Jupyter's Interrupt into a {@link KeyboardInterrupt} at a clean
 *   point instead of a dead kernel; `notebook.ts` frees the previous run's tensors when a notebook runs
 *   again ({@link startRun}); `failure_cleanup.ts` keeps a failing `fit` from leaking its batches.
 *
 * Not here: files and downloads (`lib/io/`), models (`lib/model/`), training (`lib/train/`).
 *
 * @example
 * ```ts
 * import { formatDuration, loadConfig, tf } from "./mod.ts";
 * import assert from "node:assert";
 *
 * // The settings as they are without any TL_* variable.
 * const config = loadConfig({ get: () => undefined });
 * assert.strictEqual(config.epochs, 10);
 *
 * // TensorFlow.js on TensorFlow's native library.
 * assert.strictEqual(tf.getBackend(), "tensorflow");
 * const total = tf.tidy(() => tf.sum(tf.tensor1d([1, 2, 3])).dataSync()[0]);
 * assert.strictEqual(total, 6);
 *
 * assert.strictEqual(formatDuration(3723), "1:02:03");
 * ```
 *
 * @module
 */
export {
  DEFAULT_ALPHA,
  DEFAULT_CACHE_DIR,
  DEFAULT_DATA_URL,
  fetchOptions,
  IMAGENET_ALPHAS,
  isSupportedOrigin,
  isUrl,
  loadConfig,
  originHint,
  PROJECT_ROOT,
  resolveMirror,
} from "./config.ts";
export type { Config, Env, FetchOptions, LoadConfigOptions, RunConfig } from "./config.ts";
export { BatchTracker, disposeLogsOnThrow, disposeScalarsOnFailure } from "./failure_cleanup.ts";
export {
  beginInterruptible,
  checkInterrupt,
  clearInterrupt,
  interruptRequested,
  InterruptWatch,
  KeyboardInterrupt,
  requestInterrupt,
} from "./interrupt.ts";
export { disposeWithRun, endRun, startRun } from "./notebook.ts";
export type { RunReset } from "./notebook.ts";
export { display, jupyterApi, print, settled, useJupyterApi } from "./output.ts";
export type { JupyterApi } from "./output.ts";
export { formatBytes, formatDuration, progressBar, progressLine, statusLine } from "./status_line.ts";
export type {
  ProgressLine,
  ProgressLineOptions,
  StatusLine,
  StatusLineOptions,
  StatusMode,
} from "./status_line.ts";
export { NativeBackendError, selectBroadcast, tensorflowVersion, tf } from "./tf.ts";
export type {
  CustomCallbackArgs,
  data,
  DataType,
  LayersModel,
  Logs,
  NamedTensorMap,
  Optimizer,
  Rank,
  Scalar,
  Sequential,
  Shape,
  SymbolicTensor,
  Tensor,
  Tensor1D,
  Tensor2D,
  Tensor3D,
  Tensor4D,
  TensorContainer,
  TensorFlow,
  Variable,
} from "./tf_types.ts";
