/**
 * The in-place status line — training progress, download progress, any line that shows a state and is
 * redrawn as it changes — and the formats it shows: durations, byte sizes, Keras' progress bar.
 *
 * A status line shows lines that are finished (an epoch's last line) and one current line that is redrawn.
 * Where it goes decides how:
 * - in the Jupyter kernel, ONE display output updated in place by its `display_id`, at most every
 *   `intervalMs`; a state marked final is always sent (`lib/runtime/output.ts` says why one message per
 *   update matters: a burst of messages lands under later cells);
 * - in a terminal, the current line is rewritten with `\r`, finished lines stay above it;
 * - elsewhere (pipes, logs, CI), each finished line is printed once, nothing in between.
 *
 * @example
 * ```ts
 * import { formatDuration, progressBar, statusLine } from "./mod.ts";
 *
 * const printed: string[] = [];
 * const line = statusLine({ mode: "lines", log: (text) => printed.push(text) });
 * for (let step = 1; step <= 4; step++) {
 *   await line.show(["Epoch 1/1", `${step}/4 ${progressBar(step, 4, 8)}`], step === 4);
 * }
 * if (printed.join("|") !== "Epoch 1/1|4/4 [========]") throw new Error(printed.join("|"));
 * if (formatDuration(62) !== "1:02") throw new Error("durations as Keras prints them");
 * ```
 *
 * @module
 */
import { type JupyterApi, jupyterApi, print, sendToKernel } from "./output.ts";

/** Where a status line goes: a Jupyter display, a terminal (`\r`), or finished lines only. */
export type StatusMode = "jupyter" | "terminal" | "lines";

/** Options of {@link statusLine} and {@link progressLine}. */
export interface StatusLineOptions {
  /** Where it goes; default detected: the kernel, else a terminal on `stream`, else finished lines only. */
  mode?: StatusMode;
  /** The stream outside the kernel; default `"stdout"` (`"stderr"` keeps stdout free for `--json`). */
  stream?: "stdout" | "stderr";
  /**
   * Least time between two redraws of the current line (a final state is always shown); default 500 ms
   * in the kernel, 100 ms in a terminal. `0` shows every state (for callers that throttle themselves).
   */
  intervalMs?: number;
  /** Terminal writer (tests); default the stream. */
  write?: (text: string) => void;
  /** Writer of finished lines in `"lines"` mode (tests); default `print` on stdout, a plain write on stderr. */
  log?: (line: string) => void;
  /** The kernel (a fake in tests); default `jupyterApi()`. */
  api?: JupyterApi;
  /** The display's id in the kernel; default a new random one. */
  displayId?: string;
  /** Clock in ms (tests). */
  now?: () => number;
}

/** A status display: finished lines stay, the last line is the current state, redrawn in place. */
export interface StatusLine {
  /**
   * Shows `lines`: the finished ones, then the current one (the last) — or all finished when `final`.
   * Redraws closer than `intervalMs` are skipped unless `final`. Resolves once the output was handed on.
   */
  show(lines: readonly string[], final?: boolean): Promise<void>;
}

const encoder = new TextEncoder();

/** Where output goes by default: the kernel, a terminal on `stream`, or finished lines only. */
export function detectStatusMode(stream: "stdout" | "stderr" = "stdout"): StatusMode {
  if (jupyterApi()) return "jupyter";
  try {
    return (stream === "stderr" ? Deno.stderr : Deno.stdout).isTerminal() ? "terminal" : "lines";
  } catch {
    return "lines";
  }
}

/** Draws `lines` into one display: created at the first call, updated in place afterwards. */
function kernelDrawer(api: JupyterApi | undefined, displayId: string) {
  let created = false;
  return (lines: readonly string[]): Promise<void> => {
    if (!api) return Promise.resolve();
    const options = { raw: true, display_id: displayId, ...(created ? { update: true } : {}) };
    created = true;
    return sendToKernel(api, { "text/plain": lines.join("\n") }, options);
  };
}

/** Draws `lines` on a terminal: new finished lines once, then the current line over the previous one. */
function terminalDrawer(write: (text: string) => void) {
  let shown = 0;
  return (lines: readonly string[], final: boolean): Promise<void> => {
    let out = "";
    while (shown < lines.length - 1) out += `\r${lines[shown++]}\x1b[K\n`;
    out += `\r${lines[lines.length - 1]}\x1b[K`;
    if (final) {
      out += "\n";
      shown = lines.length;
    }
    write(out);
    return Promise.resolve();
  };
}

/** Prints each finished line of `lines` once. */
function lineDrawer(log: (line: string) => void) {
  let shown = 0;
  return (lines: readonly string[], final: boolean): Promise<void> => {
    const upTo = final ? lines.length : lines.length - 1;
    while (shown < upTo) log(lines[shown++]);
    return Promise.resolve();
  };
}

