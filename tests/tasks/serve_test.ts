/**
 * The static server against a running instance on 127.0.0.1: raw HTTP requests (a `fetch` client would
 * resolve `..` before sending) try path escapes, encoded escapes and a symlink out of the page's folder;
 * every request is bounded by a timeout and the server is stopped at the end.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { assert, assertEquals, assertMatch } from "../_assert.ts";
import { rawPath, serveSite } from "../../lib/tasks/serve.ts";
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

/** One HTTP/1.1 request with `target` sent verbatim; rejects after `timeoutMs`. */
async function rawRequest(
  port: number,
  target: string,
  method = "GET",
  timeoutMs = 5000,
): Promise<RawResponse> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  const timer = setTimeout(() => conn.close(), timeoutMs);
  try {
    await conn.write(
      new TextEncoder().encode(
        `${method} ${target} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nConnection: close\r\n\r\n`,
      ),
    );
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
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", path.join(PROJECT_ROOT, "tools", "cli", "serve.ts"), "--model", dir, "--port", "0"],
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(60_000),
  }).spawn();
  try {
    let out = "";
    const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
    while (!/open (http:\S+)/.test(out)) {
      const { value, done } = await reader.read();
      if (done) break;
      out += value;
    }
    const url = out.match(/open (http:\S+)/)?.[1];
    assertMatch(url ?? out, /^http:\/\/127\.0\.0\.1:\d+\/$/);
    assertMatch(out, /model "pets" \(3 classes: cat, dog, fish\)/);
    const res = await fetch(`${url}model/metadata.json`, { signal: AbortSignal.timeout(10_000) });
    const page = await res.json();
    assertEquals([page.name, page.classNames, page.output], ["pets", ["cat", "dog", "fish"], "softmax"]);
    assert(!JSON.stringify(page).includes("/home/someone"), "no local paths served");
    const exported = await (await fetch(`${url}model/model.json`)).json();
    assert(!JSON.stringify(exported).includes("InferenceModel"), "the served model has no custom class");
    child.kill("SIGINT");
    reader.releaseLock();
    await child.stdout.cancel().catch(() => {});
    assertEquals((await child.status).code, 0);
  } finally {
    try {
      child.kill("SIGKILL");
    } catch {
      // already stopped
    }
    await child.stderr.cancel().catch(() => {});
    await child.status;
    fs.rmSync(tmp, { recursive: true, force: true });
  }
});
