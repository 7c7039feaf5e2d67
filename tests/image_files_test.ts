import path from "node:path";
import { pathHash, shardOf } from "../lib/image_files.ts";
import { assert, assertEquals } from "./_assert.ts";

Deno.test("pathHash is FNV-1a 32 bits (stable across runs and machines)", () => {
  assertEquals(pathHash(""), 0x811c9dc5);
  assertEquals(pathHash("a"), 0xe40c292c);
  assertEquals(pathHash("foobar"), 0xbf9cf968);
});

Deno.test("shardOf: the path under the folder decides, with / separators; shards are roughly even", () => {
  const dir = path.join("/data", "photos");
  const file = path.join(dir, "cats", "cat.1.jpg");
  assertEquals(shardOf(dir, file, 7), pathHash("cats/cat.1.jpg") % 7);
  assertEquals(
    shardOf(path.join("/elsewhere"), path.join("/elsewhere", "cats", "cat.1.jpg"), 7),
    shardOf(dir, file, 7),
  );
  const counts = [0, 0, 0, 0];
  for (let i = 0; i < 4000; i++) counts[shardOf(dir, path.join(dir, "dogs", `dog.${i}.jpg`), 4)]++;
  assert(counts.every((c) => c > 850 && c < 1150), JSON.stringify(counts));
});
