/**
 * A map of the data: embeddings (`embeddings.ts`) projected to two dimensions — by UMAP (McInnes et al.
 * 2018, the `umap-js` package, seeded so that the same embeddings give the same map), which keeps
 * neighbours together and so separates clusters, or by PCA (the two directions in which the images differ
 * most) for sets too small for UMAP's neighbourhoods or on request — and drawn as a Vega-Lite scatter plot,
 * coloured by class, the images the model gets wrong marked. Close points are images the model sees alike;
 * a point inside another class's cloud is worth a look.
 *
 * @module
 */
import { UMAP } from "umap-js";
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

/** How a map is projected: `"umap"` or `"pca"`. */
export type MapMethod = "umap" | "pca";

/** Below this many points {@link projectMap} uses PCA: UMAP needs enough neighbours per point. */
export const UMAP_MIN_POINTS = 15;

/** Options of {@link projectMap}. */
export interface ProjectMapOptions {
  /** `"umap"` (default; PCA below {@link UMAP_MIN_POINTS} points) or `"pca"`. */
  method?: MapMethod;
  /** Seed of UMAP's random numbers (default 42): the same seed and rows give the same map. */
  seed?: number;
  /** UMAP's neighbours per point (default 15, fewer for small sets). */
  nNeighbors?: number;
}

/** mulberry32: UMAP's random numbers, seeded (umap-js takes any `() => number` in [0, 1)). */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * `rows` (`count × dim`, row-major) on a 2-D map: `xy` (`count × 2`, row-major) and the method used —
 * UMAP, seeded, unless `method` is `"pca"` or there are fewer than {@link UMAP_MIN_POINTS} points.
 */
export function projectMap(
  rows: Float32Array,
  count: number,
  dim: number,
  options: ProjectMapOptions = {},
): { xy: Float32Array; method: MapMethod } {
  const method = options.method ?? "umap";
  if (method !== "umap" && method !== "pca") {
    throw new Error(`projectMap: method must be "umap" or "pca", got ${JSON.stringify(method)}`);
  }
  if (rows.length !== count * dim || count < 1) {
    throw new Error(`projectMap: expected ${count} × ${dim} values, got ${rows.length}`);
  }
  if (method === "pca" || count < UMAP_MIN_POINTS) return { xy: pca2d(rows, count, dim), method: "pca" };
  const vectors = Array.from({ length: count }, (_, i) => Array.from(rows.subarray(i * dim, (i + 1) * dim)));
  const umap = new UMAP({
    nComponents: 2,
    nNeighbors: Math.min(options.nNeighbors ?? 15, count - 1),
    random: seeded(options.seed ?? 42),
  });
  return { xy: Float32Array.from(umap.fit(vectors).flat()), method: "umap" };
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
  /**
   * A small picture of the image as a data URL, shown on hover: Vega's tooltip plugin (`vega-tooltip`, in
   * JupyterLab) and the report draw a tooltip field named `image` as a picture (`chartBundle`'s SVG leaves
   * it out).
   */
  image?: string;
  /** Opened when the point is clicked (Vega's `href` channel): the file's URL. */
  href?: string;
}

/**
 * The map as a Vega-Lite scatter plot: colour the label, a cross where the prediction is wrong; `method`
 * (default `"pca"`) names the axes. The tooltip names the file, class and prediction, and shows the
 * points' `image` when they have one; points with an `href` open it when clicked.
 */
export function dataMapSpec(
  points: readonly MapPoint[],
  options: { title?: string; method?: MapMethod } = {},
): TopLevelSpec {
  const wrong = points.filter((p) => p.label !== p.predicted).length;
  const method = options.method ?? "pca";
  const axis = method === "umap" ? "UMAP" : "component";
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v5.json",
    title: options.title ??
      `Map of the data (${method.toUpperCase()} of the embeddings): ${wrong} of ${points.length} misclassified`,
    description: `Scatter plot of ${points.length} images by ${
      method === "umap"
        ? "a UMAP projection of their embeddings"
        : "their embeddings' first two principal components"
    }`,
    width: 600,
    height: 400,
    data: { values: points.map((p) => ({ ...p, result: p.label === p.predicted ? "right" : "wrong" })) },
    // What screen readers say of a point (Vega-Lite's default lists every field, the thumbnail's data too).
    transform: [{
      calculate: "datum.name + ': class ' + datum.label + ', predicted ' + datum.predicted",
      as: "summary",
    }],
    mark: { type: "point", filled: true, size: 40, opacity: 0.8 },
    encoding: {
      x: { field: "x", type: "quantitative", title: `${axis} 1`, axis: { labels: false } },
      y: { field: "y", type: "quantitative", title: `${axis} 2`, axis: { labels: false } },
      color: { field: "label", type: "nominal", title: "class" },
      shape: {
        field: "result",
        type: "nominal",
        title: "prediction",
        scale: { domain: ["right", "wrong"], range: ["circle", "cross"] },
      },
      tooltip: [
        ...(points.some((p) => p.image) ? [{ field: "image" }] : []),
        { field: "name", title: "file" },
        { field: "label", title: "class" },
        { field: "predicted" },
      ],
      description: { field: "summary" },
      ...(points.some((p) => p.href) ? { href: { field: "href" } } : {}),
    },
  } as TopLevelSpec;
}
