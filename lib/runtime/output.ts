/**
 * The one output path for everything `lib/` and the notebooks print.
 *
 * Why: the Deno Jupyter kernel queues outputs and files each one under the cell that is running when the
 * message is *sent*, not when it was written. A burst of messages (a summary printed line by line, a
 * progress line redrawn per batch) is still being sent when Run All has moved on, so its tail lands under
 * later cells. A single message of the same text lands under its own cell, even for thousands of lines;
 * a large `console.log` is split into several stream messages and can spill, a `display_data` message is
 * not. So, inside the kernel:
 * - {@link print} sends a printed block as ONE `display_data` message (`text/plain`);
 * - a status line (`lib/runtime/status_line.ts`: training and download progress) is one display updated in
 *   place by `display_id`, at most every `intervalMs` (default 500 ms), the final state always sent;
 * - {@link display} sends a MIME bundle (a chart) and gives the kernel time to send a large one before the
 *   cell ends: messages queue behind it and would otherwise be stamped with the next cell.
 * Elsewhere (terminals, the CLI, pipes, tests) `print` is `console.log`; a status line is redrawn with `\r`
 * in a terminal, or printed once, finished, when the output is not a terminal.
 *
 * @module
 */

/** The part of `Deno.jupyter` used here (a fake in tests). */
export interface JupyterApi {
  /** Sends `obj` (a MIME bundle with `raw`) as a display; `display_id` + `update` replace an earlier one. */
  display(
    obj: unknown,
    options?: { raw?: boolean; update?: boolean; display_id?: string },
  ): Promise<void> | void;
}

let override: JupyterApi | null | undefined;

/**
 * When the last message was handed to the kernel, and how long the kernel may need to get it out. The
 * kernel stamps a message with the cell that is running when it gets to it, and the next cell of a Run All
 * starts as soon as this one's code returns: a message handed over at the very end of a cell may be stamped
 * with the next one. {@link settled} waits that time out.
 */
let lastSent = -Infinity;
let lastAllowance = 0;

/** Least time given to the kernel to take a message, however small. */
const MIN_SETTLE_MS = 100;

function noteSent(bytes: number): void {
  lastSent = performance.now();
  lastAllowance = Math.max(MIN_SETTLE_MS, sendAllowanceMs(bytes));
}

/**
 * Resolves once the kernel has had time to send what was last printed or displayed (at once outside the
 * kernel, or when nothing was sent lately). Async operations that print await it before they return, so
 * that the output is stamped with its own cell.
 */
export function settled(): Promise<void> {
  const wait = lastSent + lastAllowance - performance.now();
  return wait > 0 ? new Promise((resolve) => setTimeout(resolve, wait)) : Promise.resolve();
}

/** The Deno kernel's `Deno.jupyter` when running inside `deno jupyter`, else `undefined`. */
export function jupyterApi(): JupyterApi | undefined {
  if (override !== undefined) return override ?? undefined;
  return kernelJupyter();
}

/**
 * The real kernel's `Deno.jupyter`, ignoring {@link useJupyterApi}'s fakes (for what only the real
 * kernel may do, such as installing a SIGINT listener).
 */
export function kernelJupyter(): JupyterApi | undefined {
  try {
    // Reading `Deno.jupyter` throws outside the kernel (it is an unstable, kernel-only namespace).
    const api = (Deno as unknown as { jupyter?: JupyterApi }).jupyter;
    return typeof api?.display === "function" ? api : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Routes output to `api` (a fake kernel in tests; `null` = not in a kernel) until the returned function is
 * called, which restores detection.
 */
export function useJupyterApi(api: JupyterApi | null): () => void {
  const previous = override;
  override = api;
  return () => {
    override = previous;
  };
}

/**
 * Sends one message to the kernel and notes it for {@link settled}; resolves when the kernel took it. A failed
 * send is reported on stderr rather than thrown: output never stops the work it reports on.
 */
export function sendToKernel(
  api: JupyterApi,
  obj: unknown,
  options: Parameters<JupyterApi["display"]>[1],
): Promise<void> {
  return kernelDisplay(api, obj, options).catch((e) =>
    console.error(`output: could not send to Jupyter: ${e}`)
  );
}

/** Sends one message to the kernel and notes it for {@link settled}; resolves when the kernel took it. */
export async function kernelDisplay(
  api: JupyterApi,
  obj: unknown,
  options: Parameters<JupyterApi["display"]>[1],
): Promise<void> {
  noteSent(JSON.stringify(obj).length);
  await api.display(obj, options);
}

/** The text `console.log(...parts)` would print (strings as they are, other values inspected). */
export function formatParts(parts: unknown[]): string {
  return parts.map((p) => typeof p === "string" ? p : Deno.inspect(p, { colors: false, depth: 4 })).join(" ");
}

/**
 * Prints a block of text (one or many lines): ONE message in the Jupyter kernel, `console.log` elsewhere.
 * Build the whole block first and print it once; several short prints in a cell are fine, a print per line
 * of a long listing is not. Returns nothing, like Python's `print` (a promise would show as the cell's
 * result); an async operation that prints awaits {@link settled} before it returns.
 */
export function print(...parts: unknown[]): void {
  const api = jupyterApi();
  if (!api) {
    console.log(...parts);
    return;
  }
  void sendToKernel(api, { "text/plain": formatParts(parts) }, { raw: true });
}

/**
 * Time the kernel needs to send a message of `bytes` before the next cell starts: measured against Deno
 * 2.9.6, a 3 MB message sent at the end of a cell still carried the next cell's stamp 100 ms later, and not
 * after 400 ms. A chart with images is 1–2 MB.
 */
export function sendAllowanceMs(bytes: number): number {
  return bytes < 100_000 ? 0 : 100 + Math.ceil((bytes / 1e6) * 200);
}

/**
 * Shows a MIME bundle (e.g. a chart) as ONE `display_data` message in the kernel and resolves once the kernel
 * has had time to send it: the kernel files a message under the cell running when it is sent, so a large
 * bundle from a cell's last line would otherwise land under the next cell, and so would what follows it.
 * Outside the kernel, prints the bundle's `text/plain`.
 */
export async function display(bundle: Record<string, unknown>): Promise<void> {
  const api = jupyterApi();
  if (!api) {
    console.log(String(bundle["text/plain"] ?? "[no text/plain]"));
    return;
  }
  await kernelDisplay(api, bundle, { raw: true });
  await settled();
}
