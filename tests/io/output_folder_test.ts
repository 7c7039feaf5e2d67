/**
 * Output folders (lib/io/output_folder.ts): a write replaces only what the project wrote there before;
 * anything else is refused before any work, or with `force` moved aside — never deleted.
 */
import fs from "node:fs";
import path from "node:path";
import { assert, assertEquals, assertMatch, assertRejects, assertThrows } from "../_assert.ts";
import { listTree, withTempDir } from "../_temp.ts";
import { deadPid } from "../_process.ts";
import { checkOutputFolder, OutputFolderError, writeOutputFolder } from "../../lib/io/output_folder.ts";
import { MANIFEST_FILE } from "../../lib/io/manifest.ts";
import { UsageError } from "../../lib/cli/mod.ts";

/** A write of `files` (relative name → text) as `kind`. */
function write(dir: string, files: Record<string, string>, extra: { force?: boolean; kind?: string } = {}) {
  return writeOutputFolder(dir, {
    kind: extra.kind ?? "model",
    ...(extra.force ? { force: true } : {}),
    fill: async (temp) => {
      for (const [name, text] of Object.entries(files)) {
        fs.mkdirSync(path.dirname(path.join(temp, name)), { recursive: true });
        await Deno.writeTextFile(path.join(temp, name), text);
      }
    },
  });
}

const read = (dir: string, name: string) => fs.readFileSync(path.join(dir, name), "utf8");

Deno.test("writeOutputFolder: a second write replaces the first's files, and only them", async () => {
  await withTempDir("tl-out-", async (tmp) => {
    const out = path.join(tmp, "out");
    assertEquals(await write(out, { "a.txt": "1", "sub/b.txt": "1", "old.txt": "1" }), {});
    assertEquals(listTree(out), [MANIFEST_FILE, "a.txt", "old.txt", "sub", "sub/b.txt"]);
    assertEquals(checkOutputFolder(out, { kind: "model" }).action, "replace");
    assertEquals(await write(out, { "a.txt": "2", "sub/b.txt": "2" }), {});
    assertEquals(listTree(out), [MANIFEST_FILE, "a.txt", "sub", "sub/b.txt"], "old.txt was ours: gone");
    assertEquals(read(out, "a.txt"), "2");
    assertEquals(fs.readdirSync(tmp), ["out"], "no temporary folder, lock or aside folder left");
  });
});

Deno.test("checkOutputFolder: files the project did not write are refused before any work, named, with the fix", async () => {
  await withTempDir("tl-out-foreign-", async (tmp) => {
    const out = path.join(tmp, "out");
    await write(out, { "model.json": "{}" });
    fs.writeFileSync(path.join(out, "notes.txt"), "mine");
    fs.mkdirSync(path.join(out, "photos"));
    for (const i of [1, 2, 3]) fs.writeFileSync(path.join(out, "photos", `${i}.jpg`), "jpeg");
    fs.writeFileSync(path.join(out, "todo.md"), "mine");
    fs.writeFileSync(path.join(out, "z.txt"), "mine");
    const e = assertThrows(() => checkOutputFolder(out, { kind: "model" }), OutputFolderError);
    assert(e instanceof UsageError, "a task reports it in one line, exit code 2");
    assertEquals(
      e.message,
      `${out} holds files this project did not write (notes.txt, photos/, todo.md and 1 more): pick ` +
        `another --out, or --force to move the old content aside to ${out}.old-<time> (nothing is deleted)`,
    );
    let filled = false;
    await assertRejects(
      () => writeOutputFolder(out, { kind: "model", fill: () => Promise.resolve(void (filled = true)) }),
      OutputFolderError,
    );
    assertEquals(filled, false, "refused before the content was made");
    assertEquals(listTree(out).length, 9, "nothing changed");
    assertEquals(fs.readdirSync(tmp), ["out"], "no lock file or temporary folder made");
  });
});

