import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import h5wasm from "h5wasm/node";
import {
  loadKerasH5Weights,
  readKerasH5Weights,
  saveKerasH5Weights,
  WeightShapeError,
  weightSuffix,
} from "../../lib/io/keras_h5.ts";
import { PROJECT_ROOT } from "../../lib/runtime/config.ts";
import { type LayersModel, type SymbolicTensor, type Tensor, tf } from "../../lib/runtime/tf.ts";
import { assert, assertAlmostEquals, assertEquals, assertRejects } from "../_assert.ts";
import { haveShared, SHARED_WEIGHTS_035 } from "../_shared.ts";

const FIXTURES = path.join(PROJECT_ROOT, "tests", "fixtures");
/** Written by Keras' own legacy writer: tools/keras/make_keras_h5_fixture.py. */
const TINY_H5 = path.join(FIXTURES, "keras_h5_tiny.h5");
const tinyFixture = JSON.parse(fs.readFileSync(path.join(FIXTURES, "keras_h5_tiny.json"), "utf8")) as {
  input: number[][][][];
  output: number[][];
  weights: Record<string, [string, number[]][]>;
};

/** The model of tools/keras/make_keras_h5_fixture.py, in tfjs-layers. */
function tinyModel({ convFilters = 4, extra = false } = {}) {
  const input = tf.input({ shape: [6, 6, 2], name: "image" });
  let x = tf.layers.conv2d({ filters: convFilters, kernelSize: 3, name: "conv" }).apply(
    input,
  ) as SymbolicTensor;
  x = tf.layers.batchNormalization({ epsilon: 1e-3, name: "bn" }).apply(x) as SymbolicTensor;
  x = tf.layers.depthwiseConv2d({ kernelSize: 3, name: "dw" }).apply(x) as SymbolicTensor;
  x = tf.layers.reLU({ maxValue: 6, name: "relu" }).apply(x) as SymbolicTensor;
  x = tf.layers.globalAveragePooling2d({ name: "gap" }).apply(x) as SymbolicTensor;
  x = tf.layers.dense({ units: 3, name: "dense" }).apply(x) as SymbolicTensor;
  if (extra) x = tf.layers.dense({ units: 2, name: "extra" }).apply(x) as SymbolicTensor;
  return tf.model({ inputs: input, outputs: x, name: "tiny" });
}

function weightValues(model: LayersModel): number[][] {
  return model.weights.map((w) => Array.from(w.read().dataSync()));
}

function tempDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), "keras_h5_test-"));
}

Deno.test("weightSuffix: the weight's role from Keras and tfjs names", () => {
  assertEquals(weightSuffix("bn_Conv1/moving_variance:0"), "moving_variance");
  assertEquals(weightSuffix("block_1_depthwise/depthwise_kernel:0"), "depthwise_kernel");
  assertEquals(weightSuffix("conv/kernel"), "kernel");
  assertEquals(weightSuffix("bn_Conv1/gamma_3"), "gamma");
});

Deno.test("readKerasH5Weights reads a file written by Keras: layer names, weight names, shapes", async () => {
  const file = await readKerasH5Weights(TINY_H5);
  assertEquals(file.layerNames, Object.keys(tinyFixture.weights));
  for (const [layer, weights] of Object.entries(tinyFixture.weights)) {
    const stored = file.layers.get(layer)!;
    assertEquals(stored.map((w) => w.name), weights.map(([name]) => name), layer);
    assertEquals(stored.map((w) => w.shape), weights.map(([, shape]) => shape), layer);
    for (const w of stored) assertEquals(w.values.length, w.shape.reduce((a, b) => a * b, 1));
  }
  assertEquals(file.backend, "tensorflow");
});

Deno.test("loadKerasH5Weights: a tfjs model loaded from Keras' file computes Keras' output", async () => {
  const before = tf.memory().numTensors;
  const model = tinyModel();
  const afterBuild = tf.memory().numTensors;
  await loadKerasH5Weights(model, TINY_H5);
  assertEquals(tf.memory().numTensors, afterBuild, "loading leaks no tensors");
  const output = tf.tidy(() =>
    (model.predict(tf.tensor4d(tinyFixture.input)) as Tensor).arraySync() as number[][]
  );
  const expected = tinyFixture.output[0];
  assertEquals(output[0].length, expected.length);
  output[0].forEach((v, i) => assertAlmostEquals(v, expected[i], 1e-5));
  model.dispose();
  assertEquals(tf.memory().numTensors, before, "no tensor leaks after dispose");
});

Deno.test("saveKerasH5Weights → loadKerasH5Weights round trip restores every weight", async () => {
  const dir = tempDir();
  try {
    const file = path.join(dir, "tiny.h5");
    const source = tinyModel();
    await saveKerasH5Weights(source, file);
    assert(!fs.readdirSync(dir).some((f) => f.includes(".tmp")), "no temporary file left");

    const stored = await readKerasH5Weights(file);
    assertEquals(stored.layerNames, source.layers.map((l) => l.name));
    assertEquals(stored.layers.get("relu"), []);
    assertEquals(stored.layers.get("bn")!.map((w) => w.name), [
      "bn/gamma:0",
      "bn/beta:0",
      "bn/moving_mean:0",
      "bn/moving_variance:0",
    ]);

    const target = tinyModel();
    assertNotSame(weightValues(target), weightValues(source));
    await loadKerasH5Weights(target, file);
    assertEquals(weightValues(target), weightValues(source));
    source.dispose();
    target.dispose();
  } finally {
    fs.rmSync(dir, { recursive: true });
  }
});

