import path from "node:path";
import { pathToFileURL } from "node:url";
import { downloadStatus, isHttpOrigin, localPath, originFileName } from "../../lib/io/download.ts";
import { assertEquals } from "../_assert.ts";

Deno.test("downloadStatus: bytes of total, Keras' bar, percent, rate and ETA; the total time when done", () => {
  const mb = 1024 * 1024;
  assertEquals(
    downloadStatus(1.5 * mb, 3 * mb, 1),
    `1.5 MB/3.0 MB [===============>..............] 50% 1.5 MB/s ETA 1s`,
  );
  assertEquals(
    downloadStatus(3 * mb, 3 * mb, 75),
    `3.0 MB/3.0 MB [${"=".repeat(30)}] 100% 41.0 KB/s 1:15 total`,
  );
  // No Content-Length: what came, how fast, for how long.
  assertEquals(downloadStatus(2048, undefined, 2), "2.0 KB 1.0 KB/s 2s");
  // Nothing yet: no division by zero, an unknown ETA.
  assertEquals(downloadStatus(0, 100, 0), "0 B/100 B [>.............................] 0% 0 B/s ETA ?");
});

Deno.test("origins: http(s) URLs, file:// URLs and paths; the file name they give", () => {
  assertEquals([isHttpOrigin("HTTPS://h/x.zip"), isHttpOrigin("file:///x.zip"), isHttpOrigin("x.zip")], [
    true,
    false,
    false,
  ]);
  const file = path.resolve("some dir", "a b.zip");
  assertEquals(localPath(pathToFileURL(file).href), file);
  assertEquals(localPath("some dir/a b.zip"), file);
  assertEquals(localPath("https://h/a.zip"), undefined);
  assertEquals(originFileName("https://h/d/cats%20and%20dogs.zip?x=1"), "cats and dogs.zip");
  assertEquals(originFileName("../shared/data/cats.zip"), "cats.zip");
});
