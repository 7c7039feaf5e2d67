/**
 * `exportInferenceModel({ quantize })`: TensorFlow.js' weight quantization (float16, uint8 with an affine
 * `{scale, min}` per weight), loaded back by stock tfjs' `loadLayersModel` as a browser loads it.
 */
import { tf } from "../../lib/runtime/tf.ts";
import type { LayersModel, Tensor } from "../../lib/runtime/tf.ts";
import { assert, assertEquals, assertThrows } from "../_assert.ts";
import { buildClassifier } from "../../lib/model/classifier.ts";
import { exportInferenceModel, quantizeWeights } from "../../lib/model/inference_export.ts";
import type { InferenceExport, WeightSpec } from "../../lib/model/inference_export.ts";
import { maxAbsDiff, tinyBase } from "../../lib/testing/tiny.ts";

async function loadExport(e: InferenceExport): Promise<LayersModel> {
  return await tf.loadLayersModel(tf.io.fromMemory({
    modelTopology: e.modelJson.modelTopology as any,
    weightSpecs: e.modelJson.weightsManifest[0].weights,
    weightData: e.weights.slice().buffer,
  }));
}

/** Each weight's values as a loaded model holds them, by weight name. */
function weightValues(model: LayersModel): Map<string, Float32Array> {
  return new Map(model.weights.map((w) => [w.originalName, w.read().dataSync() as Float32Array]));
}

/** Decodes `values` as tfjs decodes a one-weight manifest. */
function roundTrip(values: number[], dtype: "float16" | "uint8") {
  const spec: WeightSpec = { name: "conv/kernel", shape: [values.length], dtype: "float32" };
  const q = quantizeWeights(new Uint8Array(new Float32Array(values).buffer), [spec], dtype);
  const decoded = tf.io.decodeWeights(q.weights.slice().buffer, q.specs)["conv/kernel"];
  const out = Array.from(decoded.dataSync());
  decoded.dispose();
  return { out, spec: q.specs[0], bytes: q.weights.length };
}

Deno.test("quantizeWeights: tfjs-converter's affine uint8 (0 exact, constant weights exact) and float16", () => {
  const ramp = roundTrip([-1, -0.3, 0, 0.25, 0.7, 1], "uint8");
  assertEquals(ramp.bytes, 6);
  assertEquals(ramp.spec.quantization?.dtype, "uint8");
  const scale = ramp.spec.quantization!.scale!;
  assert(Math.abs(scale - 2 / 255) < 1e-9, `scale ${scale}`);
  assertEquals(ramp.out[2], 0, "0 stays exactly 0");
  for (const [i, v] of [-1, -0.3, 0, 0.25, 0.7, 1].entries()) {
    assert(Math.abs(ramp.out[i] - v) <= scale / 2 + 1e-7, `${v} → ${ramp.out[i]}`);
  }
  assertEquals(roundTrip([3, 3, 3], "uint8").out, [3, 3, 3]);
  const bn: WeightSpec = { name: "bn/moving_variance", shape: [2], dtype: "float32" };
  const kept = quantizeWeights(new Uint8Array(new Float32Array([1e-4, 90]).buffer), [bn], "uint8");
  assertEquals(kept.specs, [{ ...bn, quantization: { dtype: "float16" } }], "BatchNorm statistics: float16");
  const half = roundTrip([1, 1 / 3, -2.5e-3, 1000.1], "float16");
  assertEquals(half.bytes, 8);
  assertEquals(half.spec.quantization, { dtype: "float16" });
  for (const [i, v] of [1, 1 / 3, -2.5e-3, 1000.1].entries()) {
    assert(Math.abs(half.out[i] - v) <= Math.abs(v) * 2 ** -11, `${v} → ${half.out[i]}`);
  }
  assertThrows(
    () => quantizeWeights(new Uint8Array(8), [{ name: "d/kernel", shape: [1], dtype: "float32" }], "uint8"),
    Error,
    "covers 4 of 8 bytes",
  );
});

for (const dtype of ["float16", "uint8"] as const) {
  Deno.test(`export --quantize ${dtype}: smaller weights that stock tfjs loads, outputs close`, async () => {
    const { model } = buildClassifier({ base: tinyBase([24, 24, 3], 5), numClasses: 3, seed: 4 });
    const x = tf.randomUniform([3, 24, 24, 3], 0, 255, "float32", 11);
    const plain = await exportInferenceModel(model);
    const before = tf.memory().numTensors;
    const quantized = await exportInferenceModel(model, { quantize: dtype });
    assertEquals(tf.memory().numTensors, before, "exportInferenceModel leaks no tensor");
    const specs = quantized.modelJson.weightsManifest[0].weights;
    const kernel = (s: WeightSpec) => /(^|\/)kernel$/.test(s.name);
    const quantizedSpecs = specs.filter((s) => dtype === "float16" || kernel(s));
    assert(
      quantizedSpecs.every((s) => s.quantization?.dtype === dtype),
      "each weight carries its quantization",
    );
    assert(
      specs.filter((s) => !quantizedSpecs.includes(s)).every((s) => s.quantization?.dtype === "float16"),
      "the rest (BatchNormalization, biases): float16",
    );
    const values = (list: WeightSpec[]) => list.reduce((n, s) => n + s.shape.reduce((a, b) => a * b, 1), 0);
    const perValue = dtype === "float16" ? 2 : 1;
    assertEquals(
      quantized.weights.length,
      perValue * values(quantizedSpecs) + 2 * (values(specs) - values(quantizedSpecs)),
    );
    assert(quantized.weights.length <= plain.weights.length * (dtype === "float16" ? 0.5 : 0.35), "smaller");

    const [a, b] = [await loadExport(plain), await loadExport(quantized)];
    const original = weightValues(a);
    for (const [name, values] of weightValues(b)) {
      const ref = original.get(name)!;
      const spec = specs.find((s) => s.name === name)!;
      const bound = spec.quantization!.dtype === "uint8"
        ? spec.quantization!.scale! / 2 + 1e-6
        : Math.max(...ref.map(Math.abs)) * 2 ** -11;
      assert(maxAbsDiff(ref, values) <= bound, `${name}: ${maxAbsDiff(ref, values)} > ${bound}`);
    }
    const out = (m: LayersModel) => tf.tidy(() => (m.predict(x) as Tensor).dataSync());
    const diff = maxAbsDiff(out(a), out(b));
    assert(diff > 0, "quantization changes the outputs somewhat");
    assert(Math.abs(diff - quantized.quantization!.maxDifference) < 0.5, "reported difference is measured");
    assertEquals(quantized.quantization!.dtype, dtype);
    [a, b, model, x].forEach((t) => t.dispose());
  });
}
