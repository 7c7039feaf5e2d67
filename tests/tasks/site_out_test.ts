/**
 * `writeSite` / `deno task export --out DIR` into folders that are not new (lib/tasks/site.ts): an earlier
 * export is replaced; files the user added to it (a `CNAME`, `robots.txt`), or a user's own web project
 * with a model, are refused before any work, or with `--force` moved aside — never deleted.
 */
import fs from "node:fs";
import path from "node:path";
import { tf } from "../../lib/runtime/tf.ts";
import { assert, assertEquals, assertMatch, assertRejects, assertThrows } from "../_assert.ts";
import { listTree, withTempDir } from "../_temp.ts";
import { task } from "../_task.ts";
import { buildClassifier } from "../../lib/model/classifier.ts";
import { saveClassifier } from "../../lib/tasks/save_classifier.ts";
import { buildSite, checkSiteOutput, writeSite } from "../../lib/tasks/site.ts";
import type { Site } from "../../lib/tasks/site.ts";
import { OutputFolderError } from "../../lib/io/output_folder.ts";
import { tinyBase } from "../../lib/testing/tiny.ts";

/** A saved tiny classifier in `dir/flowers` and its site. */
async function tinySite(dir: string): Promise<{ modelDir: string; site: Site }> {
  const { model } = buildClassifier({ base: tinyBase([16, 16, 3]), numClasses: 3, augmentation: null });
  const modelDir = path.join(dir, "flowers");
  await saveClassifier(model, modelDir, { classNames: ["daisy", "rose", "tulip"], alpha: 0.35 });
  model.dispose();
  return { modelDir, site: await buildSite(modelDir) };
}

function put(dir: string, files: Record<string, string>) {
  for (const [name, text] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    fs.writeFileSync(path.join(dir, name), text);
  }
}

const contents = (dir: string) =>
  listTree(dir).map((p) =>
    fs.statSync(path.join(dir, p)).isFile() ? `${p}=${fs.readFileSync(path.join(dir, p), "hex")}` : p
  );

Deno.test("writeSite over an earlier export: replaced; with the user's CNAME and robots.txt added: refused, nothing changed; force moves it aside", async () => {
  await withTempDir("tl-site-out-", async (tmp) => {
    const { site } = await tinySite(tmp);
    const out = path.join(tmp, "public");
    await writeSite(site, out);
    const exported = listTree(out);
    assert(exported.includes(".tl-manifest.json") && exported.includes("model/weights.bin"));
    assertEquals(await writeSite(site, out), {}, "a second export replaces the first");
    assertEquals(listTree(out), exported);

    put(out, { CNAME: "cats.example.org", "robots.txt": "User-agent: *" });
    const before = contents(out);
    const tensors = tf.memory().numTensors;
    await assertRejects(
      () => writeSite(site, out),
      OutputFolderError,
      `${out} holds files this project did not write (CNAME, robots.txt): pick another --out, or --force to ` +
        `move the old content aside to ${out}.old-<time> (nothing is deleted)`,
    );
    assertEquals(contents(out), before);
    assertEquals(tf.memory().numTensors, tensors);

    const { movedAside } = await writeSite(site, out, { force: true });
    assert(movedAside && movedAside.startsWith(`${out}.old-`), String(movedAside));
    assertEquals(contents(movedAside), before, "the old export and the user's files, whole");
    assertEquals(listTree(out), exported);
  });
});

Deno.test("writeSite over a user's web project with index.html and model/model.json: refused", async () => {
  await withTempDir("tl-site-project-", async (tmp) => {
    const { site } = await tinySite(tmp);
    const project = path.join(tmp, "my-site");
    put(project, {
      "index.html": "<script src=sketch.js></script>",
      "sketch.js": "// mine",
      "model/model.json": "{}",
      "model/metadata.json": JSON.stringify({ tmVersion: "2.4.7", labels: ["a", "b"] }),
      "model/weights.bin": "w",
    });
    const before = contents(project);
    await assertRejects(
      () => writeSite(site, project),
      OutputFolderError,
      `${project} was not written by this project (no .tl-manifest.json) and holds index.html, model/, ` +
        `sketch.js: pick another --out`,
    );
    assertEquals(contents(project), before);
  });
});

Deno.test("writeSite over an export an earlier version wrote (no manifest): replaced; with a file added: refused; inside the model folder: refused", async () => {
  await withTempDir("tl-site-earlier-", async (tmp) => {
    const { site, modelDir } = await tinySite(tmp);
    const out = path.join(tmp, "public");
    await writeSite(site, out);
    fs.rmSync(path.join(out, ".tl-manifest.json"));
    assertEquals(checkSiteOutput(out).action, "replace");
    await writeSite(site, out);
    assert(fs.existsSync(path.join(out, ".tl-manifest.json")));
    fs.rmSync(path.join(out, ".tl-manifest.json"));
    put(out, { "notes/todo.txt": "mine" });
    assertThrows(
      () => checkSiteOutput(out),
      OutputFolderError,
      "holds files this project did not write (notes/)",
    );

    assertThrows(
      () => checkSiteOutput(path.join(modelDir, "web"), { modelDir }),
      OutputFolderError,
      `${path.join(modelDir, "web")} is inside the model folder ${modelDir}`,
    );
    await assertRejects(() => writeSite(site, modelDir), OutputFolderError, "is inside the model folder");
    assertEquals(listTree(modelDir).includes("index.html"), false);
  });
});

Deno.test("deno task export --out over a folder of the user's: exit 2, one line naming the files and the fix; --force moves it aside", async () => {
  await withTempDir("tl-export-cli-", async (tmp) => {
    const { modelDir } = await tinySite(tmp);
    const out = path.join(tmp, "web");
    put(out, { "index.html": "mine", "about.html": "mine" });
    const refused = await task("export", ["--model", modelDir, "--out", out]);
    assertEquals(refused.code, 2, refused.stderr);
    assertEquals(refused.stderr.trim().split("\n").length, 1, refused.stderr);
    assertMatch(
      refused.stderr,
      /^export: .*web was not written by this project .* holds about\.html, index\.html: /,
    );
    assertMatch(refused.stderr, /or --force to move the old content aside to .*web\.old-<time>/);
    assertEquals(fs.readFileSync(path.join(out, "index.html"), "utf8"), "mine");

    const forced = await task("export", ["--model", modelDir, "--out", out, "--force"]);
    assertEquals(forced.code, 0, forced.stderr);
    const aside = /moved the previous content of .* aside to (\S+)/.exec(forced.stderr)?.[1];
    assert(aside, forced.stderr);
    assertEquals(listTree(aside), ["about.html", "index.html"]);
    assert(fs.existsSync(path.join(out, "model", "weights.bin")));
  });
});
