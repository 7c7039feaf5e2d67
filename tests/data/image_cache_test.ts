import {
  availableMemoryBytes,
  DEFAULT_BUDGET_SHARE,
  ImageCache,
  MemoryBudget,
  plainSize,
  resolveCacheBudget,
  sharedBudget,
} from "../../lib/data/image_cache.ts";
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
  const budget = new MemoryBudget(100);
  const a = new ImageCache(budget);
  const b = new ImageCache(budget);
  assert(a.put(0, new Float32Array(10))); // 40 bytes
  assert(b.put(0, new Float32Array(10))); // 80
  assert(!a.put(1, new Float32Array(10)), "120 > 100");
  assert(b.put(1, new Uint8ClampedArray(20))); // 100
  assertEquals([a.size, a.bytes, b.size, b.bytes, budget.used], [1, 40, 2, 60, 100]);
  assert(!a.fits(1));
  b.clear();
  assertEquals([b.size, b.bytes, budget.used], [0, 0, 40]);
  assert(a.put(1, new Float32Array(10)));
  assertEquals(a.get(1)?.length, 10);
});

Deno.test("plainSize: sizes as the cache line says them (kB, MB, GB in powers of 1000)", () => {
  assertEquals(
    [4032, 147_456, 3_240_000, 301_100_000, 5_899_600_000].map(plainSize),
    ["4 kB", "147 kB", "3.2 MB", "301 MB", "5.9 GB"],
  );
  assertEquals([0, 576].map(plainSize), ["0 bytes", "576 bytes"]);
});
