import { tf } from "../../lib/runtime/tf.ts";
import type { LayersModel, Tensor } from "../../lib/runtime/tf.ts";
import { assert, assertEquals, assertThrows } from "../_assert.ts";
import { buildClassifier } from "../../lib/model/classifier.ts";
import {
  exportInferenceModel,
  inferenceTopology,
  layerClasses,
  PROJECT_LAYER_CLASSES,
  type TopologyJson,
} from "../../lib/model/inference_export.ts";
import { mobileNetV2 } from "../../lib/model/mobilenet_v2.ts";
import { maxAbsDiff, tinyBase } from "../../lib/testing/tiny.ts";
import { haveShared, SHARED_WEIGHTS_035 } from "../_shared.ts";

/** The export loaded back from its `model.json` content and weight bytes, as a browser would. */
async function loadExport(e: Awaited<ReturnType<typeof exportInferenceModel>>): Promise<LayersModel> {
  const [manifest] = e.modelJson.weightsManifest;
  const weightData = e.weights.buffer.slice(
    e.weights.byteOffset,
    e.weights.byteOffset + e.weights.byteLength,
  );
  return await tf.loadLayersModel(tf.io.fromMemory({
    modelTopology: e.modelJson.modelTopology as any,
    weightSpecs: manifest.weights,
    weightData: weightData as ArrayBuffer,
  }));
}

function predictions(model: LayersModel, x: Tensor): Float32Array {
  return tf.tidy(() => (model.predict(x) as Tensor).dataSync() as Float32Array);
}

for (const [numClasses, augmentation] of [[2, undefined], [3, null]] as const) {
  const what = `${numClasses} classes, ${augmentation === null ? "no augmentation" : "augmentation"}`;
  Deno.test(`export: only built-in layers, same outputs as the original (${what})`, async () => {
    const { model } = buildClassifier({ base: tinyBase([24, 24, 3], 5), numClasses, augmentation, seed: 4 });
    const x = tf.randomUniform([3, 24, 24, 3], 0, 255, "float32", 11);
    const before = tf.memory().numTensors;
    const exported = await exportInferenceModel(model);
    assertEquals(tf.memory().numTensors, before, "exportInferenceModel leaks no tensor");

    const classes = layerClasses(exported.modelJson.modelTopology);
    for (const c of PROJECT_LAYER_CLASSES) assert(!classes.has(c), `${c} remains in the export`);
    assert(!classes.has("Sequential") && !classes.has("InferenceModel"), [...classes].join());
    assert(classes.has("Rescaling") && classes.has("BatchNormalization"), [...classes].join());
    assertEquals(exported.modelJson.weightsManifest[0].paths, ["weights.bin"]);

    const copy = await loadExport(exported);
    assertEquals(copy.outputs[0].shape, [null, numClasses === 2 ? 1 : numClasses]);
    const diff = maxAbsDiff(predictions(model, x), predictions(copy, x));
    assert(diff <= 1e-5, `outputs differ by ${diff}`);
    // The original in training mode (augmentation on, dropout) would differ: the check is not vacuous.
    const trainingOut = tf.tidy(() => (model.apply(x, { training: true }) as Tensor).dataSync());
    assert(maxAbsDiff(trainingOut, predictions(copy, x)) > 1e-3, "training-mode outputs should differ");
    copy.dispose();
    model.dispose();
    x.dispose();
  });
}

Deno.test("export: MobileNetV2 alpha 0.35 with ImageNet weights, same outputs within 1e-5", async () => {
  if (!haveShared(SHARED_WEIGHTS_035, "export: MobileNetV2 alpha 0.35")) return;
  const base = await mobileNetV2({
    inputShape: [96, 96, 3],
    alpha: 0.35,
    includeTop: false,
    weights: SHARED_WEIGHTS_035,
  });
  const { model } = buildClassifier({ base, numClasses: 5, seed: 2 });
  const x = tf.randomUniform([2, 96, 96, 3], 0, 255, "float32", 3);
  const exported = await exportInferenceModel(model);
  const copy = await loadExport(exported);
  const layers = exported.modelJson.modelTopology.config.layers.length;
  assertEquals(
    layers,
    model.layers.length - 2 + base.layers.length - 1,
    "augmentation dropped, base inlined",
  );
  const diff = maxAbsDiff(predictions(model, x), predictions(copy, x));
  assert(diff <= 1e-5, `outputs differ by ${diff}`);
  tf.dispose([x]);
  copy.dispose();
  model.dispose();
});

Deno.test("inferenceTopology: leaves its input unchanged; refuses what it cannot inline faithfully", () => {
  const { model } = buildClassifier({ base: tinyBase([16, 16, 3], 1), seed: 1 });
  const json = model.toJSON(null, false) as unknown as TopologyJson;
  const copy = structuredClone(json);
  const out = inferenceTopology(json);
  assertEquals(json, copy);
  assertEquals(out.config.input_layers.map((r) => r[0]), [model.inputs[0].name.split("/")[0]]);
  assertEquals(out.config.output_layers.map((r) => r[0]), ["dense"]);

  // A Sequential holding a real layer is not data augmentation: dropping it would change the model.
  const withDense = structuredClone(json);
  const seq = withDense.config.layers.find((l) => l.class_name === "Sequential")!;
  seq.config.layers.push({ class_name: "Dense", config: { name: "extra", units: 3 } });
  assertThrows(() => inferenceTopology(withDense), Error, 'Sequential "sequential" holds Dense');

  // A nested model applied twice.
  const twice = structuredClone(json);
  const nested = twice.config.layers.find((l) => l.class_name === "InferenceModel")!;
  nested.inbound_nodes!.push(nested.inbound_nodes![0]);
  assertThrows(() => inferenceTopology(twice), Error, "is used 2 times");

  assertThrows(
    () => inferenceTopology({ class_name: "Dense", config: {} as any }),
    Error,
    "functional model",
  );
  model.dispose();
});
