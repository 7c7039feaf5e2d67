/**
 * Kernel → Interrupt in Jupyter, like Python's `KeyboardInterrupt`.
 *
 * Why: JupyterLab interrupts the Deno kernel with SIGINT, and without a listener SIGINT ends the Deno
 * process — the kernel dies and every variable is lost (upstream deno issue 24491). Under the kernel this
 * module installs a SIGINT listener that only sets a flag; long loops (`fit` and `evaluate` batches, dataset
 * iteration) check it between units of work and stop with a {@link KeyboardInterrupt} that says where they
 * stopped and what state the model is in. The kernel and its variables survive. A synchronous loop cannot be
 * interrupted: the listener runs only when the loop awaits.
 *
 * The flag is cleared when an interrupt is consumed and when a long operation starts
 * ({@link beginInterruptible}), so an interrupt that arrived while nothing was checking does not stop the
 * next cell. Outside the kernel nothing is installed: Ctrl-C ends a script as usual.
 *
 * @module
 */
import { tf } from "./tf.ts";
import type { data, LayersModel } from "./tf.ts";
import { withIteratorHook } from "./failure_cleanup.ts";
import { kernelJupyter } from "./output.ts";

/** Raised when the user interrupted a long operation (Jupyter's Kernel → Interrupt). */
export class KeyboardInterrupt extends Error {
  /** `message`: where the operation stopped and in what state it left things. */
  constructor(message: string) {
    super(message);
    this.name = "KeyboardInterrupt";
  }
}

let pending = false;
let listening = false;
/** Operations currently running that handle the flag themselves (nested checks leave it to them). */
let owners = 0;

/**
 * Installs the SIGINT listener when running under the Jupyter kernel (done when this module is first
 * imported); true when it is installed.
 */
export function installInterruptHandler(): boolean {
  if (listening) return true;
  if (!kernelJupyter()) return false;
  try {
    Deno.addSignalListener("SIGINT", requestInterrupt);
    listening = true;
  } catch {
    // Signals unsupported (e.g. Windows without SIGINT listeners): Interrupt then behaves as before.
  }
  return listening;
}

/** What the SIGINT listener does; also the hook tests use to simulate Kernel → Interrupt. */
export function requestInterrupt(): void {
  pending = true;
}

/** Whether an interrupt is waiting to be handled. */
export function interruptRequested(): boolean {
  return pending;
}

/** Forgets a pending interrupt. */
export function clearInterrupt(): void {
  pending = false;
}

/** Marks the start of a long operation: an interrupt that arrived before it is stale and is dropped. */
export function beginInterruptible(): void {
  if (owners === 0) pending = false;
}

/**
 * Throws {@link KeyboardInterrupt} (consuming the interrupt) when the user pressed Interrupt, unless a `fit`
 * or `evaluate` around this call handles it (it stops at a clean point and says where).
 */
export function checkInterrupt(where: string): void {
  if (!pending || owners > 0) return;
  pending = false;
  throw new KeyboardInterrupt(`interrupted ${where}`);
}

type Dataset = data.Dataset<any>;
/** What tfjs-data's iterators hold: `PrefetchIterator.buffer`, the `upstream` iterator they read. */
interface Buffered {
  buffer?: { isEmpty(): boolean; shift(): Promise<IteratorResult<unknown>> };
  upstream?: Buffered;
}

/**
 * Watches one `fit` or `evaluate` run: a `tf.Callback` that makes `fitDataset` stop after the current batch,
 * a view of the dataset whose iterators it cleans up (the batches a prefetch buffer holds would otherwise
 * leak their tensors), and {@link finish}, which throws the {@link KeyboardInterrupt}.
 */
export class InterruptWatch {
  private readonly iterators: Buffered[] = [];
  private epoch = -1;
  private batch = -1;
  private stopped = false;
  private ended = false;

  /** Starts watching a run of `what` on `model` (whose `stopTraining` it sets on an interrupt). */
  constructor(private readonly what: "fit" | "evaluate", private readonly model: LayersModel) {
    beginInterruptible();
    owners++;
  }

  /** `dataset` as seen by the run; with `stopIteration`, its iterators end early on an interrupt. */
  dataset(dataset: data.Dataset<any>, stopIteration = false): data.Dataset<any> {
    return withIteratorHook(dataset, (iterator) => {
      this.iterators.push(iterator as unknown as Buffered);
      if (!stopIteration) return;
      const next = iterator.next.bind(iterator);
      iterator.next = () => {
        if (pending) {
          this.stopped = true;
          return Promise.resolve({ value: undefined, done: true });
        }
        this.batch++;
        return next();
      };
    });
  }

  /** For `fitDataset`: stops training after the batch during which Interrupt was pressed. */
  callback(): InstanceType<typeof tf.Callback> {
    // deno-lint-ignore no-this-alias
    const watch = this;
    return new (class extends tf.Callback {
      override onEpochBegin(epoch: number) {
        watch.epoch = epoch;
        watch.batch = -1;
        return Promise.resolve();
      }
      override onBatchEnd(batch: number) {
        watch.batch = batch;
        if (pending && !watch.stopped) {
          watch.stopped = true;
          watch.model.stopTraining = true;
        }
        return Promise.resolve();
      }
    })();
  }

  /**
   * Ends the watch (call it in `finally`): disposes batches left in prefetch buffers, then, when the run was
   * stopped, throws a {@link KeyboardInterrupt} describing where and the model's state.
   */
  async finish(options: { epochs?: number; steps?: number } = {}): Promise<void> {
    if (this.ended) return;
    this.ended = true;
    owners--;
    for (const iterator of this.iterators) {
      // The iterator and the ones it reads from (a map over a prefetch, …): any prefetch buffer is drained.
      for (let it: Buffered | undefined = iterator; it; it = it.upstream) {
        const buffer = it.buffer;
        if (!buffer || typeof buffer.isEmpty !== "function") continue;
        while (!buffer.isEmpty()) {
          const result = await buffer.shift().catch(() => undefined);
          if (result && !result.done) tf.dispose(result.value as Parameters<typeof tf.dispose>[0]);
        }
      }
    }
    if (!this.stopped) return;
    pending = false;
    throw new KeyboardInterrupt(this.describe(options));
  }

  /** Where the run stopped and the model's state, for the {@link KeyboardInterrupt}. */
  private describe({ epochs, steps }: { epochs?: number; steps?: number }): string {
    const of = (n?: number) => (n ? `/${n}` : "");
    if (this.what === "evaluate") {
      return `evaluate interrupted after ${this.batch} batch(es)${
        of(steps)
      }: no result; the model is unchanged`;
    }
    const where = `batch ${this.batch + 1}${of(steps)} of epoch ${this.epoch + 1}${of(epochs)}`;
    return `fit interrupted after ${where}. The model keeps the weights (and optimizer state) after that ` +
      `batch; epoch ${this.epoch + 1} is incomplete. Run fit again to continue ` +
      `(initialEpoch: ${this.epoch} runs epoch ${this.epoch + 1} again).`;
  }
}

installInterruptHandler();
