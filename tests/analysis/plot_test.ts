import { Buffer } from "node:buffer";
import * as vegaLite from "vega-lite";
import { assert, assertEquals, assertRejects, assertThrows } from "../_assert.ts";
import { tf } from "../../lib/runtime/tf.ts";
import type { Tensor3D, Tensor4D } from "../../lib/runtime/tf.ts";
import { renderSvg } from "../../lib/analysis/display.ts";
import {
  augmentationGridSpec,
  confusionMatrixSpec,
  imageGridSpec,
  learningCurvesSpec,
  perClassMetricsSpec,
  pngDataUrl,
  predictionGridSpec,
  topLossesSpec,
} from "../../lib/analysis/plot.ts";

type Unit = {
  title?: { text: string; color: string };
  data: { values: { url: string }[] };
  mark: { type: string };
};
type Grid = { title?: { text: string }; columns: number; concat: Unit[] };

function decode(url: string): Tensor3D {
  assert(url.startsWith("data:image/png;base64,"), `not a PNG data URL: ${url.slice(0, 40)}`);
  return tf.node.decodePng(Buffer.from(url.slice(url.indexOf(",") + 1), "base64"), 3) as Tensor3D;
}

/** A batch whose pixel (i, y, x, c) is distinct and exactly representable in 0…255. */
function batch(n: number, h: number, w: number): Tensor4D {
  return tf.tidy(() => tf.range(0, n * h * w * 3).mod(251).reshape([n, h, w, 3]) as Tensor4D);
}

Deno.test("pngDataUrl round-trips pixels and maps valueRange onto 0…255", async () => {
  const image = tf.tensor3d([0, 0.5, 1, 0.25, 0.75, 1, 1, 0, 0.5, 0, 0, 0], [2, 2, 3]);
  const before = tf.memory().numTensors;
  const decoded = decode(await pngDataUrl(image, [0, 1]));
  assertEquals(decoded.shape, [2, 2, 3]);
  assertEquals(Array.from(await decoded.data()), [0, 128, 255, 64, 191, 255, 255, 0, 128, 0, 0, 0]);
  decoded.dispose();
  assertEquals(tf.memory().numTensors, before);
  // Out-of-range values are clipped, not wrapped.
  const wild = tf.tensor3d([-20, 300, 255], [1, 1, 3]);
  const clipped = decode(await pngDataUrl(wild));
  assertEquals(Array.from(await clipped.data()), [0, 255, 255]);
  tf.dispose([image, wild, clipped]);
});

Deno.test("pngDataUrl rejects a non-image tensor with the shape it got", async () => {
  const flat = tf.zeros([4, 4]) as unknown as Tensor3D;
  await assertRejects(() => pngDataUrl(flat), Error, "[height, width, 1 or 3], got shape [4,4]");
  flat.dispose();
});

Deno.test("imageGridSpec: the first 9 images of a batch, in 3 columns, with their titles", async () => {
  const images = batch(12, 6, 5);
  const titles = Array.from({ length: 12 }, (_, i) => (i % 3 === 0 ? "dogs" : "cats"));
  const before = tf.memory().numTensors;
  const spec = (await imageGridSpec(images, titles, { title: "Samples" })) as unknown as Grid;
  assertEquals(tf.memory().numTensors, before);
  assertEquals(spec.columns, 3);
  assertEquals(spec.title?.text, "Samples");
  assertEquals(spec.concat.length, 9);
  assertEquals(spec.concat.map((u) => u.title?.text), titles.slice(0, 9));
  const expected = await images.data();
  for (const [i, unit] of spec.concat.entries()) {
    assertEquals(unit.mark.type, "image");
    const decoded = decode(unit.data.values[0].url);
    assertEquals(decoded.shape, [6, 5, 3]);
    assertEquals(Array.from(await decoded.data()), Array.from(expected.subarray(i * 90, (i + 1) * 90)));
    decoded.dispose();
  }
  vegaLite.compile(spec as never);
  images.dispose();
});

