import { assert, assertAlmostEquals, assertEquals } from "../_assert.ts";
import { tf } from "../../lib/runtime/tf.ts";
import { buildClassifier, compileClassifier, unfreezeForFineTuning } from "../../lib/model/classifier.ts";
import { evaluate, fit } from "../../lib/train/fit.ts";
import { CachedValidation } from "../../lib/train/validation_cache.ts";
import { tinyBase, tinySet } from "../../lib/testing/tiny.ts";

Deno.test("CachedValidation: same loss and accuracy as evaluating the whole model, epoch after epoch", async () => {
  const train = tinySet(64, 16, 16, 0), val = tinySet(40, 16, 16, 5);
  const { model } = buildClassifier({ base: tinyBase(), seed: 4 });
  compileClassifier(model, tf.train.adam(0.05));
  const maybe = CachedValidation.create(model, val.dataset);
  assert(maybe !== null, "applies while the base is frozen");
  const cache: CachedValidation = maybe;
  const counts: number[] = [];
  for (let epoch = 0; epoch < 4; epoch++) {
    const cached: Record<string, number> = await cache.evaluate();
    const [loss, accuracy] = await evaluate(model, val.dataset);
    assertEquals(Object.keys(cached).sort(), ["val_accuracy", "val_loss"]);
    assertAlmostEquals(cached.val_loss, loss, 1e-5);
    assertAlmostEquals(cached.val_accuracy, accuracy, 1e-6);
    assertEquals(cache.size, 40);
    counts.push(tf.memory().numTensors);
    await fit(model, train.dataset, { epochs: 1, verbose: 0 });
  }
  // The first fit creates the optimizer's slots; after that the count stays flat.
  assert(counts.slice(2).every((c) => c === counts[1]), `tensor count per epoch: ${counts}`);
  const before = tf.memory().numTensors;
  cache.dispose();
  assertEquals(tf.memory().numTensors, before - 2);
  model.dispose();
  train.dispose();
  val.dispose();
});

Deno.test("CachedValidation: a replaced base weight invalidates the features", async () => {
  const val = tinySet(24, 16, 16, 7);
  const { model, base } = buildClassifier({ base: tinyBase(), seed: 5 });
  compileClassifier(model, tf.train.adam(0.01));
  const cache = CachedValidation.create(model, val.dataset)!;
  const first = await cache.evaluate();
  const conv = base.getLayer("Conv1");
  conv.setWeights(conv.getWeights().map((w) => tf.tidy(() => tf.mul(w, -1))));
  const after = await cache.evaluate();
  const [loss] = await evaluate(model, val.dataset);
  assert(
    Math.abs(after.val_loss - first.val_loss) > 1e-4,
    `loss changed: ${first.val_loss} → ${after.val_loss}`,
  );
  assertAlmostEquals(after.val_loss, loss, 1e-5);
  cache.dispose();
  model.dispose();
  val.dispose();
});

Deno.test("CachedValidation while fine-tuning: caches the base's frozen part, same numbers as evaluate", async () => {
  const train = tinySet(32, 16, 16, 0), val = tinySet(40, 16, 16, 1);
  const { model, base } = buildClassifier({ base: tinyBase(), seed: 6 });
  compileClassifier(model, tf.train.adam(0.01));
  unfreezeForFineTuning(base, 4);
  compileClassifier(model, tf.train.rmsprop(1e-3));
  const cache = CachedValidation.create(model, val.dataset);
  assert(cache !== null, "applies at the base's frozen part");
  const counts: number[] = [];
  for (let epoch = 0; epoch < 3; epoch++) {
    const cached = await cache.evaluate();
    const [loss, accuracy] = await evaluate(model, val.dataset);
    assertAlmostEquals(cached.val_loss, loss, 1e-5);
    assertAlmostEquals(cached.val_accuracy, accuracy, 1e-6);
    assertEquals(cache.size, 40);
    counts.push(tf.memory().numTensors);
    await fit(model, train.dataset, { epochs: 1, verbose: 0 }); // trains layers 4… only
  }
  assert(counts.slice(2).every((c) => c === counts[1]), `tensor count per epoch: ${counts}`);
  // Moving the cut rebuilds the compiled part, and the cache follows it.
  unfreezeForFineTuning(base, 2);
  const moved = await cache.evaluate();
  const [loss] = await evaluate(model, val.dataset);
  assertAlmostEquals(moved.val_loss, loss, 1e-5);
  cache.dispose();
  model.dispose();
  train.dispose();
  val.dispose();
});

