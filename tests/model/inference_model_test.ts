import { assert, assertEquals } from "../_assert.ts";
import { tf } from "../../lib/runtime/tf.ts";
import type { Tensor } from "../../lib/runtime/tf.ts";
import { inferenceMode, InferenceModel } from "../../lib/model/inference_model.ts";
import * as classifier from "../../lib/model/classifier.ts";
import { maxAbsDiff, tinyBase } from "../../lib/testing/tiny.ts";

Deno.test("InferenceModel runs BatchNormalization on moving statistics even when called with training: true", () => {
  const raw = tinyBase();
  const x = tf.randomUniform([4, 16, 16, 3], -1, 1, "float32", 3);
  const plain = (t: boolean) => raw.apply(x, { training: t }) as Tensor;
  const wrapped = inferenceMode(raw);
  assert(wrapped instanceof InferenceModel && wrapped.name === raw.name);
  assertEquals(wrapped.layers.length, raw.layers.length);
  assert(wrapped.layers.every((l, i) => l === raw.layers[i]), "the wrapper shares the base's layers");
  const inference = plain(false);
  const pinned = wrapped.apply(x, { training: true }) as Tensor;
  const training = plain(true);
  assert(maxAbsDiff(inference.dataSync(), training.dataSync()) > 1e-2, "control: training mode differs");
  assertEquals(maxAbsDiff(inference.dataSync(), pinned.dataSync()), 0);
  tf.dispose([x, inference, training, pinned]);
  raw.dispose();
});

Deno.test("InferenceModel keeps its registered name (saved models load) and classifier.ts re-exports it", () => {
  assertEquals(InferenceModel.className, "InferenceModel");
  assert(classifier.InferenceModel === InferenceModel && classifier.inferenceMode === inferenceMode);
  const registered = tf.serialization.SerializationMap.getMap().classNameMap["InferenceModel"];
  assert(registered?.[0] === InferenceModel, "registered for tf.loadLayersModel");
  const base = inferenceMode(tinyBase());
  assertEquals(base.getClassName(), "InferenceModel");
  base.dispose();
});
