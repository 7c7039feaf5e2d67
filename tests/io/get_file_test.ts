import { createHash } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { getFile } from "../../lib/io/get_file.ts";
import { assert, assertEquals, assertMatch, assertRejects } from "../_assert.ts";
import { listTree, withTempDir } from "../_temp.ts";
import { makeZip } from "../_zip.ts";

const sha = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest("hex");

function randomBytes(n: number): Uint8Array<ArrayBuffer> {
  const bytes = new Uint8Array(n);
  for (let i = 0; i < n; i += 65536) crypto.getRandomValues(bytes.subarray(i, Math.min(i + 65536, n)));
  return bytes;
}

/** A local HTTP server serving `routes` (path → bytes), counting requests. */
function serve(routes: Record<string, Uint8Array<ArrayBuffer>>) {
  const hits: Record<string, number> = {};
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (req) => {
    const p = new URL(req.url).pathname;
    hits[p] = (hits[p] ?? 0) + 1;
    const body = routes[p];
    return body ? new Response(body) : new Response("not here", { status: 404 });
  });
  return { url: `http://127.0.0.1:${server.addr.port}`, hits, server };
}

Deno.test("getFile copies a path or file:// origin into cacheDir/datasets once", async () => {
  await withTempDir("get_file_test_", async (tmp) => {
    const source = path.join(tmp, "source.bin");
    const bytes = randomBytes(100_000);
    await Deno.writeFile(source, bytes);
    const cacheDir = path.join(tmp, "cache");

    const got = await getFile("copy.bin", source, { cacheDir, progress: false });
    assertEquals(got, path.join(cacheDir, "datasets", "copy.bin"));
    assertEquals(await Deno.readFile(got), bytes);

    const viaUrl = await getFile("url.bin", pathToFileURL(source).href, {
      cacheDir,
      cacheSubdir: "models",
      progress: false,
    });
    assertEquals(viaUrl, path.join(cacheDir, "models", "url.bin"));
    assertEquals(await Deno.readFile(viaUrl), bytes);

    // URL schemes are case-insensitive, as loadConfig accepts them: FILE:// is a file:// URL, not an error.
    const upper = pathToFileURL(source).href.replace(/^file:/, "FILE:");
    const viaUpper = await getFile("upper.bin", upper, { cacheDir, cacheSubdir: "models", progress: false });
    assertEquals(await Deno.readFile(viaUpper), bytes);

    // Cached: a second call neither needs the origin nor rewrites the file.
    const mtime = (await Deno.stat(got)).mtime;
    await Deno.remove(source);
    assertEquals(await getFile("copy.bin", source, { cacheDir, progress: false }), got);
    assertEquals((await Deno.stat(got)).mtime, mtime);
    assertEquals(listTree(path.join(cacheDir, "datasets")), ["copy.bin", "copy.bin.source.json"]);
  });
});

Deno.test("getFile derives the name from the origin and rejects paths as fname", async () => {
  await withTempDir("get_file_test_", async (tmp) => {
    const source = path.join(tmp, "named file.txt");
    await Deno.writeTextFile(source, "x");
    const got = await getFile("", pathToFileURL(source).href, { cacheDir: tmp, progress: false });
    assertEquals(path.basename(got), "named file.txt");
    await assertRejects(() => getFile("a/b.txt", source, { cacheDir: tmp }), Error, "plain file name");
    await assertRejects(
      () => getFile("missing.txt", path.join(tmp, "nope"), { cacheDir: tmp, progress: false }),
      Error,
      "nope",
    );
    await assertRejects(
      () => getFile("x", "ftp://host/x", { cacheDir: tmp, progress: false }),
      Error,
      "ftp://",
    );
    await assertRejects(
      () => getFile("x", source, { cacheDir: tmp, sha256: "abc" }),
      Error,
      "64 hexadecimal",
    );
  });
});

Deno.test("getFile verifies sha256: a wrong download is removed, a stale cached file is fetched again", async () => {
  await withTempDir("get_file_test_", async (tmp) => {
    const bytes = randomBytes(5000);
    const source = path.join(tmp, "src.bin");
    await Deno.writeFile(source, bytes);
    const cacheDir = path.join(tmp, "cache");
    const wrong = "0".repeat(64);
    await assertRejects(
      () => getFile("f.bin", source, { cacheDir, sha256: wrong, progress: false }),
      Error,
      `expected ${wrong}`,
    );
    assertEquals(listTree(path.join(cacheDir, "datasets")), []);

    const got = await getFile("f.bin", source, {
      cacheDir,
      sha256: sha(bytes).toUpperCase(),
      progress: false,
    });
    assertEquals(await Deno.readFile(got), bytes);

    await Deno.writeTextFile(got, "corrupted in the cache");
    assertEquals(await getFile("f.bin", source, { cacheDir, sha256: sha(bytes), progress: false }), got);
    assertEquals(await Deno.readFile(got), bytes);
  });
});

