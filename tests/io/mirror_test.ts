/**
 * Offline with no variables: a generated mirror folder stands in for origins that cannot be reached
 * (`getFile`), said once; without a set alpha, MobileNetV2 takes the alpha of the mirror's ImageNet weights.
 *
 * No test here reaches outside this machine: the origins are 127.0.0.1 (port 9, which fetch refuses at once,
 * or a port nothing listens on), and the tests that meet Keras' URLs run without network access beyond
 * 127.0.0.1, so that storage.googleapis.com fails at once as it does offline.
 */
import fs from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { loadConfig, PROJECT_ROOT } from "../../lib/runtime/config.ts";
import { getFile } from "../../lib/io/get_file.ts";
import { UnreachableOriginError } from "../../lib/io/download.ts";
import { saveKerasH5Weights } from "../../lib/io/keras_h5.ts";
import { displayPath, findInMirror, probeOrigin } from "../../lib/io/mirror.ts";
import { imagenetAlpha, imagenetWeightsFileName, mobileNetV2 } from "../../lib/model/mobilenet_v2.ts";
import { tf } from "../../lib/runtime/tf.ts";
import { assert, assertEquals, assertMatch, assertRejects } from "../_assert.ts";
import { listTree, withTempDir } from "../_temp.ts";
import { makeZip } from "../_zip.ts";

const env = (vars: Record<string, string>) => ({ get: (k: string) => vars[k] });
const quiet = { progress: false };
/** Everything but the network, which is 127.0.0.1 only. */
const LOCAL_NET_ONLY: Deno.PermissionOptionsObject = {
  read: true,
  write: true,
  env: true,
  run: true,
  sys: true,
  ffi: true,
  net: ["127.0.0.1"],
};

