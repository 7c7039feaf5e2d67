/**
 * How far from the machine's limit a training step runs: the model's floating-point operations per
 * image (counted from its layers' shapes) and the native backend's own sustained rate on large dense
 * work (a matmul and a convolution), measured in the same process so that load and clock are shared.
 *
 * Counted: convolutions, depthwise convolutions and dense layers (multiply + add = 2 FLOPs), which are
 * all but a few percent of MobileNetV2's work; elementwise ops (BatchNormalization, ReLU6, Add) are not.
 * A training step does the forward pass of every layer and, for the layers gradients pass through,
 * twice the forward work again (the gradient for the input and for the weights).
 *
 * @module
 */
import { tf } from "../lib/runtime/mod.ts";
import type { LayersModel, Tensor, Tensor4D } from "../lib/runtime/mod.ts";
import { InferenceModel } from "../lib/model/mod.ts";
import { round, stats } from "./workload.ts";

type Layer = LayersModel["layers"][number];

/** Forward FLOPs per image of one layer (convolutions and dense; 0 for the rest). */
function layerFlops(layer: Layer): number {
  const cls = layer.getClassName();
  const out = layer.outputShape as number[];
  const ws = layer.getWeights();
  if (cls === "Conv2D") {
    const [kh, kw, cin, cout] = ws[0].shape;
    return 2 * out[1] * out[2] * cout * kh * kw * cin;
  }
  if (cls === "DepthwiseConv2D") {
    const [kh, kw, cin, mult] = ws[0].shape;
    return 2 * out[1] * out[2] * cin * mult * kh * kw;
  }
  if (cls === "Dense") {
    const [inUnits, units] = ws[0].shape;
    return 2 * inUnits * units;
  }
  return 0;
}

/** Layers in order with nested bases expanded. */
function allLayers(model: LayersModel): Layer[] {
  return model.layers.flatMap((l) => l instanceof InferenceModel ? allLayers(l) : [l]);
}

/**
 * FLOPs per image of one training step of `model` with its current trainable flags: forward of every
 * layer, plus 2× forward for the layers from the first one with trainable weights on (gradients flow
 * through them), in GFLOP.
 */
export function trainingGflopsPerImage(
  model: LayersModel,
): { forward: number; backward: number; total: number } {
  const layers = allLayers(model);
  const firstTrainable = layers.findIndex((l) => l.trainable && l.trainableWeights.length > 0);
  let forward = 0, backward = 0;
  layers.forEach((l, i) => {
    const f = layerFlops(l);
    forward += f;
    if (firstTrainable >= 0 && i >= firstTrainable) backward += 2 * f;
  });
  return { forward: forward / 1e9, backward: backward / 1e9, total: (forward + backward) / 1e9 };
}

/** Median seconds of `f` (its tensors read back to force completion, then disposed). */
function timeIt(f: () => Tensor, repeats: number): number {
  const run = () => {
    const t = performance.now();
    const y = f();
    y.dataSync();
    y.dispose();
    return (performance.now() - t) / 1e3;
  };
  run();
  return stats(Array.from({ length: repeats }, run)).median;
}

/**
 * The native backend's sustained GFLOP/s on a 2048² matmul and on a 3×3 convolution of a
 * 32×40×40×128 batch to 128 channels (the size of MobileNetV2's larger layers): the ceiling a model on
 * this machine can approach.
 */
export function machineCeiling(
  repeats = 5,
): { matmul_gflops: number; conv_gflops: number; ceiling_gflops: number } {
  const n = 2048;
  const a = tf.randomUniform([n, n]), b = tf.randomUniform([n, n]);
  const matmul = 2 * n ** 3 / 1e9 / timeIt(() => tf.matMul(a, b), repeats);
  const x = tf.randomUniform([32, 40, 40, 128]), k = tf.randomUniform([3, 3, 128, 128]);
  const convFlops = 2 * 32 * 40 * 40 * 128 * 128 * 9;
  const conv = convFlops / 1e9 / timeIt(() => tf.conv2d(x as Tensor4D, k as Tensor4D, 1, "same"), repeats);
  tf.dispose([a, b, x, k]);
  return {
    matmul_gflops: round(matmul, 1),
    conv_gflops: round(conv, 1),
    ceiling_gflops: round(Math.max(matmul, conv), 1),
  };
}
