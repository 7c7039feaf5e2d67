import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { type Config, loadConfig, PROJECT_ROOT } from "../../lib/runtime/config.ts";
import { type KerasH5Weights, readKerasH5Weights, saveKerasH5Weights } from "../../lib/io/keras_h5.ts";
import {
  alphaOfWeights,
  correctPad,
  IMAGENET_ALPHAS,
  imagenetWeightsFileName,
  imagenetWeightsSource,
  imagenetWeightsUrl,
  makeDivisible,
  mobileNetV2,
  preprocessInput,
} from "../../lib/model/mobilenet_v2.ts";
import { type LayersModel, type Tensor, tf } from "../../lib/runtime/tf.ts";
import { assert, assertEquals, assertRejects } from "../_assert.ts";
import { haveShared, SHARED_WEIGHTS_035 } from "../_shared.ts";
import { withTempDir } from "../_temp.ts";

/** Made by Keras 3 with tools/keras/make_mobilenet_fixture.py. */
interface Fixture {
  keras_version: string;
  architectures: {
    alpha: number;
    size: number;
    include_top: boolean;
    name: string;
    output_shape: (number | null)[];
    params: number;
    trainable_params: number;
    non_trainable_params: number;
    layers: [string, string, number][];
  }[];
  features: {
    size: number;
    images: number;
    pooled: number[][];
    out_relu_corner: number[][];
    intermediate: {
      layer: string;
      shape: number[];
      channel_means: number[][];
      position: [number, number];
      values: number[][];
    };
  };
}
const fixture: Fixture = JSON.parse(
  fs.readFileSync(path.join(PROJECT_ROOT, "tests", "fixtures", "mobilenet_v2_keras.json"), "utf8"),
);

/** Keras 3 auto-names the input `input_layer_N` and the pooling `global_average_pooling2d_N`; TF2 Keras and we don't number them. */
function tf2Name(kerasName: string): string {
  if (/^input_layer(_\d+)?$/.test(kerasName)) return "input_1";
  return kerasName.replace(/^(global_average_pooling2d)_\d+$/, "$1");
}

/** Image k of tools/keras/make_mobilenet_fixture.py (`image`), as [size, size, 3] uint8 values. */
function fixtureImage(k: number, size: number): Float32Array {
  const out = new Float32Array(size * size * 3);
  for (let i = 0; i < size; i++) {
    for (let j = 0; j < size; j++) {
      for (let c = 0; c < 3; c++) {
        out[(i * size + j) * 3 + c] = (i * i * (k + 1) + 3 * j * (c + 1) + i * j * (k + 2) + 37 * c * k) %
          256;
      }
    }
  }
  return out;
}

function maxAbsDiff(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  assertEquals(actual.length, expected.length, "lengths");
  let max = 0;
  for (let i = 0; i < actual.length; i++) max = Math.max(max, Math.abs(actual[i] - expected[i]));
  return max;
}

const noConfig: Config = { ...loadConfig({ get: () => undefined }) };

Deno.test("makeDivisible and correctPad follow Keras", () => {
  assertEquals(makeDivisible(32 * 0.35, 8), 16); // rounds to 8, < 90 % of 11.2 → 16
  assertEquals(makeDivisible(32, 8), 32);
  assertEquals(makeDivisible(1280 * 1.3, 8), 1664);
  assertEquals(makeDivisible(Math.trunc(24 * 0.35), 8), 8);
  assertEquals(correctPad([160, 160], 3), [[0, 1], [0, 1]]);
  assertEquals(correctPad([161, 80], 3), [[1, 1], [0, 1]]);
  assertEquals(correctPad([null, null], 3), [[0, 1], [0, 1]]);
});

