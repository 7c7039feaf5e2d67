/**
 * Integration test of `tools/notebooks/run_notebooks.py` (about 15 s): runs the smoke notebook and broken ones
 * with the Deno kernel through nbclient. Skipped when `.venv` is absent (`deno task setup --no-jupyter`).
 */
import fs from "node:fs";
import path from "node:path";
import { assert, assertEquals, assertMatch } from "../_assert.ts";
import { PROJECT_ROOT } from "../../lib/runtime/config.ts";

const PYTHON = path.join(PROJECT_ROOT, ".venv", "bin", "python");
const RUNNER = path.join(PROJECT_ROOT, "tools", "notebooks", "run_notebooks.py");
const SMOKE = path.join(PROJECT_ROOT, "tests", "fixtures", "smoke.ipynb");
const ignore = !fs.existsSync(PYTHON);
if (ignore) console.warn(`SKIPPED run_notebooks tests: ${PYTHON} is absent (run \`deno task setup\`)`);

interface Output {
  output_type: string;
  name?: string;
  text?: string | string[];
  data?: Record<string, unknown>;
}
interface Cell {
  id: string;
  cell_type: string;
  source: string | string[];
  metadata: Record<string, unknown>;
  outputs?: Output[];
  execution_count?: number | null;
}

async function run(out: string, notebook: string): Promise<{ code: number; log: string }> {
  const { code, stdout, stderr } = await new Deno.Command(PYTHON, {
    args: [RUNNER, "--deno", Deno.execPath(), "--out", out, notebook],
    stdin: "null",
  }).output();
  const decode = (b: Uint8Array) => new TextDecoder().decode(b);
  return { code, log: decode(stdout) + decode(stderr) };
}

const text = (o: Output) => [o.text ?? ""].flat().join("");

function notebookWith(cells: { id: string; source: string; tags?: string[] }[]): string {
  const nb = JSON.parse(fs.readFileSync(SMOKE, "utf8"));
  nb.cells = cells.map(({ id, source, tags }) => ({
    id,
    cell_type: "code",
    execution_count: null,
    metadata: tags ? { tags } : {},
    outputs: [],
    source,
  }));
  const file = path.join(Deno.makeTempDirSync(), "broken.ipynb");
  fs.writeFileSync(file, JSON.stringify(nb));
  return file;
}

Deno.test({
  name: "run_notebooks: the smoke notebook runs with every output, the chart, and no timing metadata",
  ignore,
  async fn() {
    const out = Deno.makeTempDirSync();
    const { code, log } = await run(out, SMOKE);
    assertEquals(code, 0, log);
    assertMatch(log, /\[smoke\] cell 2\/9 \(1\/8 code\) console\.log/);
    assert(fs.existsSync(path.join(out, "smoke.html")));
    const cells: Cell[] = JSON.parse(fs.readFileSync(path.join(out, "smoke.ipynb"), "utf8")).cells;
    const byId = Object.fromEntries(cells.map((c) => [c.id, c]));
    assertMatch(text(byId["version"].outputs![0]), /^Deno \d+\.\d+\.\d+, TypeScript/);
    assertEquals(byId["imports"].outputs, []);
    for (const id of ["plot", "image-grid"]) {
      const [chart] = byId[id].outputs!;
      assertEquals(chart.output_type, "display_data");
      assertEquals(Object.keys(chart.data!).sort(), [
        "application/vnd.vegalite.v5+json",
        "image/svg+xml",
        "text/plain",
      ]);
    }
    // Printed after an await, and the last line after one: both are late outputs the kernel may send after idle.
    assertEquals(byId["after-await"].outputs!.map(text), ["printed after an await\n"]);
    assertEquals(byId["many-lines"].outputs!.map(text), [
      "line 0\nline 1\nline 2\nline 3\nline 4\nlast line\n",
    ]);
    // 300 quick prints: the kernel sends many of them after idle; none may be lost or reordered.
    const burst = byId["burst"].outputs!.map(text).join("");
    assertEquals(burst, Array.from({ length: 300 }, (_, i) => `burst line ${i + 1} of 300\n`).join(""));
    // …and the runner says so: in JupyterLab's Run All those would land under later cells.
    assertMatch(log, /\[smoke\] {3}WARNING: \d+ output\(s\) of cell \d+ arrived after it reported idle/);
    assertMatch(log, /\[smoke\] WARNING: \d+ output\(s\) arrived after their cell reported idle/);
    assertEquals(byId["result"].outputs![0].output_type, "execute_result");
    const result = [byId["result"].outputs![0].data!["text/plain"]].flat().join("");
    // deno colours values unless NO_COLOR is set.
    assertEquals(result.replace(new RegExp(String.fromCharCode(27) + "\\[\\d+m", "g"), ""), "42");
    assert(cells.every((c) => !("execution" in c.metadata)), "timing metadata left in the notebook");
  },
});

