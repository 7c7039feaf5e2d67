/**
 * `projectMap`: UMAP seeded (the same seed gives the same map, another seed another), clusters kept apart,
 * PCA for small sets or on request, bad options refused, no tensor left.
 */
import { pca2d, projectMap, UMAP_MIN_POINTS } from "../../lib/analysis/mod.ts";
import { tf } from "../../lib/runtime/mod.ts";
import { assert, assertEquals, assertNotEquals, assertThrows } from "../_assert.ts";

/** `perCluster` points around each of `clusters` far-apart centres in `dim` dimensions, seeded. */
function clustered(clusters: number, perCluster: number, dim: number): Float32Array {
  let a = 7;
  const next = () => (a = (Math.imul(a, 1103515245) + 12345) >>> 0) / 4294967296;
  const rows = new Float32Array(clusters * perCluster * dim);
  for (let c = 0; c < clusters; c++) {
    for (let i = 0; i < perCluster; i++) {
      for (let d = 0; d < dim; d++) {
        rows[((c * perCluster + i) * dim) + d] = (d % clusters === c ? 10 : 0) + next();
      }
    }
  }
  return rows;
}

/** For each point, whether its nearest other point on the map is in its own cluster. */
function nearestInOwnCluster(xy: Float32Array, perCluster: number): boolean[] {
  const n = xy.length / 2;
  return Array.from({ length: n }, (_, i) => {
    let best = -1, bestD = Infinity;
    for (let j = 0; j < n; j++) {
      const d = (xy[2 * i] - xy[2 * j]) ** 2 + (xy[2 * i + 1] - xy[2 * j + 1]) ** 2;
      if (j !== i && d < bestD) [best, bestD] = [j, d];
    }
    return Math.floor(best / perCluster) === Math.floor(i / perCluster);
  });
}

Deno.test("projectMap: UMAP seeded is reproducible, keeps clusters apart, leaves no tensor", () => {
  const rows = clustered(3, 12, 24);
  const before = tf.memory().numTensors;
  const a = projectMap(rows, 36, 24, { seed: 1 });
  const b = projectMap(rows, 36, 24, { seed: 1 });
  const c = projectMap(rows, 36, 24, { seed: 2 });
  assertEquals(tf.memory().numTensors, before);
  assertEquals(a.method, "umap");
  assertEquals(a.xy.length, 72);
  assert(a.xy.every(Number.isFinite));
  assertEquals(Array.from(a.xy), Array.from(b.xy), "same seed, same map");
  assertNotEquals(Array.from(a.xy), Array.from(c.xy), "another seed, another map");
  assert(nearestInOwnCluster(a.xy, 12).every((x) => x), "each point's nearest neighbour is in its cluster");
});

Deno.test("projectMap: PCA below UMAP_MIN_POINTS points or on request; bad options refused", () => {
  const rows = clustered(2, 10, 8);
  const small = projectMap(rows.subarray(0, (UMAP_MIN_POINTS - 1) * 8), UMAP_MIN_POINTS - 1, 8);
  assertEquals(small.method, "pca");
  assertEquals(
    Array.from(small.xy),
    Array.from(pca2d(rows.subarray(0, (UMAP_MIN_POINTS - 1) * 8), UMAP_MIN_POINTS - 1, 8)),
  );
  const asked = projectMap(rows, 20, 8, { method: "pca" });
  assertEquals([asked.method, Array.from(asked.xy)], ["pca", Array.from(pca2d(rows, 20, 8))]);
  assertThrows(
    () => projectMap(rows, 20, 8, { method: "tsne" as "pca" }),
    Error,
    `method must be "umap" or "pca"`,
  );
  assertThrows(() => projectMap(rows, 21, 8), Error, "expected 21 × 8 values");
});