Deno.test("getFile downloads over HTTP with a progress bar, atomically, once", async () => {
  await withTempDir("get_file_test_", async (tmp) => {
    const bytes = randomBytes(3_000_000);
    const { url, hits, server } = serve({ "/big.bin": bytes });
    try {
      // In a child process so that its stderr (the progress bar) can be read.
      const script = `import { getFile } from ${JSON.stringify(pathToFileURL("lib/io/get_file.ts").href)};
        console.log(await getFile("big.bin", ${JSON.stringify(url + "/big.bin")}, {
          cacheDir: ${JSON.stringify(tmp)}, sha256: ${JSON.stringify(sha(bytes))} }));`;
      const out = await new Deno.Command(Deno.execPath(), {
        args: ["eval", "--quiet", script],
        stdout: "piped",
        stderr: "piped",
      }).output();
      const stderr = new TextDecoder().decode(out.stderr);
      assert(out.success, stderr);
      const got = new TextDecoder().decode(out.stdout).trim();
      assertEquals(got, path.join(tmp, "datasets", "big.bin"));
      assertEquals(await Deno.readFile(got), bytes);
      assertMatch(stderr, new RegExp(`Downloading data from ${url}/big.bin`));
      assertMatch(stderr, /2\.9 MB\/2\.9 MB \[=+\] 100% [\d.]+ [KMG]?B\/s/);
      assertEquals(listTree(path.join(tmp, "datasets")), ["big.bin", "big.bin.source.json"]);

      assertEquals(await getFile("big.bin", `${url}/big.bin`, { cacheDir: tmp, progress: false }), got);
      assertEquals(hits["/big.bin"], 1);

      await assertRejects(
        () => getFile("missing.bin", `${url}/missing.bin`, { cacheDir: tmp, progress: false }),
        Error,
        "HTTP 404",
      );
      assertEquals(listTree(path.join(tmp, "datasets")), ["big.bin", "big.bin.source.json"]);
    } finally {
      await server.shutdown();
    }
  });
});

Deno.test("getFile: a server that cuts the body short is an error and leaves no file", async () => {
  await withTempDir("get_file_test_", async (tmp) => {
    const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const serving = (async () => {
      for await (const conn of listener) {
        await conn.read(new Uint8Array(4096));
        const head = "HTTP/1.1 200 OK\r\nContent-Length: 100000\r\nConnection: close\r\n\r\n";
        await conn.write(new TextEncoder().encode(head));
        await conn.write(randomBytes(40_000));
        conn.close();
      }
    })();
    try {
      const origin = `http://127.0.0.1:${listener.addr.port}/short.bin`;
      await assertRejects(
        () => getFile("short.bin", origin, { cacheDir: tmp, progress: false }),
        Error,
        origin,
      );
      assertEquals(listTree(path.join(tmp, "datasets")), []);
    } finally {
      listener.close();
      await serving.catch(() => {});
    }
  });
});

Deno.test("getFile extracts a zip next to the file, Keras-style, once", async () => {
  await withTempDir("get_file_test_", async (tmp) => {
    const zip = await makeZip({ "top/a.txt": "A", "top/sub/b.bin": randomBytes(70_000), "top/empty/": "" });
    const source = path.join(tmp, "archive.zip");
    await Deno.writeFile(source, zip);
    const cacheDir = path.join(tmp, "cache");

    const dir = await getFile("cats.zip", source, { cacheDir, extract: true, progress: false });
    assertEquals(dir, path.join(cacheDir, "datasets", "cats_extracted"));
    assertEquals(await Deno.readTextFile(path.join(dir, "top", "a.txt")), "A");
    assertEquals((await Deno.stat(path.join(dir, "top", "sub", "b.bin"))).size, 70_000);
    assert(fs.statSync(path.join(dir, "top", "empty")).isDirectory());
    assertEquals(listTree(path.join(cacheDir, "datasets")).filter((f) => !f.includes("/")), [
      "cats.zip",
      "cats.zip.source.json",
      "cats_extracted",
    ]);

    // Cached: no re-extraction (a marker survives), the origin is not needed.
    await Deno.writeTextFile(path.join(dir, "marker"), "");
    await Deno.remove(source);
    assertEquals(await getFile("cats.zip", source, { cacheDir, extract: true, progress: false }), dir);
    assert(fs.existsSync(path.join(dir, "marker")));

    // No dot in fname: the archive is stored as <fname>_archive and extracted into <fname>.
    await Deno.writeFile(source, zip);
    const plain = await getFile("plain", source, { cacheDir, extract: true, progress: false });
    assertEquals(plain, path.join(cacheDir, "datasets", "plain"));
    assert(fs.existsSync(path.join(cacheDir, "datasets", "plain_archive")));
    assertEquals(await Deno.readTextFile(path.join(plain, "top", "a.txt")), "A");
  });
});

