import fs from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";
import {
  DEFAULT_CACHE_DIR,
  DEFAULT_DATA_URL,
  fetchOptions,
  loadConfig,
  originHint,
  PROJECT_ROOT,
  resolveMirror,
} from "../../lib/runtime/config.ts";
import { assertEquals, assertMatch, assertThrows } from "../_assert.ts";
import { withTempDir } from "../_temp.ts";

const env = (vars: Record<string, string>) => ({ get: (k: string) => vars[k] });

/** Runs `fn` with a new empty folder, removed afterwards (`withTempDir` for synchronous work). */
function inTempDir(fn: (dir: string) => void): void {
  const dir = Deno.makeTempDirSync({ prefix: "config_test_" });
  try {
    fn(dir);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
}

Deno.test("loadConfig: defaults, and values as given", () => {
  inTempDir((tmp) => {
    // A project with nothing beside it: no mirror.
    const root = path.join(tmp, "project");
    fs.mkdirSync(root);
    assertEquals(loadConfig(env({}), { root }), {
      dataUrl: DEFAULT_DATA_URL,
      cacheDir: path.join(root, "data"),
      alpha: 1.0,
      alphaSet: false,
      weightsUrl: undefined,
      epochs: 10,
      mirror: undefined,
      dataDir: undefined,
    });
  });
  assertEquals(loadConfig(env({})).cacheDir, path.join(PROJECT_ROOT, "data"));
  const c = loadConfig(env({
    TL_DATA_URL: "/tmp/x.zip",
    TL_WEIGHTS_URL: "file:///tmp/w.h5",
    TL_ALPHA: "0.4",
    TL_EPOCHS: " 2 ",
    TL_CACHE_DIR: "/tmp/cache",
    TL_MIRROR: "none",
    TL_DATA_DIR: "https://example.com/photos.zip",
  }));
  assertEquals([c.dataUrl, c.weightsUrl, c.alpha, c.alphaSet, c.epochs, c.cacheDir, c.mirror, c.dataDir], [
    "/tmp/x.zip",
    "file:///tmp/w.h5",
    0.4,
    true,
    2,
    "/tmp/cache",
    undefined,
    "https://example.com/photos.zip",
  ]);
});

Deno.test("loadConfig: the mirror is ../shared beside the project when it exists, else TL_MIRROR; 'none' turns it off", () => {
  inTempDir((tmp) => {
    const root = path.join(tmp, "project");
    const shared = path.join(tmp, "shared");
    const other = path.join(tmp, "copies");
    for (const dir of [root, shared, other]) fs.mkdirSync(dir);
    assertEquals(loadConfig(env({}), { root }).mirror, shared);
    assertEquals(resolveMirror(env({}), root), shared);
    assertEquals(loadConfig(env({ TL_MIRROR: "../copies" }), { root }).mirror, other, "relative to the root");
    assertEquals(loadConfig(env({ TL_MIRROR: other }), { root }).mirror, other);
    assertEquals(loadConfig(env({ TL_MIRROR: "none" }), { root }).mirror, undefined);
    assertEquals(loadConfig(env({ TL_MIRROR: "NONE" }), { root }).mirror, undefined);
    fs.rmdirSync(shared);
    assertEquals(loadConfig(env({}), { root }).mirror, undefined, "no ../shared: no mirror");
    assertThrows(
      () => loadConfig(env({ TL_MIRROR: "../gone" }), { root }),
      Error,
      `TL_MIRROR: ${path.join(tmp, "gone")} is not a folder`,
    );
  });
});

Deno.test("loadConfig: relative TL_* paths are taken from the project's root, not the working folder", async () => {
  await withTempDir("config_test_", async (tmp) => {
    const root = path.join(tmp, "project");
    fs.mkdirSync(path.join(root, "photos"), { recursive: true });
    fs.mkdirSync(path.join(tmp, "mirror"));
    const c = loadConfig(
      env({
        TL_DATA_URL: "copies/cats.zip",
        TL_WEIGHTS_URL: "./w/weights.h5",
        TL_CACHE_DIR: "cache",
        TL_MIRROR: "../mirror",
        TL_DATA_DIR: "photos",
      }),
      { root },
    );
    assertEquals([c.dataUrl, c.weightsUrl, c.cacheDir, c.mirror, c.dataDir], [
      path.join(root, "copies", "cats.zip"),
      path.join(root, "w", "weights.h5"),
      path.join(root, "cache"),
      path.join(tmp, "mirror"),
      path.join(root, "photos"),
    ]);
    // The notebooks run in notebooks/: a process elsewhere still resolves from the project's root.
    const code = `import { loadConfig } from ${
      JSON.stringify(pathToFileURL(path.join(PROJECT_ROOT, "lib/runtime/config.ts")).href)
    };
      const c = loadConfig();
      console.log(JSON.stringify([c.dataUrl, c.weightsUrl, c.cacheDir]));`;
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["eval", code],
      cwd: tmp,
      env: { TL_DATA_URL: "data/x.zip", TL_WEIGHTS_URL: "w.h5", TL_CACHE_DIR: "my-cache", TL_MIRROR: "none" },
      stdout: "piped",
      stderr: "piped",
    }).output();
    assertEquals(out.code, 0, new TextDecoder().decode(out.stderr));
    assertEquals(JSON.parse(new TextDecoder().decode(out.stdout)), [
      path.join(PROJECT_ROOT, "data", "x.zip"),
      path.join(PROJECT_ROOT, "w.h5"),
      path.join(PROJECT_ROOT, "my-cache"),
    ]);
  });
});

