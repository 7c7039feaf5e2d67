/**
 * Keras-style training progress: `Epoch 3/10` then a bar line per epoch,
 * `63/63 [==============================] - 14s 221ms/step - loss: 0.4312 - accuracy: 0.8010 - val_loss: …`.
 *
 * The lines are shown by the runtime's status line (`lib/runtime/status_line.ts`): updated in place with
 * `\r` in a terminal, and in the Deno Jupyter kernel as ONE output (`Deno.jupyter.display` with a
 * `display_id`, then `update`), not a line per step. When stdout is not a terminal only the finished epoch
 * lines are printed. Running metrics are summed as tensors on the backend ({@link EpochSums}, which `fit`
 * also reads to checkpoint an interrupted epoch) and read only when the line is redrawn (at most every
 * `intervalMs`), not at every step.
 *
 * @module
 */
import { formatDuration, jupyterApi, progressBar, settled, statusLine, tf } from "../runtime/mod.ts";
import type { JupyterApi, StatusLine, Tensor } from "../runtime/mod.ts";

type Logs = Record<string, number | Tensor>;

/**
 * Where progress text goes: a status line (`lib/runtime/status_line.ts`), or anything else that shows the
 * lines. `final` marks an epoch's last redraw.
 */
export interface ProgressSink {
  /** Shows `lines` (all finished epochs plus the current one) — or only the newest line, as the sink prefers. */
  show(lines: string[], final: boolean): void | Promise<void>;
}

// The sinks below redraw at every call: ProgressLogger throttles before it reads the running metrics.

/** `\r`-rewriting terminal sink (stdout). */
export function terminalSink(write?: (s: string) => void): StatusLine {
  return statusLine({ mode: "terminal", intervalMs: 0, ...(write ? { write } : {}) });
}

/** Plain sink for logs and pipes: each finished line once (default: printed on stdout). */
export function lineSink(log?: (s: string) => void): StatusLine {
  return statusLine({ mode: "lines", ...(log ? { log } : {}) });
}

/** One notebook output, created on the first call and updated in place afterwards. */
export function jupyterSink(api: JupyterApi, displayId?: string): StatusLine {
  return statusLine({ mode: "jupyter", api, intervalMs: 0, ...(displayId ? { displayId } : {}) });
}

/** The sink for the current environment: notebook, terminal, or plain lines. */
export function defaultSink(): StatusLine {
  return statusLine({ intervalMs: 0 });
}

/** `7s`, `1:02`, `1:02:03` as Keras prints ETAs: the status line's `formatDuration`, re-exported. */
export { formatDuration };

/**
 * Keras' progress bar: `[=====>........]` of width 30.
 * @deprecated Use `progressBar` from `lib/runtime/mod.ts`.
 */
export const bar: (step: number, steps: number, width?: number) => string = progressBar;

function perStep(seconds: number): string {
  return seconds >= 1
    ? `${seconds.toFixed(0)}s/step`
    : seconds >= 1e-3
    ? `${(seconds * 1e3).toFixed(0)}ms/step`
    : `${(seconds * 1e6).toFixed(0)}us/step`;
}

/** Options of {@link ProgressLogger}. */
export interface ProgressOptions {
  /** Total epochs of the run (`Epoch e/epochs`). */
  epochs: number;
  /** Steps per epoch, when known (else `12/Unknown`). */
  steps?: number;
  /** 1: live bar (default); 2: one line per epoch. */
  verbose?: 1 | 2;
  sink?: ProgressSink;
  /** Minimum time between redraws; default 250 ms (1 s in notebooks). */
  intervalMs?: number;
  /** Clock in ms (tests). */
  now?: () => number;
  /**
   * The running sums to show, kept by a callback that runs before this one (`fit`'s, which also seeds an
   * epoch resumed part-way: its line counts on from the batches done before); default: its own.
   */
  sums?: EpochSums;
}

/** Where an epoch stands part-way: what `fit` needs to continue it (`FitOptions.resumeEpoch`). */
export interface EpochInProgress {
  /** The epoch (0-based). */
  epoch: number;
  /** Batches of it done. */
  batches: number;
  /** Examples of it seen. */
  seen: number;
  /** Per metric of the batch logs (`loss`, `accuracy`), Σ value·batch size so far (float32 values). */
  totals: Record<string, number>;
}

/**
 * The running sums of an epoch's batch logs — per metric Σ value·batch size over `seen` examples, summed
 * as tensors the way tfjs' `BaseLogger` sums them to average the epoch's logs. `fit` keeps one: the
 * progress line reads its means, and `fit` reads it to checkpoint an interrupted epoch. An epoch resumed
 * part-way (`start`) begins from its saved sums.
 */
export class EpochSums extends tf.Callback {
  /** Per metric, the sum so far (a scalar on the backend). */
  protected readonly sums = new Map<string, Tensor>();
  /** Examples of the current epoch seen, those before a resume included. */
  seen = 0;
  /** Batches of the current epoch done, those before a resume included. */
  batches = 0;
  /** The current epoch continues `start`. */
  resumed = false;

  /**
   * `start`: an epoch resumed part-way; `missingSize`: the batch size counted for batch logs without one
   * (`BaseLogger`'s 0 by default).
   */
  constructor(private readonly start?: EpochInProgress, private readonly missingSize = 0) {
    super();
  }

