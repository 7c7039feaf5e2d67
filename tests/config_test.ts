import path from "node:path";
import { DEFAULT_DATA_URL, loadConfig, PROJECT_ROOT } from "../lib/config.ts";
import { assertEquals, assertThrows } from "./_assert.ts";

const env = (vars: Record<string, string>) => ({ get: (k: string) => vars[k] });

Deno.test("loadConfig: defaults, and values as given", () => {
  assertEquals(loadConfig(env({})), {
    dataUrl: DEFAULT_DATA_URL,
    cacheDir: path.join(PROJECT_ROOT, "data"),
    alpha: 1.0,
    weightsUrl: undefined,
    epochs: 10,
  });
  const c = loadConfig(env({
    TL_DATA_URL: "/tmp/x.zip",
    TL_WEIGHTS_URL: "file:///tmp/w.h5",
    TL_ALPHA: "0.4",
    TL_EPOCHS: " 2 ",
    TL_CACHE_DIR: "/tmp/cache",
  }));
  assertEquals([c.dataUrl, c.weightsUrl, c.alpha, c.epochs, c.cacheDir], [
    "/tmp/x.zip",
    "file:///tmp/w.h5",
    0.4,
    2,
    "/tmp/cache",
  ]);
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
      [
        { TL_ALPHA: "0.4" },
        "TL_ALPHA=0.4: Keras publishes ImageNet weights for 0.35, 0.5, 0.75, 1, 1.3, 1.4 only",
      ],
      [{ TL_CACHE_DIR: import.meta.filename! }, "exists and is not a folder"],
    ] as [Record<string, string>, string][]
  ) {
    assertThrows(() => loadConfig(env(vars)), Error, message);
  }
  const e = assertThrows(() => loadConfig(env({ TL_EPOCHS: "0", TL_ALPHA: "x" })));
  assertEquals(e.message.split("\n").length, 3, "every problem listed in one error");
});