Deno.test({
  name: "run_notebooks: a failing cell stops the run with exit 1, naming the cell and its error",
  ignore,
  async fn() {
    const notebook = notebookWith([
      { id: "ok", source: 'console.log("fine")' },
      { id: "bad", source: 'const n = 1;\nthrow new Error("boom: bad input");' },
      { id: "after", source: 'console.log("never")' },
    ]);
    const out = Deno.makeTempDirSync();
    const { code, log } = await run(out, notebook);
    assertEquals(code, 1, log);
    assertMatch(log, /\[broken\] FAILED at cell 2 `const n = 1;`/);
    assertMatch(log, /Error: boom: bad input/);
    const cells: Cell[] = JSON.parse(fs.readFileSync(path.join(out, "broken.ipynb"), "utf8")).cells;
    assertEquals(cells[1].outputs![0].output_type, "error");
    assertEquals(cells[2].execution_count, null);
  },
});

Deno.test({
  name: "run_notebooks: the check fails a cell without output unless it is tagged no-output",
  ignore,
  async fn() {
    const notebook = notebookWith([
      { id: "quiet", source: "const a = 1;", tags: ["no-output"] },
      { id: "silent", source: "const b = 2;" },
      { id: "noplot", source: 'console.log("not a chart")', tags: ["plot"] },
    ]);
    const { code, log } = await run(Deno.makeTempDirSync(), notebook);
    assertEquals(code, 1, log);
    assertMatch(log, /CHECK FAILED: cell 2 `const b = 2;` has no output/);
    assertMatch(
      log,
      /CHECK FAILED: cell 3 `console\.log\("not a chart"\)` is tagged `plot` but shows no chart/,
    );
    assert(!/cell 1 /.test(log.split("CHECK FAILED").slice(1).join()), log);
  },
});

/** A notebook in a temporary folder inside the project (so that its kernel finds deno.json), removed after. */
async function withProjectNotebook(
  cells: { id: string; source: string }[],
  fn: (notebook: string, out: string) => Promise<void>,
): Promise<void> {
  fs.mkdirSync(path.join(PROJECT_ROOT, "out"), { recursive: true });
  const dir = fs.mkdtempSync(path.join(PROJECT_ROOT, "out", ".run-notebooks-test-"));
  try {
    const nb = JSON.parse(fs.readFileSync(notebookWith(cells), "utf8"));
    const notebook = path.join(dir, "training.ipynb");
    fs.writeFileSync(notebook, JSON.stringify(nb));
    await fn(notebook, path.join(dir, "out"));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

// Two epochs of lib/train/progress.ts' bar, as fit shows it in the kernel (one display updated in place),
// on a clock that advances 1 s per step; then a printed test metric.
const TRAINING_CELLS = [
  {
    id: "fit",
    source: `import { ProgressLogger } from "../../lib/train/progress.ts";
let t = 0;
const logger = new ProgressLogger({ epochs: 2, steps: 3, now: () => t, intervalMs: 0 });
for (let e = 0; e < 2; e++) {
  await logger.onEpochBegin(e);
  for (let b = 0; b < 3; b++) {
    t += 1000;
    await logger.onBatchEnd(b, { size: 4, loss: 0.5 - 0.1 * e });
  }
  await logger.onEpochEnd(e, { loss: 0.5 - 0.1 * e, accuracy: 0.6 + 0.1 * e, val_loss: 0.45, val_accuracy: 0.7 + 0.1 * e });
}
await logger.onTrainEnd();`,
  },
  {
    id: "test",
    source: `import { print } from "../../lib/runtime/mod.ts";
print("Test accuracy :", 0.912345678);`,
  },
];

Deno.test({
  name: "run_notebooks: a training cell's epochs are shown once each, as they end; a summary closes the run",
  ignore,
  async fn() {
    await withProjectNotebook(TRAINING_CELLS, async (notebook, out) => {
      const { code, log } = await run(out, notebook);
      assertEquals(code, 0, log);
      const lines = log.split("\n");
      const at = (re: RegExp) => lines.findIndex((l) => re.test(l));
      const epoch1 = "[training]     Epoch 1/2: 3/3 - 3s 1s/step - loss: 0.5000 - accuracy: 0.6000 - " +
        "val_loss: 0.4500 - val_accuracy: 0.7000";
      const epoch2 = "[training]     Epoch 2/2: 3/3 - 3s 1s/step - loss: 0.4000 - accuracy: 0.7000 - " +
        "val_loss: 0.4500 - val_accuracy: 0.8000";
      // Under the training cell: after it starts, before it is reported done; each epoch once.
      const start = at(/^\[training\] cell 1\/2 \(1\/2 code\) import \{ ProgressLogger \}/);
      const done = at(/^\[training\] {3}ok in /);
      assert(start >= 0 && done > start, log);
      assertEquals(lines.slice(start + 1, done), [epoch1, epoch2]);
      // No bar redraws (ETA lines) anywhere.
      assert(!/ETA:/.test(log), log);
      const summary = lines.slice(at(/^Summary:$/));
      assertEquals(summary[0], "Summary:");
      assertMatch(summary[1], /^ {2}training: ran in \d+ s$/);
      assertEquals(summary.slice(2, 5), [
        "    Test accuracy : 0.9123",
        `    last epoch: ${epoch2.replace("[training]     ", "")}`,
        `    open ${path.relative(PROJECT_ROOT, path.join(out, "training.html"))} in a browser ` +
        `(executed notebook: ${path.relative(PROJECT_ROOT, path.join(out, "training.ipynb"))})`,
      ]);
      assertEquals(summary.at(-2), "all 1 notebook(s) ran");
    });
  },
});