  override onEpochBegin(epoch: number): Promise<void> {
    this.clear();
    const start = this.start?.epoch === epoch ? this.start : undefined;
    this.resumed = start !== undefined;
    this.seen = start?.seen ?? 0;
    this.batches = start?.batches ?? 0;
    for (const [key, value] of Object.entries(start?.totals ?? {})) this.sums.set(key, tf.scalar(value));
    return Promise.resolve();
  }

  override onBatchEnd(_batch: number, logs?: Logs): Promise<void> {
    const size = typeof logs?.size === "number" ? logs.size : this.missingSize;
    this.seen += size;
    this.batches++;
    for (const [key, value] of Object.entries(logs ?? {})) {
      if (key === "batch" || key === "size") continue;
      const old = this.sums.get(key);
      this.sums.set(key, tf.tidy(() => tf.add(old ?? 0, tf.mul(value as Tensor | number, size))));
      old?.dispose();
    }
    return Promise.resolve();
  }

  /** Each metric's sum so far, read from the backend. */
  async totals(): Promise<Record<string, number>> {
    const totals: Record<string, number> = {};
    for (const [key, sum] of this.sums) totals[key] = (await sum.data())[0];
    return totals;
  }

  override onTrainEnd(): Promise<void> {
    this.clear();
    return Promise.resolve();
  }

  /** Frees the sums (the counts stay until the next epoch begins). */
  clear(): void {
    for (const t of this.sums.values()) t.dispose();
    this.sums.clear();
  }
}

/** A `tf.Callback` printing Keras' progress lines for `fitDataset`. */
export class ProgressLogger extends tf.Callback {
  private readonly lines: string[] = [];
  private readonly sink: ProgressSink;
  private readonly now: () => number;
  private readonly intervalMs: number;
  /** The running sums shown; {@link ownSums}: this logger keeps them itself (no `options.sums`). */
  private readonly sums: EpochSums;
  private readonly ownSums: boolean;
  /** Steps of the epoch done before this run (a resumed epoch): not in its timing. */
  private before = 0;
  private start = 0;
  private lastDraw = 0;

  constructor(private readonly options: ProgressOptions) {
    super();
    this.sink = options.sink ?? defaultSink();
    this.now = options.now ?? (() => performance.now());
    this.ownSums = options.sums === undefined;
    this.sums = options.sums ?? new EpochSums(undefined, 1);
    this.intervalMs = options.intervalMs ?? (jupyterApi() ? 1000 : 250);
  }

  override async onEpochBegin(epoch: number): Promise<void> {
    if (this.ownSums) await this.sums.onEpochBegin(epoch);
    this.before = this.sums.batches;
    this.start = this.lastDraw = this.now();
    this.lines.push(`Epoch ${epoch + 1}/${this.options.epochs}`, "");
    if ((this.options.verbose ?? 1) === 1) await this.sink.show(this.lines.slice(0, -1), false);
  }

  override async onBatchEnd(batch: number, logs?: Logs): Promise<void> {
    if (this.ownSums) await this.sums.onBatchEnd(batch, logs);
    if ((this.options.verbose ?? 1) !== 1) return;
    const t = this.now();
    if (t - this.lastDraw < this.intervalMs) return;
    this.lastDraw = t;
    const { seen, batches } = this.sums;
    const values = Object.entries(await this.sums.totals()).map((
      [key, sum],
    ): [string, number] => [key, sum / seen]);
    const { steps } = this.options;
    const elapsed = (t - this.start) / 1000;
    const rate = elapsed / (batches - this.before);
    const eta = steps ? ` - ETA: ${formatDuration(rate * (steps - batches))}` : "";
    this.lines[this.lines.length - 1] = `${this.counter()}${eta}${metricText(values)}`;
    await this.sink.show(this.lines, false);
  }

  override async onEpochEnd(_epoch: number, logs?: Logs): Promise<void> {
    const elapsed = (this.now() - this.start) / 1000;
    const values: [string, number][] = [];
    const entries = Object.entries(logs ?? {});
    entries.sort(([a], [b]) => Number(a.startsWith("val_")) - Number(b.startsWith("val_")));
    for (const [key, value] of entries) {
      values.push([key, typeof value === "number" ? value : (await value.data())[0]]);
    }
    const timing = ` - ${Math.round(elapsed)}s ${
      perStep(elapsed / Math.max(1, this.sums.batches - this.before))
    }`;
    this.lines[this.lines.length - 1] = `${this.counter(true)}${timing}${metricText(values)}`;
    await this.sink.show(this.lines, true);
    if (this.ownSums) this.sums.clear();
  }

  override async onTrainEnd(): Promise<void> {
    if (this.ownSums) this.sums.clear();
    // The last line must reach the notebook while this cell still runs (lib/runtime/output.ts).
    await settled();
  }

  private counter(final = false): string {
    const step = this.sums.batches;
    const steps = this.options.steps ?? (final ? step : undefined);
    if (!steps) return `${step}/Unknown`;
    const width = String(steps).length;
    return `${String(step).padStart(width)}/${steps} ${progressBar(step, steps)}`;
  }
}

function metricText(values: [string, number][]): string {
  return values.map(([k, v]) => ` - ${k}: ${v.toFixed(4)}`).join("");
}
