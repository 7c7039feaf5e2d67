/**
 * The live check: JupyterLab as the user runs it, in headless Chromium, for every notebook in `notebooks/`.
 *
 * Why: the Deno kernel files outputs by the cell running when a message is sent, so a burst of messages
 * spills into later cells during Run All — something only a live run shows (the headless runner files
 * messages by request). For each notebook this
 * 1. runs it headless first (`tools/notebooks/run_notebooks.py`, same settings) for the reference outputs;
 * 2. opens it in JupyterLab and runs "Restart Kernel and Run All Cells", waits for idle, and compares every
 *    code cell's outputs with the reference, cell by cell (`notebook_outputs.ts`: same lines under the same
 *    cell, numbers aside), checks every chart is drawn and no error is shown;
 * 3. runs "Run All" again without a restart, and compares again;
 * 4. runs the first training cell (`await fit(`), presses Interrupt while it trains, expects a
 *    `KeyboardInterrupt` under it with the kernel still alive (same kernel, no restart), then runs the next
 *    cell that uses the model (`evaluate(`/`predict`) and expects its usual output.
 * Screenshots go to `out/browser/`. JupyterLab: `jupyterlab_server.ts`; the browser: Debian's `chromium`
 * (`tools/setup/install_browser.sh`) through `playwright-core`, with background networking off.
 *
 * Usage: deno run -A tools/browser/browser_check.ts [--epochs N] [--runs N] [NOTEBOOK.ipynb...]
 *
 * @module
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { chromium } from "playwright-core";
import { CHROMIUM, chromiumFlags, requireChromium } from "./chromium.ts";
import type { BrowserContext, Page } from "playwright-core";
import { PROJECT_ROOT } from "../../lib/runtime/mod.ts";
import { type CodeCell, compareCells, misplacedCount, type Output } from "../notebooks/notebook_outputs.ts";
import { startJupyterLab, stopJupyterLab } from "../notebooks/jupyterlab_server.ts";

const OUT = path.join(PROJECT_ROOT, "out", "browser");
const RUN_ALL_TIMEOUT_MS = 30 * 60_000;

const USAGE = `Usage: deno run -A tools/browser/browser_check.ts [--epochs N] [--runs N] [NOTEBOOK.ipynb...]

Runs each notebook (default: notebooks/*.ipynb) headless, then live in JupyterLab (headless Chromium):
Restart Kernel and Run All, Run All again, Interrupt during training. Outputs must be under their own cells.

  --epochs N   TL_EPOCHS for both runs (default: TL_EPOCHS, else 2)
  --runs N     repeat the live check N times (default 1); every run must pass
  -h, --help   this text`;

/** The state of the open notebook, read from JupyterLab's own model. */
interface LabState {
  status: string;
  kernelId: string;
  busyPrompts: number;
  /** Sources always; outputs only when read `withOutputs` (they hold megabytes of charts). */
  cells: CodeCell[];
  executed: boolean[];
  errored: boolean[];
  dialogs: string[];
}

// deno-lint-ignore no-explicit-any
type Win = any;

function readState(page: Page, withOutputs = false): Promise<LabState> {
  return page.evaluate((withOutputs) => {
    const app = (window as Win).jupyterapp;
    const panel = app.shell.currentWidget;
    const kernel = panel.sessionContext.session?.kernel;
    // deno-lint-ignore no-explicit-any
    const code = panel.content.widgets.filter((w: any) => w.model.type === "code");
    return {
      status: kernel?.status ?? "none",
      kernelId: kernel?.id ?? "",
      busyPrompts: [...(globalThis as Win).document.querySelectorAll(".jp-InputPrompt")]
        .filter((n) => (n.textContent ?? "").includes("*")).length,
      // deno-lint-ignore no-explicit-any
      cells: code.map((w: any) => ({
        source: w.model.sharedModel.getSource(),
        outputs: withOutputs ? w.model.outputs.toJSON() : [],
      })),
      // deno-lint-ignore no-explicit-any
      errored: code.map((w: any) => {
        const outputs = w.model.outputs;
        for (let i = 0; i < outputs.length; i++) if (outputs.get(i).type === "error") return true;
        return false;
      }),
      // deno-lint-ignore no-explicit-any
      executed: code.map((w: any) => w.model.executionCount !== null),
      dialogs: [...(globalThis as Win).document.querySelectorAll(".jp-Dialog")].map((d) =>
        (d.textContent ?? "").slice(0, 200)
      ),
    };
  }, withOutputs);
}

