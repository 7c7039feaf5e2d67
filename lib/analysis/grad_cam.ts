/**
 * Grad-CAM (Selvaraju et al. 2017, "Grad-CAM: Visual Explanations from Deep Networks via Gradient-based
 * Localization"): where in a photo the evidence for a class lies, from the gradient of the class's score
 * with respect to a convolutional layer's activation — by default MobileNetV2's `out_relu`, the base's last
 * activation (`[b, 5, 5, 1280]` for 160 × 160 inputs). {@link gradCam} computes the heatmaps,
 * {@link gradCamOverlay} paints one over its photo. The exact computation (for reproducing it elsewhere,
 * e.g. in the browser) is written down in `docs/interpretation.md`.
 *
 * The model is split at the layer: the part below runs forward once (the base's frozen graph when the layer
 * is the base's output), the part above runs eagerly in inference mode under `tf.grad` from the activation,
 * so that gradients never go through the base.
 *
 * @module
 */
import { tf } from "../runtime/mod.ts";
import type { LayersModel, SymbolicTensor, Tensor, Tensor2D, Tensor3D, Tensor4D } from "../runtime/mod.ts";
import { nodesInOrder, runFrom } from "../graph/mod.ts";
import type { GraphNode } from "../graph/mod.ts";
import type { TopLossTile } from "./plot.ts";

/** The layer {@link gradCam} explains by default: MobileNetV2's last activation (after `Conv_1_bn`). */
export const GRAD_CAM_LAYER = "out_relu";

/** Options of {@link gradCam}. */
export interface GradCamOptions {
  /**
   * The class to explain: one index for every image, or one per image. Default: each image's predicted
   * class (for a one-logit head, class 1 when the logit is > 0, else class 0).
   */
  classIndex?: number | number[];
  /** The convolutional layer (in the model or a model nested in it); default {@link GRAD_CAM_LAYER}. */
  layerName?: string;
}

/** What {@link gradCam} returns; the caller disposes the tensors (or calls `dispose`). */
export interface GradCamResult {
  /** `[b, h, w]` heatmaps at the layer's resolution, each scaled to [0, 1] (divided by its maximum). */
  heatmaps: Tensor3D;
  /** `[b, H, W]` the heatmaps resized to the input size (bilinear, half-pixel centres). */
  upsampled: Tensor3D;
  /** The class each heatmap explains. */
  classIndex: number[];
  /** The model's logits `[b, units]` (inference mode), as numbers. */
  logits: number[][];
  /** Frees `heatmaps` and `upsampled`. */
  dispose(): void;
}

/** The model split at a layer: `below` (input → activation) and `above` (activation → logits). */
interface Split {
  below: (x: Tensor) => Tensor;
  above: (a: Tensor) => Tensor;
}

/** The node that applies `layer` inside `model` (a layer applied more than once is ambiguous here). */
function nodeOf(model: LayersModel, layer: unknown): GraphNode {
  const nodes = nodesInOrder(model).filter((n) => n.outboundLayer === layer);
  if (nodes.length !== 1) {
    throw new Error(
      `gradCam: layer is applied ${nodes.length} times in model "${model.name}", expected once`,
    );
  }
  return nodes[0];
}

/** The chain of models from `model` down to the one whose own layer is `name`, or `null`. */
function pathTo(model: LayersModel, name: string): LayersModel[] | null {
  if (model.layers.some((l) => l.name === name)) return [model];
  for (const layer of model.layers) {
    if (!(layer instanceof tf.LayersModel)) continue;
    const inner = pathTo(layer, name);
    if (inner) return [model, ...inner];
  }
  return null;
}

/** A functional model from `model`'s input to `output`, sharing its layers (never dispose it). */
function upTo(model: LayersModel, output: SymbolicTensor): (x: Tensor) => Tensor {
  if (output.id === model.inputs[0].id) return (x) => x;
  if (output.id === model.outputs[0].id) return (x) => model.apply(x, { training: false }) as Tensor;
  const sub = tf.model({ inputs: model.inputs, outputs: output, name: `${model.name}_grad_cam_below` });
  return (x) => sub.apply(x, { training: false }) as Tensor;
}