Deno.test("imageGridSpec: image lists, single images and clear errors", async () => {
  const a = tf.zeros([4, 4, 3]) as Tensor3D, b = tf.ones([4, 4, 1]).mul(255) as Tensor3D;
  const list = (await imageGridSpec([a, b], ["a", "b"])) as unknown as Grid;
  assertEquals(list.concat.length, 2);
  const nested = (await imageGridSpec([[[[0, 64, 255]]], [[[255, 0, 0]]]], ["x", "y"])) as unknown as Grid;
  assertEquals(Array.from(await decode(nested.concat[0].data.values[0].url).data()), [0, 64, 255]);
  const one = (await imageGridSpec(a)) as unknown as Grid;
  assertEquals(one.concat.length, 1);
  assertEquals(one.concat[0].title, undefined);
  await assertRejects(() => imageGridSpec([a, b], ["a"]), Error, "titles: expected at least 2 entries");
  const bad = tf.zeros([2, 3]) as unknown as Tensor4D;
  await assertRejects(() => imageGridSpec(bad), Error, "images: expected [n, height, width, channels]");
  tf.dispose([a, b, bad]);
});

Deno.test("augmentationGridSpec: untitled tiles under one chart title", async () => {
  const images = batch(9, 4, 4);
  const spec = (await augmentationGridSpec(images)) as unknown as Grid;
  assertEquals(spec.concat.length, 9);
  assert(spec.concat.every((u) => u.title === undefined));
  assert(spec.title?.text.includes("augmentation"));
  images.dispose();
});

Deno.test("predictionGridSpec marks right and wrong predictions against the labels", async () => {
  const images = batch(9, 4, 4);
  const predicted = [0, 1, 1, 0, 1, 0, 0, 1, 1];
  const labels = [0, 1, 0, 0, 1, 1, 0, 1, 1];
  const spec = (await predictionGridSpec(images, predicted, ["cats", "dogs"], { labels })) as unknown as Grid;
  const right = predicted.filter((p, i) => p === labels[i]).length;
  assertEquals(spec.title?.text, `Predictions: ${right} of 9 right`);
  for (const [i, unit] of spec.concat.entries()) {
    const ok = predicted[i] === labels[i];
    assertEquals(unit.title?.text, `${["cats", "dogs"][predicted[i]]} ${ok ? "✓" : "✗"}`);
    assertEquals(unit.title?.color, ok ? "#2ca02c" : "#d62728");
  }
  const plain = (await predictionGridSpec(images, predicted, ["cats", "dogs"])) as unknown as Grid;
  assertEquals(plain.concat.map((u) => u.title?.text), predicted.map((p) => ["cats", "dogs"][p]));
  await assertRejects(
    () => predictionGridSpec(images, [0, 2, ...predicted], ["cats", "dogs"]),
    Error,
    "class index 2",
  );
  await assertRejects(
    () => predictionGridSpec(images, [0, 1], ["cats", "dogs"]),
    Error,
    "predicted: expected at least 9",
  );
  images.dispose();
});

type Panel = {
  title: string;
  layer: {
    data: { values: { epoch: number; series: string; value?: number | null }[] };
    mark: { type: string };
    encoding: { y?: { scale: { domain: number[] } } };
  }[];
};

Deno.test("learningCurvesSpec: accuracy and loss panels with the tutorial's axis limits", () => {
  const history = {
    accuracy: [0.55, 0.7, 0.8, 0.86],
    val_accuracy: [0.62, 0.75, 0.84, 0.9],
    loss: [0.69, 0.5, 0.41, 0.33],
    val_loss: [0.6, 0.45, 0.38, 0.3],
  };
  const spec = learningCurvesSpec(history) as unknown as { vconcat: Panel[] };
  const [acc, loss] = spec.vconcat;
  assertEquals(acc.title, "Training and Validation Accuracy");
  assertEquals(loss.title, "Training and Validation Loss");
  assertEquals(acc.layer.length, 1);
  assertEquals(acc.layer[0].encoding.y?.scale.domain, [0.5, 1]);
  assertEquals(loss.layer[0].encoding.y?.scale.domain, [0, 1]);
  const rows = acc.layer[0].data.values;
  assertEquals(
    rows.filter((r) => r.series === "Validation Accuracy").map((r) => r.value),
    history.val_accuracy,
  );
  assertEquals(rows.filter((r) => r.series === "Training Accuracy").map((r) => r.epoch), [1, 2, 3, 4]);
  assertEquals(
    loss.layer[0].data.values.filter((r) => r.series === "Training Loss").map((r) => r.value),
    history.loss,
  );
  vegaLite.compile(spec as never);
});

