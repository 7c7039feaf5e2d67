/**
 * The manifest of a folder the project writes (lib/io/manifest.ts): what it records, and that a manifest
 * that could make a later write touch files outside its folder is refused.
 */
import fs from "node:fs";
import path from "node:path";
import { createHash } from "node:crypto";
import { assertEquals, assertThrows } from "../_assert.ts";
import { withTempDir } from "../_temp.ts";
import {
  changedFiles,
  folderLeaves,
  MANIFEST_FILE,
  MANIFEST_FORMAT,
  readManifest,
  sha256File,
  writeManifest,
} from "../../lib/io/manifest.ts";

const sha = (text: string) => createHash("sha256").update(text).digest("hex");

Deno.test("writeManifest lists every file with its size and SHA-256; readManifest reads it back", async () => {
  await withTempDir("tl-manifest-", async (dir) => {
    fs.mkdirSync(path.join(dir, "model"));
    fs.writeFileSync(path.join(dir, "index.html"), "<p>hi</p>");
    fs.writeFileSync(path.join(dir, "model", "weights.bin"), "0123456789");
    const written = await writeManifest(dir, "web-export");
    assertEquals(written.files, [
      { path: "index.html", bytes: 9, sha256: sha("<p>hi</p>") },
      { path: "model/weights.bin", bytes: 10, sha256: sha("0123456789") },
    ]);
    assertEquals([written.format, written.formatVersion, written.kind], [MANIFEST_FORMAT, 1, "web-export"]);
    assertEquals(readManifest(dir), written);
    assertEquals(folderLeaves(dir), [MANIFEST_FILE, "index.html", "model/weights.bin"]);
    assertEquals(sha256File(path.join(dir, "index.html")), sha("<p>hi</p>"));

    // Changed content (same size or not) and a link in a listed file's place are changes; a deleted file is not.
    assertEquals(changedFiles(dir, written), []);
    fs.writeFileSync(path.join(dir, "index.html"), "<p>HI</p>");
    fs.rmSync(path.join(dir, "model", "weights.bin"));
    assertEquals(changedFiles(dir, written), ["index.html"]);
    fs.symlinkSync("/etc/hostname", path.join(dir, "model", "weights.bin"));
    assertEquals(changedFiles(dir, written), ["index.html", "model/weights.bin"]);
  });
});

Deno.test("readManifest: none is undefined; a manifest naming paths outside its folder, or of another format, is an error", async () => {
  await withTempDir("tl-manifest-bad-", async (dir) => {
    await Deno.mkdir(path.join(dir, "sub"));
    assertEquals(readManifest(dir), undefined);
    const file = path.join(dir, MANIFEST_FILE);
    const write = (o: unknown) => fs.writeFileSync(file, JSON.stringify(o));
    const good = { format: MANIFEST_FORMAT, formatVersion: 1, kind: "model", written: "", files: [] };
    for (const bad of ["../outside.txt", "/etc/passwd", "a/../../b", "./x", ""]) {
      write({ ...good, files: [{ path: bad, bytes: 1, sha256: "0".repeat(64) }] });
      assertThrows(() => readManifest(dir), Error, `${file}: bad entry`);
    }
    write({ ...good, formatVersion: 2 });
    assertThrows(() => readManifest(dir), Error, "formatVersion 2 is not 1");
    write({ ...good, format: "other" });
    assertThrows(() => readManifest(dir), Error, "format must be");
    fs.writeFileSync(file, "{");
    assertThrows(() => readManifest(dir), Error, "not valid JSON");
  });
});
