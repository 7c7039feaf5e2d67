import { mobileNetV2 } from "../../lib/model/mobilenet_v2.ts";
import { printSummary, readableMemorySize } from "../../lib/model/summary.ts";
import { type SymbolicTensor, tf } from "../../lib/runtime/tf.ts";
import { assert, assertEquals } from "../_assert.ts";
import { useJupyterApi } from "../../lib/runtime/output.ts";

function capture(print: (printFn: (line: string) => void) => void): string[] {
  const lines: string[] = [];
  print((line) => lines.push(line));
  return lines;
}

Deno.test("readableMemorySize follows Keras' readable_memory_size", () => {
  assertEquals(readableMemorySize(0), "0.00 Byte");
  assertEquals(readableMemorySize(1023), "1023.00 Byte");
  assertEquals(readableMemorySize(5124), "5.00 KB");
  assertEquals(readableMemorySize(4 * 2_257_984), "8.61 MB");
});

Deno.test("summary() of the frozen MobileNetV2 base prints the tutorial's Keras table", async () => {
  const before = tf.memory().numTensors;
  const base = await mobileNetV2({ inputShape: [160, 160, 3], includeTop: false, weights: null });
  base.trainable = false;
  const lines = capture((printFn) => base.summary(undefined, undefined, printFn));
  base.dispose();
  assertEquals(tf.memory().numTensors, before);

  assertEquals(lines[0], 'Model: "mobilenetv2_1.00_160"');
  assert(lines.every((l) => l.length <= 98), "no line wider than 98");
  assertEquals(
    lines[2].trimEnd(),
    " Layer (type)                Output Shape                 Param #   Connected to",
  );
  const row = (start: string) => lines.findIndex((l) => l.startsWith(start));
  assertEquals(
    lines[row(" input_1 ")].trimEnd(),
    " input_1 (InputLayer)        [(None, 160, 160, 3)]        0         []",
  );
  assertEquals(
    lines[row(" Conv1 ")].trimEnd(),
    " Conv1 (Conv2D)              (None, 80, 80, 32)           864       ['input_1[0][0]']",
  );
  // Cells wrap inside their column, as Keras does.
  const bn = row(" bn_Conv1 ");
  assertEquals(lines[bn].slice(0, 28), " bn_Conv1 (BatchNormalizati ");
  assertEquals(lines[bn + 1].trimEnd(), " on)");
  const add = row(" block_2_add ");
  assertEquals(lines[add].slice(68).trimEnd(), "['block_1_project_BN[0][0]',");
  assertEquals(lines[add + 1].slice(68).trimEnd(), " 'block_2_project_BN[0][0]']");
  // 154 layers, each followed by a blank line.
  assertEquals(lines.filter((l) => /^\d+$/.test(l.slice(58, 68).trim())).length, 154);
  assertEquals(lines.slice(-4), [
    "Total params: 2257984 (8.61 MB)",
    "Trainable params: 0 (0.00 Byte)",
    "Non-trainable params: 2257984 (8.61 MB)",
    "_".repeat(98),
  ]);
});

Deno.test("printSummary of a chain model: three columns, 65 wide, nested model as Functional", async () => {
  const before = tf.memory().numTensors;
  const base = await mobileNetV2({ alpha: 0.35, inputShape: [96, 96, 3], includeTop: false, weights: null });
  base.trainable = false;
  const input = tf.input({ shape: [96, 96, 3], name: "input_2" });
  let x = base.apply(input) as SymbolicTensor;
  x = tf.layers.globalAveragePooling2d({ name: "global_average_pooling2d" }).apply(x) as SymbolicTensor;
  x = tf.layers.dense({ units: 1, name: "dense" }).apply(x) as SymbolicTensor;
  const model = tf.model({ inputs: input, outputs: x, name: "model" });
  const lines = capture((printFn) => printSummary(model, { printFn }));
  assertEquals(lines[2].trimEnd(), " Layer (type)                Output Shape              Param #");
  assert(lines.every((l) => l.length <= 65), "no line wider than 65");
  const nested = lines.findIndex((l) => l.startsWith(" mobilenetv2_0.35_96 "));
  assertEquals(lines[nested].trimEnd(), " mobilenetv2_0.35_96 (Funct  (None, 3, 3, 1280)        410208");
  assertEquals(lines[nested + 1].trimEnd(), " ional)");
  assertEquals(lines.at(-3), `Trainable params: 1281 (${readableMemorySize(4 * 1281)})`);
  model.dispose();
  assertEquals(tf.memory().numTensors, before, "disposing the model disposes the nested base");
});

Deno.test("printSummary in the Jupyter kernel sends the whole table as one message", () => {
  const sent: string[] = [];
  const restore = useJupyterApi({
    display: (obj) => void sent.push((obj as Record<string, string>)["text/plain"]),
  });
  const input = tf.input({ shape: [4], name: "in" });
  const out = tf.layers.dense({ units: 2, name: "d1" }).apply(
    tf.layers.dense({ units: 3, name: "d0" }).apply(input),
  ) as SymbolicTensor;
  const model = tf.model({ inputs: input, outputs: out, name: "m" });
  try {
    printSummary(model);
  } finally {
    restore();
  }
  const lines = capture((printFn) => printSummary(model, { printFn }));
  assertEquals(sent.length, 1);
  assertEquals(sent[0], lines.join("\n"));
  assert(lines.length > 10, `${lines.length} lines`);
  model.dispose();
});
