import { assertEquals, assertThrows } from "../_assert.ts";
import {
  compareCells,
  misplacedCount,
  normalizeLine,
  outputLines,
} from "../../tools/notebooks/notebook_outputs.ts";

const stream = (text: string, name = "stdout") => ({ output_type: "stream", name, text });
const plain = (text: string) => ({ output_type: "display_data", data: { "text/plain": text } });

Deno.test("normalizeLine: numbers, timings, the bar's fill and colours do not count", () => {
  assertEquals(
    normalizeLine("\x1b[33m12/63\x1b[39m [=====>....] - 6s 523ms/step - loss: 0.2627 - accuracy: 0.8920"),
    normalizeLine("63/63 [==========] - 14s 1s/step - loss: 0.1 - accuracy: 0.95"),
  );
  assertEquals(
    normalizeLine("[Vega-Lite chart] Training images: Image grid: 9 images (cats, dogs)"),
    "[Vega-Lite chart] Training images",
  );
});

Deno.test("outputLines: stdout, display text and errors; stderr left out", () => {
  assertEquals(
    outputLines([
      stream("Found 2000 files.\n"),
      stream("Downloading data from x\n", "stderr"),
      plain("a\nb"),
      { output_type: "error", ename: "KeyboardInterrupt", evalue: "fit interrupted" },
    ]),
    ["Found # files.", "a", "b", "KeyboardInterrupt: fit interrupted"],
  );
});

Deno.test("compareCells finds a line filed under the next cell", () => {
  const headless = [
    { source: "a()", outputs: [plain("Number of validation batches: 26\nNumber of test batches: 6")] },
    { source: "b()", outputs: [] },
  ];
  const lab = [
    { source: "a()", outputs: [] },
    { source: "b()", outputs: [plain("Number of validation batches: 26\nNumber of test batches: 6")] },
  ];
  const diffs = compareCells(headless, lab);
  assertEquals(diffs.map((d) => [d.index, d.missing.length, d.extra.length]), [[0, 2, 0], [1, 0, 2]]);
  assertEquals(diffs.map((d) => [d.misplaced.length, d.lost]), [[0, true], [2, false]]);
  assertEquals(misplacedCount(diffs), 3);
  assertEquals(compareCells(headless, headless), []);
  assertThrows(() => compareCells(headless, lab.slice(1)), Error, "2 code cells headless, 1 in JupyterLab");
});

Deno.test("compareCells: a result that differs between runs is not a misplaced output", () => {
  const headless = [{ source: "a()", outputs: [plain("most confused: roses → tulips (3)")] }];
  const lab = [{ source: "a()", outputs: [plain("most confused: daisy → dandelion (2)")] }];
  const diffs = compareCells(headless, lab);
  assertEquals(diffs.length, 1);
  assertEquals([diffs[0].misplaced, diffs[0].lost, misplacedCount(diffs)], [[], false, 0]);
});