Deno.test("getFile refuses zip-slip entries and leaves nothing extracted", async () => {
  await withTempDir("get_file_test_", async (tmp) => {
    const source = path.join(tmp, "evil.zip");
    await Deno.writeFile(source, await makeZip({ "ok.txt": "fine", "../escaped.txt": "bad" }));
    const cacheDir = path.join(tmp, "cache");
    await assertRejects(
      () => getFile("evil.zip", source, { cacheDir, extract: true, progress: false }),
      Error,
      `entry "../escaped.txt" would be written outside the target folder`,
    );
    // The archive is verified before anything is committed: a refused archive is not kept either.
    assertEquals(listTree(path.join(cacheDir, "datasets")), []);
    assert(!fs.existsSync(path.join(cacheDir, "escaped.txt")));

    await Deno.writeFile(source, await makeZip({ "/etc/abs.txt": "bad" }));
    await assertRejects(
      () => getFile("abs.zip", source, { cacheDir, extract: true, progress: false }),
      Error,
      "outside the target folder",
    );
  });
});

Deno.test("getFile: a truncated or corrupt archive is a clear error with no extraction folder left", async () => {
  await withTempDir("get_file_test_", async (tmp) => {
    const payload = randomBytes(50_000);
    const zip = await makeZip({ "d/one.bin": payload, "d/two.txt": "two ".repeat(1000) });
    const cacheDir = path.join(tmp, "cache");

    const truncated = path.join(tmp, "truncated.zip");
    await Deno.writeFile(truncated, zip.subarray(0, Math.floor(zip.length * 0.6)));
    await assertRejects(
      () => getFile("truncated.zip", truncated, { cacheDir, extract: true, progress: false }),
      Error,
      "not a readable zip archive",
    );

    // Flip bytes inside the first entry's data (the random payload is stored as is): the CRC-32 check fails.
    const corrupt = zip.slice();
    for (let i = 1000; i < 1010; i++) corrupt[i] ^= 0xff;
    const corruptFile = path.join(tmp, "corrupt.zip");
    await Deno.writeFile(corruptFile, corrupt);
    await assertRejects(
      () => getFile("corrupt.zip", corruptFile, { cacheDir, extract: true, progress: false }),
      Error,
      `Corrupt zip archive`,
    );
    assertEquals(listTree(path.join(cacheDir, "datasets")), [], "archives that do not extract are not kept");

    const notZip = path.join(tmp, "plain.txt");
    await Deno.writeTextFile(notZip, "just text");
    await assertRejects(
      () => getFile("plain.txt", notZip, { cacheDir, extract: true, progress: false }),
      Error,
      "not a readable zip archive",
    );
  });
});

Deno.test("getFile reads no TL_* setting: a bad TL_EPOCHS does not stop a fetch that names its folder", async () => {
  await withTempDir("get_file_test_", async (tmp) => {
    const source = path.join(tmp, "source.bin");
    await Deno.writeFile(source, randomBytes(1000));
    const previous = Deno.env.get("TL_EPOCHS");
    Deno.env.set("TL_EPOCHS", "0");
    try {
      const got = await getFile("f.bin", source, { cacheSubdir: path.join(tmp, "abs"), progress: false });
      assertEquals(got, path.join(tmp, "abs", "f.bin"));
    } finally {
      if (previous === undefined) Deno.env.delete("TL_EPOCHS");
      else Deno.env.set("TL_EPOCHS", previous);
    }
  });
});
