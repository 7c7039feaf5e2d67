/**
 * The ONNX export of the real thing: MobileNetV2 alpha 0.35 at 224×224 with its ImageNet weights (the
 * mirror's `../shared/weights`) under the tutorial's head, run by ONNX Runtime on 64 real photos (the
 * mirror's cats-and-dogs validation JPEGs, decoded and resized as training does), equal to TensorFlow.js'
 * `predict` within 1e-4 — logits and probabilities, the 64 photos in one batch and in two,, two classes (sigmoid) and five (softmax). Skipped, with
 * a message, when the mirror's files are absent.
 */
import { tf } from "../../lib/runtime/mod.ts";
import type { Tensor, Tensor4D } from "../../lib/runtime/mod.ts";
import { loadImage } from "../../lib/data/mod.ts";
import { OnnxSession, readOnnxSummary } from "../../lib/graph/mod.ts";
import { buildClassifier, exportOnnx, mobileNetV2 } from "../../lib/model/mod.ts";
import { Uint8ArrayReader, Uint8ArrayWriter, ZipReader } from "@zip.js/zip.js";
import { assert, assertEquals } from "../_assert.ts";
import { onnxChecker } from "../_onnx.ts";
import { haveShared, SHARED_WEIGHTS_035, SHARED_ZIP } from "../_shared.ts";

const SIZE = 224;
const PER_CLASS = 32;

/** The first `PER_CLASS` validation photos of each class, by name, decoded and resized to 224×224. */
async function photos(): Promise<Tensor4D> {
  const reader = new ZipReader(new Uint8ArrayReader(await Deno.readFile(SHARED_ZIP)));
  try {
    const entries = (await reader.getEntries()).filter((e) => !e.directory).sort((a, b) =>
      a.filename < b.filename ? -1 : 1
    );
    const chosen = ["cats", "dogs"].flatMap((c) =>
      entries.filter((e) => e.filename.includes(`/validation/${c}/`) && e.filename.endsWith(".jpg"))
        .slice(0, PER_CLASS)
    );
    assertEquals(chosen.length, 2 * PER_CLASS);
    const decoded = [];
    for (const entry of chosen) {
      const bytes = await entry.getData!(new Uint8ArrayWriter());
      decoded.push(loadImage(bytes, { imageSize: [SIZE, SIZE] }, entry.filename));
    }
    const batch = tf.stack(decoded) as Tensor4D;
    tf.dispose(decoded);
    return batch;
  } finally {
    await reader.close();
  }
}

/** Largest |a − b|. */
function maxDiff(a: Float32Array, b: Float32Array): number {
  assertEquals(a.length, b.length);
  return a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0);
}

/** `bytes` run by ONNX Runtime on all of `x` at once, then in two halves (the batch size is the runtime's). */
async function runOnnx(bytes: Uint8Array, x: Tensor4D): Promise<Float32Array[]> {
  const session = await OnnxSession.create(bytes);
  try {
    const data = x.dataSync() as Float32Array;
    const half = data.length / 2;
    const dims = (n: number) => [n, SIZE, SIZE, 3];
    const whole = await session.run(data, dims(2 * PER_CLASS));
    const first = await session.run(data.subarray(0, half), dims(PER_CLASS));
    const second = await session.run(data.subarray(half), dims(PER_CLASS));
    const halves = new Float32Array(whole.data.length);
    halves.set(first.data);
    halves.set(second.data, first.data.length);
    return [whole.data, halves];
  } finally {
    await session.release();
  }
}

Deno.test("exportOnnx: MobileNetV2 0.35 (ImageNet weights) on 64 real photos equals predict within 1e-4", async () => {
  const test = "ONNX export of MobileNetV2 0.35 on real photos";
  if (!haveShared(SHARED_WEIGHTS_035, test) || !haveShared(SHARED_ZIP, test)) return;
  const x = await photos();
  const before = tf.memory().numTensors;
  for (const numClasses of [2, 5]) {
    const base = await mobileNetV2({
      inputShape: [SIZE, SIZE, 3],
      alpha: 0.35,
      includeTop: false,
      weights: SHARED_WEIGHTS_035,
    });
    const { model } = buildClassifier({ base, numClasses, seed: 7 });
    const output = numClasses === 2 ? "sigmoid" : "softmax";
    const preprocessing = { rescale: { scale: 1 / 127.5, offset: -1 } };
    const bytes = await exportOnnx(model, { preprocessing, output });
    const logitsBytes = await exportOnnx(model, { output: "logits" });
    const [logits, probabilities, spread] = tf.tidy(() => {
      const y = model.predict(x) as Tensor;
      const p = output === "sigmoid" ? tf.sigmoid(y) : tf.softmax(y);
      return [y.dataSync(), p.dataSync(), tf.sub(tf.max(y), tf.min(y)).dataSync()[0]] as const;
    });
    const pDiff = Math.max(
      ...(await runOnnx(bytes, x)).map((o) => maxDiff(o, probabilities as Float32Array)),
    );
    const zDiff = Math.max(...(await runOnnx(logitsBytes, x)).map((o) => maxDiff(o, logits as Float32Array)));
    console.log(
      `${numClasses} classes: max |ONNX Runtime − predict| ${pDiff.toExponential(2)} (${output}), ` +
        `${zDiff.toExponential(2)} (logits, which span ${spread.toFixed(2)})`,
    );
    assert(pDiff <= 1e-4 && zDiff <= 1e-4, `differences ${pDiff}, ${zDiff}`);
    assert(spread > 1, "the logits vary over the photos");
    const summary = await readOnnxSummary(bytes);
    assertEquals(
      summary.convGroups.filter((g) => g > 1).length,
      17,
      "MobileNetV2's 17 depthwise convolutions",
    );
    assertEquals(summary.opCounts.Mul, 1, "BatchNormalization folded everywhere");
    if (numClasses === 5) await onnxChecker(bytes, "onnx.checker on MobileNetV2 0.35");
    model.dispose();
  }
  assertEquals(tf.memory().numTensors, before, "no tensor leaked");
  x.dispose();
});
