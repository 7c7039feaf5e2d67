/**
 * The tutorial's full training in TypeScript, for comparison with Python Keras (`tools/keras/keras_tutorial.py`):
 * MobileNetV2 (TL_ALPHA, default here 0.35 with ../shared weights) frozen for TL_EPOCHS epochs with
 * Adam(1e-4), then fine-tuned from layer 100 with RMSprop(1e-5) for as many more; batch 32, 160×160,
 * the tutorial's validation/test split. Writes `out/train_reference_<alpha>.json` (both histories, the
 * joined curves, initial and test `[loss, accuracy]`, seconds per epoch).
 *
 *     nice -n 5 deno run -A tools/keras/train_reference.ts [--epochs 10] [--alpha 0.35] [--seed 42]
 *
 * @module
 */
import fs from "node:fs";
import path from "node:path";
import { parseArgs } from "node:util";
import { loadConfig, PROJECT_ROOT, tf } from "../../lib/runtime/mod.ts";
import { getFile } from "../../lib/io/mod.ts";
import { imageDatasetFromDirectory, splitValidationTest } from "../../lib/data/mod.ts";
import {
  buildClassifier,
  compileForFineTuning,
  compileForTransferLearning,
  countTrainableVariables,
  mobileNetV2,
  unfreezeForFineTuning,
} from "../../lib/model/mod.ts";
import { concatHistories, evaluate, fit } from "../../lib/train/mod.ts";

const SHARED = path.resolve(PROJECT_ROOT, "..", "shared");
const { values } = parseArgs({
  args: Deno.args,
  options: { epochs: { type: "string" }, alpha: { type: "string" }, seed: { type: "string" } },
});
const config = loadConfig();
const epochs = Number(values.epochs ?? Deno.env.get("TL_EPOCHS") ?? 10);
const alpha = Number(values.alpha ?? Deno.env.get("TL_ALPHA") ?? 0.35);
const seed = Number(values.seed ?? 42);
const sharedZip = path.join(SHARED, "data", "cats_and_dogs_filtered.zip");
const dataUrl = Deno.env.get("TL_DATA_URL") ?? (fs.existsSync(sharedZip) ? sharedZip : config.dataUrl);
const sharedWeights = path.join(
  SHARED,
  "weights",
  `mobilenet_v2_weights_tf_dim_ordering_tf_kernels_${alpha === 1 ? "1.0" : alpha}_224_no_top.h5`,
);
const weights = Deno.env.get("TL_WEIGHTS_URL") ?? (fs.existsSync(sharedWeights) ? sharedWeights : "imagenet");

const extracted = await getFile("cats_and_dogs_filtered.zip", dataUrl, { extract: true, progress: false });
const root = fs.existsSync(path.join(extracted, "train"))
  ? extracted
  : path.join(extracted, "cats_and_dogs_filtered");
const options = { batchSize: 32, imageSize: [160, 160] as [number, number], shuffle: true, seed };
const train = await imageDatasetFromDirectory(path.join(root, "train"), options);
const { validation, test } = splitValidationTest(
  await imageDatasetFromDirectory(path.join(root, "validation"), options),
);

const rawBase = await mobileNetV2({ inputShape: [160, 160, 3], alpha, includeTop: false, weights });
const { model, base } = buildClassifier({ base: rawBase });
compileForTransferLearning(model);
console.log(`alpha ${alpha}, weights ${weights}, ${countTrainableVariables(model)} trainable variables`);
const initial = await evaluate(model, validation);
console.log(`initial loss: ${initial[0].toFixed(2)}, initial accuracy: ${initial[1].toFixed(2)}`);

const seconds: number[] = [];
let t0 = 0;
const timer = {
  onEpochBegin: () => void (t0 = performance.now()),
  onEpochEnd: () => void seconds.push((performance.now() - t0) / 1e3),
};
const frozen = await fit(model, train, { epochs, validationData: validation, callbacks: [timer] });

unfreezeForFineTuning(base);
compileForFineTuning(model);
console.log(`fine-tuning: ${countTrainableVariables(model)} trainable variables`);
const fine = await fit(model, train, {
  epochs: 2 * epochs,
  initialEpoch: frozen.epoch.at(-1)! + 1,
  validationData: validation,
  callbacks: [timer],
});
const testResult = await evaluate(model, test);
console.log(`test accuracy: ${testResult[1].toFixed(4)}`);

const out = path.join(PROJECT_ROOT, "out", `train_reference_${alpha}.json`);
fs.mkdirSync(path.dirname(out), { recursive: true });
const result = {
  alpha,
  epochs,
  seed,
  tensorflow: tf.version,
  initial,
  frozen,
  fine,
  curves: concatHistories(frozen, fine).history,
  test: testResult,
  secondsPerEpoch: seconds,
};
fs.writeFileSync(`${out}.tmp`, JSON.stringify(result, null, 1));
fs.renameSync(`${out}.tmp`, out);
console.log(`wrote ${out}`);
