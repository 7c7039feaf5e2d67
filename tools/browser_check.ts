/**
 * Opens executed notebooks in JupyterLab in a real headless browser and checks what a person would see:
 * every Vega-Lite output is drawn as a chart (vega-embed's `<svg>` or `<canvas>`, non-empty) and no
 * output shows an error. Screenshots of the page and of each chart go to `out/browser/`.
 *
 * JupyterLab comes from the project's `.venv` (made by `deno task setup`), listening on 127.0.0.1 at a
 * free port with a random token, with throw-away settings (all cells attached, no news fetching) and
 * the Deno kernelspec in a temporary JUPYTER_PATH. The browser is Debian's `chromium`
 * (`tools/install_browser.sh`) driven by `playwright-core`, launched with the flags that stop its
 * background network traffic and a fresh profile. Everything started is stopped at the end.
 *
 * Usage: deno run -A tools/browser_check.ts [out/NOTEBOOK.ipynb...]   (default: out/*.ipynb of notebooks/)
 *
 * @module
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { chromium } from "playwright-core";
import type { BrowserContext, Page } from "playwright-core";
import { PROJECT_ROOT } from "../lib/config.ts";

const VEGALITE = "application/vnd.vegalite.v5+json";
const CHROMIUM = Deno.env.get("TL_CHROMIUM") ?? "/usr/bin/chromium";
const CHROMIUM_FLAGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];
const OUT = path.join(PROJECT_ROOT, "out", "browser");

interface NotebookJson {
  cells: { cell_type: string; outputs?: { output_type: string; data?: Record<string, unknown> }[] }[];
}

/** How many Vega-Lite outputs the executed notebook holds: the charts the page must draw. */
function expectedCharts(file: string): number {
  const nb = JSON.parse(fs.readFileSync(file, "utf8")) as NotebookJson;
  return nb.cells.flatMap((c) => c.outputs ?? []).filter((o) => o.data && VEGALITE in o.data).length;
}

function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  return port;
}

function writeJson(file: string, value: unknown) {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, JSON.stringify(value, null, 1));
}