/** Splits `model` at its (possibly nested) layer `name`. */
function splitAt(model: LayersModel, name: string): Split {
  const chain = pathTo(model, name);
  if (!chain) {
    const convs = model.layers.map((l) => l.name).slice(-5).join(", ");
    throw new Error(
      `gradCam: no layer "${name}" in model "${model.name}" or the models nested in it (its last layers: ` +
        `${convs}); give layerName of a convolutional layer or activation`,
    );
  }
  // Below: each model's layers up to the nested model's input, then into it; the last hop to the layer.
  const downs: ((x: Tensor) => Tensor)[] = [];
  const ups: { model: LayersModel; id: number }[] = [];
  for (let i = 0; i < chain.length; i++) {
    const inner = i + 1 < chain.length ? chain[i + 1] : chain[i].getLayer(name);
    const node = nodeOf(chain[i], inner);
    if (i + 1 < chain.length) downs.push(upTo(chain[i], node.inputTensors[0] as SymbolicTensor));
    else downs.push(upTo(chain[i], node.outputTensors[0] as SymbolicTensor));
    ups.unshift({ model: chain[i], id: node.outputTensors[0].id });
  }
  return {
    below: (x) => downs.reduce((t, f) => f(t), x),
    above: (a) => ups.reduce((t, u) => runFrom(u.model, new Map([[u.id, t]]), { training: false })[0], a),
  };
}

/** The classes to explain: `given` checked, or the predicted ones from `logits` `[b, units]`. */
function classesFor(logits: number[][], given: number | number[] | undefined): number[] {
  const units = logits[0]?.length ?? 0;
  const classes = Math.max(units, 2);
  if (given === undefined) {
    return logits.map((z) => units === 1 ? (z[0] > 0 ? 1 : 0) : z.indexOf(Math.max(...z)));
  }
  const list = typeof given === "number" ? logits.map(() => given) : given;
  if (list.length !== logits.length || list.some((c) => !(Number.isInteger(c) && c >= 0 && c < classes))) {
    throw new Error(
      `gradCam: classIndex must be an integer in [0, ${classes - 1}] or an array of one per image ` +
        `(${logits.length}), got ${JSON.stringify(given)}`,
    );
  }
  return list;
}

/** `[b, units]` weights so that Σ weights · logits is the sum of the explained classes' scores. */
function scoreWeights(classes: number[], units: number): Tensor2D {
  if (units === 1) return tf.tensor2d(classes.map((c) => [c === 1 ? 1 : -1]));
  return tf.oneHot(tf.tensor1d(classes, "int32"), units).toFloat() as Tensor2D;
}

function checkImages(model: LayersModel, images: Tensor): void {
  const want = model.inputs[0].shape.slice(1);
  const ok = images.rank === 4 && want.every((d, i) => d === null || d === images.shape[i + 1]);
  if (!ok || images.shape[0] === 0) {
    throw new Error(
      `gradCam: images must be a batch [b, ${want.join(", ")}] of the model's input (b ≥ 1), got ` +
        `[${images.shape}]`,
    );
  }
}

/**
 * Grad-CAM heatmaps of `images` (`[b, H, W, 3]`, the model's input: 0..255 for the tutorial's
 * classifier) for `model`: with `A` the layer's activation `[b, h, w, K]` and `y` the explained class's
 * score (its logit; for a one-logit head the logit for class 1, its negative for class 0),
 * `α_k = mean_{i,j} ∂y/∂A_ijk` and heatmap `= ReLU(Σ_k α_k A_k)`, divided by its maximum (all zeros when
 * it is 0). One batched computation, in inference mode (BatchNormalization on its moving statistics,
 * Dropout off).
 */
export function gradCam(model: LayersModel, images: Tensor4D, options: GradCamOptions = {}): GradCamResult {
  checkImages(model, images);
  const split = splitAt(model, options.layerName ?? GRAD_CAM_LAYER);
  const activation = tf.tidy(() => split.below(images));
  try {
    if (activation.rank !== 4) {
      throw new Error(
        `gradCam: layer "${options.layerName ?? GRAD_CAM_LAYER}" outputs shape [${activation.shape}]; ` +
          `Grad-CAM needs a convolutional feature map [b, h, w, channels]`,
      );
    }
    const logitsT = tf.tidy(() => split.above(activation));
    const logits = logitsT.arraySync() as number[][];
    const units = logitsT.shape[1]!;
    logitsT.dispose();
    const classIndex = classesFor(logits, options.classIndex);
    const [heatmaps, upsampled] = tf.tidy(() => {
      const weights = scoreWeights(classIndex, units);
      const score = (a: Tensor) => tf.sum(tf.mul(split.above(a), weights));
      const grads = tf.grad(score)(activation);
      const alpha = tf.mean(grads, [1, 2], true); // [b, 1, 1, K]
      const cam = tf.relu(tf.sum(tf.mul(activation, alpha), -1)) as Tensor3D;
      const max = tf.max(cam, [1, 2], true);
      const heat = tf.divNoNan(cam, max) as Tensor3D; // 0 where the maximum is 0: nothing for the class
      const size = [images.shape[1], images.shape[2]] as [number, number];
      const up = tf.image.resizeBilinear(tf.expandDims(heat, -1) as Tensor4D, size, false, true);
      return [heat, tf.squeeze(tf.clipByValue(up, 0, 1), [3]) as Tensor3D];
    });
    return { heatmaps, upsampled, classIndex, logits, dispose: () => tf.dispose([heatmaps, upsampled]) };
  } finally {
    activation.dispose();
  }
}