Deno.test("learningCurvesSpec: the Start Fine Tuning rule and input checks", () => {
  const history = { accuracy: [0.6, 0.9, 0.95], loss: [0.5, 0.3, 0.2] };
  const spec = learningCurvesSpec(history, { fineTuneAt: 2, accuracyMin: 0.8 }) as unknown as {
    vconcat: Panel[];
  };
  for (const panel of spec.vconcat) {
    const rule = panel.layer.find((l) => l.mark.type === "rule");
    assertEquals(rule?.data.values, [{ epoch: 2, series: "Start Fine Tuning" }]);
  }
  assertEquals(spec.vconcat[0].layer[0].encoding.y?.scale.domain, [0.8, 1]);
  vegaLite.compile(spec as never);
  assertThrows(() => learningCurvesSpec({ accuracy: [], loss: [] }), Error, "history.accuracy");
  assertThrows(
    () => learningCurvesSpec({ ...history, val_loss: [0.1] }),
    Error,
    "history.val_loss: expected an array of 3",
  );
  assertThrows(
    () => learningCurvesSpec(history, { fineTuneAt: 7 }),
    Error,
    "fineTuneAt: expected an epoch between 1 and 3",
  );
});

Deno.test("confusionMatrixSpec: one cell per pair with its count, actual rows × predicted columns; renders", async () => {
  const spec = confusionMatrixSpec([[5, 1], [2, 7]], ["cats", "dogs"]) as unknown as {
    title: string;
    data: { values: { actual: string; predicted: string; count: number }[] };
  };
  assertEquals(spec.title, "Confusion matrix: 12 of 15 right");
  assertEquals(spec.data.values, [
    { actual: "cats", predicted: "cats", count: 5 },
    { actual: "cats", predicted: "dogs", count: 1 },
    { actual: "dogs", predicted: "cats", count: 2 },
    { actual: "dogs", predicted: "dogs", count: 7 },
  ]);
  vegaLite.compile(spec as never);
  const svg = await renderSvg(spec as never);
  for (const n of ["5", "1", "2", "7"]) assert(svg.includes(`>${n}</text>`), `count ${n} drawn`);
  assertThrows(() => confusionMatrixSpec([[1, 2]], ["a", "b"]), Error, "expected a 2×2 matrix");
});

Deno.test("topLossesSpec: tiles titled predicted (probability) / actual · loss, wrong ones red; perClassMetricsSpec compiles", async () => {
  const image = tf.zeros([4, 4, 3]) as Tensor3D;
  const spec = await topLossesSpec([
    { image, actual: 0, predicted: 1, probability: 0.93, loss: 2.66 },
    { image, actual: 1, predicted: 1, probability: 0.6, loss: 0.51 },
  ], ["cats", "dogs"]) as unknown as { concat: { title: { text: string[]; color: string } }[] };
  assertEquals(spec.concat.map((u) => u.title.text), [
    ["dogs 93%", "actual cats · loss 2.66"],
    ["dogs 60%", "actual dogs · loss 0.51"],
  ]);
  assertEquals(spec.concat[0].title.color, "#d62728");
  assertEquals(spec.concat[1].title.color, "#2ca02c");
  await renderSvg(spec as never);
  image.dispose();
  const bars = perClassMetricsSpec([
    { className: "a", precision: 0.5, recall: 1, support: 2 },
    { className: "b", precision: null, recall: 0, support: 1 },
  ]) as unknown as { data: { values: unknown[] } };
  assertEquals(bars.data.values.length, 3, "a class never predicted has no precision bar");
  await renderSvg(bars as never);
});
