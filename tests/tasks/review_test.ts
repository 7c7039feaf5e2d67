/**
 * `reviewClassifier` + `reviewScript` on a folder of generated scenes with planted copies (an exact copy
 * under a name a shell must quote, a resized copy in another class, a copy moved into validation): the
 * pairs are found, the script is valid shell naming only existing files, and running it removes exactly the
 * copies of the same photo.
 */
import fs from "node:fs";
import path from "node:path";
import { tf } from "../../lib/runtime/mod.ts";
import type { Tensor3D } from "../../lib/runtime/mod.ts";
import {
  loadClassifier,
  reviewClassifier,
  reviewScript,
  saveClassifier,
  shellQuote,
} from "../../lib/tasks/mod.ts";
import { assert, assertEquals, assertRejects } from "../_assert.ts";
import { haveShared, SHARED_WEIGHTS_035 } from "../_shared.ts";
import { withTempDir } from "../_temp.ts";
import { task } from "../_task.ts";
import { scene, sceneClassifier } from "../_generated_scenes.ts";

async function writePng(file: string, image: Tensor3D): Promise<void> {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, await tf.node.encodePng(image));
}

/** train/{a,b}: 6 scenes each, validation/{a,b}: 2 each; then the planted copies. */
async function writeFolder(root: string): Promise<void> {
  let seed = 100;
  for (const part of ["train", "validation"]) {
    for (const c of ["a", "b"]) {
      for (let i = 0; i < (part === "train" ? 6 : 2); i++) {
        const image = scene(seed++);
        await writePng(path.join(root, part, c, `${i}.png`), image);
        image.dispose();
      }
    }
  }
  const copy = (from: string, to: string) => fs.copyFileSync(path.join(root, from), path.join(root, to));
  copy("train/a/0.png", "train/a/it's a copy $(x).png");
  copy("train/a/2.png", "validation/a/moved.png");
  const resized = tf.tidy(() => {
    const image = tf.node.decodePng(fs.readFileSync(path.join(root, "train/a/1.png")), 3);
    return tf.image.resizeBilinear(image as Tensor3D, [150, 150], false, true).round().toInt() as Tensor3D;
  });
  await writePng(path.join(root, "train/b/resized.png"), resized);
  resized.dispose();
}

/** The quoted paths of the script's `rm`/`mv` lines (active or commented out), unquoted. */
function namedFiles(script: string): string[] {
  const words: string[] = [];
  for (const line of script.split("\n")) {
    const m = /^(?:# )?(?:rm|mv -n) -- ('(?:[^']|'\\'')*')/.exec(line);
    if (m) words.push(m[1].slice(1, -1).replaceAll(`'\\''`, "'"));
  }
  return words;
}

Deno.test({
  name:
    "reviewClassifier: planted copies found; the script is valid shell, names existing files, removes copies",
  ignore: !haveShared(SHARED_WEIGHTS_035, "tasks/review_test"),
  fn: () =>
    withTempDir("tl-review-", async (dir) => {
      const root = path.join(dir, "photos");
      await writeFolder(root);
      const model = await sceneClassifier(2);
      const modelDir = path.join(dir, "model");
      await saveClassifier(model, modelDir, { classNames: ["a", "b"], alpha: 0.35 });
      model.dispose();
      const saved = await loadClassifier(modelDir);
      await assertRejects(() => reviewClassifier(saved, modelDir), Error, "give --data FOLDER");
      const report = await reviewClassifier(saved, modelDir, { data: root, batchSize: 5 });
      saved.model.dispose();
      assertEquals(report.images, { train: 14, validation: 5 });
      const pairs = report.duplicates.map((d) => [d.kind, d.a.file, d.b.file].join(" ")).sort();
      assertEquals(pairs, [
        "conflict train/a/1.png train/b/resized.png",
        "duplicate train/a/0.png train/a/it's a copy $(x).png",
        "leak train/a/2.png validation/a/moved.png",
      ]);

      // The task: the same report as JSON on stdout, the files beside the model folder, not in it.
      const cli = await task("review", ["--model", modelDir, "--data", root, "--json"]);
      assertEquals(cli.code, 0, cli.stderr);
      assertEquals(JSON.parse(cli.stdout).duplicates.length, 3);
      assert(fs.existsSync(`${modelDir}.review.json`) && fs.existsSync(`${modelDir}.review.sh`));
      assert(fs.readFileSync(`${modelDir}.review-map.svg`, "utf8").startsWith("<svg"));
      assertEquals(report.map.map((p) => p.name).sort(), [
        "validation/a/0.png",
        "validation/a/1.png",
        "validation/a/moved.png",
        "validation/b/0.png",
        "validation/b/1.png",
      ]);
      assertEquals(fs.readdirSync(modelDir).filter((f) => f.includes("review")), []);

      fs.rmSync(path.join(root, "train/a/1.png")); // gone since the review: its pair is not named
      const script = reviewScript(report);
      const file = path.join(dir, "review.sh");
      fs.writeFileSync(file, script);
      const check = await new Deno.Command("bash", { args: ["-n", file] }).output();
      assertEquals(check.code, 0, new TextDecoder().decode(check.stderr));
      const named = namedFiles(script);
      assert(named.length >= 3, script);
      for (const f of named) {
        assert(fs.existsSync(path.join(root, f.replace(/\/$/, ""))), `${f} does not exist`);
      }
      assert(script.includes(`cd -- ${shellQuote(root)}`));
      assert(!script.includes("conflict"), script);

      const run = await new Deno.Command("sh", { args: [file] }).output();
      assertEquals(run.code, 0, new TextDecoder().decode(run.stderr));
      // The exact copy and the validation copy are gone; the originals and the resized copy are kept.
      assert(!fs.existsSync(path.join(root, "train/a/it's a copy $(x).png")));
      assert(!fs.existsSync(path.join(root, "validation/a/moved.png")));
      for (const kept of ["train/a/0.png", "train/a/2.png", "train/b/resized.png"]) {
        assert(fs.existsSync(path.join(root, kept)), `${kept} was removed`);
      }
    }),
});

Deno.test("shellQuote: one word for sh, whatever the name holds", async () => {
  const names = ["plain.jpg", "it's.jpg", "a b\nc.jpg", "$(rm -rf x)`y`\\.jpg", "-n.jpg"];
  const script = `for w in ${names.map(shellQuote).join(" ")}; do printf '%s\\0' "$w"; done`;
  const out = await new Deno.Command("sh", { args: ["-c", script] }).output();
  assertEquals(new TextDecoder().decode(out.stdout).split("\0").slice(0, -1), names);
});
