/**
 * Fault injection for `getFile`: origins that change under the same name, servers that cut the connection,
 * archives that stop extracting, two processes on one cache entry, a process killed while extracting.
 */
import fs from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { getFile } from "../../lib/io/get_file.ts";
import { UnreachableOriginError } from "../../lib/io/download.ts";
import { originHint } from "../../lib/runtime/config.ts";
import { assert, assertEquals, assertMatch, assertRejects } from "../_assert.ts";
import { listTree, withTempDir } from "../_temp.ts";
import { makeZip } from "../_zip.ts";

const quiet = { progress: false };

/** A raw HTTP/1.1 server on 127.0.0.1: `respond` writes the whole response on the connection, then it is closed. */
function rawServer(respond: (conn: Deno.Conn) => Promise<void>) {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  let hits = 0;
  const serving = (async () => {
    for await (const conn of listener) {
      hits++;
      try {
        await conn.read(new Uint8Array(8192));
        await respond(conn);
      } catch { /* the client went away */ }
      try {
        conn.close();
      } catch { /* closed */ }
    }
  })();
  return {
    url: `http://127.0.0.1:${listener.addr.port}`,
    hits: () => hits,
    async close() {
      listener.close();
      await serving.catch(() => {});
    },
  };
}

const encode = (s: string) => new TextEncoder().encode(s);

Deno.test("getFile: the same name from another origin is fetched again, not silently reused", async () => {
  await withTempDir("get_file_faults_", async (tmp) => {
    const a = path.join(tmp, "a", "weights.h5");
    const b = path.join(tmp, "b", "weights.h5");
    await Deno.mkdir(path.dirname(a));
    await Deno.mkdir(path.dirname(b));
    await Deno.writeTextFile(a, "weights A");
    await Deno.writeTextFile(b, "weights B, another file");
    const cacheDir = path.join(tmp, "cache");
    const got = await getFile("weights.h5", a, { cacheDir, ...quiet });
    assertEquals(await Deno.readTextFile(got), "weights A");
    assertEquals(await getFile("weights.h5", b, { cacheDir, ...quiet }), got);
    assertEquals(await Deno.readTextFile(got), "weights B, another file");
    const record = JSON.parse(await Deno.readTextFile(`${got}.source.json`));
    assertEquals(record.origin, b);
    assertEquals(record.size, 23);
    assertMatch(record.sha256, /^[0-9a-f]{64}$/);

    // The same path with new content (same size even) is copied again too.
    await Deno.writeTextFile(b, "weights C, another file");
    await Deno.utime(b, new Date(), new Date(Date.now() + 5000));
    await getFile("weights.h5", b, { cacheDir, ...quiet });
    assertEquals(await Deno.readTextFile(got), "weights C, another file");

    // A file nobody recorded (an older cache, a copy by hand) is not trusted.
    await Deno.remove(`${got}.source.json`);
    await Deno.writeTextFile(got, "stale");
    await getFile("weights.h5", b, { cacheDir, ...quiet });
    assertEquals(await Deno.readTextFile(got), "weights C, another file");
  });
});