Deno.test("checkOutputFolder: a folder without a manifest, a file, another kind, a changed file, an unreadable manifest", async () => {
  await withTempDir("tl-out-kinds-", async (tmp) => {
    const check = (dir: string, kind = "model") => checkOutputFolder(dir, { kind });
    const tm = path.join(tmp, "tm");
    fs.mkdirSync(tm);
    for (const f of ["model.json", "metadata.json", "weights.bin"]) fs.writeFileSync(path.join(tm, f), "x");
    assertThrows(
      () => check(tm),
      OutputFolderError,
      `${tm} was not written by this project (no ${MANIFEST_FILE}) and holds metadata.json, model.json, weights.bin`,
    );
    // An earlier version's folder, recognized by the caller, is replaced as the project's own.
    const earlierVersion = { files: ["model.json", "metadata.json", "weights.bin"], is: () => true };
    const plan = checkOutputFolder(tm, { kind: "model", earlierVersion });
    assertEquals([plan.action, plan.owned], ["replace", ["metadata.json", "model.json", "weights.bin"]]);
    fs.writeFileSync(path.join(tm, "notes.txt"), "mine");
    assertThrows(
      () => checkOutputFolder(tm, { kind: "model", earlierVersion }),
      OutputFolderError,
      `${tm} holds files this project did not write (notes.txt)`,
    );
    fs.rmSync(path.join(tm, "notes.txt"));

    const file = path.join(tmp, "file");
    fs.writeFileSync(file, "mine");
    assertThrows(() => check(file), OutputFolderError, `${file} is a file, not a folder: pick another --out`);

    const site = path.join(tmp, "site");
    await write(site, { "index.html": "x", "report.html": "x" }, { kind: "web-export" });
    assertThrows(
      () => check(site),
      OutputFolderError,
      `holds this project's "web-export" output, not a "model"`,
    );
    fs.writeFileSync(path.join(site, "report.html"), "edited");
    assertThrows(
      () => check(site, "web-export"),
      OutputFolderError,
      `${site} holds report.html, changed since this project wrote it (yours now): pick another --out`,
    );
    fs.writeFileSync(path.join(site, MANIFEST_FILE), "{");
    assertThrows(() => check(site, "web-export"), OutputFolderError, `its ${MANIFEST_FILE} cannot be used`);

    // Empty, and holding only what an operating system leaves (Finder's .DS_Store): replaced.
    fs.mkdirSync(path.join(tmp, "empty"));
    assertEquals(check(path.join(tmp, "empty")).action, "replace");
    fs.writeFileSync(path.join(tmp, "empty", ".DS_Store"), "");
    assertEquals(check(path.join(tmp, "empty")).action, "replace");
    assertEquals(check(path.join(tmp, "new", "deeper")).action, "create");
  });
});

Deno.test("writeOutputFolder with force: the old content is moved aside whole, never deleted, and no cleanup removes it", async () => {
  await withTempDir("tl-out-force-", async (tmp) => {
    const out = path.join(tmp, "out");
    fs.mkdirSync(path.join(out, "photos"), { recursive: true });
    fs.writeFileSync(path.join(out, "photos", "cat.jpg"), "jpeg");
    fs.writeFileSync(path.join(out, "model.json"), "theirs");
    assertEquals(checkOutputFolder(out, { kind: "model", force: true }).action, "move-aside");
    const { movedAside } = await write(out, { "model.json": "ours" }, { force: true });
    assertMatch(movedAside!, /\/out\.old-\d{4}-\d\d-\d\dT\d{6}Z$/);
    assertEquals(listTree(movedAside!), ["model.json", "photos", "photos/cat.jpg"]);
    assertEquals(read(movedAside!, "model.json"), "theirs");
    assertEquals(listTree(out), [MANIFEST_FILE, "model.json"]);
    // The next writes (which remove what dead processes left beside the folder) leave it alone.
    await write(out, { "model.json": "ours again" });
    assertEquals(fs.existsSync(path.join(movedAside!, "photos", "cat.jpg")), true);
    assertEquals(fs.readdirSync(tmp).sort(), ["out", path.basename(movedAside!)]);
  });
});