Deno.test("loadConfig: TL_EPOCHS=0, blank values and other bad values are rejected at once, each named", () => {
  for (
    const [vars, message] of [
      [{ TL_EPOCHS: "0" }, 'TL_EPOCHS="0": expected a whole number of epochs ≥ 1'],
      [{ TL_EPOCHS: "" }, "TL_EPOCHS is set but empty"],
      [{ TL_EPOCHS: "  " }, "TL_EPOCHS is set but empty"],
      [{ TL_EPOCHS: "2.5" }, 'TL_EPOCHS="2.5"'],
      [{ TL_EPOCHS: "ten" }, 'TL_EPOCHS="ten"'],
      [{ TL_DATA_URL: "" }, "TL_DATA_URL is set but empty"],
      [{ TL_DATA_URL: "ftp://host/x.zip" }, "expected an https://, http://, file:// URL or a path"],
      [{ TL_ALPHA: "-1" }, 'TL_ALPHA="-1"'],
      [{ TL_ALPHA: "" }, "TL_ALPHA is set but empty"],
      [
        { TL_ALPHA: "0.4" },
        "TL_ALPHA=0.4: Keras publishes ImageNet weights for 0.35, 0.5, 0.75, 1, 1.3, 1.4 only",
      ],
      [{ TL_CACHE_DIR: import.meta.filename! }, "exists and is not a folder"],
      [
        { TL_DATA_DIR: "no/such/photos" },
        `TL_DATA_DIR: ${path.join(PROJECT_ROOT, "no/such/photos")} does not exist`,
      ],
      [{ TL_MIRROR: import.meta.filename! }, "TL_MIRROR: "],
      [{ TL_MIRROR: " " }, "TL_MIRROR is set but empty"],
    ] as [Record<string, string>, string][]
  ) {
    assertThrows(() => loadConfig(env(vars)), Error, message);
  }
  const e = assertThrows(() => loadConfig(env({ TL_EPOCHS: "0", TL_ALPHA: "x" })));
  assertEquals(e.message.split("\n").length, 3, "every problem listed in one error");
});

Deno.test("originHint: the TL_* variable behind an origin, or how to work offline for the defaults", () => {
  const none = env({});
  const weights = "https://storage.googleapis.com/tensorflow/keras-applications/mobilenet_v2/x.h5";
  assertEquals(
    originHint("https://example.com/d.zip", env({ TL_DATA_URL: "https://example.com/d.zip" })),
    "this origin comes from TL_DATA_URL; check its value",
  );
  assertEquals(
    originHint(weights, env({ TL_WEIGHTS_URL: weights })),
    "this origin comes from TL_WEIGHTS_URL; check its value",
  );
  assertMatch(
    originHint(DEFAULT_DATA_URL, none)!,
    /put cats_and_dogs_filtered\.zip in the mirror folder \(TL_MIRROR, default \.\.\/shared\), or set TL_DATA_URL to a local copy \(a path or file:\/\/ URL\)/,
  );
  assertMatch(
    originHint(weights, none)!,
    /put x\.h5 \(or Keras' file for another alpha\) in the mirror folder .*, or set TL_WEIGHTS_URL \(and TL_ALPHA\)/,
  );
  assertEquals(originHint("https://example.com/d.zip", none), undefined);
});

Deno.test("fetchOptions: the run's cache folder, mirror and hint for getFile; the default cache is the project's data/", () => {
  inTempDir((root) => {
    const config = loadConfig(env({ TL_CACHE_DIR: "c", TL_MIRROR: "none" }), { root });
    assertEquals(fetchOptions(config, DEFAULT_DATA_URL, env({})), {
      cacheDir: path.join(root, "c"),
      mirror: null,
      hint: originHint(DEFAULT_DATA_URL, env({})),
    });
    const mirror = path.join(root, "m");
    fs.mkdirSync(mirror);
    const other = "https://example.com/other.zip";
    assertEquals(fetchOptions({ ...config, mirror }, other, env({})), {
      cacheDir: path.join(root, "c"),
      mirror,
    });
  });
  assertEquals(loadConfig(env({ TL_MIRROR: "none" })).cacheDir, DEFAULT_CACHE_DIR);
  assertEquals(DEFAULT_CACHE_DIR, path.join(PROJECT_ROOT, "data"));
});