Deno.test("getFile: a cut connection is never kept as complete, with or without Content-Length", async () => {
  await withTempDir("get_file_faults_", async (tmp) => {
    const zip = await makeZip({ "d/a.bin": crypto.getRandomValues(new Uint8Array(60_000)), "d/b.txt": "b" });
    let cut = true;
    // No Content-Length, no chunked framing: the end of the body is the end of the connection.
    const closeDelimited = rawServer(async (conn) => {
      await conn.write(encode("HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n"));
      await conn.write(cut ? zip.subarray(0, 30_000) : zip);
    });
    // Chunked framing: the final zero-length chunk never comes.
    const chunked = rawServer(async (conn) => {
      await conn.write(encode("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"));
      await conn.write(encode(`7530\r\n`));
      await conn.write(zip.subarray(0, 30_000));
      await conn.write(encode(`\r\n`));
    });
    // Content-Length: fewer bytes than announced.
    const withLength = rawServer(async (conn) => {
      await conn.write(
        encode(`HTTP/1.1 200 OK\r\nContent-Length: ${zip.length}\r\nConnection: close\r\n\r\n`),
      );
      await conn.write(zip.subarray(0, 30_000));
    });
    try {
      const cacheDir = path.join(tmp, "cache");
      const datasets = path.join(cacheDir, "datasets");
      for (const server of [closeDelimited, chunked, withLength]) {
        await assertRejects(
          () => getFile("data.zip", `${server.url}/data.zip`, { cacheDir, extract: true, ...quiet }),
          Error,
          `${server.url}/data.zip`,
        );
        assertEquals(listTree(datasets), [], `nothing kept after a cut from ${server.url}`);
        if (server !== closeDelimited) {
          await assertRejects(() => getFile("plain.bin", `${server.url}/x`, { cacheDir, ...quiet }));
          assertEquals(listTree(datasets), []);
        }
      }
      await getFile("plain.bin", `${closeDelimited.url}/x`, { cacheDir, ...quiet });
      // A plain file whose server sends no length cannot be told complete: kept, recorded and said so.
      assertEquals(listTree(datasets), ["plain.bin", "plain.bin.source.json"]);
      assertEquals(
        JSON.parse(await Deno.readTextFile(path.join(datasets, "plain.bin.source.json"))).checked,
        "unchecked",
      );
      // The next run, with the server fixed, gets the whole archive.
      cut = false;
      const dir = await getFile("data.zip", `${closeDelimited.url}/data.zip`, {
        cacheDir,
        extract: true,
        ...quiet,
      });
      assertEquals(await Deno.readTextFile(path.join(dir, "d", "b.txt")), "b");
    } finally {
      await Promise.all([closeDelimited.close(), chunked.close(), withLength.close()]);
    }
  });
});

Deno.test("getFile: a cached archive that no longer extracts is fetched once more, else the error names it", async () => {
  await withTempDir("get_file_faults_", async (tmp) => {
    const zip = await makeZip({
      "top/a.bin": crypto.getRandomValues(new Uint8Array(20_000)),
      "top/b.txt": "B",
    });
    let serving = zip;
    const server = rawServer(async (conn) => {
      await conn.write(
        encode(`HTTP/1.1 200 OK\r\nContent-Length: ${serving.length}\r\nConnection: close\r\n\r\n`),
      );
      await conn.write(serving);
    });
    try {
      const origin = `${server.url}/arch.zip`;
      const cacheDir = path.join(tmp, "cache");
      const dir = await getFile("arch.zip", origin, { cacheDir, extract: true, ...quiet });
      const cached = path.join(cacheDir, "datasets", "arch.zip");
      const spoil = async () => {
        const bytes = await Deno.readFile(cached);
        for (let i = 200; i < 260; i++) bytes[i] ^= 0xff; // same size, broken data
        await Deno.writeFile(cached, bytes);
        await Deno.remove(dir, { recursive: true });
      };
      await spoil();
      assertEquals(await getFile("arch.zip", origin, { cacheDir, extract: true, ...quiet }), dir);
      assertEquals(await Deno.readTextFile(path.join(dir, "top", "b.txt")), "B");
      assertEquals(await Deno.readFile(cached), zip);
      assertEquals(server.hits(), 2);

      // The origin serves a broken archive now: one more fetch, then an error naming the file to delete.
      await spoil();
      serving = zip.subarray(0, 1000);
      const e = await assertRejects(() => getFile("arch.zip", origin, { cacheDir, extract: true, ...quiet }));
      assertMatch(e.message, /The cached .*arch\.zip cannot be extracted .* fetching it again failed/);
      assert(e.message.includes(`Delete ${cached}`), e.message);
      assertEquals(server.hits(), 3);
    } finally {
      await server.close();
    }
  });
});

