import { assert, assertEquals, assertThrows } from "../_assert.ts";
import { tf } from "../../lib/runtime/tf.ts";
import type { Optimizer, Scalar, Tensor, Variable } from "../../lib/runtime/tf.ts";
import { GraphRMSPropOptimizer, rmsprop } from "../../lib/model/optimizers.ts";
import { maxAbsDiff } from "../../lib/testing/tiny.ts";

let uid = 0;
/** Three variables of different shapes with fixed values, and a loss that gives each a gradient. */
function problem(seed: number) {
  const id = uid++;
  const vars = [[3, 3, 2, 4], [4], [5, 1]].map((shape, i) => {
    const init = tf.randomUniform(shape, -1, 1, "float32", seed + i);
    const v = tf.variable(init, true, `opt_test_${id}_${i}`);
    init.dispose();
    return v;
  });
  const loss = () =>
    tf.tidy(() =>
      vars.reduce((acc, v, i) => tf.add(acc, tf.sum(tf.mul(tf.square(v), i + 1))), tf.scalar(0)) as Scalar
    );
  return { vars, loss };
}

function run(optimizer: Optimizer, seed: number, steps: number): Float32Array[] {
  const { vars, loss } = problem(seed);
  for (let i = 0; i < steps; i++) tf.dispose(optimizer.minimize(loss, true, vars)!);
  const values = vars.map((v) => v.dataSync().slice() as Float32Array);
  tf.dispose(vars);
  return values;
}

for (const [label, momentum] of [["no momentum (the tutorial's)", 0], ["momentum 0.9", 0.9]] as const) {
  Deno.test(`GraphRMSPropOptimizer follows tfjs' RMSProp step by step: ${label}`, () => {
    const before = tf.memory().numTensors;
    const ours = rmsprop(0.01, { momentum });
    const reference = tf.train.rmsprop(0.01, 0.9, momentum);
    const a = run(ours, 1, 5), b = run(reference, 1, 5);
    a.forEach((values, i) =>
      assert(maxAbsDiff(values, b[i]) <= 1e-6, `variable ${i}: ${maxAbsDiff(values, b[i])}`)
    );
    // And it moved the variables at all.
    const { vars } = problem(1);
    assert(maxAbsDiff(a[0], vars[0].dataSync()) > 1e-3);
    tf.dispose(vars);
    ours.dispose();
    reference.dispose();
    assertEquals(tf.memory().numTensors, before);
  });
}

Deno.test("GraphRMSPropOptimizer: one native call per step, tensor count flat, slots like tfjs'", async () => {
  const optimizer = rmsprop(1e-3);
  const { vars, loss } = problem(7);
  tf.dispose(optimizer.minimize(loss, true, vars)!);
  const before = tf.memory().numTensors;
  // The whole update is one session run: no eager kernels at all (tfjs' RMSProp runs ≈ 15 per variable).
  const kernels = async (opt: Optimizer) => {
    const { value, grads } = tf.variableGrads(loss, vars);
    const profile = await tf.profile(() => opt.applyGradients(grads));
    tf.dispose([value, ...Object.values(grads)]);
    return profile.kernels.length;
  };
  assertEquals(await kernels(optimizer), 0);
  const reference = tf.train.rmsprop(1e-3);
  assert(await kernels(reference) >= 10 * vars.length);
  reference.dispose();
  for (let i = 0; i < 3; i++) tf.dispose(optimizer.minimize(loss, true, vars)!);
  assertEquals(tf.memory().numTensors, before);
  const weights = await optimizer.getWeights();
  assertEquals(weights.length, 1 + 2 * vars.length); // iterations, then rms and momentum per variable
  assertEquals(weights[1].name, `${vars[0].name}/rms`);
  assertEquals(optimizer.iterations, 5);
  assertEquals(optimizer.getClassName(), "RMSProp");
  optimizer.dispose();
  tf.dispose(vars);
});

Deno.test("GraphRMSPropOptimizer: a changed learning rate applies from the next step; null gradients skipped", () => {
  const before = tf.memory().numTensors;
  const ours = rmsprop(0.01), reference = tf.train.rmsprop(0.01);
  const a = problem(3), b = problem(3);
  for (const [opt, p] of [[ours, a], [reference, b]] as const) {
    tf.dispose(opt.minimize(p.loss, true, p.vars)!);
    (opt as unknown as { learningRate: number }).learningRate = 0.1;
    const { value, grads } = tf.variableGrads(p.loss, p.vars);
    opt.applyGradients({ ...grads, [p.vars[1].name]: null as unknown as Tensor });
    tf.dispose([value, ...Object.values(grads)]);
  }
  a.vars.forEach((v, i) => assert(maxAbsDiff(v.dataSync(), b.vars[i].dataSync()) <= 1e-6, `variable ${i}`));
  ours.dispose();
  reference.dispose();
  tf.dispose([...a.vars, ...b.vars] as Variable[]);
  assertEquals(tf.memory().numTensors, before);
});

Deno.test("rmsprop rejects a learning rate that is not positive", () => {
  assertThrows(() => rmsprop(0), Error, "learningRate must be > 0");
  assert(rmsprop(1e-5) instanceof GraphRMSPropOptimizer);
});
