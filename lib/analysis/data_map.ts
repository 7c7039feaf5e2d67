/**
 * A map of the data: embeddings (`embeddings.ts`) projected to two dimensions by PCA — the two directions
 * in which the images differ most — and drawn as a Vega-Lite scatter plot, coloured by class, the images
 * the model gets wrong marked. Close points are images the model sees alike; a point inside another
 * class's cloud is worth a look. (UMAP would separate clusters better; PCA needs no package and is
 * deterministic.)
 *
 * @module
 */
import { tf } from "../runtime/mod.ts";
import type { Tensor } from "../runtime/mod.ts";
import type { TopLevelSpec } from "./display.ts";

/**
 * The first two principal components of `rows` (`count × dim`, row-major): `count × 2`, row-major. Found
 * by power iteration on the covariance (deflated after the first), from a fixed start: the same input
 * gives the same map.
 */
export function pca2d(rows: Float32Array, count: number, dim: number): Float32Array {
  if (rows.length !== count * dim || count < 1) {
    throw new Error(`pca2d: expected ${count} × ${dim} values, got ${rows.length}`);
  }
  const out = tf.tidy(() => {
    const x = tf.tensor2d(rows, [count, dim]);
    const centred = tf.sub(x, tf.mean(x, 0, true));
    let cov = tf.div(tf.matMul(centred, centred, true, false), Math.max(1, count - 1));
    const components: Tensor[] = [];
    for (let k = 0; k < 2; k++) {
      let v = tf.div(tf.add(tf.range(0, dim), 1), Math.sqrt(dim)).reshape([dim, 1]);
      for (let i = 0; i < 100; i++) {
        const w = tf.matMul(cov, v);
        v = tf.div(w, tf.maximum(tf.norm(w), 1e-12));
      }
      components.push(v);
      const lambda = tf.matMul(tf.matMul(v, cov, true, false), v);
      cov = tf.sub(cov, tf.mul(lambda, tf.matMul(v, v, false, true)));
    }
    return tf.matMul(centred, tf.concat(components, 1));
  });
  const values = out.dataSync() as Float32Array;
  out.dispose();
  return values;
}

/** One point of {@link dataMapSpec}. */
export interface MapPoint {
  /** Position on the map: first component. */
  x: number;
  /** Second component. */
  y: number;
  /** The image's class (its label). */
  label: string;
  /** The class the model predicts. */
  predicted: string;
  /** Shown on hover: the file, or another name. */
  name: string;
}

/** The map as a Vega-Lite scatter plot: colour the label, a cross where the prediction is wrong. */
export function dataMapSpec(points: readonly MapPoint[], options: { title?: string } = {}): TopLevelSpec {
  const wrong = points.filter((p) => p.label !== p.predicted).length;
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v5.json",
    title: options.title ??
      `Map of the data (PCA of the embeddings): ${wrong} of ${points.length} misclassified`,
    description:
      `Scatter plot of ${points.length} images by their embeddings' first two principal components`,
    width: 600,
    height: 400,
    data: { values: points.map((p) => ({ ...p, result: p.label === p.predicted ? "right" : "wrong" })) },
    mark: { type: "point", filled: true, size: 40, opacity: 0.8 },
    encoding: {
      x: { field: "x", type: "quantitative", title: "component 1", axis: { labels: false } },
      y: { field: "y", type: "quantitative", title: "component 2", axis: { labels: false } },
      color: { field: "label", type: "nominal", title: "class" },
      shape: {
        field: "result",
        type: "nominal",
        title: "prediction",
        scale: { domain: ["right", "wrong"], range: ["circle", "cross"] },
      },
      tooltip: [{ field: "name" }, { field: "label" }, { field: "predicted" }],
    },
  } as TopLevelSpec;
}
