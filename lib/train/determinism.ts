/**
 * Deterministic training: two runs on the same machine with the same seed end with bit-identical weights.
 *
 * Two things make runs differ, and {@link enableDeterminism} handles both:
 * - **Random numbers drawn in JavaScript** — dropout masks, augmentation, initial weights, the shuffle of
 *   a dataset without a seed. This is where the run-to-run spread of this project's training came from.
 *   `setRandomSeed(seed)` (`random_state.ts`, Keras' `keras.utils.set_random_seed`) makes every one of them
 *   repeat; a `Dropout` layer with a seed of its own draws a new, seeded mask at each step.
 * - **TensorFlow's threaded kernels.** TensorFlow's CPU kernels split their sums over a thread pool; with a
 *   fixed pool size the split — and so the rounding — is the same each run. {@link determinismEnv} fixes
 *   the pool sizes (`TF_NUM_INTRAOP_THREADS`, `TF_NUM_INTEROP_THREADS`) and asks for TensorFlow's
 *   deterministic kernels (`TF_DETERMINISTIC_OPS=1`, what `tf.config.experimental.enable_op_determinism()`
 *   sets; with it an unseeded native random op is an error). TensorFlow reads these variables once, when
 *   the native library loads — i.e. when `lib/runtime/` is first imported — so they must be in the
 *   process' environment before that: a launcher passes them to the process it starts (`tools/cli/task.ts`
 *   starts each task's tool as a new process); a notebook's kernel must be started with them. `enableDeterminism` checks that they are there.
 *
 * What it costs and what was measured is in docs/training.md ("Reproducible runs").
 *
 * @module
 */
import { deterministicEnv } from "../cli/mod.ts";
import { setRandomSeed } from "./random_state.ts";

/**
 * The environment variables TensorFlow needs for deterministic runs, with `threads` per pool (default: the
 * cores): `lib/cli/`'s `deterministicEnv`, which the TensorFlow-free task launcher uses too.
 */
export function determinismEnv(options: { threads?: number } = {}): Record<string, string> {
  return deterministicEnv(options.threads);
}

/** Whether this process' environment asks TensorFlow for deterministic runs. */
export interface DeterminismStatus {
  /** `TF_DETERMINISTIC_OPS` is on. */
  deterministicOps: boolean;
  /** `TF_NUM_INTRAOP_THREADS`, or null when TensorFlow picks (the cores it may use). */
  intraOpThreads: number | null;
  /** `TF_NUM_INTEROP_THREADS`, or null. */
  interOpThreads: number | null;
  /** The variables that are missing or off, as `NAME=value` to set. */
  missing: string[];
}

/** What the environment (default: this process') says about TensorFlow's determinism; see {@link DeterminismStatus}. */
export function determinismStatus(
  env: { get(name: string): string | undefined } = Deno.env,
): DeterminismStatus {
  const count = (name: string) => {
    const n = Number(env.get(name));
    return Number.isInteger(n) && n > 0 ? n : null;
  };
  const flag = (env.get("TF_DETERMINISTIC_OPS") ?? "").toLowerCase();
  const deterministicOps = flag === "1" || flag === "true";
  const status = {
    deterministicOps,
    intraOpThreads: count("TF_NUM_INTRAOP_THREADS"),
    interOpThreads: count("TF_NUM_INTEROP_THREADS"),
  };
  const wanted = determinismEnv();
  const missing = Object.entries(wanted)
    .filter(([name]) => name === "TF_DETERMINISTIC_OPS" ? !deterministicOps : count(name) === null)
    .map(([name, value]) => `${name}=${value}`);
  return { ...status, missing };
}

/** Options of {@link enableDeterminism}. */
export interface DeterminismOptions {
  /** The seed of every draw made without one of its own (a whole number 0 … 2³² − 1). */
  seed: number;
  /**
   * Refuse to go on when TensorFlow was started without {@link determinismEnv}'s variables (default true);
   * false: seed the random numbers only (still identical on this project's CPU kernels, see docs).
   */
  requireEnvironment?: boolean;
}

/**
 * Makes this run repeatable: seeds every random draw ({@link setRandomSeed}) and checks that TensorFlow was
 * started with {@link determinismEnv}'s variables (an error naming the missing ones and how to set them).
 * Call it before building the model and the datasets, whose initial weights and shuffles draw seeds too.
 *
 * @example
 * ```ts ignore
 * // Started as: TF_DETERMINISTIC_OPS=1 TF_NUM_INTRAOP_THREADS=2 TF_NUM_INTEROP_THREADS=2 deno run -A train.ts
 * enableDeterminism({ seed: 42 });
 * const { model } = buildClassifier({ base });
 * ```
 */
export function enableDeterminism(options: DeterminismOptions): DeterminismStatus {
  const status = determinismStatus();
  if ((options.requireEnvironment ?? true) && status.missing.length > 0) {
    throw new Error(
      `enableDeterminism: TensorFlow was started without ${status.missing.join(" ")} — it reads them once, ` +
        `when it loads: start the process (or the notebook's kernel) with them set, e.g. ` +
        `\`${status.missing.join(" ")} deno run -A …\``,
    );
  }
  setRandomSeed(options.seed);
  return status;
}