/** Whether code cell `index` shows `text` in a text output (a light read, for polling). */
function cellShows(page: Page, index: number, text: string): Promise<boolean> {
  return page.evaluate(([index, text]) => {
    const panel = (window as Win).jupyterapp.shell.currentWidget;
    // deno-lint-ignore no-explicit-any
    const outputs = panel.content.widgets.filter((w: any) => w.model.type === "code")[index].model.outputs;
    for (let i = 0; i < outputs.length; i++) {
      const o = outputs.get(i);
      if (
        String(o.data?.["text/plain"] ?? "").includes(text) || String(o.toJSON().text ?? "").includes(text)
      ) {
        return true;
      }
    }
    return false;
  }, [index, text] as const);
}

/** Runs a JupyterLab command without waiting for it (it may open a dialog). */
async function command(page: Page, id: string, args: Record<string, unknown> = {}) {
  await page.evaluate(([id, args]) => {
    void (window as Win).jupyterapp.commands.execute(id, args);
  }, [id, args] as const);
}

/** Accepts the confirmation dialog a command opened (e.g. "Restart"), if one shows up within `ms`. */
async function acceptDialog(page: Page, ms = 10_000) {
  const button = page.locator(".jp-Dialog .jp-Dialog-button.jp-mod-accept");
  try {
    await button.first().waitFor({ timeout: ms });
    await button.first().click();
  } catch {
    // no dialog
  }
}

/** Waits until the kernel is idle with no cell pending, stable for 2 s, then 2 s more for late outputs. */
async function waitIdle(page: Page, timeoutMs: number, done: (s: LabState) => boolean): Promise<LabState> {
  const deadline = Date.now() + timeoutMs;
  let stable = 0;
  while (Date.now() < deadline) {
    const s = await readState(page);
    if (s.dialogs.some((d) => /died|restarting|Kernel Restarting/i.test(d))) {
      throw new Error(`JupyterLab shows a dialog: ${s.dialogs.join(" | ")}`);
    }
    stable = s.status === "idle" && s.busyPrompts === 0 && done(s) ? stable + 1 : 0;
    if (stable >= 4) {
      await page.waitForTimeout(2000);
      return await readState(page, true);
    }
    await page.waitForTimeout(500);
  }
  throw new Error(`the notebook did not finish within ${timeoutMs / 1000} s`);
}

function hasError(cell: CodeCell): boolean {
  return cell.outputs.some((o) => o.output_type === "error");
}

/** Every cell executed, or the run stopped at an error. */
function runAllDone(s: LabState): boolean {
  return s.cells.every((c, i) => s.executed[i] || !c.source.trim()) || s.errored.some(Boolean);
}

interface NotebookJson {
  cells: { cell_type: string; source: string | string[]; outputs?: Output[] }[];
}

function codeCells(file: string): CodeCell[] {
  const nb = JSON.parse(fs.readFileSync(file, "utf8")) as NotebookJson;
  return nb.cells.filter((c) => c.cell_type === "code").map((c) => ({
    source: Array.isArray(c.source) ? c.source.join("") : c.source,
    outputs: c.outputs ?? [],
  }));
}

const VEGALITE = "application/vnd.vegalite.v5+json";

/** Problems of one finished Run All: outputs not under their cells, errors, charts not drawn. */
async function checkRunAll(page: Page, expected: CodeCell[], s: LabState, label: string) {
  const problems: string[] = [];
  const notes: string[] = [];
  const diffs = compareCells(expected, s.cells);
  for (const d of diffs) {
    const where = `code cell ${d.index + 1} \`${d.firstLine}\``;
    if (d.misplaced.length) {
      problems.push(
        `${where} shows ${d.misplaced.length} line(s) of another cell: ${
          JSON.stringify(d.misplaced.slice(0, 4))
        }`,
      );
    }
    if (d.lost) problems.push(`${where} shows no output; headless: ${JSON.stringify(d.missing.slice(0, 4))}`);
    if (!d.misplaced.length && !d.lost) {
      notes.push(
        `${where}: ${d.extra.length} line(s) differ from the headless run (results vary between runs)`,
      );
    }
  }
  s.cells.forEach((c, i) => {
    for (const o of c.outputs.filter((o) => o.output_type === "error")) {
      problems.push(`code cell ${i + 1} shows ${o.ename}: ${o.evalue}`);
    }
  });
  const charts = s.cells.flatMap((c) => c.outputs).filter((o) => o.data && VEGALITE in o.data).length;
  const sel = ".jp-OutputArea-output.jp-RenderedVegaCommon5";
  const drawnSel = `${sel} .vega-embed svg.marks, ${sel} .vega-embed canvas.marks`;
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline && await page.locator(drawnSel).count() < charts) {
    await page.waitForTimeout(500);
  }
  const sizes = await page.locator(drawnSel).evaluateAll((nodes) =>
    nodes.map((n) => n.getBoundingClientRect()).map((b) => Math.min(b.width, b.height))
  );
  const want = expected.flatMap((c) => c.outputs).filter((o) => o.data && VEGALITE in o.data).length;
  if (charts !== want || sizes.length !== want || sizes.some((x) => x < 50)) {
    problems.push(`${want} chart(s) expected, ${charts} in the notebook, ${sizes.length} drawn (${sizes})`);
  }
  return { label, misplaced: misplacedCount(diffs), problems, notes };
}