/** The drawer for `mode`, with its writers defaulted. */
function drawerFor(mode: StatusMode, options: StatusLineOptions) {
  const stderr = options.stream === "stderr";
  if (mode === "jupyter") {
    return kernelDrawer(options.api ?? jupyterApi(), options.displayId ?? `progress-${crypto.randomUUID()}`);
  }
  if (mode === "terminal") {
    const out = stderr ? Deno.stderr : Deno.stdout;
    return terminalDrawer(options.write ?? ((text) => out.writeSync(encoder.encode(text))));
  }
  // Straight to stderr, as a terminal line is: a status line is progress, not a message (console.error).
  const toStderr = (line: string) => void Deno.stderr.writeSync(encoder.encode(`${line}\n`));
  return lineDrawer(options.log ?? (stderr ? toStderr : (line) => print(line)));
}

/**
 * A status line for the current environment (or `options.mode`): a kernel display updated in place, a
 * `\r`-redrawn terminal line, or finished lines only.
 */
export function statusLine(options: StatusLineOptions = {}): StatusLine {
  const mode = options.mode ?? (options.api ? "jupyter" : detectStatusMode(options.stream));
  const interval = options.intervalMs ?? (mode === "jupyter" ? 500 : 100);
  const now = options.now ?? (() => performance.now());
  const draw = drawerFor(mode, options);
  let lastShown = -Infinity;
  return {
    show(lines, final = false) {
      if (lines.length === 0) return Promise.resolve();
      if (!final && mode !== "lines") {
        const t = now();
        if (t - lastShown < interval) return Promise.resolve();
        lastShown = t;
      }
      return draw(lines, final);
    },
  };
}

/** One status line of text, e.g. a download's progress. */
export interface ProgressLine {
  /** Shows `text` as the current state (throttled: intermediate states may be skipped). */
  update(text: string): void;
  /** Shows the final state (`text`, else the last update) — always sent; later calls are ignored. */
  done(text?: string): void;
}

/** Options of {@link progressLine}. */
export type ProgressLineOptions = StatusLineOptions;

/**
 * A single status line updated in place ({@link statusLine} with one line): one display updated by
 * `display_id` in the kernel (a couple of messages a second at most), `\r`-rewritten in a terminal, only the
 * final text elsewhere.
 */
export function progressLine(options: ProgressLineOptions = {}): ProgressLine {
  const line = statusLine(options);
  let last = "";
  let finished = false;
  return {
    update(text) {
      if (finished) return;
      last = text;
      void line.show([text]);
    },
    done(text) {
      if (finished) return;
      finished = true;
      void line.show([text ?? last], true);
    },
  };
}

/**
 * A duration as Keras prints ETAs and times: `7s`, `1:02`, `1:02:03` (rounded to the second; `?` when not
 * finite, e.g. an ETA at a rate of zero).
 *
 * @example
 * ```ts
 * import { formatDuration } from "./mod.ts";
 * import assert from "node:assert";
 *
 * assert.deepStrictEqual([7.4, 62, 3723].map(formatDuration), ["7s", "1:02", "1:02:03"]);
 * assert.strictEqual(formatDuration(Infinity), "?");
 * ```
 */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return "?";
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s}s`;
  const pad = (n: number) => String(n).padStart(2, "0");
  if (s < 3600) return `${Math.floor(s / 60)}:${pad(s % 60)}`;
  return `${Math.floor(s / 3600)}:${pad(Math.floor(s / 60) % 60)}:${pad(s % 60)}`;
}

/**
 * A byte count in binary units with one decimal: `512 B`, `1.5 KB`, `2.9 MB`.
 *
 * @example
 * ```ts
 * import { formatBytes } from "./mod.ts";
 * import assert from "node:assert";
 *
 * assert.deepStrictEqual([512, 1536, 3_000_000].map(formatBytes), ["512 B", "1.5 KB", "2.9 MB"]);
 * ```
 */
export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ["KB", "MB", "GB", "TB"];
  let value = n / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(1)} ${units[unit]}`;
}

/**
 * Keras' progress bar for `step` of `steps`: `[=====>........]`, `width` characters between the brackets.
 *
 * @example
 * ```ts
 * import { progressBar } from "./mod.ts";
 * import assert from "node:assert";
 *
 * assert.deepStrictEqual(
 *   [progressBar(0, 4, 8), progressBar(2, 4, 8), progressBar(4, 4, 8)],
 *   ["[>.......]", "[====>...]", "[========]"],
 * );
 * ```
 */
export function progressBar(step: number, steps: number, width = 30): string {
  const done = Math.min(width, Math.floor((width * step) / steps));
  const arrow = step < steps && done < width ? ">" : "";
  return `[${"=".repeat(step >= steps ? width : done)}${arrow}${
    ".".repeat(Math.max(0, width - done - arrow.length))
  }]`;
}