Deno.test("Keras' ImageNet weight file names and URLs; TL_WEIGHTS_URL overrides the base's", () => {
  const names = [0.35, 0.5, 0.75, 1.0, 1.3, 1.4].map((a) => imagenetWeightsFileName(a, 160));
  assertEquals(names.map((n) => n.match(/kernels_(.*)_160_no_top\.h5$/)?.[1]), [
    "0.35",
    "0.5",
    "0.75",
    "1.0",
    "1.3",
    "1.4",
  ]);
  assertEquals(
    imagenetWeightsUrl(1.0, 160),
    "https://storage.googleapis.com/tensorflow/keras-applications/mobilenet_v2/mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_160_no_top.h5",
  );
  assertEquals(
    imagenetWeightsFileName(1.0, 224, true),
    "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_224.h5",
  );
  assertEquals(imagenetWeightsSource(1.0, 160, false, noConfig), {
    fname: imagenetWeightsFileName(1.0, 160),
    origin: imagenetWeightsUrl(1.0, 160),
  });
  const overridden = loadConfig({
    get: (k) => (k === "TL_WEIGHTS_URL" ? "file:///x/y/my%20weights.h5" : undefined),
  });
  assertEquals(imagenetWeightsSource(1.0, 160, false, overridden), {
    fname: "my weights.h5",
    origin: "file:///x/y/my%20weights.h5",
  });
  assertEquals(imagenetWeightsSource(1.0, 224, true, overridden).origin, imagenetWeightsUrl(1.0, 224, true));
  // An explicit weightsUrl is the same override, without a settings object.
  assertEquals(
    imagenetWeightsSource(1.0, 160, false, { weightsUrl: "file:///x/y/my%20weights.h5" }),
    imagenetWeightsSource(1.0, 160, false, overridden),
  );
});

Deno.test("the library reads no settings: TL_WEIGHTS_URL in the environment changes nothing unless passed", async () => {
  const saved = Deno.env.get("TL_WEIGHTS_URL");
  Deno.env.set("TL_WEIGHTS_URL", "/nowhere/not_the_weights.h5");
  try {
    assertEquals(imagenetWeightsSource(1.0, 160), {
      fname: imagenetWeightsFileName(1.0, 160),
      origin: imagenetWeightsUrl(1.0, 160),
    });
    if (!haveShared(SHARED_WEIGHTS_035, "mobileNetV2 without settings")) return;
    await withTempDir("mobilenet_v2_test-", async (cacheDir) => {
      // Keras' file name: the alpha follows it; the environment's origin would not exist.
      const weightsUrl = path.join(cacheDir, imagenetWeightsFileName(0.35, 96));
      fs.copyFileSync(SHARED_WEIGHTS_035, weightsUrl);
      const model = await mobileNetV2({ inputShape: [96, 96, 3], includeTop: false, weightsUrl, cacheDir });
      assertEquals(model.name, "mobilenetv2_0.35_96");
      model.dispose();
    });
  } finally {
    if (saved === undefined) Deno.env.delete("TL_WEIGHTS_URL");
    else Deno.env.set("TL_WEIGHTS_URL", saved);
  }
});

Deno.test("mobileNetV2: layer names, order, classes, parameter counts and name equal Keras' (weights: null)", async () => {
  const before = tf.memory().numTensors;
  for (const arch of fixture.architectures) {
    const label = `alpha ${arch.alpha}, ${arch.size}, includeTop ${arch.include_top}`;
    const model = await mobileNetV2({
      alpha: arch.alpha,
      inputShape: [arch.size, arch.size, 3],
      includeTop: arch.include_top,
      weights: null,
    });
    assertEquals(model.name, arch.name, label);
    assertEquals(
      model.layers.map((l) => [l.name, l.getClassName(), l.countParams()]),
      arch.layers.map(([name, cls, params]) => [tf2Name(name), cls, params]),
      label,
    );
    assertEquals(model.countParams(), arch.params, label);
    const count = (ws: LayersModel["weights"]) =>
      ws.reduce((n, w) => n + w.shape.reduce((a: number, b) => a * b!, 1), 0);
    assertEquals(count(model.trainableWeights), arch.trainable_params, label);
    assertEquals(count(model.nonTrainableWeights), arch.non_trainable_params, label);
    assertEquals(model.outputs[0].shape, arch.output_shape, label);
    model.dispose();
  }
  assertEquals(tf.memory().numTensors, before, "no tensor leaks after building and disposing");
  // The numbers, through the fixture:
  const params = (a: number, s: number, top: boolean) =>
    fixture.architectures.find((x) => x.alpha === a && x.size === s && x.include_top === top)!;
  assertEquals(params(1.0, 160, false).params, 2_257_984);
  assertEquals(params(1.0, 160, false).layers.length, 154);
  assertEquals(params(0.35, 160, false).params, 410_208);
  assertEquals(params(1.0, 224, true).params, 3_538_984);
});

