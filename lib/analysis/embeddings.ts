/**
 * What a classifier "sees" in each image: the pooled base features (the output of the classifier's
 * `global_average_pooling2d` layer, the vector the Dense head reads), L2-normalised so that the dot product
 * of two rows is their cosine similarity. The class probabilities come from the same forward pass, so a
 * dataset is read once and each batch runs the network once.
 *
 * @module
 */
import { tf } from "../runtime/mod.ts";
import type { LayersModel, SymbolicTensor, Tensor } from "../runtime/mod.ts";
import { classProbabilities, numClassesOf } from "../model/mod.ts";
import { checkImages, emptyDataset } from "../train/mod.ts";
import type { BatchDataset } from "../train/mod.ts";

/** Name of the layer whose output is the embedding (Keras' name in the tutorial's model). */
export const EMBEDDING_LAYER = "global_average_pooling2d";

/** The embeddings and predictions of a labelled dataset, in the dataset's order. */
export interface Embeddings {
  /** Images embedded. */
  count: number;
  /** Length of one embedding (1280 for MobileNetV2). */
  dim: number;
  /** `count × dim` L2-normalised features, row-major. */
  features: Float32Array;
  /** Classes the model tells apart. */
  numClasses: number;
  /** `count × numClasses` class probabilities, row-major. */
  probabilities: Float32Array;
  /** The dataset's label of each image (`-1` for a dataset without labels). */
  labels: Int32Array;
}

/**
 * A model sharing `model`'s layers with two outputs: the pooled features and the logits. It owns no
 * weights of its own, so it is never disposed (disposing it would free `model`'s weights).
 */
export function embeddingModel(model: LayersModel): LayersModel {
  const pooling = model.layers.find((l) => l.name === EMBEDDING_LAYER);
  if (!pooling) {
    throw new Error(
      `embeddings: model "${model.name}" has no "${EMBEDDING_LAYER}" layer (expected a classifier built by ` +
        "buildClassifier or saved by `deno task train`)",
    );
  }
  const outputs = [pooling.output as SymbolicTensor, model.outputs[0]];
  return tf.model({ inputs: model.inputs, outputs, name: `${model.name}_embeddings` });
}

/** One batch through `net`: normalised features, probabilities and labels as plain arrays. */
function embedBatch(net: LayersModel, xs: Tensor, ys: Tensor | undefined) {
  const [f, p] = tf.tidy(() => {
    const [features, logits] = net.predictOnBatch(xs) as Tensor[];
    const norm = tf.maximum(tf.norm(features, "euclidean", 1, true), 1e-12);
    return [tf.div(features, norm), classProbabilities(logits)];
  });
  const out = { features: f.dataSync() as Float32Array, probabilities: p.dataSync() as Float32Array };
  tf.dispose([f, p]);
  let labels: ArrayLike<number> = new Int32Array(xs.shape[0]).fill(-1);
  if (ys) {
    const y = tf.tidy(() => ys.reshape([-1]).cast("int32"));
    labels = y.dataSync();
    y.dispose();
  }
  return { ...out, labels, dim: f.shape[1] as number };
}

/**
 * Embeds every image of `dataset` (`{xs, ys}` batches, or bare image batches) with `model` in inference
 * mode: one forward per batch, nothing kept on the TensorFlow side.
 */
export async function embedDataset(model: LayersModel, dataset: BatchDataset): Promise<Embeddings> {
  const net = embeddingModel(model);
  const numClasses = numClassesOf(model);
  const features: Float32Array[] = [], probabilities: Float32Array[] = [], labels: number[] = [];
  let dim = 0, batch = 0;
  await dataset.forEachAsync((element: Tensor | { xs: Tensor; ys?: Tensor }) => {
    const { xs, ys } = element instanceof tf.Tensor ? { xs: element, ys: undefined } : element;
    checkImages("embedDataset", model, xs, batch++);
    const r = embedBatch(net, xs, ys);
    features.push(r.features);
    probabilities.push(r.probabilities);
    labels.push(...Array.from(r.labels));
    dim = r.dim;
  });
  if (labels.length === 0) throw emptyDataset("embedDataset");
  return {
    count: labels.length,
    dim,
    features: concat(features),
    numClasses,
    probabilities: concat(probabilities),
    labels: Int32Array.from(labels),
  };
}

function concat(parts: Float32Array[]): Float32Array {
  const out = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