Deno.test("writeOutputFolder: a file added to the folder while the new content is made is moved aside, not deleted", async () => {
  await withTempDir("tl-out-race-", async (tmp) => {
    const out = path.join(tmp, "out");
    await write(out, { "a.txt": "1" });
    const { movedAside } = await writeOutputFolder(out, {
      kind: "model",
      fill: async (temp) => {
        await Deno.writeTextFile(path.join(out, "added-meanwhile.txt"), "mine");
        await Deno.writeTextFile(path.join(temp, "a.txt"), "2");
      },
    });
    assert(movedAside, "what is left of the old folder is kept");
    assertEquals(listTree(movedAside), ["added-meanwhile.txt"]);
    assertEquals(read(out, "a.txt"), "2");
  });
});

Deno.test("checkOutputFolder: a symbolic link is refused unless its target is named; inside or around a separate folder is refused", async () => {
  await withTempDir("tl-out-link-", async (tmp) => {
    const target = path.join(tmp, "real");
    await write(target, { "model.json": "1" });
    const link = path.join(tmp, "link");
    fs.symlinkSync(target, link);
    assertThrows(
      () => checkOutputFolder(link, { kind: "model", force: true }),
      OutputFolderError,
      `${link} is a symbolic link to ${target}: give --out ${target} to write there`,
    );
    await write(target, { "model.json": "2" });
    assert(fs.lstatSync(link).isSymbolicLink(), "the link stays a link");
    assertEquals(read(link, "model.json"), "2", "and shows the new content");

    const data = path.join(tmp, "photos");
    fs.mkdirSync(data);
    const separateFrom = [{ path: data, what: "the data folder" }];
    assertThrows(
      () => checkOutputFolder(path.join(data, "model"), { kind: "model", separateFrom }),
      OutputFolderError,
      `${path.join(data, "model")} is inside the data folder ${data}`,
    );
    assertThrows(
      () => checkOutputFolder(tmp, { kind: "model", separateFrom, force: true }),
      OutputFolderError,
      `the data folder ${data} is inside ${tmp}`,
    );
    // Through a link to the data folder too.
    fs.symlinkSync(data, path.join(tmp, "photos-link"));
    assertThrows(
      () => checkOutputFolder(path.join(tmp, "photos-link", "m"), { kind: "model", separateFrom }),
      OutputFolderError,
      "is inside the data folder",
    );
  });
});

Deno.test("checkOutputFolder: a path below a file cannot be made", async () => {
  await withTempDir("tl-out-file-", async (tmp) => {
    await Deno.writeTextFile(path.join(tmp, "unrelated.txt"), "");
    fs.writeFileSync(path.join(tmp, "file"), "x");
    assertThrows(
      () => checkOutputFolder(path.join(tmp, "file", "out"), { kind: "model" }),
      OutputFolderError,
      `${path.join(tmp, "file", "out")} cannot be made: ${path.join(tmp, "file")} is a file, not a folder`,
    );
  });
});

Deno.test("writeOutputFolder puts back a previous write a dead process left renamed away, then replaces it", async () => {
  await withTempDir("tl-out-crash-", async (tmp) => {
    const out = path.join(tmp, "out");
    await write(out, { "a.txt": "1" });
    const orphan = `${out}.old-${await deadPid()}-0123abcd`;
    fs.renameSync(out, orphan);
    assertEquals(checkOutputFolder(out, { kind: "model" }).action, "create");
    await write(out, { "a.txt": "2" });
    assertEquals(fs.readdirSync(tmp), ["out"]);
    assertEquals(read(out, "a.txt"), "2");
  });
});