Deno.test("mobileNetV2: BatchNorm momentum 0.999 / epsilon 1e-3, ReLU6, padded valid stride-2 depthwise", async () => {
  const model = await mobileNetV2({
    alpha: 0.35,
    inputShape: [96, 96, 3],
    includeTop: false,
    weights: null,
    pooling: "avg",
  });
  const config = (name: string) => model.getLayer(name).getConfig();
  assertEquals([config("bn_Conv1").momentum, config("bn_Conv1").epsilon], [0.999, 1e-3]);
  assertEquals(config("block_16_project_BN").momentum, 0.999);
  assertEquals(config("out_relu").maxValue, 6);
  assertEquals(config("block_6_pad").padding, [[0, 1], [0, 1]]);
  assertEquals([config("block_6_depthwise").padding, config("block_6_depthwise").strides], ["valid", [2, 2]]);
  assertEquals(config("block_7_depthwise").padding, "same");
  assertEquals(model.outputs[0].shape, [null, 1280]);
  model.dispose();
});

Deno.test("mobileNetV2: bad options are errors naming the option", async () => {
  const before = tf.memory().numTensors;
  await assertRejects(
    () => mobileNetV2({ alpha: 0.6, includeTop: false }),
    Error,
    "alpha 0.35, 0.5, 0.75, 1, 1.3, 1.4 only; got 0.6",
  );
  await assertRejects(() => mobileNetV2({ classes: 10 }), Error, "classes must be 1000");
  await assertRejects(
    () => mobileNetV2({ classifierActivation: "relu" }),
    Error,
    'classifierActivation must be "softmax" or null',
  );
  await assertRejects(
    () => mobileNetV2({ inputShape: [200, 200, 3] }),
    Error,
    'includeTop and weights "imagenet", inputShape',
  );
  await assertRejects(() => mobileNetV2({ inputShape: [16, 16, 3], weights: null }), Error, "must be ≥ 32");
  await assertRejects(
    () => mobileNetV2({ weights: "/nonexistent/w.h5" }),
    Error,
    "/nonexistent/w.h5 does not exist",
  );
  await assertRejects(
    () => mobileNetV2({ pooling: "sum" as "avg", includeTop: false, weights: null }),
    Error,
    "pooling",
  );
  assertEquals(tf.memory().numTensors, before);
});

Deno.test("preprocessInput maps [0, 255] to [-1, 1] as Keras' mobilenet_v2.preprocess_input", () => {
  const before = tf.memory().numTensors;
  const x = tf.tensor([0, 127.5, 255, 51], [4], "float32");
  const y = preprocessInput(x);
  assertEquals(y.dtype, "float32");
  assertEquals(Array.from(y.dataSync()), [-1, 0, 1, 51 / 127.5 - 1].map(Math.fround));
  const pixels = tf.tensor([255], [1], "int32");
  const ints = preprocessInput(pixels);
  assertEquals([ints.dtype, ints.dataSync()[0]], ["float32", 1]);
  tf.dispose([x, y, pixels, ints]);
  assertEquals(tf.memory().numTensors, before);
});

