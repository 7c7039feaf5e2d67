/**
 * The static server against a running instance on 127.0.0.1: raw HTTP requests (a `fetch` client would
 * resolve `..` before sending, and sets `Host` itself) try path escapes, encoded escapes, a symlink out of
 * the page's folder and foreign `Host` headers (DNS rebinding); every request is bounded by a timeout and the
 * server is stopped at the end.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { assert, assertEquals, assertMatch } from "../_assert.ts";
import { isLoopback, rawPath, servedHosts, serveSite } from "../../lib/tasks/serve.ts";
import type { Site } from "../../lib/tasks/site.ts";
import { staticEntries } from "../../lib/tasks/site.ts";
import { PREPROCESSING } from "../../lib/tasks/metadata.ts";
import { PROJECT_ROOT } from "../../lib/runtime/config.ts";
import { buildClassifier } from "../../lib/model/classifier.ts";
import { saveModel } from "../../lib/model/model_io.ts";
import { tinyBase, tinyMetadata } from "../../lib/testing/tiny.ts";

const SECRET = "SECRET-7f3a-not-for-the-web";

interface RawResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/**
 * One HTTP/1.1 request to 127.0.0.1 with `target` sent verbatim and the `Host` header `host` (default
 * `127.0.0.1:port`; `null`: an HTTP/1.0 request without one); rejects after `timeoutMs`.
 */
async function rawRequest(
  port: number,
  target: string,
  method = "GET",
  host: string | null = `127.0.0.1:${port}`,
  timeoutMs = 5000,
): Promise<RawResponse> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  const timer = setTimeout(() => conn.close(), timeoutMs);
  try {
    const request = host === null
      ? `${method} ${target} HTTP/1.0\r\n`
      : `${method} ${target} HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n`;
    await conn.write(new TextEncoder().encode(`${request}\r\n`));
    const chunks: Uint8Array<ArrayBuffer>[] = [];
    const buf = new Uint8Array(65536);
    for (let n; (n = await conn.read(buf)) !== null;) chunks.push(buf.slice(0, n));
    const text = new TextDecoder().decode(await new Blob(chunks).arrayBuffer());
    const [head, ...rest] = text.split("\r\n\r\n");
    const [statusLine, ...lines] = head.split("\r\n");
    const headers = Object.fromEntries(lines.map((l) => {
      const i = l.indexOf(":");
      return [l.slice(0, i).toLowerCase(), l.slice(i + 1).trim()];
    }));
    return { status: Number(statusLine.split(" ")[1]), headers, body: rest.join("\r\n\r\n") };
  } finally {
    clearTimeout(timer);
    try {
      conn.close();
    } catch {
      // closed by the timeout or the server
    }
  }
}

/** A page folder whose `style.css` is a symlink to a secret file outside it, and a site over it. */
function fixtureSite(tmp: string): Site {
  const web = path.join(tmp, "web");
  fs.mkdirSync(web);
  fs.writeFileSync(path.join(web, "index.html"), "<!doctype html><title>page</title>");
  fs.writeFileSync(path.join(web, "app.js"), "console.log('app');");
  fs.writeFileSync(path.join(tmp, "secret.txt"), SECRET);
  fs.symlinkSync(path.join(tmp, "secret.txt"), path.join(web, "style.css"));
  const entries = staticEntries(web);
  const json = new TextEncoder().encode(JSON.stringify({ name: "m" }));
  entries.set("/model/metadata.json", { body: json, type: "application/json; charset=utf-8" });
  return {
    entries,
    metadata: {
      name: "m",
      classNames: ["a", "b"],
      imageSize: [8, 8],
      output: "sigmoid",
      preprocessing: PREPROCESSING,
    },
  };
}

Deno.test("rawPath keeps what the client sent, without query or fragment", () => {
  assertEquals(rawPath("http://127.0.0.1:8000/a/../b?x=1#f"), "/a/../b");
  assertEquals(rawPath("http://127.0.0.1:8000/%2e%2e/x"), "/%2e%2e/x");
  assertEquals(rawPath("http://127.0.0.1:8000"), "/");
  assertEquals(rawPath("http://h//etc/passwd"), "//etc/passwd");
});