/** Runs `fn` with a new empty folder, removed afterwards (`withTempDir` for synchronous work). */
function inTempDir(fn: (dir: string) => void): void {
  const dir = Deno.makeTempDirSync({ prefix: "mirror_test_" });
  try {
    fn(dir);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
}

/** What `fn` writes with console.error, line by line. */
async function stderrLines(fn: () => Promise<void>): Promise<string[]> {
  const lines: string[] = [];
  const original = console.error;
  console.error = (...parts: unknown[]) => lines.push(parts.join(" "));
  try {
    await fn();
  } finally {
    console.error = original;
  }
  return lines;
}

/** A port on 127.0.0.1 that nothing listens on (for now). */
function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

Deno.test("findInMirror: by file name, in the mirror, its data/ and weights/, or deeper", () => {
  inTempDir((mirror) => {
    fs.mkdirSync(path.join(mirror, "data"));
    fs.mkdirSync(path.join(mirror, "more", "nested"), { recursive: true });
    fs.mkdirSync(path.join(mirror, ".hidden"));
    fs.writeFileSync(path.join(mirror, "data", "a.zip"), "a");
    fs.writeFileSync(path.join(mirror, "more", "nested", "b.h5"), "b");
    fs.writeFileSync(path.join(mirror, ".hidden", "c.h5"), "c");
    assertEquals(findInMirror(mirror, "a.zip"), path.join(mirror, "data", "a.zip"));
    assertEquals(findInMirror(mirror, "b.h5"), path.join(mirror, "more", "nested", "b.h5"));
    assertEquals(findInMirror(mirror, "c.h5"), undefined, "hidden folders are not searched");
    assertEquals(findInMirror(mirror, "nested"), undefined, "files only");
    assertEquals(findInMirror(undefined, "a.zip"), undefined);
    assertEquals(displayPath(path.resolve(PROJECT_ROOT, "..", "shared", "x.zip")), "../shared/x.zip");
    assertEquals(displayPath(path.join(mirror, "x")), path.join(mirror, "x"));
  });
});

Deno.test("getFile: an unreachable origin's file comes from the mirror, said once, and is not copied again", async () => {
  await withTempDir("mirror_test_", async (tmp) => {
    const mirror = path.join(tmp, "shared");
    fs.mkdirSync(path.join(mirror, "data"), { recursive: true });
    const zip = await makeZip({ "cats_and_dogs_filtered/train/cats/cat.1.jpg": "meow" });
    const copy = path.join(mirror, "data", "cats_and_dogs_filtered.zip");
    fs.writeFileSync(copy, zip);
    const origin = "http://127.0.0.1:9/mledu-datasets/cats_and_dogs_filtered.zip";
    const cacheDir = path.join(tmp, "cache");
    let dir = "";
    const first = await stderrLines(async () => {
      dir = await getFile("cats_and_dogs.zip", origin, { cacheDir, mirror, extract: true, ...quiet });
      assertEquals(
        await getFile("cats_and_dogs.zip", origin, { cacheDir, mirror, extract: true, ...quiet }),
        dir,
      );
    });
    assertEquals(first, [`127.0.0.1:9 unreachable: using ${copy}`], "one line, no 'Downloading data from'");
    assertEquals(
      fs.readFileSync(path.join(dir, "cats_and_dogs_filtered/train/cats/cat.1.jpg"), "utf8"),
      "meow",
    );
    const archive = path.join(cacheDir, "datasets", "cats_and_dogs.zip");
    const record = JSON.parse(fs.readFileSync(`${archive}.source.json`, "utf8"));
    assertEquals([record.origin, record.mirror, record.size], [origin, copy, zip.length]);
    // Still unreachable: the copy in the cache is used as it is.
    const mtime = fs.statSync(archive).mtimeMs;
    const again = await stderrLines(async () => {
      await getFile("cats_and_dogs.zip", origin, { cacheDir, mirror, extract: true, ...quiet });
    });
    assertEquals(again, [], "said once per run");
    assertEquals(fs.statSync(archive).mtimeMs, mtime);

    // A file the mirror lacks: the origin's error, and what the mirror was asked for.
    const missing = "http://127.0.0.1:9/other/weights.h5";
    const e = await assertRejects(
      () => getFile("", missing, { cacheDir, mirror, ...quiet }),
      UnreachableOriginError,
    );
    assertMatch(
      e.message,
      /URL fetch failure on http:\/\/127\.0\.0\.1:9\/other\/weights\.h5: .*; the mirror .* has no file named weights\.h5/,
    );
    // mirror: null — none, as before.
    await assertRejects(
      () => getFile("x.zip", origin, { cacheDir, mirror: null, ...quiet }),
      UnreachableOriginError,
    );
    assertEquals(listTree(path.join(cacheDir, "datasets")).filter((f) => !f.includes("/")), [
      "cats_and_dogs.zip",
      "cats_and_dogs.zip.source.json",
      "cats_and_dogs_extracted",
    ]);
  });
});

Deno.test("getFile: without the mirror option no mirror stands in, even with TL_MIRROR naming one", async () => {
  await withTempDir("mirror_test_", async (tmp) => {
    const mirror = path.join(tmp, "shared");
    fs.mkdirSync(path.join(mirror, "data"), { recursive: true });
    fs.writeFileSync(
      path.join(mirror, "data", "cats_and_dogs_filtered.zip"),
      await makeZip({ "a.txt": "a" }),
    );
    const origin = "http://127.0.0.1:9/mledu-datasets/cats_and_dogs_filtered.zip";
    const previous = Deno.env.get("TL_MIRROR");
    Deno.env.set("TL_MIRROR", mirror);
    try {
      // getFile reads no setting: the run's mirror comes from its caller (fetchOptions).
      await assertRejects(
        () => getFile("cats_and_dogs.zip", origin, { cacheDir: tmp, extract: true, ...quiet }),
        UnreachableOriginError,
      );
    } finally {
      if (previous === undefined) Deno.env.delete("TL_MIRROR");
      else Deno.env.set("TL_MIRROR", previous);
    }
    const dir = await getFile("cats_and_dogs.zip", origin, {
      cacheDir: tmp,
      extract: true,
      mirror,
      ...quiet,
    });
    assertEquals(fs.readFileSync(path.join(dir, "a.txt"), "utf8"), "a");
  });
});

/** A run in its own process (its own memory of unreachable hosts), as a later run of the user's would be. */
async function fetchInChild(url: string, cacheDir: string, mirror: string) {
  const script = `import { getFile } from ${
    JSON.stringify(pathToFileURL(path.join(PROJECT_ROOT, "lib/io/get_file.ts")).href)
  };
    const options = { cacheDir: ${JSON.stringify(cacheDir)}, mirror: ${
    JSON.stringify(mirror)
  }, progress: false };
    await getFile("weights.h5", ${JSON.stringify(url)}, options);
    console.log(await getFile("weights.h5", ${JSON.stringify(url)}, options));`;
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["eval", "--quiet", script],
    cwd: PROJECT_ROOT,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stderr = new TextDecoder().decode(out.stderr);
  assertEquals(out.code, 0, stderr);
  return { file: new TextDecoder().decode(out.stdout).trim(), stderr };
}

Deno.test("getFile: a mirror copy in the cache is kept while the origin is unreachable, replaced once it answers", async () => {
  await withTempDir("mirror_test_", async (tmp) => {
    const mirror = path.join(tmp, "shared");
    fs.mkdirSync(path.join(mirror, "weights"), { recursive: true });
    const copy = path.join(mirror, "weights", "weights.h5");
    fs.writeFileSync(copy, "the mirror's copy");
    const cacheDir = path.join(tmp, "cache");
    const port = freePort();
    const url = `http://127.0.0.1:${port}/keras/weights.h5`;
    const line = `127.0.0.1:${port} unreachable: using ${copy}`;

    const offline = await fetchInChild(url, cacheDir, mirror);
    assertEquals(fs.readFileSync(offline.file, "utf8"), "the mirror's copy");
    assertEquals(offline.stderr.split("\n").filter((l) => l === line).length, 1, offline.stderr);
    const mtime = fs.statSync(offline.file).mtimeMs;
    // The next offline run: not copied again (the record names the same origin), said again.
    const rerun = await fetchInChild(url, cacheDir, mirror);
    assertEquals(rerun.stderr.split("\n").filter((l) => l === line).length, 1, rerun.stderr);
    assertEquals(fs.statSync(rerun.file).mtimeMs, mtime);
    // The mirror's file changed: copied again.
    fs.writeFileSync(copy, "the mirror's new copy");
    await fetchInChild(url, cacheDir, mirror);
    assertEquals(fs.readFileSync(offline.file, "utf8"), "the mirror's new copy");

    // The origin answers now: the original replaces the stand-in.
    const server = Deno.serve(
      { hostname: "127.0.0.1", port, onListen() {} },
      () => new Response("the original from the origin"),
    );
    try {
      let file = "";
      const lines = await stderrLines(async () => {
        file = await getFile("weights.h5", url, { cacheDir, mirror, ...quiet });
      });
      assertEquals(fs.readFileSync(file, "utf8"), "the original from the origin");
      assertMatch(
        lines.join("\n"),
        /is a copy of .*weights\.h5, taken while 127\.0\.0\.1:\d+ was unreachable: fetching it again/,
      );
      const record = JSON.parse(fs.readFileSync(`${file}.source.json`, "utf8"));
      assertEquals([record.origin, record.mirror], [url, undefined]);
      assertEquals(await probeOrigin(url), 200);
    } finally {
      await server.shutdown();
    }
  });
});

/** A project folder with a generated `../shared` beside it holding Keras-named alpha 0.35 weights. */
async function projectWithMirror(tmp: string) {
  const root = path.join(tmp, "project");
  const weights = path.join(tmp, "shared", "weights", imagenetWeightsFileName(0.35, 224));
  fs.mkdirSync(root);
  fs.mkdirSync(path.dirname(weights), { recursive: true });
  const source = await mobileNetV2({
    alpha: 0.35,
    inputShape: [224, 224, 3],
    includeTop: false,
    weights: null,
  });
  await saveKerasH5Weights(source, weights);
  const expected = source.getLayer("Conv1").getWeights()[0].dataSync().slice();
  source.dispose();
  return { root, weights, expected };
}

Deno.test({
  name: "offline, no variables: the alpha follows the mirror's ImageNet weights; a set alpha never does",
  permissions: LOCAL_NET_ONLY,
  async fn() {
    await withTempDir("mirror_test_", async (tmp) => {
      const { root, weights, expected } = await projectWithMirror(tmp);
      const before = tf.memory().numTensors;
      const config = loadConfig(env({}), { root });
      assertEquals([config.mirror, config.alpha, config.alphaSet], [path.join(tmp, "shared"), 1.0, false]);

      let alpha = 0;
      const said = await stderrLines(async () => {
        alpha = await imagenetAlpha(config, { rows: 160 });
      });
      assertEquals(alpha, 0.35);
      assertEquals(said.length, 1, said.join("\n"));
      assertEquals(
        said[0],
        `storage.googleapis.com unreachable, and ${path.join(tmp, "shared")} has no weights for alpha 1.0: ` +
          `using alpha 0.35, that of ${weights} (set TL_ALPHA, --alpha or { alpha } to choose)`,
      );

      // The 160×160 base loads the mirror's 224 weights of that alpha (no 160 file: they fit any size).
      const loading = await stderrLines(async () => {
        const model = await mobileNetV2({ inputShape: [160, 160, 3], alpha, includeTop: false, config });
        assertEquals(model.name, "mobilenetv2_0.35_160");
        assertEquals(model.getLayer("Conv1").getWeights()[0].dataSync(), expected);
        model.dispose();
      });
      assertEquals(loading, [`storage.googleapis.com unreachable: using ${weights}`]);
      // mobileNetV2 without an alpha follows as well.
      const auto = await mobileNetV2({ inputShape: [96, 96, 3], includeTop: false, config });
      assertEquals(auto.name, "mobilenetv2_0.35_96");
      auto.dispose();

      // Set, it stays: TL_ALPHA, or the option; the error says what the mirror has and what to pass.
      assertEquals(await imagenetAlpha(loadConfig(env({ TL_ALPHA: "1.0" }), { root }), { rows: 160 }), 1.0);
      const e = await assertRejects(() =>
        mobileNetV2({ inputShape: [160, 160, 3], alpha: 1.0, includeTop: false, config })
      );
      assertMatch(
        e.message,
        /holds MobileNetV2 ImageNet weights for alpha 0\.35 only: build alpha 0\.35 instead \(TL_ALPHA=0\.35, --alpha 0\.35 or \{ alpha: 0\.35 \}\)$/,
      );
      assertEquals(tf.memory().numTensors, before, "no tensor leaks");

      // The default alpha's weights in the cache: they can be had, the alpha stays.
      const cached = path.join(config.cacheDir, "models", imagenetWeightsFileName(1.0, 160));
      fs.mkdirSync(path.dirname(cached), { recursive: true });
      fs.writeFileSync(cached, "");
      assertEquals(await imagenetAlpha(config, { rows: 160 }), 1.0);
      // No mirror: nothing to follow.
      assertEquals(await imagenetAlpha(loadConfig(env({ TL_MIRROR: "none" }), { root }), { rows: 128 }), 1.0);
      assert(fs.existsSync(weights));
    });
  },
});
