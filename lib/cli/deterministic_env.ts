/**
 * The environment a task's process needs for `--deterministic` (issue 23): TensorFlow reads
 * `TF_DETERMINISTIC_OPS` and its thread-pool sizes once, when its native library loads, so the launcher
 * (`tools/cli/task.ts`) must set them on the process it starts. The variables live here, on the
 * TensorFlow-free ground floor, so that the launcher and `lib/train/`'s `determinismEnv` share them.
 *
 * @module
 */

/** The option that asks a task for a deterministic run. */
export const DETERMINISTIC_FLAG = "--deterministic";

/**
 * The variables TensorFlow needs for deterministic runs, `threads` per pool (default: the cores).
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { deterministicEnv } from "./mod.ts";
 *
 * assert.deepEqual(deterministicEnv(2), {
 *   TF_DETERMINISTIC_OPS: "1",
 *   TF_NUM_INTRAOP_THREADS: "2",
 *   TF_NUM_INTEROP_THREADS: "2",
 * });
 * ```
 */
export function deterministicEnv(threads: number = navigator.hardwareConcurrency): Record<string, string> {
  if (!Number.isInteger(threads) || threads < 1) {
    throw new Error(`determinismEnv: threads must be a whole number ≥ 1, got ${threads}`);
  }
  return {
    TF_DETERMINISTIC_OPS: "1",
    TF_NUM_INTRAOP_THREADS: String(threads),
    TF_NUM_INTEROP_THREADS: String(threads),
  };
}

/**
 * Whether a task's arguments ask for a deterministic run: `--deterministic` before a `--` that ends the
 * options.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { wantsDeterminism } from "./mod.ts";
 *
 * assert.equal(wantsDeterminism(["photos", "--deterministic"]), true);
 * assert.equal(wantsDeterminism(["photos", "--", "--deterministic"]), false);
 * ```
 */
export function wantsDeterminism(args: readonly string[]): boolean {
  const end = args.indexOf("--");
  return (end === -1 ? args : args.slice(0, end)).includes(DETERMINISTIC_FLAG);
}