Deno.test("getFile: an unreachable origin's error carries the caller's hint, else a generic one; getFile reads no TL_* itself", async () => {
  await withTempDir("get_file_faults_", async (tmp) => {
    const dead = "http://127.0.0.1:9/cats_and_dogs_filtered.zip"; // the discard port: refused at once
    const previous = Deno.env.get("TL_DATA_URL");
    Deno.env.set("TL_DATA_URL", dead);
    try {
      // No mirror (../shared would stand in for this file name: tests/io/mirror_test.ts).
      const options = { cacheDir: tmp, extract: true, mirror: null, ...quiet };
      await assertRejects(
        () => getFile("cats.zip", dead, { ...options, hint: originHint(dead) }),
        UnreachableOriginError,
        "(this origin comes from TL_DATA_URL; check its value)",
      );
      // Without a hint, the generic one, though TL_DATA_URL names this origin: the setting is the caller's.
      const e = await assertRejects(() => getFile("cats.zip", dead, options), UnreachableOriginError);
      assertMatch(e.message, /\(check the URL and the network, or fetch a local copy instead/);
      assert(!e.message.includes("TL_"), e.message);
    } finally {
      if (previous === undefined) Deno.env.delete("TL_DATA_URL");
      else Deno.env.set("TL_DATA_URL", previous);
    }
    // A local origin that cannot be read: the hint when given, none otherwise.
    const missing = path.join(tmp, "missing.zip");
    const hinted = await assertRejects(
      () => getFile("m.zip", missing, { cacheDir: tmp, hint: "set TL_DATA_URL", ...quiet }),
      Error,
      `cannot read origin ${missing}: `,
    );
    const plain = await assertRejects(() => getFile("m.zip", missing, { cacheDir: tmp, ...quiet }));
    assertEquals(hinted.message, `${plain.message} (set TL_DATA_URL)`);
  });
});

Deno.test("getFile: a symlink entry with a file under it names the archive and entry; './' is accepted", async () => {
  await withTempDir("get_file_faults_", async (tmp) => {
    const cacheDir = path.join(tmp, "cache");
    const linked = path.join(tmp, "linked.zip");
    await Deno.writeFile(
      linked,
      await makeZip({ "link": "/etc", "link/passwd": "x" }, { link: { unixMode: 0o120777 } }),
    );
    const e = await assertRejects(() => getFile("linked.zip", linked, { cacheDir, extract: true, ...quiet }));
    assertMatch(
      e.message,
      /entry "link\/passwd" lies under "link", which the archive stores as a symbolic link/,
    );
    assert(e.message.includes(linked), e.message);

    const dot = path.join(tmp, "dot.zip");
    await Deno.writeFile(dot, await makeZip({ "./": "", "./a.txt": "A" }));
    const dir = await getFile("dot.zip", dot, { cacheDir, extract: true, ...quiet });
    assertEquals(await Deno.readTextFile(path.join(dir, "a.txt")), "A");

    const slip = path.join(tmp, "slip.zip");
    await Deno.writeFile(slip, await makeZip({ "./../escaped.txt": "bad" }));
    await assertRejects(
      () => getFile("slip.zip", slip, { cacheDir, extract: true, ...quiet }),
      Error,
      "outside the target folder",
    );
  });
});

/** Runs `getFile` in a child deno; `hold` ms after it returns, it re-reads every file it got. */
function child(script: string) {
  return new Deno.Command(Deno.execPath(), {
    args: ["eval", "--quiet", script],
    stdout: "piped",
    stderr: "piped",
  });
}

function raceScript(url: string, cacheDir: string, hold: number): string {
  return `import { getFile } from ${JSON.stringify(pathToFileURL("lib/io/get_file.ts").href)};
    import fs from "node:fs";
    const dir = await getFile("race.zip", ${JSON.stringify(url)}, { cacheDir: ${JSON.stringify(cacheDir)},
      extract: true, progress: false });
    const files = fs.readdirSync(dir + "/top");
    const until = Date.now() + ${hold};
    let reads = 0;
    do {
      for (const f of files) if (fs.readFileSync(dir + "/top/" + f).length !== 2000) throw new Error("short " + f);
      reads++;
    } while (Date.now() < until);
    console.log(JSON.stringify({ dir, files: files.length, reads }));`;
}

Deno.test("getFile: two processes on one cache entry — one fetches, the other waits and reuses it intact", async () => {
  await withTempDir("get_file_faults_", async (tmp) => {
    const entries: Record<string, Uint8Array> = {};
    for (let i = 0; i < 200; i++) entries[`top/f${i}.bin`] = crypto.getRandomValues(new Uint8Array(2000));
    const zip = await makeZip(entries);
    // A slow server, so that both processes are inside getFile at once.
    const server = rawServer(async (conn) => {
      await conn.write(
        encode(`HTTP/1.1 200 OK\r\nContent-Length: ${zip.length}\r\nConnection: close\r\n\r\n`),
      );
      for (let i = 0; i < zip.length; i += 20_000) {
        await conn.write(zip.subarray(i, i + 20_000));
        await new Promise((r) => setTimeout(r, 100));
      }
    });
    try {
      const cacheDir = path.join(tmp, "cache");
      const url = `${server.url}/race.zip`;
      const first = child(raceScript(url, cacheDir, 1500)).output();
      await new Promise((r) => setTimeout(r, 300));
      const second = child(raceScript(url, cacheDir, 0)).output();
      const outs = await Promise.all([first, second]);
      for (const out of outs) assert(out.success, new TextDecoder().decode(out.stderr));
      const [a, b] = outs.map((o) => JSON.parse(new TextDecoder().decode(o.stdout)));
      assertEquals(a.dir, b.dir);
      assertEquals([a.files, b.files], [200, 200]);
      assertEquals(server.hits(), 1, "fetched once");
      // Whichever started first fetched; the other said whom it waited for.
      const waited = outs.map((o) =>
        /Waiting for process \d+ \(fetching .*race\.zip/.test(new TextDecoder().decode(o.stderr))
      );
      assertEquals(waited.filter(Boolean).length, 1, `waiting messages: ${waited}`);
      assertEquals(listTree(path.join(cacheDir, "datasets")).filter((f) => !f.includes("/")), [
        "race.zip",
        "race.zip.source.json",
        "race_extracted",
      ]);
    } finally {
      await server.close();
    }
  });
});

Deno.test("getFile: after a process is killed mid-extraction, the next run cleans up and succeeds", async () => {
  await withTempDir("get_file_faults_", async (tmp) => {
    const entries: Record<string, Uint8Array> = {};
    for (let i = 0; i < 1500; i++) entries[`top/f${i}.bin`] = crypto.getRandomValues(new Uint8Array(2000));
    const source = path.join(tmp, "big.zip");
    await Deno.writeFile(source, await makeZip(entries));
    const cacheDir = path.join(tmp, "cache");
    const datasets = path.join(cacheDir, "datasets");
    const script = `import { getFile } from ${JSON.stringify(pathToFileURL("lib/io/get_file.ts").href)};
      await getFile("big.zip", ${JSON.stringify(source)}, { cacheDir: ${JSON.stringify(cacheDir)},
        extract: true, progress: false });`;
    const proc = child(script).spawn();
    // Wait until the extraction folder exists, then kill -9.
    const deadline = Date.now() + 60_000;
    while (!(fs.existsSync(datasets) && fs.readdirSync(datasets).some((f) => f.includes(".extracting-")))) {
      if (Date.now() > deadline) throw new Error("the child never started extracting");
      await new Promise((r) => setTimeout(r, 5));
    }
    proc.kill("SIGKILL");
    const status = await proc.status;
    await proc.stdout.cancel();
    await proc.stderr.cancel();
    assertEquals(status.signal, "SIGKILL");
    const left = fs.readdirSync(datasets);
    assert(left.some((f) => f.includes(".extracting-")), `killed mid-extraction: ${left}`);
    assert(left.includes("big.zip.lock"), `the dead process' lock is left: ${left}`);
    // And a temporary download of a process killed earlier still.
    await Deno.writeTextFile(path.join(datasets, `big.zip.download-${proc.pid}-0123abcd`), "x");

    const dir = await getFile("big.zip", source, { cacheDir, extract: true, ...quiet });
    assertEquals(fs.readdirSync(path.join(dir, "top")).length, 1500);
    assertEquals(fs.readdirSync(datasets).sort(), ["big.zip", "big.zip.source.json", "big_extracted"]);
  });
});
