/**
 * The web page for a saved classifier as a fixed set of files: the page (`lib/tasks/web/`), TensorFlow.js and
 * its WASM backend from the project's own `node_modules`, and the inference-only export of the model
 * with the metadata the page needs. `deno task serve` serves exactly these (an allow-list, nothing else
 * on disk is reachable), `deno task export` writes them as a folder any static host can serve.
 *
 * @module
 */
import fs from "node:fs";
import path from "node:path";
import { PROJECT_ROOT } from "../runtime/mod.ts";
import { exportInferenceModel } from "../model/mod.ts";
import { replaceFolder, writeFileSynced } from "../io/mod.ts";
import { loadClassifier, MODELS_DIR } from "./saved_classifier.ts";
import { METADATA_FILE } from "./metadata.ts";
import type { MetricsRecord, Preprocessing } from "./metadata.ts";

/** The folder of the page's own files. */
export const WEB_DIR: string = path.join(PROJECT_ROOT, "lib", "tasks", "web");

const TFJS_DIST = path.join(PROJECT_ROOT, "node_modules", "@tensorflow", "tfjs", "dist");
const WASM_DIST = path.join(PROJECT_ROOT, "node_modules", "@tensorflow", "tfjs-backend-wasm", "dist");

/** Content types by extension, for every kind of file a site holds. */
export const CONTENT_TYPES: Readonly<Record<string, string>> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".json": "application/json; charset=utf-8",
  ".bin": "application/octet-stream",
  ".wasm": "application/wasm",
  ".svg": "image/svg+xml",
  ".png": "image/png",
};

/**
 * One file of the site with its content type: its bytes (`body`), or a `file` on disk that must resolve
 * (symlinks followed) inside the folder `root`.
 */
export type SiteEntry =
  | { body: Uint8Array; type: string }
  | { file: string; root: string; type: string };

/** The files of a site and what the page shows about its model. */
export interface Site {
  /** URL path (`/index.html`, `/model/model.json`, …) → file. */
  entries: Map<string, SiteEntry>;
  /** What the page shows about the model (written as `model/metadata.json`). */
  metadata: PageMetadata;
}

/**
 * The page's `model/metadata.json`: no local paths or histories, only what the page shows and needs (the
 * fields have the meaning of `ClassifierMetadata`'s).
 */
export interface PageMetadata {
  /** The classifier's folder name. */
  name: string;
  /** Class names in label order. */
  classNames: string[];
  /** `[height, width]` of the model's input, in pixels. */
  imageSize: [number, number];
  /** One logit with a sigmoid, or a softmax over one logit per class. */
  output: "sigmoid" | "softmax";
  /** How the page decodes and resizes an image. */
  preprocessing: Preprocessing;
  /** The validation results; present when the classifier's metadata has them. */
  metrics?: MetricsRecord;
}

/**
 * The model `deno task train` wrote last: `models/LATEST` when it names a folder, otherwise the folder
 * under `modelsDir` whose `metadata.json` is newest. Throws when there is none.
 */
export function latestModelDir(modelsDir: string = MODELS_DIR): string {
  const marker = path.join(modelsDir, "LATEST");
  if (fs.existsSync(marker)) {
    const name = fs.readFileSync(marker, "utf8").trim();
    const dir = path.resolve(modelsDir, name);
    if (name && fs.existsSync(path.join(dir, METADATA_FILE))) return dir;
  }
  const candidates = fs.existsSync(modelsDir)
    ? fs.readdirSync(modelsDir, { withFileTypes: true })
      .filter((d) => d.isDirectory() && !d.name.startsWith("."))
      .map((d) => path.join(modelsDir, d.name))
      .filter((d) => fs.existsSync(path.join(d, METADATA_FILE)) && fs.existsSync(path.join(d, "model.json")))
    : [];
  if (!candidates.length) {
    throw new Error(
      `no trained model under ${modelsDir} (no */metadata.json): run \`deno task train\` first, or give ` +
        `--model models/NAME`,
    );
  }
  const mtime = (d: string) => fs.statSync(path.join(d, METADATA_FILE)).mtimeMs;
  return candidates.sort((a, b) => mtime(b) - mtime(a))[0];
}

function typeOf(file: string): string {
  const type = CONTENT_TYPES[path.extname(file)];
  if (!type) throw new Error(`no content type for ${file}`);
  return type;
}