Deno.test("serve: the allow-list only; escapes, encoded escapes and symlinks out get 404", async () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "tl-serve-test-"));
  const controller = new AbortController();
  let url = "";
  const server = serveSite(fixtureSite(tmp), {
    port: 0,
    signal: controller.signal,
    onListen: (u) => url = u,
  });
  try {
    assertEquals(server.addr.hostname, "127.0.0.1");
    assertMatch(url, /^http:\/\/127\.0\.0\.1:\d+\/$/);
    const port = server.addr.port;

    const ok = async (target: string, type: RegExp) => {
      const r = await rawRequest(port, target);
      assertEquals(r.status, 200, `${target}: ${r.status}`);
      assertMatch(r.headers["content-type"], type, target);
      assertEquals(r.headers["x-content-type-options"], "nosniff");
      assertMatch(r.headers["content-security-policy"], /default-src 'none'/);
      return r;
    };
    assertMatch((await ok("/", /^text\/html/)).body, /<title>page<\/title>/);
    await ok("/index.html", /^text\/html/);
    await ok("/app.js", /^text\/javascript/);
    await ok("/model/metadata.json", /^application\/json/);
    await ok("/tfjs/tfjs-backend-wasm.wasm", /^application\/wasm/);
    const tfjs = await ok("/tfjs/tf.es2017.min.js?v=1", /^text\/javascript/);
    assert(tfjs.body.length > 100_000, "tf.es2017.min.js is served whole");
    const head = await rawRequest(port, "/app.js", "HEAD");
    assertEquals([head.status, head.body, head.headers["content-length"]], [200, "", "19"]);
    const post = await rawRequest(port, "/index.html", "POST");
    assertEquals([post.status, post.headers["allow"]], [405, "GET, HEAD"]);

    const escapes = [
      "/style.css", // a symlink to a file outside the page's folder
      "/../secret.txt",
      "/../../../../etc/passwd",
      "/tfjs/../index.html", // resolves inside, but `..` is never accepted
      "/model/../../deno.json",
      "/%2e%2e/secret.txt",
      "/%2E%2E/%2E%2E/deno.json",
      "/tfjs/..%2f..%2fdeno.json",
      "/tfjs/%2e%2e%2f%2e%2e%2fpackage.json",
      "/%2fetc%2fpasswd",
      "//etc/passwd",
      "/..\\..\\deno.json",
      "/index%2ehtml",
      "/index.html/",
      "/index.html%00",
      "/INDEX.HTML",
      "/web/index.html",
      "/secret.txt",
      "/lib/tasks/web/app.js",
      "/deno.json",
      "/node_modules/@tensorflow/tfjs/package.json",
      "/model/",
      "/tfjs/",
    ];
    for (const target of escapes) {
      const r = await rawRequest(port, target);
      assertEquals(r.status, 404, `${target} answered ${r.status}`);
      assert(!r.body.includes(SECRET), `${target} leaked the secret`);
      assert(!r.body.includes('"imports"'), `${target} leaked deno.json`);
    }
  } finally {
    controller.abort();
    await server.finished;
    fs.rmSync(tmp, { recursive: true, force: true });
  }
});

Deno.test("servedHosts: the loopback names for a loopback address, the machine's own for 0.0.0.0, else the host given", () => {
  assertEquals(servedHosts("127.0.0.1", 8000), ["127.0.0.1:8000", "localhost:8000", "[::1]:8000"]);
  assertEquals(servedHosts("localhost", 80), ["localhost:80", "127.0.0.1:80", "[::1]:80"]);
  assertEquals(servedHosts("::1", 5), ["[::1]:5", "127.0.0.1:5", "localhost:5"]);
  assertEquals(servedHosts("192.168.1.5", 8080), ["192.168.1.5:8080"]);
  assertEquals(servedHosts("MyBox.lan", 8080), ["mybox.lan:8080"]);
  const all = servedHosts("0.0.0.0", 8000);
  for (const h of ["0.0.0.0:8000", "127.0.0.1:8000", "localhost:8000", "[::1]:8000"]) {
    assert(all.includes(h), h);
  }
  for (const i of Deno.networkInterfaces()) {
    if (i.family === "IPv4") assert(all.includes(`${i.address}:8000`), `${i.address} is this machine's`);
  }
  assert(!all.some((h) => h.startsWith("evil")), "no name anyone else chose");
  assertEquals(
    ["127.0.0.1", "127.3.2.1", "localhost", "::1", "[::1]", "0.0.0.0", "::", "192.168.1.5", "example.com"]
      .map(isLoopback),
    [true, true, true, true, true, false, false, false, false],
  );
});

