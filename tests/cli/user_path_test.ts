/**
 * Paths on the command line are taken from where the user stands (lib/cli/user_path.ts): the helpers, and
 * each task run the way a user runs it — `deno task NAME` typed in a sub-folder of the project, where
 * `deno task` makes the project's root the working folder and sets INIT_CWD to the sub-folder.
 */
import fs from "node:fs";
import path from "node:path";
import { assert, assertEquals, assertMatch } from "../_assert.ts";
import {
  INIT_CWD_ENV,
  invocationDir,
  shownPath,
  userModelArg,
  userPath,
  userSource,
} from "../../lib/cli/user_path.ts";
import { PROJECT_ROOT } from "../../lib/runtime/config.ts";
import { tf } from "../../lib/runtime/tf.ts";
import type { Tensor3D } from "../../lib/runtime/tf.ts";
import { buildClassifier } from "../../lib/model/classifier.ts";
import { saveModel } from "../../lib/model/model_io.ts";
import { tinyBase, tinyMetadata, writeColourFolder } from "../../lib/testing/tiny.ts";
import { parseRunArgs } from "../../tools/cli/run.ts";
import { testArgs } from "../../tools/cli/test.ts";

Deno.test("invocationDir: INIT_CWD when it is an absolute path to a folder, else the working folder", () => {
  const tmp = Deno.makeTempDirSync({ prefix: "tl-invocation-" });
  try {
    const file = path.join(tmp, "file.txt");
    fs.writeFileSync(file, "x");
    const env = (value?: string) => new Map(value === undefined ? [] : [[INIT_CWD_ENV, value]]);
    assertEquals(invocationDir(env(tmp)), tmp);
    assertEquals(invocationDir(env()), Deno.cwd());
    assertEquals(invocationDir(env("")), Deno.cwd());
    assertEquals(invocationDir(env("relative/sub")), Deno.cwd(), "a relative INIT_CWD means nothing");
    assertEquals(invocationDir(env(path.join(tmp, "gone"))), Deno.cwd(), "a folder that is gone");
    assertEquals(invocationDir(env(file)), Deno.cwd(), "a file is no folder");
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
});

Deno.test("userPath, userSource, userModelArg, shownPath: relative to the folder given", () => {
  const tmp = Deno.makeTempDirSync({ prefix: "tl-user-path-" });
  try {
    const sub = path.join(tmp, "sub");
    fs.mkdirSync(path.join(sub, "pets"), { recursive: true });
    assertEquals(userPath("a.jpg", sub), path.join(sub, "a.jpg"));
    assertEquals(userPath("../a.jpg", sub), path.join(tmp, "a.jpg"));
    assertEquals(userPath("/abs/a.jpg", sub), "/abs/a.jpg");
    assertEquals(userSource("file:///x/data.zip", sub), "file:///x/data.zip");
    assertEquals(userSource("HTTPS://example.com/w.h5", sub), "HTTPS://example.com/w.h5");
    assertEquals(userSource("w.h5", sub), path.join(sub, "w.h5"));
    // --model: a bare name is a name under models/ unless something of that name is where the user stands.
    assertEquals(userModelArg("flowers", sub), "flowers");
    assertEquals(userModelArg("pets", sub), path.join(sub, "pets"));
    assertEquals(userModelArg("models/flowers", sub), path.join(sub, "models", "flowers"));
    assertEquals(userModelArg("..", sub), tmp);
    assertEquals(shownPath(path.join(sub, "pets"), sub), "pets");
    assertEquals(
      shownPath(path.join(sub, "..x", "a"), sub),
      path.join("..x", "a"),
      "a name that starts with ..",
    );
    assertEquals(shownPath(path.join(tmp, "a"), sub), path.join(tmp, "a"), "outside: absolute");
    assertEquals(shownPath(sub, sub), ".");
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
});

/** `deno task -q NAME -- ARGS` typed in `cwd`, as a user would, with no INIT_CWD of ours passed down. */
async function taskIn(cwd: string, name: string, args: string[]) {
  const env = Deno.env.toObject();
  delete env[INIT_CWD_ENV];
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["task", "-q", name, "--", ...args],
    cwd,
    env,
    clearEnv: true,
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(180_000),
  }).output();
  const text = (b: Uint8Array) => new TextDecoder().decode(b);
  return { code: out.code, stdout: text(out.stdout), stderr: text(out.stderr) };
}

/**
 * A folder inside the project (deno task finds the project's deno.json from there; out/ is ignored by
 * git): `base/sub/` to stand in, `base/model/` a tiny classifier beside it, `base/sub/photo.png` a photo.
 */