Deno.test("mobileNetV2 with the ImageNet alpha 0.35 weights gives Keras' features (max abs diff ≤ 1e-4)", async () => {
  if (!haveShared(SHARED_WEIGHTS_035, "mobilenet_v2 fidelity")) return;
  const before = tf.memory().numTensors;
  const { size, images, intermediate } = fixture.features;
  const model = await mobileNetV2({
    alpha: 0.35,
    inputShape: [size, size, 3],
    includeTop: false,
    weights: pathToFileURL(SHARED_WEIGHTS_035).href,
  });
  const probe = tf.model({
    inputs: model.inputs,
    outputs: [model.outputs[0], model.getLayer(intermediate.layer).output as never],
  });
  const [out, mid] = tf.tidy(() => {
    const batch = tf.stack(
      Array.from({ length: images }, (_, k) => tf.tensor3d(fixtureImage(k, size), [size, size, 3])),
    );
    return probe.predict(preprocessInput(batch)) as Tensor[];
  });
  assertEquals(mid.shape.slice(1), intermediate.shape);
  const diffs: Record<string, number> = {};
  const track = (key: string, d: number) => (diffs[key] = Math.max(diffs[key] ?? 0, d));
  tf.tidy(() => {
    const pooled = out.mean([1, 2]).arraySync() as number[][];
    const corner = out.slice([0, 0, 0, 0], [images, 1, 1, -1]).reshape([images, -1])
      .arraySync() as number[][];
    const means = mid.mean([1, 2]).arraySync() as number[][];
    const [r, c] = intermediate.position;
    const values = mid.slice([0, r, c, 0], [images, 1, 1, -1]).reshape([images, -1])
      .arraySync() as number[][];
    for (let k = 0; k < images; k++) {
      track("pooled", maxAbsDiff(pooled[k], fixture.features.pooled[k]));
      track("out_relu corner", maxAbsDiff(corner[k], fixture.features.out_relu_corner[k]));
      track(`${intermediate.layer} channel means`, maxAbsDiff(means[k], intermediate.channel_means[k]));
      track(`${intermediate.layer} values`, maxAbsDiff(values[k], intermediate.values[k]));
    }
    // The features are not trivially close: they vary between images and channels.
    assert(maxAbsDiff(pooled[0], pooled[1]) > 0.1, "features differ between images");
  });
  console.log("max abs diff vs Keras:", JSON.stringify(diffs));
  for (const [key, d] of Object.entries(diffs)) assert(d <= 1e-4, `${key}: max abs diff ${d} > 1e-4`);
  tf.dispose([out, mid]);
  model.dispose();
  assertEquals(tf.memory().numTensors, before, "no tensor leaks after loading, inference and disposing");
});

Deno.test('mobileNetV2 weights: "imagenet" fetches weightsUrl into <cacheDir>/models; a wrong file names the layer', async () => {
  if (!haveShared(SHARED_WEIGHTS_035, "mobilenet_v2 imagenet weights via getFile")) return;
  const cacheDir = fs.mkdtempSync(path.join(os.tmpdir(), "mobilenet_v2_test-"));
  try {
    const config = loadConfig({ get: (k) => (k === "TL_WEIGHTS_URL" ? SHARED_WEIGHTS_035 : undefined) });
    const before = tf.memory().numTensors;
    // Non-standard size: Keras loads the 224 weights and names the model after them.
    const model = await mobileNetV2({
      alpha: 0.35,
      inputShape: [200, 200, 3],
      includeTop: false,
      weightsUrl: SHARED_WEIGHTS_035,
      cacheDir,
    });
    assertEquals(model.name, "mobilenetv2_0.35_224");
    assert(
      fs.existsSync(path.join(cacheDir, "models", path.basename(SHARED_WEIGHTS_035))),
      "cached under models/",
    );
    const stored = (await readKerasH5Weights(SHARED_WEIGHTS_035)).layers.get("block_16_project_BN")!;
    const loaded = model.getLayer("block_16_project_BN").weights;
    for (const [i, w] of loaded.entries()) {
      assertEquals(w.read().dataSync(), stored[i].values, stored[i].name);
    }
    model.dispose();

    // The deprecated `config` option still supplies weightsUrl, mirror and cacheDir.
    await assertRejects(
      () => mobileNetV2({ alpha: 0.5, inputShape: [160, 160, 3], includeTop: false, config, cacheDir }),
      Error,
      /layer "block_1_project" weight "kernel": model shape \[1, 1, 48, 16\], file shape \[1, 1, 48, 8\]/,
    );
    assertEquals(tf.memory().numTensors, before, "a failed load disposes the model");
  } finally {
    fs.rmSync(cacheDir, { recursive: true });
  }
});