Deno.test("serve: a request for another Host (DNS rebinding), another port or no Host gets 421, not the page", async () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "tl-serve-host-"));
  const controller = new AbortController();
  const server = serveSite(fixtureSite(tmp), { port: 0, signal: controller.signal });
  try {
    const port = server.addr.port;
    for (const host of [`127.0.0.1:${port}`, `localhost:${port}`, `[::1]:${port}`, `LOCALHOST:${port}`]) {
      const r = await rawRequest(port, "/", "GET", host);
      assertEquals(r.status, 200, `Host: ${host}`);
    }
    const foreign = [
      `rebind.attacker.example:${port}`, // its own name, resolved to 127.0.0.1 by its own DNS
      "rebind.attacker.example",
      `127.0.0.1:${port + 1}`,
      "127.0.0.1", // port 80
      `localhost.:${port}`,
      `evil@127.0.0.1:${port}`,
      `127.0.0.1:${port}/x`,
      "",
      null,
    ];
    for (const host of foreign) {
      for (const method of ["GET", "HEAD", "POST"]) {
        const r = await rawRequest(port, "/model/metadata.json", method, host);
        assertEquals(r.status, 421, `Host: ${host} (${method}) answered ${r.status}`);
        assert(!r.body.includes('"name"'), `Host: ${host} read the model`);
        if (method === "GET") {
          assertMatch(
            r.body,
            /^misdirected request: this server answers only requests for http:\/\/127\.0\.0\.1:/,
          );
          assertMatch(r.headers["content-type"], /^text\/plain/);
        }
      }
    }
  } finally {
    controller.abort();
    await server.finished;
    fs.rmSync(tmp, { recursive: true, force: true });
  }
});

/** Runs `tools/cli/serve.ts` with `args`; returns the exit code and output. */
async function runServe(args: string[]) {
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", path.join(PROJECT_ROOT, "tools", "cli", "serve.ts"), ...args],
    cwd: PROJECT_ROOT,
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(60_000),
  }).output();
  const decode = (b: Uint8Array) => new TextDecoder().decode(b);
  return { code, stdout: decode(stdout), stderr: decode(stderr) };
}

Deno.test("deno task serve: --help, usage errors (exit 2), a missing model named (exit 1)", async () => {
  const help = await runServe(["--", "--help"]);
  assertEquals(help.code, 0);
  assertMatch(help.stdout, /--model DIR/);
  const badPort = await runServe(["--port", "80x"]);
  assertEquals(badPort.code, 2);
  assertMatch(badPort.stderr, /--port must be an integer/);
  const unknown = await runServe(["--bogus"]);
  assertEquals(unknown.code, 2);
  assertMatch(unknown.stderr, /bogus/);
  const missing = await runServe(["--model", "/nonexistent/model-dir", "--port", "0"]);
  assertEquals(missing.code, 1);
  assertMatch(missing.stderr, /--model \/nonexistent\/model-dir: no such folder/);
});

/** A running `tools/cli/serve.ts` (as `deno task serve` runs it), once it has printed the URL to open. */
interface RunningServe {
  /** What it printed up to the URL. */
  out: string;
  /** The URL it said to open. */
  url: string;
  /** Sends SIGINT; its exit code and stderr. */
  stop(): Promise<{ code: number; stderr: string }>;
}

/** Runs `fn` with serve started from the project's root with `args` (and `env`), then kills it whatever happens. */
async function withServe(
  args: string[],
  env: Record<string, string>,
  fn: (serve: RunningServe) => Promise<void>,
): Promise<void> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", path.join(PROJECT_ROOT, "tools", "cli", "serve.ts"), ...args, "--port", "0"],
    cwd: PROJECT_ROOT,
    env,
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(60_000),
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  try {
    let out = "";
    while (!/open (http:\S+)/.test(out)) {
      const { value, done } = await reader.read();
      if (done) break;
      out += value;
    }
    const stop = async () => {
      child.kill("SIGINT");
      reader.releaseLock();
      await child.stdout.cancel().catch(() => {});
      const { code } = await child.status;
      return { code, stderr: new TextDecoder().decode(await new Response(child.stderr).arrayBuffer()) };
    };
    await fn({ out, url: out.match(/open (http:\S+)/)?.[1] ?? out, stop });
  } finally {
    try {
      child.kill("SIGKILL");
    } catch {
      // already stopped
    }
    await child.stderr.cancel().catch(() => {});
    await child.status;
  }
}

