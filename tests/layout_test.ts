/**
 * The architecture, checked from the imports: `lib/`'s folders are layers, each importing only itself and
 * the layers below it, and reaching another folder only through its `mod.ts`.
 *
 * @module
 */
import fs from "node:fs";
import path from "node:path";
import { assert, assertEquals } from "./_assert.ts";
import { PROJECT_ROOT } from "../lib/runtime/mod.ts";

/**
 * `lib/`'s folders from the ground up (`cli`: the tasks' command-line conventions, free of TensorFlow): a folder may import its own files and the folders before it here,
 * never one after it. `testing` (fixtures for tests and checks) may import any layer; no layer imports it.
 */
export const LAYERS = [
  "cli",
  "runtime",
  "io",
  "graph",
  "data",
  "model",
  "train",
  "analysis",
  "tasks",
] as const;
const SIDE_FOLDERS = ["testing"];
/** Folders outside `lib/` whose code uses `lib/` only through the folders' `mod.ts`. */
const CLIENTS = ["tools", "bench", "notebooks"];

/** One import of a project file by another, paths relative to the project root. */
export interface ImportEdge {
  from: string;
  to: string;
}

const IMPORT = /(?:^|\n)\s*(?:import|export)\s+(?:type\s+)?(?:[^"';]*?\s+from\s+)?["'](\.{1,2}\/[^"']+)["']/g;
const DYNAMIC = /import\(\s*["'](\.{1,2}\/[^"']+)["']\s*\)/g;

/** The relative imports (static, re-exports, dynamic with a literal) of `source`, a file at `file`. */
export function importsOf(file: string, source: string): ImportEdge[] {
  const edges: ImportEdge[] = [];
  for (const re of [IMPORT, DYNAMIC]) {
    for (const m of source.matchAll(re)) {
      edges.push({ from: file, to: path.posix.normalize(path.posix.join(path.posix.dirname(file), m[1])) });
    }
  }
  return edges;
}

function libFolder(file: string): string | undefined {
  const parts = file.split("/");
  return parts[0] === "lib" && parts.length >= 3 ? parts[1] : undefined;
}

/** What is wrong with one import, or `undefined` when the layout allows it. */
export function layoutProblem({ from, to }: ImportEdge): string | undefined {
  const source = libFolder(from);
  const target = libFolder(to);
  const top = from.split("/")[0];
  if (top === "lib" && ["tools", "tests", "bench", "notebooks"].includes(to.split("/")[0])) {
    return `${from} imports ${to}: lib/ never imports the project's tools, tests or benchmarks`;
  }
  if (target === undefined) return undefined;
  if (source === target) return undefined;
  const isClient = source !== undefined || CLIENTS.includes(top);
  if (isClient && !to.endsWith("/mod.ts")) {
    return `${from} imports ${to}: use lib/${target}/mod.ts (a folder's other files are its own)`;
  }
  if (source === undefined || SIDE_FOLDERS.includes(source)) return undefined;
  if (SIDE_FOLDERS.includes(target)) return `${from} imports ${to}: no layer imports lib/${target}/`;
  const rank = (f: string) => (LAYERS as readonly string[]).indexOf(f);
  if (rank(source) < 0) return `${from}: lib/${source}/ is not in the layer table (LAYERS)`;
  if (rank(target) < 0) return `${from} imports ${to}: lib/${target}/ is not in the layer table (LAYERS)`;
  if (rank(target) > rank(source)) {
    return `${from} imports ${to}: lib/${source}/ is below lib/${target}/ (${LAYERS.join(" < ")})`;
  }
  return undefined;
}

function codeOf(file: string): string {
  const text = fs.readFileSync(path.join(PROJECT_ROOT, file), "utf8");
  if (!file.endsWith(".ipynb")) return text;
  const nb = JSON.parse(text) as { cells: { cell_type: string; source: string[] | string }[] };
  return nb.cells.filter((c) => c.cell_type === "code")
    .map((c) => Array.isArray(c.source) ? c.source.join("") : c.source).join("\n");
}

function projectFiles(dir: string): string[] {
  const out: string[] = [];
  for (const entry of fs.readdirSync(path.join(PROJECT_ROOT, dir), { withFileTypes: true })) {
    const rel = `${dir}/${entry.name}`;
    if (entry.isDirectory()) {
      if (!["node_modules", "fixtures", "results", ".ipynb_checkpoints"].includes(entry.name)) {
        out.push(...projectFiles(rel));
      }
    } else if (/\.(ts|js|ipynb)$/.test(entry.name)) out.push(rel);
  }
  return out;
}

Deno.test("layout rule: a layer imports only itself and the layers below it, other folders through mod.ts", () => {
  const ok = (from: string, to: string) =>
    assertEquals(layoutProblem({ from, to }), undefined, `${from} → ${to}`);
  const bad = (from: string, to: string, why: RegExp) => {
    const problem = layoutProblem({ from, to });
    assert(problem !== undefined && why.test(problem), `${from} → ${to}: ${problem}`);
  };
  ok("lib/train/fit.ts", "lib/model/mod.ts");
  ok("lib/train/fit.ts", "lib/train/progress.ts");
  ok("tools/cli/train.ts", "lib/tasks/mod.ts");
  ok("tests/model/classifier_test.ts", "lib/model/classifier.ts");
  ok("lib/testing/tiny.ts", "lib/tasks/mod.ts");
  bad("lib/model/classifier.ts", "lib/train/mod.ts", /below/);
  bad("lib/train/fit.ts", "lib/model/classifier.ts", /use lib\/model\/mod\.ts/);
  bad("tools/cli/train.ts", "lib/tasks/train_folder.ts", /use lib\/tasks\/mod\.ts/);
  bad("lib/tasks/site.ts", "lib/testing/mod.ts", /no layer imports/);
  bad("lib/model/x.ts", "tests/_assert.ts", /never imports/);
  bad("lib/extra/x.ts", "lib/model/mod.ts", /not in the layer table/);
});

Deno.test("importsOf reads static, type, re-export, multi-line and dynamic imports", () => {
  const source = `import { a } from "./a.ts";
import type { B } from "../model/mod.ts";
import {
  c,
} from "../io/mod.ts";
export * from "./d.ts";
const e = await import("../data/mod.ts");
import fs from "node:fs";`;
  assertEquals(importsOf("lib/train/x.ts", source).map((e) => e.to).sort(), [
    "lib/data/mod.ts",
    "lib/io/mod.ts",
    "lib/model/mod.ts",
    "lib/train/a.ts",
    "lib/train/d.ts",
  ]);
});

Deno.test("the project keeps the layout: every lib/ folder is a layer with a documented mod.ts", () => {
  const folders = fs.readdirSync(path.join(PROJECT_ROOT, "lib"), { withFileTypes: true })
    .filter((e) => e.isDirectory()).map((e) => e.name);
  for (const folder of folders) {
    assert(
      (LAYERS as readonly string[]).includes(folder) || SIDE_FOLDERS.includes(folder),
      `lib/${folder}/ is in no layer: add it to LAYERS (tests/layout_test.ts)`,
    );
    const mod = path.join(PROJECT_ROOT, "lib", folder, "mod.ts");
    assert(fs.existsSync(mod), `lib/${folder}/ has no mod.ts`);
    assert(/@module/.test(fs.readFileSync(mod, "utf8")), `lib/${folder}/mod.ts has no @module doc`);
  }
  const looseFiles = fs.readdirSync(path.join(PROJECT_ROOT, "lib")).filter((f) => /\.(ts|js)$/.test(f));
  assertEquals(looseFiles, [], "lib/ holds folders only");
  const problems = ["lib", ...CLIENTS].flatMap(projectFiles)
    .flatMap((file) => importsOf(file, codeOf(file)))
    .map(layoutProblem).filter((p): p is string => p !== undefined);
  assertEquals(problems, []);
});
