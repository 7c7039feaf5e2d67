import { assertEquals, assertRejects, assertThrows } from "../_assert.ts";
import { tf } from "../../lib/runtime/tf.ts";
import type { data, LayersModel, Tensor, TensorContainer } from "../../lib/runtime/tf.ts";
import { buildClassifier, compileClassifier } from "../../lib/model/classifier.ts";
import { checkLabels } from "../../lib/train/batch_checks.ts";
import { evaluate, fit, predictOnBatch } from "../../lib/train/fit.ts";
import { tinyBase, tinyClassSet } from "../../lib/testing/tiny.ts";

/** A dataset of the given `{xs, ys}` batches (copies are yielded, so the originals stay). */
function batches(items: { xs: Tensor; ys?: Tensor }[], classNames?: string[]): data.Dataset<TensorContainer> {
  const ds = tf.data.generator(function* () {
    for (const { xs, ys } of items) yield ys ? { xs: xs.clone(), ys: ys.clone() } : { xs: xs.clone() };
  }) as data.Dataset<TensorContainer>;
  if (classNames) Object.defineProperty(ds, "classNames", { value: classNames });
  return ds;
}

function classifier(numClasses: number): LayersModel {
  const { model } = buildClassifier({ base: tinyBase(), numClasses, seed: 1, augmentation: null });
  compileClassifier(model, tf.train.adam(1e-3));
  return model;
}

const images = (b: number, h = 16, w = 16, c = 3) => tf.randomUniform([b, h, w, c], 0, 255, "float32", 1);

Deno.test("a label outside [0, numClasses) is an error naming the label and the classes (fit, evaluate)", async () => {
  const model = classifier(4);
  const xs = images(4);
  const good = tf.tensor1d([0, 1, 2, 3], "int32"), bad = tf.tensor1d([0, 4, 1, 2], "int32");
  // The first batch is fine, the second is not: checked after the first batch too.
  await assertRejects(
    () => fit(model, batches([{ xs, ys: good }, { xs, ys: bad }]), { epochs: 1, verbose: 0 }),
    Error,
    "fit: label 4 in batch 1 (image 1) is outside [0, 4)",
  );
  await assertRejects(
    () => evaluate(model, batches([{ xs, ys: tf.tensor1d([0, -1, 1, 2], "int32") }])),
    Error,
    "evaluate: label -1 in batch 0",
  );
  const binary = classifier(2);
  // The case: a third class folder fed to the tutorial's one-logit head.
  await assertRejects(
    () => fit(binary, batches([{ xs, ys: tf.tensor1d([0, 1, 2, 1], "int32") }]), { epochs: 1, verbose: 0 }),
    Error,
    "label 2 in batch 0 (image 2) is outside [0, 2): the model's head tells 2 classes apart",
  );
  tf.dispose([xs, good, bad]);
  model.dispose();
  binary.dispose();
});

Deno.test("a dataset whose classNames do not match the head is an error before training", async () => {
  const model = classifier(2);
  const xs = images(2);
  const ys = tf.tensor1d([0, 1], "int32");
  await assertRejects(
    () => fit(model, batches([{ xs, ys }], ["a", "b", "c"]), { epochs: 1, verbose: 0 }),
    Error,
    "fit: the dataset has 3 classes (a, b, c) but the model's head tells 2 apart (1 logit): build the model " +
      "with numClasses: 3",
  );
  tf.dispose([xs, ys]);
  model.dispose();
});

Deno.test("images of another height, width or channel count are errors in fit, evaluate and predictOnBatch", async () => {
  const model = classifier(3);
  const ys = tf.tensor1d([0, 1], "int32");
  const big = images(2, 20, 16), gray = images(2, 16, 16, 1);
  await assertRejects(
    () => fit(model, batches([{ xs: big, ys }]), { epochs: 1, verbose: 0 }),
    Error,
    "fit: images of 20×16 pixels in batch 0 do not match the model's input of 16×16 (height × width): " +
      "load them with imageSize [16, 16]",
  );
  await assertRejects(
    () =>
      fit(model, batches([{ xs: images(2), ys }]), {
        epochs: 1,
        verbose: 0,
        validationData: batches([{ xs: big, ys }]),
      }),
    Error,
    "fit (validationData): images of 20×16 pixels",
  );
  await assertRejects(
    () => evaluate(model, batches([{ xs: gray, ys }])),
    Error,
    "evaluate: images with 1 channels in batch 0 do not match the model's input of 3 channels",
  );
  assertThrows(() => predictOnBatch(model, big), Error, "predictOnBatch: images of 20×16 pixels");
  assertThrows(
    () => predictOnBatch(model, images(1).reshape([16, 16, 3])),
    Error,
    "predictOnBatch: expected a batch of images [batch, 16, 16, 3]",
  );
  tf.dispose([ys, big, gray]);
  model.dispose();
});

Deno.test("an empty dataset is an error in fit and evaluate (not {} or [])", async () => {
  const model = classifier(3);
  await assertRejects(
    () => fit(model, batches([]), { epochs: 1, verbose: 0 }),
    Error,
    "fit: the dataset is empty",
  );
  await assertRejects(() => evaluate(model, batches([])), Error, "evaluate: the dataset is empty");
  const set = tinyClassSet(8, 3);
  await assertRejects(
    () =>
      fit(model, set.dataset, { epochs: 1, verbose: 0, validationData: batches([]), cacheValidation: false }),
    Error,
    "fit (validationData): the dataset is empty",
  );
  await assertRejects(
    () => evaluate(model, set.dataset.take(0)),
    Error,
    "evaluate: the dataset is empty",
  );
  set.dispose();
  model.dispose();
});

Deno.test("one-hot (categorical) labels for a sparse head, or a label per pixel, are label-mode errors", async () => {
  const model = classifier(3);
  const xs = images(2);
  const oneHot = tf.tensor2d([[1, 0, 0], [0, 0, 1]]);
  await assertRejects(
    () => fit(model, batches([{ xs, ys: oneHot }]), { epochs: 1, verbose: 0 }),
    Error,
    'fit: labels of shape [2,3] in batch 0 look one-hot (labelMode "categorical"), but the model\'s head takes ' +
      'one integer class index per image (labelMode "int")',
  );
  assertThrows(
    () => checkLabels("x", model, tf.tensor1d([0, 1, 2]), { images: 2 }),
    Error,
    "x: expected one label per image (2 images, labels [2]), got labels of shape [3]",
  );
  assertThrows(() => checkLabels("x", model, tf.tensor1d([0.5, 1])), Error, "label 0.5");
  // The one-logit head takes "binary" labels [b, 1] of 0/1 floats.
  const binary = classifier(2);
  checkLabels("x", binary, tf.tensor2d([[0], [1]]));
  tf.dispose([xs, oneHot]);
  model.dispose();
  binary.dispose();
});

Deno.test("checked batches leave no tensors behind on success", async () => {
  const model = classifier(4);
  const set = tinyClassSet(32, 4);
  await evaluate(model, set.dataset); // warm-up: tfjs keeps some state on first use
  const before = tf.memory().numTensors;
  const [loss] = await evaluate(model, set.dataset);
  assertEquals(Number.isFinite(loss), true);
  assertEquals(tf.memory().numTensors, before);
  set.dispose();
  model.dispose();
});
