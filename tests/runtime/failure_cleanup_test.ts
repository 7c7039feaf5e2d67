/**
 * Failure paths of `fit`, `evaluate` and `predictOnBatch` (lib/train/fit.ts with lib/runtime/failure_cleanup.ts and the
 * tape clean-up in lib/runtime/tf.ts): after any failure the tensor count is back where it was.
 */
import { tf } from "../../lib/runtime/tf.ts";
import type { LayersModel, SymbolicTensor, Tensor, TensorContainer } from "../../lib/runtime/tf.ts";
import { buildClassifier, compileClassifier } from "../../lib/model/classifier.ts";
import { evaluate, fit, predictOnBatch } from "../../lib/train/fit.ts";
import { assert, assertEquals, assertRejects, assertThrows } from "../_assert.ts";
import { tinyBase } from "../../lib/testing/tiny.ts";

/** Throws from inside the model (after the layers before it ran) while `armed`. */
class FailingLayer extends tf.layers.Layer {
  static className = "FailingLayerForTests";
  static armed = false;
  override call(inputs: Tensor | Tensor[]): Tensor {
    if (FailingLayer.armed) throw new Error("FailingLayer: injected failure");
    return Array.isArray(inputs) ? inputs[0] : inputs;
  }
}

/** The tiny classifier with a {@link FailingLayer} between the base and the head. */
function failingModel(): LayersModel {
  const { model } = buildClassifier({ base: tinyBase(), seed: 2 });
  const input = tf.input({ shape: [16, 16, 3] });
  const layers = model.layers.slice(1);
  let x = layers[0].apply(input) as SymbolicTensor;
  for (const layer of layers.slice(1)) {
    if (layer === layers.at(-1)) x = new FailingLayer({ name: "failing" }).apply(x) as SymbolicTensor;
    x = layer.apply(x) as SymbolicTensor;
  }
  const m = tf.model({ inputs: input, outputs: x });
  compileClassifier(m, tf.train.adam(0.01));
  return m;
}

/** Batches made fresh by a generator (no leaks of its own); batch `bad` has 4 channels, 5 labels or throws. */
function batches(bad = -1, kind: "channels" | "labels" | "throw" = "throw", n = 4) {
  return tf.data.generator(
    function* () {
      for (let i = 0; i < n; i++) {
        if (i === bad && kind === "throw") throw new Error("dataset: injected failure");
        const c = i === bad && kind === "channels" ? 4 : 3;
        const labels = i === bad && kind === "labels" ? 5 : 12;
        yield { xs: tf.randomUniform([12, 16, 16, c], 0, 255, "float32", i), ys: tf.ones([labels]) };
      }
    } as () => Iterator<TensorContainer>,
  );
}

const silent = { show() {} };

async function flatAfterFailure(name: string, run: () => Promise<unknown>) {
  const before = tf.memory().numTensors;
  await assertRejects(run, Error, undefined);
  assertEquals(tf.memory().numTensors, before, `${name}: tensors after the failure`);
}

Deno.test("fit: a failure inside the model, in the dataset or in the batch checks leaves no tensor behind", async () => {
  const model = failingModel();
  await fit(model, batches(), { epochs: 1, verbose: 0 }); // optimizer slots are made in the first step
  for (const verbose of [0, 1] as const) {
    const options = { epochs: 2, verbose, progressSink: silent };
    FailingLayer.armed = true;
    await flatAfterFailure(`model fails, verbose ${verbose}`, () => fit(model, batches(), options));
    FailingLayer.armed = false;
    await flatAfterFailure(`dataset throws, verbose ${verbose}`, () => fit(model, batches(2), options));
    await flatAfterFailure(
      `4 channels, verbose ${verbose}`,
      () => fit(model, batches(2, "channels"), options),
    );
    await flatAfterFailure(`5 labels, verbose ${verbose}`, () => fit(model, batches(2, "labels"), options));
  }
  // Validation data that fails, evaluated from cached features or by tfjs.
  for (const cacheValidation of [true, false]) {
    for (const kind of ["throw", "channels"] as const) {
      await flatAfterFailure(
        `validation ${kind}, cache ${cacheValidation}`,
        () =>
          fit(model, batches(), { epochs: 1, verbose: 0, cacheValidation, validationData: batches(1, kind) }),
      );
    }
  }
  // The model still trains, and a successful run leaves nothing either.
  const before = tf.memory().numTensors;
  const h = await fit(model, batches(), { epochs: 2, verbose: 0, validationData: batches() });
  assertEquals(h.epoch, [0, 1]);
  assertEquals(tf.memory().numTensors, before);
  model.dispose();
});

Deno.test("fit: a callback that throws leaves no tensor behind (batch and epoch ends, both callback kinds)", async () => {
  const model = failingModel();
  await fit(model, batches(), { epochs: 1, verbose: 0 });
  const boom = () => {
    throw new Error("callback: injected failure");
  };
  class Throwing extends tf.Callback {
    override onBatchEnd(): Promise<void> {
      return Promise.reject(new Error("callback: injected failure"));
    }
  }
  for (const callbacks of [[{ onBatchEnd: boom }], [{ onEpochEnd: boom }], [new Throwing()]]) {
    await flatAfterFailure(
      "callback",
      () => fit(model, batches(), { epochs: 2, verbose: 1, progressSink: silent, callbacks }),
    );
  }
  model.dispose();
});

Deno.test("evaluate and predictOnBatch: failures leave no tensor behind", async () => {
  const model = failingModel();
  const [loss, accuracy] = await evaluate(model, batches());
  assert(Number.isFinite(loss) && accuracy >= 0 && accuracy <= 1);
  FailingLayer.armed = true;
  await flatAfterFailure("evaluate, model fails", () => evaluate(model, batches()));
  FailingLayer.armed = false;
  await flatAfterFailure("evaluate, dataset throws", () => evaluate(model, batches(2)));
  await flatAfterFailure("evaluate, 4 channels", () => evaluate(model, batches(2, "channels")));
  const x = tf.zeros([2, 16, 16, 3]);
  const before = tf.memory().numTensors;
  FailingLayer.armed = true;
  assertThrows(() => predictOnBatch(model, x), Error, "injected failure");
  FailingLayer.armed = false;
  assertEquals(tf.memory().numTensors, before);
  x.dispose();
  model.dispose();
});
