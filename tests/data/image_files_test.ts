import path from "node:path";
import { pathHash, shardFiles, shardOf } from "../../lib/data/image_files.ts";
import { assert, assertEquals } from "../_assert.ts";

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

Deno.test("shardFiles: N shards of a command line's files are disjoint and cover them, whatever the folder's location", async () => {
  const root = await Deno.makeTempDir({ prefix: "image_files_test_" });
  try {
    const photos = path.join(root, "photos");
    const files: string[] = [];
    for (let i = 0; i < 40; i++) {
      const file = path.join(photos, i % 2 ? "a" : "b", `${i}.jpg`);
      await Deno.mkdir(path.dirname(file), { recursive: true });
      await Deno.writeFile(file, new Uint8Array());
      files.push(file);
    }
    const loose = path.join(root, "loose.png");
    await Deno.writeFile(loose, new Uint8Array());
    const inputs = [photos, loose];
    const all = [...files, loose];
    const parts = [0, 1, 2].map((index) => shardFiles(inputs, all, { index, count: 3 }));
    assertEquals(parts.flat().sort(), [...all].sort());
    assertEquals(new Set(parts.flat()).size, all.length);
    assert(parts.every((p) => p.length > 0));
    // The same folder elsewhere (another machine's mount point) splits the same way.
    const moved = path.join(root, "elsewhere");
    await Deno.rename(photos, moved);
    const again = shardFiles([moved], files.map((f) => f.replace(photos, moved)), { index: 1, count: 3 });
    assertEquals(again, parts[1].filter((f) => f !== loose).map((f) => f.replace(photos, moved)));
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
