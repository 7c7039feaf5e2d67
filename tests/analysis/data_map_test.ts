/** The map of the data: PCA to two dimensions, and its Vega-Lite scatter plot. */
import { tf } from "../../lib/runtime/mod.ts";
import { dataMapSpec, pca2d, renderSvg } from "../../lib/analysis/mod.ts";
import { assert, assertAlmostEquals, assertEquals, assertMatch, assertThrows } from "../_assert.ts";

Deno.test("pca2d: the direction of most spread first, then the next; same input, same map; no leaks", () => {
  // Points in 4-D: spread 10 along (1, 1, 0, 0)/√2, 3 along (0, 0, 1, 0), a little noise on the rest.
  const count = 200, dim = 4;
  const rows = new Float32Array(count * dim);
  let seed = 7;
  const rand = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648) - 0.5;
  for (let i = 0; i < count; i++) {
    const a = rand() * 20, b = rand() * 6;
    rows.set([a / Math.SQRT2 + rand() * 0.1, a / Math.SQRT2, b, rand() * 0.1], i * dim);
  }
  const before = tf.memory().numTensors;
  const xy = pca2d(rows, count, dim);
  assertEquals(tf.memory().numTensors, before);
  assertEquals(xy.length, count * 2);
  // Component 1 is ±a, component 2 is ±b (centred): check through the correlation with the truth.
  const corr = (u: number[], v: number[]) => {
    const mu = u.reduce((s, x) => s + x, 0) / u.length, mv = v.reduce((s, x) => s + x, 0) / v.length;
    const cov = u.reduce((s, x, i) => s + (x - mu) * (v[i] - mv), 0);
    return cov /
      Math.sqrt(u.reduce((s, x) => s + (x - mu) ** 2, 0) * v.reduce((s, x) => s + (x - mv) ** 2, 0));
  };
  const c1 = Array.from({ length: count }, (_, i) => xy[2 * i]);
  const c2 = Array.from({ length: count }, (_, i) => xy[2 * i + 1]);
  const a = Array.from({ length: count }, (_, i) => rows[i * dim + 1] * Math.SQRT2);
  const b = Array.from({ length: count }, (_, i) => rows[i * dim + 2]);
  assertAlmostEquals(Math.abs(corr(c1, a)), 1, 1e-3);
  assertAlmostEquals(Math.abs(corr(c2, b)), 1, 1e-2);
  assertEquals(pca2d(rows, count, dim), xy, "deterministic");
  assertThrows(() => pca2d(rows, count, 5), Error, "200 × 5");
});

Deno.test("dataMapSpec: one point per image, crosses for the errors, renders to SVG", async () => {
  const points = [
    { x: 0, y: 0, label: "cats", predicted: "cats", name: "cats/1.jpg" },
    { x: 1, y: 2, label: "dogs", predicted: "cats", name: "dogs/7.jpg" },
  ];
  const spec = dataMapSpec(points);
  assertMatch(String(spec.title), /1 of 2 misclassified/);
  const svg = await renderSvg(spec);
  assert(svg.startsWith("<svg"));
  assertEquals(
    (svg.match(/role="graphics-symbol"[^>]*aria-roledescription="point"/g) ?? []).length,
    2,
    svg.slice(0, 400),
  );
});