/**
 * The "jet" colour map of `heat` (`[H, W]` or `[H, W, 1]`, 0..1) → `[H, W, 3]` 0..1: blue for 0, through
 * cyan, yellow, to red for 1 (each channel `clip(1.5 − |4h − c|, 0, 1)`, c = 3, 2, 1 for R, G, B).
 */
export function jetColours(heat: Tensor): Tensor3D {
  return tf.tidy(() => {
    const h = heat.rank === 3 ? tf.squeeze(heat, [2]) : heat;
    const channel = (c: number) => tf.clipByValue(tf.sub(1.5, tf.abs(tf.sub(tf.mul(h, 4), c))), 0, 1);
    return tf.stack([channel(3), channel(2), channel(1)], -1) as Tensor3D;
  });
}

/** Options of {@link gradCamOverlay}. */
export interface OverlayOptions {
  /** How much of the colour map shows over the photo, 0..1 (default 0.45). */
  opacity?: number;
}

/**
 * `heat` (`[H, W]`, 0..1: a row of {@link GradCamResult.upsampled}) painted over `image` (`[H, W, 3]`,
 * 0..255) in {@link jetColours}: `(1 − opacity) · image + opacity · 255 · colour`, as int32 0..255 RGB
 * (ready for `tf.node.encodePng`, see {@link gradCamPng}).
 */
export function gradCamOverlay(image: Tensor3D, heat: Tensor, options: OverlayOptions = {}): Tensor3D {
  const opacity = options.opacity ?? 0.45;
  const [h, w] = image.shape;
  if (image.rank !== 3 || heat.shape[0] !== h || heat.shape[1] !== w) {
    throw new Error(
      `gradCamOverlay: expected an image [H, W, 3] and a heatmap [H, W] of the same size, got ` +
        `[${image.shape}] and [${heat.shape}] (use gradCam's upsampled heatmaps)`,
    );
  }
  return tf.tidy(() => {
    const colour = tf.mul(jetColours(heat), 255 * opacity);
    const photo = tf.mul(tf.clipByValue(image.toFloat(), 0, 255), 1 - opacity);
    return tf.round(tf.add(photo, colour)).clipByValue(0, 255).toInt() as Tensor3D;
  });
}

/** {@link gradCamOverlay} as PNG bytes. */
export async function gradCamPng(
  image: Tensor3D,
  heat: Tensor,
  options: OverlayOptions = {},
): Promise<Uint8Array> {
  const overlay = gradCamOverlay(image, heat, options);
  try {
    return await tf.node.encodePng(overlay);
  } finally {
    overlay.dispose();
  }
}

/** One row of a batch of heatmaps, e.g. `heatAt(result.upsampled, i)` → `[H, W]`. */
export function heatAt(heat: Tensor3D, i: number): Tensor {
  return tf.tidy(() => tf.squeeze(tf.slice(heat, [i, 0, 0], [1, -1, -1]), [0]));
}

/**
 * `tiles` (e.g. `interpret`'s top losses) with each image replaced by its Grad-CAM overlay for the class
 * the model predicted (for an error: what made it take the image for that class), in batches of
 * `batchSize` (default 32). The new images are the caller's to dispose; `tiles` are left as they are.
 */
export function gradCamTiles(
  model: LayersModel,
  tiles: readonly TopLossTile[],
  batchSize = 32,
): TopLossTile[] {
  const out: TopLossTile[] = [];
  try {
    for (let start = 0; start < tiles.length; start += batchSize) {
      const chunk = tiles.slice(start, start + batchSize);
      const batch = tf.stack(chunk.map((t) => t.image)) as Tensor4D;
      let cam: GradCamResult;
      try {
        cam = gradCam(model, batch, { classIndex: chunk.map((t) => t.predicted) });
      } finally {
        batch.dispose();
      }
      try {
        chunk.forEach((t, i) => {
          const heat = heatAt(cam.upsampled, i);
          out.push({ ...t, image: gradCamOverlay(t.image, heat) });
          heat.dispose();
        });
      } finally {
        cam.dispose();
      }
    }
  } catch (e) {
    tf.dispose(out.map((t) => t.image));
    throw e;
  }
  return out;
}
