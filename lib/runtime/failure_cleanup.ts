/**
 * Leak-free failure paths for tfjs' `fitDataset` / `evaluateDataset`. tfjs disposes each batch after its
 * step and each step's logs after the callbacks — but only when nothing throws: a batch the model rejects,
 * a dataset that fails, or a callback that throws leaves that batch (and the step's loss and metric scalars)
 * alive, megabytes per failure at the tutorial's image size. These wrappers remember what was handed out and
 * dispose what is left when the run fails.
 *
 * @module
 */
import { tf } from "./tf.ts";
import type { data, Tensor } from "./tf.ts";

type Dataset = data.Dataset<any>;
type Callback = InstanceType<typeof tf.Callback>;

function tensorsIn(value: unknown, out: Tensor[] = []): Tensor[] {
  if (value instanceof tf.Tensor) out.push(value);
  else if (Array.isArray(value)) { for (const v of value) tensorsIn(v, out); }
  else if (typeof value === "object" && value !== null) {
    for (const v of Object.values(value)) tensorsIn(v, out);
  }
  return out;
}

/** An iterator a dataset makes (what `fitDataset` and `evaluateDataset` pull batches from). */
export type DatasetIterator = Awaited<ReturnType<Dataset["iterator"]>>;

/**
 * `dataset` with `hook` called on every iterator it makes, before the consumer gets it (the hook may
 * replace its `next`): how a run's batches are watched without copying the dataset. Everything else
 * passes through to `dataset`.
 */
export function withIteratorHook(dataset: Dataset, hook: (iterator: DatasetIterator) => void): Dataset {
  return new Proxy(dataset, {
    get(target, key) {
      const value = Reflect.get(target, key, target);
      if (key !== "iterator") return typeof value === "function" ? value.bind(target) : value;
      return async () => {
        const iterator = await target.iterator();
        hook(iterator);
        return iterator;
      };
    },
  });
}

/** The batches a dataset has handed out and that are not disposed yet. */
export class BatchTracker {
  private readonly live = new Set<Tensor>();

  /** `dataset` with its batches remembered (every iterator it makes). */
  track(dataset: data.Dataset<any>): data.Dataset<any> {
    const live = this.live;
    return withIteratorHook(dataset, (iterator) => {
      const next = iterator.next.bind(iterator);
      iterator.next = async () => {
        const result = await next();
        for (const t of live) if (t.isDisposed) live.delete(t);
        if (!result.done) { for (const t of tensorsIn(result.value)) live.add(t); }
        return result;
      };
    });
  }

  /** Disposes the batches handed out and not disposed by their consumer (call it when the run failed). */
  disposeLeft(): void {
    for (const t of this.live) t.dispose();
    this.live.clear();
  }
}

/**
 * `callback` whose exceptions dispose the tensors of the logs it was given (tfjs would have disposed them
 * after the callbacks, had none thrown).
 */
export function disposeLogsOnThrow(
  callback: InstanceType<typeof tf.Callback>,
): InstanceType<typeof tf.Callback> {
  const methods = ["onEpochBegin", "onEpochEnd", "onBatchBegin", "onBatchEnd", "onTrainBegin", "onTrainEnd"];
  return new Proxy(callback, {
    get(target, key) {
      const value = Reflect.get(target, key, target);
      if (typeof value !== "function") return value;
      if (!methods.includes(key as string)) return value.bind(target);
      return async (...args: unknown[]) => {
        try {
          return await value.apply(target, args);
        } catch (e) {
          const logs = args.find((a) => typeof a === "object" && a !== null);
          tf.dispose(tensorsIn(logs));
          throw e;
        }
      };
    },
  });
}

/**
 * Runs `run` (a `fitDataset` or `evaluateDataset`) in an engine scope: if it throws, the scalars made in it
 * and still alive are disposed — the running totals that tfjs' `BaseLogger`, `evaluateDataset` and the
 * progress line keep between batches and release only at the end of an epoch or run. Kept tensors
 * (`tf.keep`), variables (weights, optimizer slots) and everything that is not a scalar stay; on success and
 * afterwards everything is handed to the enclosing scope, as if this one had not been there.
 */
export async function disposeScalarsOnFailure<T>(run: () => Promise<T>): Promise<T> {
  type Scope = { track: Tensor[] };
  const engine = tf.engine() as unknown as {
    startScope(name?: string): void;
    endScope(result?: Tensor[]): void;
    state: { activeScope: Scope | null; scopeStack: Scope[] };
  };
  engine.startScope("disposeScalarsOnFailure");
  const scope = engine.state.activeScope!;
  let failed = false;
  try {
    return await run();
  } catch (e) {
    failed = true;
    throw e;
  } finally {
    if (failed) { for (const t of scope.track) if (!t.kept && !t.isDisposed && t.rank === 0) t.dispose(); }
    const alive = scope.track.filter((t) => !t.isDisposed);
    if (engine.state.activeScope === scope) {
      engine.endScope(alive);
    } else {
      // Another scope was opened on top meanwhile (async code): take ours out of the stack, as it was.
      const stack = engine.state.scopeStack;
      const index = stack.indexOf(scope);
      if (index >= 0) {
        stack.splice(index, 1);
        if (index > 0) stack[index - 1].track.push(...alive);
      }
    }
  }
}