Deno.test("deno task serve: prints the URL on 127.0.0.1, serves the model, stops on SIGINT", async () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "tl-serve-cli-"));
  const dir = path.join(tmp, "pets");
  const { model } = buildClassifier({ base: tinyBase([16, 16, 3], 3), numClasses: 3, seed: 2 });
  const metadata = tinyMetadata({
    classNames: ["cat", "dog", "fish"],
    data: { directory: "/home/someone/pets" },
  });
  await saveModel(model, dir, { files: { "metadata.json": JSON.stringify(metadata) } });
  model.dispose();
  try {
    await withServe(["--model", dir], {}, async ({ out, url, stop }) => {
      assertMatch(url, /^http:\/\/127\.0\.0\.1:\d+\/$/);
      assertMatch(out, /model "pets" \(3 classes: cat, dog, fish\)/);
      const res = await fetch(`${url}model/metadata.json`, { signal: AbortSignal.timeout(10_000) });
      const page = await res.json();
      assertEquals([page.name, page.classNames, page.output], ["pets", ["cat", "dog", "fish"], "softmax"]);
      assert(!JSON.stringify(page).includes("/home/someone"), "no local paths served");
      const exported = await (await fetch(`${url}model/model.json`)).json();
      assert(!JSON.stringify(exported).includes("InferenceModel"), "the served model has no custom class");
      const { code, stderr } = await stop();
      assertEquals(code, 0);
      assert(!/warning|network/.test(stderr), `no warning on 127.0.0.1: ${stderr}`);
    });
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
});

Deno.test("deno task serve --host 0.0.0.0: warns that anyone on the network can reach it, answers only its own addresses; --model from INIT_CWD", async () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "tl-serve-lan-"));
  const { model } = buildClassifier({ base: tinyBase([16, 16, 3], 3), numClasses: 3, seed: 2 });
  const metadata = tinyMetadata({ classNames: ["cat", "dog", "fish"] });
  await saveModel(model, path.join(tmp, "pets"), { files: { "metadata.json": JSON.stringify(metadata) } });
  model.dispose();
  try {
    // As `deno task serve` typed in tmp runs it: from the project's root, with INIT_CWD the user's folder.
    await withServe(
      ["--model", "./pets", "--host", "0.0.0.0"],
      { INIT_CWD: tmp },
      async ({ out, url, stop }) => {
        assertMatch(url, /^http:\/\/127\.0\.0\.1:\d+\/$/, `the URL to open here, not 0.0.0.0: ${out}`);
        assertMatch(
          out,
          /^serve: preparing pets for the browser/m,
          "--model ./pets from INIT_CWD, shown from there",
        );
        const port = Number(new URL(url).port);
        assertEquals(
          (await rawRequest(port, "/model/metadata.json", "GET", `localhost:${port}`)).status,
          200,
        );
        assertEquals((await rawRequest(port, "/", "GET", `0.0.0.0:${port}`)).status, 200);
        const own = Deno.networkInterfaces().find((i) => i.family === "IPv4" && i.address !== "127.0.0.1");
        if (own) assertEquals((await rawRequest(port, "/", "GET", `${own.address}:${port}`)).status, 200);
        const rebound = await rawRequest(port, "/model/metadata.json", "GET", `attacker.example:${port}`);
        assertEquals(rebound.status, 421);
        const { code, stderr } = await stop();
        assertEquals(code, 0);
        assertMatch(
          stderr,
          /^serve: warning: --host 0\.0\.0\.0 is reachable from other computers: anyone on your network can open the page and download the model/m,
        );
        if (own) {
          assertMatch(
            stderr,
            new RegExp(`from another computer: http://${own.address.replaceAll(".", "\\.")}:${port}/`),
          );
        }
      },
    );
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
});