/** The page's own files and the tfjs assets, as site entries (URL path → file). */
export function staticEntries(webDir: string = WEB_DIR): Map<string, SiteEntry> {
  const entries = new Map<string, SiteEntry>();
  const add = (url: string, root: string, name: string) => {
    const file = path.join(root, name);
    if (!fs.existsSync(file)) {
      throw new Error(`${file} is missing: run \`deno task setup\` (npm dependencies) in the project folder`);
    }
    entries.set(url, { file, root, type: typeOf(file) });
  };
  for (const name of ["index.html", "app.js", "style.css"]) add(`/${name}`, webDir, name);
  add("/tfjs/tf.es2017.min.js", TFJS_DIST, "tf.es2017.min.js");
  add("/tfjs/tf-backend-wasm.es2017.min.js", WASM_DIST, "tf-backend-wasm.es2017.min.js");
  for (
    const wasm of [
      "tfjs-backend-wasm.wasm",
      "tfjs-backend-wasm-simd.wasm",
      "tfjs-backend-wasm-threaded-simd.wasm",
    ]
  ) {
    add(`/tfjs/${wasm}`, WASM_DIST, wasm);
  }
  return entries;
}

/** Options of {@link buildSite}. */
export interface BuildSiteOptions {
  /** The page's folder (default `lib/tasks/web/`). */
  webDir?: string;
}

/**
 * The site for the classifier saved in `modelDir`: validated metadata, the inference-only export of the
 * model (checked against the original), the page and the tfjs assets.
 */
export async function buildSite(modelDir: string, options: BuildSiteOptions = {}): Promise<Site> {
  const dir = path.resolve(modelDir);
  if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) {
    throw new Error(
      `--model ${modelDir}: no such folder (expected models/NAME written by \`deno task train\`)`,
    );
  }
  const { model, metadata: m } = await loadClassifier(dir);
  try {
    const exported = await exportInferenceModel(model);
    const metadata: PageMetadata = {
      name: path.basename(dir),
      classNames: m.classNames,
      imageSize: m.imageSize,
      output: m.output,
      preprocessing: m.preprocessing,
      ...(m.metrics !== undefined ? { metrics: m.metrics } : {}),
    };
    const json = (v: unknown) => new TextEncoder().encode(JSON.stringify(v));
    const entries = staticEntries(options.webDir);
    entries.set("/model/model.json", { body: json(exported.modelJson), type: CONTENT_TYPES[".json"] });
    entries.set("/model/weights.bin", { body: exported.weights, type: CONTENT_TYPES[".bin"] });
    entries.set(`/model/${METADATA_FILE}`, { body: json(metadata), type: CONTENT_TYPES[".json"] });
    return { entries, metadata };
  } finally {
    model.dispose();
  }
}

/**
 * The bytes of an entry; `null` when a file entry does not resolve (symlinks followed) to a regular file
 * inside its root — a symlink pointing out of the page's folder is not served.
 */
export async function readEntry(entry: SiteEntry): Promise<Uint8Array | null> {
  if ("body" in entry) return entry.body;
  try {
    const [real, root] = await Promise.all([Deno.realPath(entry.file), Deno.realPath(entry.root)]);
    if (!real.startsWith(root + path.sep)) return null;
    const stat = await Deno.stat(real);
    if (!stat.isFile) return null;
    return await Deno.readFile(real);
  } catch {
    return null;
  }
}

/**
 * Writes the site as a folder (`index.html`, `app.js`, `style.css`, `tfjs/…`, `model/…`): built in a
 * temporary sibling folder, then swapped in (lib/io/atomic.ts) so `outDir` is never half-written. An existing
 * `outDir` is replaced only when it holds a previous export (its `index.html` and `model/model.json`).
 */
export async function writeSite(site: Site, outDir: string): Promise<void> {
  await replaceFolder(path.resolve(outDir), {
    check(out) {
      if (!fs.existsSync(out)) return;
      const previous = fs.existsSync(path.join(out, "index.html")) &&
        fs.existsSync(path.join(out, "model", "model.json"));
      const empty = fs.statSync(out).isDirectory() && fs.readdirSync(out).length === 0;
      if (!previous && !empty) {
        throw new Error(`--out ${outDir} exists and is not a previous export: choose a new or empty folder`);
      }
    },
    fill: async (temp) => {
      for (const [url, entry] of site.entries) {
        const bytes = await readEntry(entry);
        if (!bytes) throw new Error(`cannot read ${"file" in entry ? entry.file : url} inside its folder`);
        const file = path.join(temp, ...url.split("/").filter(Boolean));
        fs.mkdirSync(path.dirname(file), { recursive: true });
        await writeFileSynced(file, bytes);
      }
    },
  });
}
