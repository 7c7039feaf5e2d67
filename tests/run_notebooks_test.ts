/**
 * Integration test of `tools/run_notebooks.py` (about 15 s): runs the smoke notebook and broken ones
 * with the Deno kernel through nbclient. Skipped when `.venv` is absent (`deno task setup --no-jupyter`).
 */
import fs from "node:fs";
import path from "node:path";
import { assert, assertEquals, assertMatch } from "./_assert.ts";
import { PROJECT_ROOT } from "../lib/config.ts";

const PYTHON = path.join(PROJECT_ROOT, ".venv", "bin", "python");
const RUNNER = path.join(PROJECT_ROOT, "tools", "run_notebooks.py");
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
