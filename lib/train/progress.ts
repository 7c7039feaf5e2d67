/**
 * Keras-style training progress: `Epoch 3/10` then a bar line per epoch,
 * `63/63 [==============================] - 14s 221ms/step - loss: 0.4312 - accuracy: 0.8010 - val_loss: …`.
 *
 * The lines are shown by the runtime's status line (`lib/runtime/status_line.ts`): updated in place with
 * `\r` in a terminal, and in the Deno Jupyter kernel as ONE output (`Deno.jupyter.display` with a
 * `display_id`, then `update`), not a line per step. When stdout is not a terminal only the finished epoch
 * lines are printed. Running metrics are summed as tensors on the
 * backend and read only when the line is redrawn (at most every `intervalMs`), not at every step.
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
  /** An epoch resumed part-way (`fit`'s `resumeEpoch`): its line counts on from the batches done before. */
  resumeEpoch?: { epoch: number; batches: number; seen: number; totals: Record<string, number> };
}

/** A `tf.Callback` printing Keras' progress lines for `fitDataset`. */
export class ProgressLogger extends tf.Callback {
  private readonly lines: string[] = [];
  private readonly sink: ProgressSink;
  private readonly now: () => number;
  private readonly intervalMs: number;
  private sums = new Map<string, Tensor>();
  private seen = 0;
  private step = 0;
  /** Steps of the epoch done before this run (a resumed epoch): not in its timing. */
  private before = 0;
  private start = 0;
  private lastDraw = 0;

  constructor(private readonly options: ProgressOptions) {
    super();
    this.sink = options.sink ?? defaultSink();
    this.now = options.now ?? (() => performance.now());
    this.intervalMs = options.intervalMs ?? (jupyterApi() ? 1000 : 250);
  }

  override async onEpochBegin(epoch: number): Promise<void> {
    this.disposeSums();
    const resumed = this.options.resumeEpoch?.epoch === epoch ? this.options.resumeEpoch : undefined;
    this.seen = resumed?.seen ?? 0;
    this.step = this.before = resumed?.batches ?? 0;
    for (const [key, value] of Object.entries(resumed?.totals ?? {})) this.sums.set(key, tf.scalar(value));
    this.start = this.lastDraw = this.now();
    this.lines.push(`Epoch ${epoch + 1}/${this.options.epochs}`, "");
    if ((this.options.verbose ?? 1) === 1) await this.sink.show(this.lines.slice(0, -1), false);
  }

  override async onBatchEnd(_batch: number, logs?: Logs): Promise<void> {
    const size = typeof logs?.size === "number" ? logs.size : 1;
    this.seen += size;
    this.step++;
    for (const [key, value] of Object.entries(logs ?? {})) {
      if (key === "batch" || key === "size") continue;
      const old = this.sums.get(key);
      this.sums.set(key, tf.tidy(() => tf.add(old ?? 0, tf.mul(value as Tensor | number, size))));
      old?.dispose();
    }
    if ((this.options.verbose ?? 1) !== 1) return;
    const t = this.now();
    if (t - this.lastDraw < this.intervalMs) return;
    this.lastDraw = t;
    const values: [string, number][] = [];
    for (const [key, sum] of this.sums) values.push([key, (await sum.data())[0] / this.seen]);
    const { steps } = this.options;
    const elapsed = (t - this.start) / 1000;
    const rate = elapsed / (this.step - this.before);
    const eta = steps ? ` - ETA: ${formatDuration(rate * (steps - this.step))}` : "";
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
    const timing = ` - ${Math.round(elapsed)}s ${perStep(elapsed / Math.max(1, this.step - this.before))}`;
    this.lines[this.lines.length - 1] = `${this.counter(true)}${timing}${metricText(values)}`;
    await this.sink.show(this.lines, true);
    this.disposeSums();
  }

  override async onTrainEnd(): Promise<void> {
    this.disposeSums();
    // The last line must reach the notebook while this cell still runs (lib/runtime/output.ts).
    await settled();
  }

  private counter(final = false): string {
    const steps = this.options.steps ?? (final ? this.step : undefined);
    if (!steps) return `${this.step}/Unknown`;
    const width = String(steps).length;
    return `${String(this.step).padStart(width)}/${steps} ${progressBar(this.step, steps)}`;
  }

  private disposeSums(): void {
    for (const t of this.sums.values()) t.dispose();
    this.sums.clear();
  }
}

function metricText(values: [string, number][]): string {
  return values.map(([k, v]) => ` - ${k}: ${v.toFixed(4)}`).join("");
}
