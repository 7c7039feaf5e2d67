/**
 * The notebooks' code, read without running it: it type-checks against `lib/` (the Deno kernel only
 * transpiles, so a renamed export or a wrong type would otherwise show only when a reader runs the cell),
 * and the tutorial notebook writes the tutorial's own steps — the model put together from the layers the
 * reader built, compiled, frozen and unfrozen with TensorFlow.js' standard calls — rather than calling
 * helpers that hide them.
 */
import path from "node:path";
import { assert, assertEquals } from "../_assert.ts";
import { withTempDir } from "../_temp.ts";
import { PROJECT_ROOT } from "../../lib/runtime/config.ts";

interface Notebook {
  cells: { cell_type: string; source: string | string[] }[];
}

/** The source of each code cell of `notebooks/<name>.ipynb`, in order. */
function codeCells(name: string): string[] {
  const file = path.join(PROJECT_ROOT, "notebooks", `${name}.ipynb`);
  const nb = JSON.parse(Deno.readTextFileSync(file)) as Notebook;
  return nb.cells.filter((c) => c.cell_type === "code").map((c) => [c.source].flat().join(""));
}

/** The `lib/` folders whose `mod.ts` a cell imports. */
function libImports(cell: string): string[] {
  const folders = [...cell.matchAll(/from\s+["']\.\.\/lib\/([^/"']+)\/mod\.ts["']/g)].map((m) => m[1]);
  return [...new Set(folders)].sort();
}

/** `deno check` of the notebook's code cells as one module (they share one scope in the kernel). */
async function typeCheck(name: string): Promise<{ ok: boolean; errors: string }> {
  const lib = new URL(`file://${path.join(PROJECT_ROOT, "lib")}/`).href;
  const code = codeCells(name).join("\n").replaceAll(/(["'])\.\.\/lib\//g, `$1${lib}`);
  let result = { ok: false, errors: "" };
  await withTempDir("notebook_code_", async (dir) => {
    const file = path.join(dir, `${name}.ts`);
    await Deno.writeTextFile(file, `${code}\nexport {};\n`);
    const { success, stderr } = await new Deno.Command(Deno.execPath(), {
      args: ["check", "--quiet", "--config", path.join(PROJECT_ROOT, "deno.json"), file],
      cwd: PROJECT_ROOT,
      stdin: "null",
      stdout: "null",
    }).output();
    result = { ok: success, errors: new TextDecoder().decode(stderr) };
  });
  return result;
}

for (const name of ["transfer_learning", "your_own_images"]) {
  Deno.test(`${name}.ipynb: the code cells type-check against lib/`, async () => {
    const { ok, errors } = await typeCheck(name);
    assert(ok, `deno check of ${name}.ipynb's code cells failed:\n${errors}`);
  });
}

Deno.test("the first cell imports lib/ from a few mod.ts files; no other cell imports lib/", () => {
  for (const [name, most] of [["transfer_learning", 6], ["your_own_images", 7]] as const) {
    const [first, ...rest] = codeCells(name);
    const folders = libImports(first);
    assert(folders.length > 0 && folders.length <= most, `${name}: first cell imports ${folders}`);
    assertEquals(rest.flatMap(libImports), [], `${name}: a later cell imports lib/`);
  }
});

/** Helpers that did a tutorial step out of sight; the notebooks write the step instead. */
const HIDDEN_STEPS = [
  "buildClassifier",
  "compileClassifier",
  "compileForTransferLearning",
  "compileForFineTuning",
  "freezeBase",
  "unfreezeForFineTuning",
  "countTrainableVariables",
];

Deno.test("the notebooks write the tutorial's steps instead of calling helpers that hide them", () => {
  for (const name of ["transfer_learning", "your_own_images"]) {
    const code = codeCells(name).join("\n");
    const used = HIDDEN_STEPS.filter((helper) => new RegExp(`\\b${helper}\\b`).test(code));
    assertEquals(used, [], `${name}.ipynb calls ${used}`);
  }
});

Deno.test("transfer_learning.ipynb assembles, compiles and fine-tunes the model as the tutorial does", () => {
  const code = codeCells("transfer_learning").join("\n");
  const steps: [string, RegExp][] = [
    ["inputs = tf.keras.Input(shape=…)", /const inputs = tf\.input\(\{ shape: /],
    ["x = data_augmentation(inputs)", /let x = augmentation\.apply\(inputs\)/],
    ["x = preprocess_input(x)", /x = preprocessInput\.apply\(x\)/],
    ["x = base_model(x, training=False)", /const base = inferenceMode\(baseModel\)[^]*x = base\.apply\(x\)/],
    ["x = global_average_layer(x)", /x = globalAverageLayer\.apply\(x\)/],
    ["x = tf.keras.layers.Dropout(0.2)(x)", /x = tf\.layers\.dropout\(\{ rate: 0\.2\b/],
    ["outputs = prediction_layer(x)", /const outputs = predictionLayer\.apply\(x\)/],
    ["model = tf.keras.Model(inputs, outputs)", /const model = tf\.model\(\{ inputs, outputs\b/],
    ["base_model.trainable = False", /baseModel\.trainable = false;/],
    [
      "model.compile(optimizer=Adam(…), loss=…, metrics=[…])",
      /model\.compile\(\{\s*optimizer: tf\.train\.adam\(/,
    ],
    ["base_model.trainable = True", /base\.trainable = true;/],
    [
      "for layer in base_model.layers[:fine_tune_at]",
      /for \(const layer of base\.layers\.slice\(0, fineTuneAt\)\)/,
    ],
    ["layer.trainable = False", /layer\.trainable = false;/],
    [
      "RMSprop(learning_rate=base_learning_rate/10)",
      /optimizer: tf\.train\.rmsprop\(baseLearningRate \/ 10\)/,
    ],
  ];
  const missing = steps.filter(([, re]) => !re.test(code)).map(([step]) => step);
  assertEquals(missing, [], `transfer_learning.ipynb does not write: ${missing.join("; ")}`);
});
