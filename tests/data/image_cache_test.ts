import {
  availableMemoryBytes,
  DEFAULT_BUDGET_SHARE,
  ImageCache,
  MemoryBudget,
  plainSize,
  resolveCacheBudget,
} from "../../lib/data/image_cache.ts";
import { assert, assertEquals, assertMatch, assertThrows } from "../_assert.ts";

const env = (vars: Record<string, string>) => ({ get: (k: string) => vars[k] });

Deno.test("resolveCacheBudget: option, then TL_CACHE_MB, then a share of the available memory", () => {
  assertEquals(resolveCacheBudget(12.5, env({ TL_CACHE_MB: "99" })), {
    bytes: 12_500_000,
    source: "cacheBudgetMB",
  });
  assertEquals(resolveCacheBudget(undefined, env({ TL_CACHE_MB: "99" })), {
    bytes: 99_000_000,
    source: "TL_CACHE_MB",
  });
  const fallback = resolveCacheBudget(undefined, env({ TL_CACHE_MB: "" }));
  const available = availableMemoryBytes();
  assert(available > 0);
  assert(Math.abs(fallback.bytes - available * DEFAULT_BUDGET_SHARE) < available * 0.05, `${fallback.bytes}`);
  assertMatch(
    fallback.source,
    /^25% of the \d+\.\d MB available; set TL_CACHE_MB or cacheBudgetMB to change$/,
  );
  assertThrows(
    () => resolveCacheBudget(undefined, env({ TL_CACHE_MB: "1GB" })),
    Error,
    'TL_CACHE_MB must be a number of megabytes ≥ 0, got "1GB"',
  );
  assertThrows(() => resolveCacheBudget(Number.NaN), Error, "cacheBudgetMB must be a number");
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
