/**
 * Compares the outputs JupyterLab shows under each cell with the headless runner's outputs of the same
 * notebook, cell by cell, to find outputs filed under the wrong cell.
 *
 * Why this comparison: the headless runner (`tools/notebooks/run_notebooks.py`) files every message by the request
 * that produced it, so its notebook says which cell each line belongs to; JupyterLab shows what the kernel
 * stamped. Lines are compared after removing what legitimately differs between two runs — numbers
 * (timings, losses), the progress bar's fill, terminal colours — and stderr (download messages depend on
 * the cache), so what is left differs only when an output moved, went missing or is an error.
 *
 * @module
 */

/** One output as nbformat stores it (JupyterLab's `outputs.toJSON()` gives the same shape). */
export interface Output {
  output_type: string;
  name?: string;
  text?: string | string[];
  data?: Record<string, unknown>;
  ename?: string;
  evalue?: string;
}

/** A code cell: its source and outputs. */
export interface CodeCell {
  source: string;
  outputs: Output[];
}

/** What differs under one cell. */
export interface CellDiff {
  /** 0-based index among the code cells. */
  index: number;
  firstLine: string;
  /** Lines the headless run has under this cell and JupyterLab does not. */
  missing: string[];
  /** Lines JupyterLab shows under this cell that the headless run has elsewhere or not at all. */
  extra: string[];
  /** Of `extra`, those the headless run has under another cell: outputs filed under the wrong cell. */
  misplaced: string[];
  /** The headless run shows output here and JupyterLab shows none. */
  lost: boolean;
}

// deno-lint-ignore no-control-regex
const ANSI = /\x1b\[[0-9;]*[A-Za-z]/g;

function joined(text: string | string[] | undefined): string {
  return Array.isArray(text) ? text.join("") : text ?? "";
}

/** A line with run-dependent details removed: colours, the bar's fill, numbers (with their time units). */
export function normalizeLine(line: string): string {
  // A chart's text line describes its data (which images were sampled, …): its title is enough here.
  const chart = /^\[Vega-Lite chart\] [^:]*/.exec(line);
  if (chart) line = chart[0];
  return line.replace(ANSI, "")
    .replace(/\[[=>.]+\]/g, "[bar]")
    .replace(/-?\d+(\.\d+)?(e[-+]?\d+)?(\s?(?:us|ms|s)(?:\/step)?\b)?/g, "#")
    .trimEnd();
}

/** The normalized, non-empty lines a cell's outputs show (stderr left out; errors as `Name: message`). */
export function outputLines(outputs: Output[]): string[] {
  const texts: string[] = [];
  for (const o of outputs) {
    if (o.output_type === "stream") {
      if (o.name !== "stderr") texts.push(joined(o.text));
    } else if (o.output_type === "error") {
      texts.push(`${o.ename}: ${o.evalue ?? ""}`);
    } else if (o.data) {
      const plain = o.data["text/plain"];
      texts.push(joined(plain as string | string[] | undefined));
    }
  }
  return texts.join("\n").split("\n").map(normalizeLine).filter((l) => l.trim() !== "");
}

function firstLine(source: string): string {
  const line = source.split("\n").find((l) => l.trim()) ?? "";
  return line.length > 60 ? `${line.slice(0, 57)}...` : line;
}

/** Multiset difference `a − b`. */
function minus(a: string[], b: string[]): string[] {
  const left = new Map<string, number>();
  for (const x of b) left.set(x, (left.get(x) ?? 0) + 1);
  const out: string[] = [];
  for (const x of a) {
    const n = left.get(x) ?? 0;
    if (n > 0) left.set(x, n - 1);
    else out.push(x);
  }
  return out;
}

/** The cells whose lines differ; throws when the two notebooks do not have the same code cells. */
export function compareCells(expected: CodeCell[], actual: CodeCell[]): CellDiff[] {
  if (expected.length !== actual.length) {
    throw new Error(
      `the notebooks differ: ${expected.length} code cells headless, ${actual.length} in JupyterLab`,
    );
  }
  const diffs: CellDiff[] = [];
  const wanted = expected.map((cell) => outputLines(cell.outputs));
  expected.forEach((cell, index) => {
    if (cell.source.trim() !== actual[index].source.trim()) {
      throw new Error(`code cell ${index + 1} differs between the notebooks: ${firstLine(cell.source)}`);
    }
    const want = wanted[index], got = outputLines(actual[index].outputs);
    const missing = minus(want, got), extra = minus(got, want);
    // A line that only differs from one run to the next (a result, a sampled image) is nowhere in the
    // reference; one the reference shows under another cell has moved.
    const misplaced = extra.filter((line) => wanted.some((lines, j) => j !== index && lines.includes(line)));
    const lost = want.length > 0 && got.length === 0;
    if (missing.length || extra.length) {
      diffs.push({ index, firstLine: firstLine(cell.source), missing, extra, misplaced, lost });
    }
  });
  return diffs;
}

/** Output lines filed under the wrong cell, plus cells whose output went missing altogether. */
export function misplacedCount(diffs: CellDiff[]): number {
  return diffs.reduce((n, d) => n + d.misplaced.length + (d.lost ? 1 : 0), 0);
}