/** Index of the first code cell matching `re`, at or after `from`. */
function findCell(cells: CodeCell[], re: RegExp, from = 0): number {
  return cells.findIndex((c, i) => i >= from && re.test(c.source));
}

/** Interrupt during the first training cell, then run a cell that uses the model. */
async function checkInterrupt(page: Page, expected: CodeCell[], name: string): Promise<string[]> {
  const fitCell = findCell(expected, /await fit\(/);
  if (fitCell < 0) return [];
  // The next cell that uses the trained model: evaluation or prediction, else any cell naming `model`.
  let useCell = findCell(expected, /evaluate\(|predictOnBatch\(|\.predict\(/, fitCell + 1);
  if (useCell < 0) useCell = findCell(expected, /\bmodel\b/, fitCell + 1);
  const before = await readState(page);
  const runCell = async (index: number) => {
    await page.evaluate((index) => {
      const panel = (window as Win).jupyterapp.shell.currentWidget;
      // deno-lint-ignore no-explicit-any
      const all = panel.content.widgets.map((w: any) => w.model.type);
      let seen = -1;
      panel.content.activeCellIndex = all.findIndex((t: string) => t === "code" && ++seen === index);
    }, index);
    await command(page, "notebook:run-cell");
  };
  await runCell(fitCell);
  const started = Date.now();
  while (Date.now() - started < 300_000) {
    if (await cellShows(page, fitCell, "Epoch")) break;
    await page.waitForTimeout(200);
  }
  await page.waitForTimeout(300);
  await command(page, "kernelmenu:interrupt");
  const after = await waitIdle(page, 120_000, (s) => s.executed[fitCell]);
  await page.screenshot({ path: path.join(OUT, `${name}-interrupted.png`), fullPage: false });
  const problems: string[] = [];
  const errors = after.cells[fitCell].outputs.filter((o) => o.output_type === "error");
  if (!errors.some((o) => o.ename === "KeyboardInterrupt")) {
    problems.push(
      `Interrupt during code cell ${fitCell + 1}: no KeyboardInterrupt shown (${JSON.stringify(errors)})`,
    );
  } else {
    console.log(`  Interrupt → ${errors[0].ename}: ${errors[0].evalue}`);
  }
  if (after.kernelId !== before.kernelId) problems.push("the kernel was replaced after Interrupt");
  if (useCell >= 0) {
    await runCell(useCell);
    const used = await waitIdle(page, 300_000, (s) => s.executed[useCell]);
    const diffs = compareCells([expected[useCell]], [used.cells[useCell]]);
    if (diffs.some((d) => d.lost) || hasError(used.cells[useCell])) {
      problems.push(
        `after Interrupt, code cell ${useCell + 1} shows ${JSON.stringify(used.cells[useCell].outputs)}`,
      );
    } else {
      console.log(
        `  then code cell ${useCell + 1} (uses the model) ran as usual; kernel ${after.kernelId} kept`,
      );
    }
  }
  return problems;
}

/** Opens `notebooks/<name>.ipynb` in JupyterLab and runs the live checks; returns the problems found. */
async function liveCheck(
  context: BrowserContext,
  lab: { base: string; token: string },
  name: string,
  expected: CodeCell[],
) {
  const page = await context.newPage();
  try {
    const url = `${lab.base}/lab/tree/notebooks/${encodeURIComponent(name)}.ipynb?reset&token=${lab.token}`;
    await page.goto(url);
    await page.waitForFunction(
      () => {
        const w = (window as Win).jupyterapp?.shell?.currentWidget;
        return w?.sessionContext?.session?.kernel?.status === "idle";
      },
      undefined,
      { timeout: 180_000 },
    );
    const results = [];
    await command(page, "notebook:restart-run-all");
    await acceptDialog(page);
    await page.waitForTimeout(3000);
    let s = await waitIdle(page, RUN_ALL_TIMEOUT_MS, runAllDone);
    results.push(await checkRunAll(page, expected, s, "Restart Kernel and Run All"));
    await page.screenshot({ path: path.join(OUT, `${name}-run-all.png`), fullPage: true });
    await command(page, "notebook:run-all-cells");
    await page.waitForTimeout(3000);
    s = await waitIdle(page, RUN_ALL_TIMEOUT_MS, runAllDone);
    results.push(await checkRunAll(page, expected, s, "Run All again"));
    await page.screenshot({ path: path.join(OUT, `${name}-run-all-again.png`), fullPage: true });
    const interrupt = await checkInterrupt(page, expected, name);
    return { results, interrupt };
  } finally {
    // Closing the page leaves the kernel running (with its models and image cache): shut it down.
    await page.evaluate(() => (window as Win).jupyterapp?.shell?.currentWidget?.sessionContext?.shutdown())
      .catch(() => {});
    await page.close();
  }
}

/** The headless reference run of the notebooks into `out/browser/headless/`. */
async function headlessRun(files: string[]): Promise<string> {
  const dir = path.join(OUT, "headless");
  const python = path.join(PROJECT_ROOT, ".venv", "bin", "python");
  const { code } = await new Deno.Command(python, {
    args: [
      path.join(PROJECT_ROOT, "tools", "notebooks", "run_notebooks.py"),
      "--deno",
      Deno.execPath(),
      "--out",
      dir,
      ...files,
    ],
    stdin: "null",
    env: { PYTHONUNBUFFERED: "1" },
  }).spawn().status;
  if (code !== 0) throw new Error(`the headless run failed (exit ${code}); see above`);
  return dir;
}

async function main(argv: string[]): Promise<number> {
  let args;
  try {
    args = parseArgs({
      args: argv,
      options: {
        epochs: { type: "string" },
        runs: { type: "string" },
        help: { type: "boolean", short: "h" },
      },
      allowPositionals: true,
    });
  } catch (e) {
    console.error(`${(e as Error).message}\n\n${USAGE}`);
    return 2;
  }
  if (args.values.help) {
    console.log(USAGE);
    return 0;
  }
  const epochs = args.values.epochs ?? Deno.env.get("TL_EPOCHS") ?? "2";
  const runs = Number(args.values.runs ?? "1");
  if (!/^[1-9]\d*$/.test(epochs) || !Number.isInteger(runs) || runs < 1) {
    console.error(`--epochs and --runs must be positive whole numbers\n\n${USAGE}`);
    return 2;
  }
  const dir = path.join(PROJECT_ROOT, "notebooks");
  const files = args.positionals.length
    ? args.positionals.map((f) => path.resolve(f))
    : fs.readdirSync(dir).filter((f) => f.endsWith(".ipynb")).sort().map((f) => path.join(dir, f));
  for (const f of files) {
    if (path.dirname(f) !== dir || !fs.existsSync(f)) throw new Error(`${f}: not a notebook in ${dir}`);
  }
  requireChromium();
  Deno.env.set("TL_EPOCHS", epochs);
  fs.mkdirSync(OUT, { recursive: true });
  const reference = await headlessRun(files);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "tl-browser-"));
  const lab = await startJupyterLab(PROJECT_ROOT, tmp, path.join(OUT, "jupyterlab.log"));
  let context: BrowserContext | undefined;
  let failed = 0;
  try {
    context = await chromium.launchPersistentContext(path.join(tmp, "profile"), {
      executablePath: CHROMIUM,
      headless: true,
      args: chromiumFlags(),
      viewport: { width: 1280, height: 900 },
    });
    for (let run = 1; run <= runs; run++) {
      for (const file of files) {
        const name = path.basename(file, ".ipynb");
        const expected = codeCells(path.join(reference, `${name}.ipynb`));
        console.log(`[${name}] live check ${run}/${runs} (TL_EPOCHS=${epochs})`);
        const t0 = Date.now();
        try {
          const { results, interrupt } = await liveCheck(context, lab, name, expected);
          const problems = [
            ...results.flatMap((r) => r.problems.map((p) => `${r.label}: ${p}`)),
            ...interrupt,
          ];
          for (const r of results) {
            console.log(`  ${r.label}: ${r.misplaced} misplaced output line(s)`);
            for (const note of r.notes) console.log(`    note: ${note}`);
          }
          if (problems.length) throw new Error(problems.join("\n  "));
          console.log(`[${name}] ok in ${Math.round((Date.now() - t0) / 1000)} s`);
        } catch (e) {
          failed++;
          console.error(`[${name}] FAILED:\n  ${e instanceof Error ? e.message : e}`);
        }
      }
    }
  } finally {
    await context?.close();
    await stopJupyterLab(lab.child);
    fs.rmSync(tmp, { recursive: true, force: true });
  }
  const total = files.length * runs;
  console.log(
    `browser check ${failed ? "FAILED" : "ok"}: ${total - failed} of ${total} live check(s) passed`,
  );
  return failed ? 1 : 0;
}

if (import.meta.main) {
  try {
    Deno.exit(await main(Deno.args));
  } catch (e) {
    console.error(`browser check: ${e instanceof Error ? e.message : e}`);
    Deno.exit(1);
  }
}