Deno.test("CachedValidation: not applicable when the first layer trains or the base runs op by op", () => {
  const val = tinySet(8, 16, 16, 1);
  const { model, base } = buildClassifier({ base: tinyBase(), seed: 6, augmentation: null });
  base.frozenGraph = false;
  unfreezeForFineTuning(base, 4);
  compileClassifier(model, tf.train.rmsprop(1e-5));
  assert(CachedValidation.create(model, val.dataset) === null, "no compiled frozen part: no cache");
  base.frozenGraph = true;
  unfreezeForFineTuning(base, 0);
  assert(CachedValidation.create(model, val.dataset) === null, "nothing frozen inside the base: no cache");
  model.dispose();
  val.dispose();
});

Deno.test("CachedValidation: as a fit callback it fills val_loss / val_accuracy like validationData does", async () => {
  const train = tinySet(48, 16, 16, 2), val = tinySet(32, 16, 16, 3);
  const run = async (cached: boolean) => {
    const { model } = buildClassifier({
      base: tinyBase([16, 16, 3], 9),
      seed: 7,
      augmentation: null,
      dropout: 0,
    });
    compileClassifier(model, tf.train.sgd(0.05));
    const cache = cached ? CachedValidation.create(model, val.dataset)! : null;
    const h = await fit(model, train.dataset, {
      epochs: 2,
      verbose: 0,
      ...(cache ? { callbacks: [cache.callback()] } : { validationData: val.dataset }),
    });
    cache?.dispose();
    model.dispose();
    return h.history;
  };
  const plain = await run(false), cached = await run(true);
  assertEquals(Object.keys(cached).sort(), Object.keys(plain).sort());
  for (const key of ["val_loss", "val_accuracy", "loss"]) {
    plain[key].forEach((v, i) => assertAlmostEquals(cached[key][i], v, 1e-5, `${key}[${i}]`));
  }
  train.dispose();
  val.dispose();
});

Deno.test("fit caches frozen-phase validation: same history as without the cache, fewer model runs", async () => {
  const train = tinySet(48, 16, 16, 4), val = tinySet(32, 16, 16, 6);
  const run = async (cacheValidation: boolean) => {
    const { model, base } = buildClassifier({
      base: tinyBase([16, 16, 3], 11),
      seed: 8,
      augmentation: null,
      dropout: 0,
    });
    compileClassifier(model, tf.train.sgd(0.05));
    let baseCalls = 0;
    const call = base.call.bind(base);
    base.call = (inputs, kwargs) => (baseCalls++, call(inputs, kwargs));
    const h = await fit(model, train.dataset, {
      epochs: 3,
      validationData: val.dataset,
      verbose: 0,
      cacheValidation,
    });
    model.dispose();
    return { history: h.history, baseCalls };
  };
  const plain = await run(false), cached = await run(true);
  for (const key of ["loss", "accuracy", "val_loss", "val_accuracy"]) {
    plain.history[key].forEach((v, i) => assertAlmostEquals(cached.history[key][i], v, 1e-5, `${key}[${i}]`));
  }
  // 3 epochs × (3 training + 2 validation batches) without the cache; the validation batches once with it.
  assertEquals(plain.baseCalls, 15);
  assertEquals(cached.baseCalls, 11);
  train.dispose();
  val.dispose();
});
