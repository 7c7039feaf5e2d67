import {
  availableMemoryBytes,
  DEFAULT_BUDGET_SHARE,
  ImageCache,
  MemoryBudget,
  plainSize,
  resolveCacheBudget,
  sharedBudget,
} from "../../lib/data/image_cache.ts";
import { tf } from "../../lib/runtime/tf.ts";
import { PROJECT_ROOT } from "../../lib/runtime/config.ts";
import type { Tensor } from "../../lib/runtime/tf.ts";
import { assert, assertEquals, assertMatch, assertThrows } from "../_assert.ts";

Deno.test("resolveCacheBudget: the given megabytes, else a share of the available memory", () => {
  assertEquals(resolveCacheBudget({ budgetMB: 12.5 }), { bytes: 12_500_000, source: "cacheBudgetMB" });
  assertEquals(resolveCacheBudget({ budgetMB: 99, setting: "TL_CACHE_MB" }), {
    bytes: 99_000_000,
    source: "TL_CACHE_MB",
  });
  assertEquals(resolveCacheBudget({ budgetMB: 0 }).bytes, 0);
  const fallback = resolveCacheBudget();
  const available = availableMemoryBytes();
  assert(available > 0);
  assert(Math.abs(fallback.bytes - available * DEFAULT_BUDGET_SHARE) < available * 0.05, `${fallback.bytes}`);
  assertMatch(
    fallback.source,
    /^25% of the \d+\.\d MB available; set TL_CACHE_MB or cacheBudgetMB to change$/,
  );
  assertThrows(
    () => resolveCacheBudget({ budgetMB: -1, setting: "TL_CACHE_MB" }),
    Error,
    "TL_CACHE_MB must be a number of megabytes ≥ 0, got -1",
  );
  assertThrows(() => resolveCacheBudget({ budgetMB: Number.NaN }), Error, "cacheBudgetMB must be a number");
});

Deno.test("sharedBudget: one budget while its size stays the same, a new one when it changes", () => {
  const a = sharedBudget({ budgetMB: 1, setting: "sharedCacheBudgetMB" });
  assertEquals([a.limit, a.source], [1_000_000, "sharedCacheBudgetMB"]);
  assert(sharedBudget({ budgetMB: 1, setting: "sharedCacheBudgetMB" }) === a);
  const b = sharedBudget({ budgetMB: 2, setting: "sharedCacheBudgetMB" });
  assert(b !== a);
  assertEquals(b.limit, 2_000_000);
  assertMatch(sharedBudget().source, /^25% of the /);
});

Deno.test("ImageCache keeps images only while they fit, shares its budget, gives it back on clear", () => {
  const start = tf.memory().numTensors;
  const budget = new MemoryBudget(100);
  const a = new ImageCache(budget);
  const b = new ImageCache(budget);
  assert(a.put(0, tf.zeros([10]))); // 40 bytes
  assert(b.put(0, tf.zeros([10]))); // 80
  assert(!a.put(1, tf.zeros([10])), "120 > 100");
  assertEquals(tf.memory().numTensors, start + 2, "the tensor not kept is freed by the cache");
  assert(b.put(1, new Uint8ClampedArray(20))); // 100
  assertEquals([a.size, a.bytes, b.size, b.bytes, budget.used], [1, 40, 2, 60, 100]);
  assert(!a.fits(1));
  b.clear();
  assertEquals([b.size, b.bytes, budget.used, tf.memory().numTensors], [0, 0, 40, start + 1]);
  assert(a.put(1, tf.ones([10])));
  assertEquals((a.get(1) as Tensor).dataSync()[0], 1);
  a.clear();
  assertEquals(tf.memory().numTensors, start);
});

Deno.test("ImageCache: kept tensors survive an enclosing tidy; dispose frees them and the planned bytes, once", () => {
  const start = tf.memory().numTensors;
  const budget = new MemoryBudget(1000);
  const cache = new ImageCache(budget, 400);
  tf.tidy(() => {
    assert(cache.put(0, tf.zeros([2, 5])));
    assert(cache.put(0, tf.ones([2, 5])), "already kept: the new one is freed");
  });
  assertEquals([tf.memory().numTensors, cache.size, budget.used, budget.planned], [start + 1, 1, 40, 400]);
  assertEquals((cache.get(0) as Tensor).dataSync()[0], 0);
  cache.dispose();
  cache.dispose();
  assertEquals([tf.memory().numTensors, cache.size, budget.used, budget.planned], [start, 0, 0, 0]);
  assert(!cache.put(1, tf.zeros([2])), "a disposed cache keeps nothing");
  assertEquals([tf.memory().numTensors, budget.used], [start, 0]);
});

Deno.test("plainSize: sizes as the cache line says them (kB, MB, GB in powers of 1000)", () => {
  assertEquals(
    [4032, 147_456, 3_240_000, 301_100_000, 5_899_600_000].map(plainSize),
    ["4 kB", "147 kB", "3.2 MB", "301 MB", "5.9 GB"],
  );
  assertEquals([0, 576].map(plainSize), ["0 bytes", "576 bytes"]);
});

/** A process with `gc()` exposed: caches dropped with tensors in them, collected, the backend reset before the last. */
const FINALIZER_PROBE = `
import { tf } from "./lib/runtime/tf.ts";
import { ImageCache, MemoryBudget } from "./lib/data/image_cache.ts";
const gc = globalThis.gc;
const budget = new MemoryBudget(1e6);
const start = tf.memory().numTensors;
const drop = () => {
  const cache = new ImageCache(budget, 80);
  cache.put(0, tf.zeros([10]));
  cache.put(1, tf.zeros([10]));
};
drop();
const kept = tf.memory().numTensors - start;
const collect = async () => {
  for (let k = 0; k < 50 && budget.used > 0; k++) {
    gc();
    await new Promise((r) => setTimeout(r, 10));
  }
};
await collect();
const left = tf.memory().numTensors - start;
const released = [budget.used, budget.planned];
drop();
tf.engine().reset(); // the backend's tensors are gone when the finalizer runs
await collect();
console.log(JSON.stringify({ kept, left, released, afterReset: [budget.used, budget.planned] }));
`;

Deno.test("a dropped cache, once garbage-collected, frees its tensors and budget — without throwing after a backend reset", async () => {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["eval", "--config", "deno.json", "--v8-flags=--expose-gc", FINALIZER_PROBE],
    cwd: PROJECT_ROOT,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stderr = new TextDecoder().decode(out.stderr);
  assertEquals(out.code, 0, stderr);
  const result = JSON.parse(new TextDecoder().decode(out.stdout).trim().split("\n").at(-1)!);
  assertEquals(result, { kept: 2, left: 0, released: [0, 0], afterReset: [0, 0] });
});