/** The weights file's contents as `readKerasH5Weights` gives them, for `model`'s shapes (values left empty). */
function shapesOf(model: LayersModel): KerasH5Weights {
  return {
    file: "shapes.h5",
    layerNames: model.layers.map((l) => l.name),
    layers: new Map(model.layers.map((l) => [
      l.name,
      l.weights.map((w) => ({
        name: `${l.name}/${w.originalName.split("/").at(-1)}:0`,
        shape: w.shape as number[],
        values: new Float32Array(0),
      })),
    ])),
  };
}

Deno.test("alphaOfWeights reads each Keras alpha from the kernels' shapes (0.35 and 0.5 share Conv1's)", async () => {
  const before = tf.memory().numTensors;
  for (const alpha of IMAGENET_ALPHAS) {
    const model = await mobileNetV2({ alpha, inputShape: [32, 32, 3], includeTop: false, weights: null });
    assertEquals(alphaOfWeights(shapesOf(model)), alpha);
    model.dispose();
  }
  const other = await mobileNetV2({ alpha: 0.6, inputShape: [32, 32, 3], includeTop: false, weights: null });
  assertEquals(alphaOfWeights(shapesOf(other)), undefined, "not one of Keras' alphas");
  other.dispose();
  assertEquals(tf.memory().numTensors, before);
});

Deno.test("mobileNetV2: weights of another alpha name both alphas and the option to pass; unset, the file's alpha is taken", async () => {
  await withTempDir("mobilenet_v2_test-", async (tmp) => {
    const before = tf.memory().numTensors;
    // Not named as Keras names its files: the alpha is read from the shapes.
    const file = path.join(tmp, "my weights.h5");
    const half = await mobileNetV2({ alpha: 0.5, inputShape: [96, 96, 3], includeTop: false, weights: null });
    await saveKerasH5Weights(half, file);
    half.dispose();
    await assertRejects(
      () => mobileNetV2({ alpha: 0.35, inputShape: [96, 96, 3], includeTop: false, weights: file }),
      Error,
      `${file}: layer "block_1_project" weight "kernel": model shape [1, 1, 48, 8], file shape [1, 1, 48, 16]: ` +
        `the file holds MobileNetV2 weights for alpha 0.5, the model has alpha 0.35. Build it with alpha 0.5 ` +
        `(TL_ALPHA=0.5, --alpha 0.5 or { alpha: 0.5 }), or use weights made for alpha 0.35`,
    );
    const follows = await mobileNetV2({ inputShape: [96, 96, 3], includeTop: false, weights: file });
    assertEquals(follows.name, "mobilenetv2_0.50_96");
    follows.dispose();
    // The case: ../shared's alpha 0.35 ImageNet weights into the tutorial's alpha 1.0.
    if (haveShared(SHARED_WEIGHTS_035, "the alpha mismatch message for the ImageNet 0.35 file")) {
      await assertRejects(
        () =>
          mobileNetV2({
            alpha: 1.0,
            inputShape: [160, 160, 3],
            includeTop: false,
            weights: SHARED_WEIGHTS_035,
          }),
        Error,
        'layer "Conv1" weight "kernel": model shape [3, 3, 3, 32], file shape [3, 3, 3, 16]: the file holds ' +
          "MobileNetV2 weights for alpha 0.35, the model has alpha 1.0. Build it with alpha 0.35 " +
          "(TL_ALPHA=0.35, --alpha 0.35 or { alpha: 0.35 }), or use weights made for alpha 1.0",
      );
    }
    assertEquals(tf.memory().numTensors, before, "no tensor leaks, the failed models disposed");
  });
});