async function withProjectSubFolder(fn: (base: string, sub: string) => Promise<void>): Promise<void> {
  fs.mkdirSync(path.join(PROJECT_ROOT, "out"), { recursive: true });
  const base = Deno.makeTempDirSync({ dir: path.join(PROJECT_ROOT, "out"), prefix: "tl-user-path-" });
  const sub = path.join(base, "sub");
  fs.mkdirSync(sub);
  try {
    const { model } = buildClassifier({ base: tinyBase([16, 16, 3], 3), numClasses: 3, seed: 2 });
    const metadata = tinyMetadata({ classNames: ["cat", "dog", "fish"] });
    await saveModel(model, path.join(base, "model"), {
      files: { "metadata.json": JSON.stringify(metadata) },
    });
    model.dispose();
    const image = tf.tidy(() => tf.randomUniform([16, 16, 3], 0, 255, "int32", 1) as Tensor3D);
    fs.writeFileSync(path.join(sub, "photo.png"), await tf.node.encodePng(image));
    image.dispose();
    await fn(base, sub);
  } finally {
    fs.rmSync(base, { recursive: true, force: true });
  }
}

Deno.test("deno task predict and export typed in a sub-folder take --model, FILE and --out from there", async () => {
  await withProjectSubFolder(async (base, sub) => {
    const predicted = await taskIn(sub, "predict", [
      "--model",
      "../model",
      "--json",
      "photo.png",
      "gone.png",
    ]);
    assertEquals(predicted.code, 1, predicted.stderr); // gone.png
    const rows = predicted.stdout.trim().split("\n").map((l) => JSON.parse(l));
    assertEquals(rows.map((r) => r.file), ["gone.png", "photo.png"], "shown as typed, from the sub-folder");
    assertEquals(rows[0].error, "no such file or folder");
    assert(["cat", "dog", "fish"].includes(rows[1].class), predicted.stdout);
    assertMatch(predicted.stderr, /^predict: skipped gone\.png: no such file or folder$/m);

    // A name no other test uses: before the fix the site went to the project's root.
    const name = `tl-site-${crypto.randomUUID().slice(0, 8)}`;
    try {
      const exported = await taskIn(sub, "export", ["--model", "../model", "--out", name, "--json"]);
      assertEquals(exported.code, 0, exported.stderr);
      assertEquals(JSON.parse(exported.stdout).out, path.join(sub, name));
      assert(fs.existsSync(path.join(sub, name, "index.html")), "the page is in the sub-folder");
      assert(!fs.existsSync(path.join(PROJECT_ROOT, name)), "nothing written at the project's root");
    } finally {
      fs.rmSync(path.join(PROJECT_ROOT, name), { recursive: true, force: true });
    }
    assert(fs.existsSync(path.join(base, "model", "metadata.json")));
  });
});

Deno.test("deno task train typed in a sub-folder: DIR and --out from there, next steps as typed there", async () => {
  await withProjectSubFolder(async (_base, sub) => {
    await writeColourFolder(path.join(sub, "colours"), { numClasses: 2, perClass: 4 });
    const trained = await taskIn(sub, "train", [
      "colours",
      ...["--out", "trained", "--weights", "none", "--alpha", "0.35", "--image-size", "32"],
      ...["--epochs", "1", "--fine-tune-epochs", "0", "--batch-size", "4"],
    ]);
    assertEquals(trained.code, 0, trained.stderr);
    assert(fs.existsSync(path.join(sub, "trained", "metadata.json")), trained.stdout);
    assertMatch(trained.stdout, /deno task predict -- --model trained photo\.jpg/);
    const weights = await taskIn(sub, "train", ["colours", "--weights", "no-such.h5", "--epochs", "1"]);
    assertEquals(weights.code, 1);
    assertMatch(weights.stderr, new RegExp(`${path.join(sub, "no-such.h5").replaceAll(".", "\\.")}`));
  });
});

Deno.test("deno task run and test typed in a sub-folder look for NOTEBOOK and FILE there", async () => {
  await withProjectSubFolder(async (_base, sub) => {
    fs.writeFileSync(path.join(sub, "only_here_test.ts"), "");
    const tested = await taskIn(sub, "test", ["missing_test.ts"]);
    assertEquals(tested.code, 2);
    assertMatch(tested.stderr, new RegExp(`looked for ${path.join(sub, "missing_test.ts")}`));
    const run = await taskIn(sub, "run", ["missing.ipynb"]);
    assertEquals(run.code, 2);
    assertMatch(run.stderr, new RegExp(`looked for ${path.join(sub, "missing.ipynb")}`));
    const args = testArgs(["only_here_test.ts"], sub);
    assert(args !== "help");
    assertEquals(args.at(-1), path.join(sub, "only_here_test.ts"));
  });
});

Deno.test("run: NOTEBOOK and --out are taken from INIT_CWD", () => {
  const before = Deno.env.get(INIT_CWD_ENV);
  Deno.env.set(INIT_CWD_ENV, path.join(PROJECT_ROOT, "notebooks"));
  try {
    const args = parseRunArgs(["--out", "../out/x", "transfer_learning.ipynb"]);
    assertEquals(args, [
      "--out",
      path.join(PROJECT_ROOT, "out", "x"),
      path.join(PROJECT_ROOT, "notebooks", "transfer_learning.ipynb"),
    ]);
  } finally {
    if (before === undefined) Deno.env.delete(INIT_CWD_ENV);
    else Deno.env.set(INIT_CWD_ENV, before);
  }
});
