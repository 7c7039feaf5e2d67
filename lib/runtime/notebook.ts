/**
 * Running a notebook again in the same kernel ("Run All" twice) without piling up memory.
 *
 * Why: every run of the tutorial makes new models, batches and optimizers and assigns them to the same
 * names; the previous values become unreachable, but TensorFlow.js frees tensors only on `dispose()`, so
 * each run kept all of the previous run's tensors (the models' weights above all). Disposing each value by
 * hand in every cell would bury the tutorial. Instead the first cell calls {@link startRun}: it frees what
 * the previous run made — the tensors created since (a TensorFlow.js scope opened by the previous call) and
 * the variables registered since — and opens a new scope. From the second run on the tensor count stays
 * flat. Tensors kept with `tf.keep` and anything made before the first call (module-level constants) are
 * left alone — except what was made during the run and handed to {@link disposeWithRun} (the image
 * datasets' decoded-image caches, which keep their tensors out of every scope): disposed with the run.
 * Running the first cell alone also starts over: the later cells must run again.
 *
 * @module
 */
import { tf } from "./tf.ts";

const SCOPE = "notebook run";

interface Run {
  variables: Set<string>;
  /** What {@link disposeWithRun} was given, held weakly: what is collected before the run ends is gone. */
  disposables: WeakRef<{ dispose(): void }>[];
}

let current: Run | null = null;

/** What {@link startRun} freed. */
export interface RunReset {
  /** Tensors freed (variables included). */
  tensors: number;
  /** Variables freed. */
  variables: number;
}

/** Frees what the previous run made (nothing on the first call) and starts tracking this run's tensors. */
export function startRun(): RunReset {
  const before = tf.memory().numTensors;
  const variables = endRun().variables;
  current = { variables: new Set(Object.keys(tf.engine().registeredVariables)), disposables: [] };
  tf.engine().startScope(SCOPE);
  return { tensors: before - tf.memory().numTensors, variables };
}

/** Frees what the current run made and stops tracking (a no-op without a run). */
export function endRun(): RunReset {
  if (!current) return { tensors: 0, variables: 0 };
  const engine = tf.engine();
  const before = tf.memory().numTensors;
  const active = (engine as unknown as { state: { activeScope?: { name?: string } } }).state.activeScope;
  // Only our own scope: should an operation still be inside a scope of its own, leave the tensors be.
  if (active?.name === SCOPE) engine.endScope();
  for (const ref of current.disposables) ref.deref()?.dispose();
  let variables = 0;
  for (const [name, variable] of Object.entries(engine.registeredVariables)) {
    if (current.variables.has(name)) continue;
    variable.dispose();
    variables++;
  }
  current = null;
  return { tensors: before - tf.memory().numTensors, variables };
}

/**
 * Disposes `resource` when the current notebook run ends (the next {@link startRun}, or {@link endRun}),
 * unless it was garbage-collected first; outside a run (no {@link startRun} in this process) nothing
 * happens. For what holds tensors outside TensorFlow.js' scopes, so that running a notebook again does not
 * keep the previous run's.
 */
export function disposeWithRun(resource: { dispose(): void }): void {
  current?.disposables.push(new WeakRef(resource));
}