function assertNotSame(a: number[][], b: number[][]) {
  assert(JSON.stringify(a) !== JSON.stringify(b), "freshly initialised models differ");
}

Deno.test("loadKerasH5Weights: a wrong shape names the layer and both shapes, and changes nothing", async () => {
  const dir = tempDir();
  try {
    const file = path.join(dir, "five.h5");
    const five = tinyModel({ convFilters: 5 });
    await saveKerasH5Weights(five, file);
    five.dispose();
    const model = tinyModel();
    const before = weightValues(model);
    const tensors = tf.memory().numTensors;
    const e = await assertRejects(
      () => loadKerasH5Weights(model, file),
      WeightShapeError,
      /layer "conv" weight "kernel": model shape \[3, 3, 2, 4\], file shape \[3, 3, 2, 5\]/,
    ) as WeightShapeError;
    // What callers that know the architecture read to say more (mobileNetV2: weights of another alpha).
    assertEquals([e.file, e.layer, e.weight, e.modelShape, e.fileShape], [file, "conv", "kernel", [
      3,
      3,
      2,
      4,
    ], [
      3,
      3,
      2,
      5,
    ]]);
    assertEquals(weightValues(model), before);
    assertEquals(tf.memory().numTensors, tensors);
    model.dispose();
  } finally {
    fs.rmSync(dir, { recursive: true });
  }
});

Deno.test("loadKerasH5Weights: a layer missing from the file, or from the model, is named", async () => {
  const withExtra = tinyModel({ extra: true });
  await assertRejects(
    () => loadKerasH5Weights(withExtra, TINY_H5),
    Error,
    /no weights for layer "extra" \(model shapes \[3, 2\], \[2\]\)/,
  );
  withExtra.dispose();

  const dir = tempDir();
  try {
    const file = path.join(dir, "extra.h5");
    const big = tinyModel({ extra: true });
    await saveKerasH5Weights(big, file);
    big.dispose();
    const small = tinyModel();
    await assertRejects(
      () => loadKerasH5Weights(small, file),
      Error,
      /weights for layers the model "tiny" lacks: extra/,
    );
    small.dispose();
  } finally {
    fs.rmSync(dir, { recursive: true });
  }
});

Deno.test("readKerasH5Weights: a missing file, a non-HDF5 file and a non-Keras HDF5 file are named", async () => {
  const dir = tempDir();
  try {
    await assertRejects(
      () => readKerasH5Weights(path.join(dir, "absent.h5")),
      Error,
      "absent.h5: no such weights file",
    );
    const text = path.join(dir, "text.h5");
    fs.writeFileSync(text, "not hdf5");
    await assertRejects(() => readKerasH5Weights(text), Error, "text.h5: not an HDF5 file");
    const plain = path.join(dir, "plain.h5");
    await h5wasm.ready;
    const f = new h5wasm.File(plain, "w");
    f.create_dataset({ name: "x", data: new Float32Array([1, 2]), shape: [2], dtype: "<f" });
    f.close();
    await assertRejects(
      () => readKerasH5Weights(plain),
      Error,
      /plain\.h5: not a Keras-2 save_weights HDF5 file/,
    );
  } finally {
    fs.rmSync(dir, { recursive: true });
  }
});

Deno.test("readKerasH5Weights: the shared ImageNet alpha 0.35 file (260 tensors, 410,208 parameters)", async () => {
  if (!haveShared(SHARED_WEIGHTS_035, "keras_h5 shared weights")) return;
  const file = await readKerasH5Weights(SHARED_WEIGHTS_035);
  const weights = [...file.layers.values()].flat();
  assertEquals(weights.length, 260);
  assertEquals(weights.reduce((n, w) => n + w.values.length, 0), 410_208);
  assertEquals(file.layers.get("bn_Conv1")!.map((w) => [weightSuffix(w.name), w.shape]), [
    ["gamma", [16]],
    ["beta", [16]],
    ["moving_mean", [16]],
    ["moving_variance", [16]],
  ]);
});

Deno.test("readKerasH5Weights: a truncated HDF5 file is one clear error, without HDF5's diagnostics on stderr", async () => {
  const dir = tempDir();
  try {
    const truncated = path.join(dir, "truncated.h5");
    fs.writeFileSync(truncated, fs.readFileSync(TINY_H5).subarray(0, 3000));
    // In a child process, so that what HDF5 prints to stderr can be read.
    const script = `import { readKerasH5Weights } from ${
      JSON.stringify(path.join(PROJECT_ROOT, "lib", "io", "keras_h5.ts"))
    };
      try { await readKerasH5Weights(${JSON.stringify(truncated)}); } catch (e) { console.log(e.message); }`;
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["eval", "--quiet", script],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stdout = new TextDecoder().decode(out.stdout).trim();
    const stderr = new TextDecoder().decode(out.stderr);
    assertEquals(stdout.split("\n").length, 1, stdout);
    assert(stdout.startsWith(`${truncated}: HDF5 cannot open it (read): truncated file`), stdout);
    assert(!stderr.includes("HDF5-DIAG"), `stderr: ${stderr}`);
  } finally {
    fs.rmSync(dir, { recursive: true });
  }
});