/** Starts JupyterLab serving `rootDir`; resolves once its API answers. */
async function startJupyterLab(rootDir: string, tmp: string) {
  const jupyter = path.join(PROJECT_ROOT, ".venv", "bin", "jupyter-lab");
  if (!fs.existsSync(jupyter)) throw new Error(`${jupyter} is missing: run \`deno task setup\` first`);
  const port = freePort();
  const token = crypto.randomUUID().replaceAll("-", "");
  const settings = path.join(tmp, "user-settings");
  writeJson(path.join(settings, "@jupyterlab/notebook-extension/tracker.jupyterlab-settings"), {
    windowingMode: "none",
  });
  // JupyterLab adds a PNG of each chart to the notebook model: never save it over the checked file.
  writeJson(path.join(settings, "@jupyterlab/docmanager-extension/plugin.jupyterlab-settings"), {
    autosave: false,
  });
  writeJson(path.join(settings, "@jupyterlab/apputils-extension/notification.jupyterlab-settings"), {
    fetchNews: "false",
    checkForUpdates: false,
  });
  writeJson(path.join(tmp, "jupyter-path/kernels/deno/kernel.json"), {
    argv: [Deno.execPath(), "jupyter", "--kernel", "--conn", "{connection_file}"],
    display_name: "Deno",
    language: "typescript",
  });
  const logFile = path.join(OUT, "jupyterlab.log");
  const log = await Deno.open(logFile, { write: true, create: true, truncate: true });
  const child = new Deno.Command(jupyter, {
    args: [
      "--no-browser",
      "--ServerApp.ip=127.0.0.1",
      `--ServerApp.port=${port}`,
      "--ServerApp.port_retries=0",
      "--ServerApp.allow_root=True",
      "--LabApp.extension_manager=readonly",
      `--IdentityProvider.token=${token}`,
      `--ServerApp.root_dir=${rootDir}`,
      `--LabApp.user_settings_dir=${settings}`,
      `--LabApp.workspaces_dir=${path.join(tmp, "workspaces")}`,
    ],
    env: {
      JUPYTER_PATH: path.join(tmp, "jupyter-path"),
      JUPYTER_CONFIG_DIR: path.join(tmp, "config"),
      JUPYTER_DATA_DIR: path.join(tmp, "data"),
      JUPYTER_RUNTIME_DIR: path.join(tmp, "runtime"),
    },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  // Both streams into one file (a WritableStream takes one writer at a time, so write chunk by chunk).
  const copy = async (stream: ReadableStream<Uint8Array>) => {
    for await (const chunk of stream) {
      for (let done = 0; done < chunk.length;) done += await log.write(chunk.subarray(done));
    }
  };
  Promise.all([copy(child.stdout), copy(child.stderr)]).finally(() => log.close()).catch(() => {});
  const base = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 90_000;
  let exited: Deno.CommandStatus | undefined;
  child.status.then((s) => exited = s);
  while (Date.now() < deadline && !exited) {
    try {
      const res = await fetch(`${base}/api/status?token=${token}`);
      await res.body?.cancel();
      if (res.ok) return { child, base, token, logFile };
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 500));
  }
  try {
    child.kill("SIGKILL");
  } catch {
    // already gone
  }
  throw new Error(
    `JupyterLab did not start (${exited ? `exit code ${exited.code}` : "timed out"}); see ${logFile}`,
  );
}

async function stopJupyterLab(child: Deno.ChildProcess) {
  try {
    child.kill("SIGTERM");
  } catch {
    return;
  }
  const timer = setTimeout(() => {
    try {
      child.kill("SIGKILL");
    } catch {
      // already gone
    }
  }, 10_000);
  await child.status;
  clearTimeout(timer);
}

interface PageReport {
  charts: number;
  drawn: { tag: string; width: number; height: number }[];
  errors: string[];
  screenshots: string[];
}

/** Opens one notebook and checks its outputs; throws with every problem found. */
async function checkNotebook(
  context: BrowserContext,
  base: string,
  token: string,
  file: string,
): Promise<PageReport> {
  const name = path.basename(file, ".ipynb");
  const charts = expectedCharts(file);
  const page: Page = await context.newPage();
  const pageErrors: string[] = [];
  page.on("pageerror", (e) => pageErrors.push(String(e)));
  await page.goto(`${base}/lab/tree/${encodeURIComponent(path.basename(file))}?token=${token}&reset`);
  await page.locator(".jp-Notebook .jp-Cell").first().waitFor({ timeout: 120_000 });
  const chartSelector = ".jp-OutputArea-output.jp-RenderedVegaCommon5";
  const drawnSelector = `${chartSelector} .vega-embed svg.marks, ${chartSelector} .vega-embed canvas.marks`;
  const deadline = Date.now() + 120_000;
  while (Date.now() < deadline && await page.locator(drawnSelector).count() < charts) {
    await page.waitForTimeout(500);
  }
  await page.waitForTimeout(1000); // let images inside the charts finish loading
  const drawn = await page.locator(drawnSelector).evaluateAll((nodes) =>
    nodes.map((n) => {
      const box = n.getBoundingClientRect();
      return { tag: n.tagName.toLowerCase(), width: Math.round(box.width), height: Math.round(box.height) };
    })
  );
  const errors: string[] = [];
  if (drawn.length !== charts) {
    errors.push(`${charts} Vega-Lite output(s) in the notebook, ${drawn.length} drawn as a chart`);
  }
  for (const [i, d] of drawn.entries()) {
    if (d.width < 50 || d.height < 50) errors.push(`chart ${i + 1} is drawn ${d.width}×${d.height} px`);
  }
  const shownErrors = await page.locator(
    '.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]',
  ).allInnerTexts();
  for (const text of shownErrors) {
    if (/Error|Exception|Traceback/.test(text)) {
      errors.push(`an output shows an error: ${text.slice(0, 300)}`);
    }
  }
  const dialogs = await page.locator(".jp-Dialog").allInnerTexts();
  for (const text of dialogs) errors.push(`a dialog is open: ${text.replaceAll("\n", " ").slice(0, 200)}`);
  for (const e of pageErrors.filter((e) => /vega/i.test(e))) errors.push(`page error: ${e}`);

  const screenshots = [path.join(OUT, `${name}-page.png`)];
  await page.screenshot({ path: screenshots[0] });
  const chartNodes = page.locator(chartSelector);
  for (let i = 0; i < await chartNodes.count(); i++) {
    const shot = path.join(OUT, `${name}-chart-${i + 1}.png`);
    await chartNodes.nth(i).screenshot({ path: shot });
    screenshots.push(shot);
  }
  await page.close();
  if (errors.length) throw new Error(`${file}:\n  ${errors.join("\n  ")}`);
  return { charts, drawn, errors, screenshots };
}

async function main(args: string[]): Promise<number> {
  const files = args.length
    ? args.map((a) => path.resolve(a))
    : fs.readdirSync(path.join(PROJECT_ROOT, "notebooks")).filter((f) => f.endsWith(".ipynb"))
      .map((f) => path.join(PROJECT_ROOT, "out", f));
  for (const f of files) {
    if (!fs.existsSync(f)) {
      throw new Error(`${f} is missing: run \`deno task run\` first to execute the notebooks`);
    }
  }
  if (!files.length) throw new Error("no notebooks to check");
  const rootDirs = new Set(files.map((f) => path.dirname(f)));
  if (rootDirs.size !== 1) {
    throw new Error(`the notebooks must share one folder, got ${[...rootDirs].join(", ")}`);
  }
  if (!fs.existsSync(CHROMIUM)) {
    throw new Error(`${CHROMIUM} is missing: run \`bash tools/install_browser.sh\` (Debian's chromium)`);
  }
  fs.mkdirSync(OUT, { recursive: true });
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "tl-browser-"));
  const lab = await startJupyterLab([...rootDirs][0], tmp);
  let context: BrowserContext | undefined;
  let failed = 0;
  try {
    context = await chromium.launchPersistentContext(path.join(tmp, "profile"), {
      executablePath: CHROMIUM,
      headless: true,
      args: CHROMIUM_FLAGS,
      viewport: { width: 1280, height: 900 },
    });
    for (const file of files) {
      try {
        const report = await checkNotebook(context, lab.base, lab.token, file);
        const kinds = [...new Set(report.drawn.map((d) => d.tag))].join("/");
        console.log(
          `${path.relative(PROJECT_ROOT, file)}: ok, ${report.charts} chart(s) drawn (${
            kinds || "none"
          }), no error ` +
            `shown; screenshots: ${report.screenshots.map((s) => path.relative(PROJECT_ROOT, s)).join(", ")}`,
        );
      } catch (e) {
        failed++;
        console.error(`FAILED ${e instanceof Error ? e.message : e}`);
      }
    }
  } finally {
    await context?.close();
    await stopJupyterLab(lab.child);
    fs.rmSync(tmp, { recursive: true, force: true });
  }
  console.log(
    `browser check ${failed ? "FAILED" : "ok"}: ${
      files.length - failed
    } of ${files.length} notebook(s) as expected`,
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
