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
import { checkOutputFolder, writeFileSynced, writeOutputFolder } from "../io/mod.ts";
import type { OutputPlan } from "../io/mod.ts";
import { loadClassifier, MODELS_DIR } from "./saved_classifier.ts";
import { METADATA_FILE } from "./metadata.ts";
import type { MetricsRecord, Preprocessing } from "./metadata.ts";

/** The folder of the page's own files. */
export const WEB_DIR: string = path.join(PROJECT_ROOT, "lib", "tasks", "web");

const TFJS_DIST = path.join(PROJECT_ROOT, "node_modules", "@tensorflow", "tfjs", "dist");
const WASM_DIST = path.join(PROJECT_ROOT, "node_modules", "@tensorflow", "tfjs-backend-wasm", "dist");
/** ExifReader's browser build: the page reads a photo's EXIF Orientation as `deno task predict` does. */
const EXIFREADER_DIST = path.join(PROJECT_ROOT, "node_modules", "exifreader", "dist");
/**
 * libjpeg-turbo built for WebAssembly (its TurboJPEG API): the page decodes JPEGs with the fast integer IDCT
 * and fancy upsampling, as TensorFlow's `DecodeJpeg` does for training and `deno task predict` — browsers
 * use the accurate IDCT, which moves probabilities by up to ~2e-2.
 */
const JPEG_TURBO_DIST = path.join(PROJECT_ROOT, "node_modules", "@cwasm", "jpeg-turbo");

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
  /** The classifier's folder it was built from (absolute): an export is never written inside it. */
  modelDir?: string;
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
  /** When the classifier was saved (ISO 8601, UTC); present when its metadata has it. */
  created?: string;
  /** Bytes of the model the page downloads (`model.json` + `weights.bin`), shown by the page. */
  modelBytes?: number;
  /** How the weights are stored: "float32", or TensorFlow.js' weight quantization "float16" / "uint8". */
  weights?: "float32" | "float16" | "uint8";
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
  add("/exifreader/exif-reader.js", EXIFREADER_DIST, "exif-reader.js");
  add("/jpeg/jpeg-turbo.wasm", JPEG_TURBO_DIST, "jpeg-turbo.wasm");
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
  /** Store the model's weights quantized (TensorFlow.js' weight quantization); default float32. */
  quantize?: "float16" | "uint8";
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
    const exported = await exportInferenceModel(model, { quantize: options.quantize });
    const modelJson = new TextEncoder().encode(JSON.stringify(exported.modelJson));
    const metadata: PageMetadata = {
      name: path.basename(dir),
      classNames: m.classNames,
      imageSize: m.imageSize,
      output: m.output,
      preprocessing: m.preprocessing,
      ...(m.metrics !== undefined ? { metrics: m.metrics } : {}),
      ...(m.created !== undefined ? { created: m.created } : {}),
      modelBytes: modelJson.length + exported.weights.length,
      weights: options.quantize ?? "float32",
    };
    const json = (v: unknown) => new TextEncoder().encode(JSON.stringify(v));
    const entries = staticEntries(options.webDir);
    entries.set("/model/model.json", { body: modelJson, type: CONTENT_TYPES[".json"] });
    entries.set("/model/weights.bin", { body: exported.weights, type: CONTENT_TYPES[".bin"] });
    entries.set(`/model/${METADATA_FILE}`, { body: json(metadata), type: CONTENT_TYPES[".json"] });
    return { entries, metadata, modelDir: dir };
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

/** The `kind` of an export folder in its manifest (`lib/io/manifest.ts`). */
const EXPORT_KIND = "web-export";

/** The files of an export: the page's, the tfjs assets and the model's (relative paths). */
function exportFiles(): string[] {
  const urls = [
    ...staticEntries().keys(),
    "/model/model.json",
    "/model/weights.bin",
    `/model/${METADATA_FILE}`,
  ];
  return urls.map((u) => u.slice(1));
}

/**
 * Whether the folder `dir` is an export an earlier version wrote, before the manifest: an `index.html`
 * beside a `model/metadata.json` of the page's form (another tool's export, or a user's web project with a
 * model, has another `metadata.json` or none). Of its files, only those an export writes are the project's.
 */
export function isEarlierExport(dir: string): boolean {
  if (!fs.existsSync(path.join(dir, "index.html"))) return false;
  try {
    const page = JSON.parse(fs.readFileSync(path.join(dir, "model", METADATA_FILE), "utf8"));
    return typeof page.name === "string" && Array.isArray(page.classNames) &&
      typeof page.preprocessing === "object" && page.preprocessing !== null;
  } catch {
    return false;
  }
}

/** Options of {@link writeSite} and {@link checkSiteOutput}. */
export interface WriteSiteOptions {
  /** An `outDir` holding anything the project did not write is moved aside to `<outDir>.old-<time>`. */
  force?: boolean;
  /** The classifier's folder: the export must neither be inside it nor hold it (default `site.modelDir`). */
  modelDir?: string;
}

function exportOptions(options: WriteSiteOptions) {
  const { force, modelDir } = options;
  return {
    kind: EXPORT_KIND,
    ...(force ? { force: true } : {}),
    earlierVersion: { files: exportFiles(), is: isEarlierExport },
    ...(modelDir ? { separateFrom: [{ path: modelDir, what: "the model folder" }] } : {}),
  };
}

/**
 * Checks the folder an export is to be written to, before any work: not a link, writable, apart from the
 * model folder, and new, empty or an earlier export with nothing added or changed — unless `force`.
 * Throws an `OutputFolderError` (one line naming up to three files concerned, and the fix) otherwise.
 */
export function checkSiteOutput(outDir: string, options: WriteSiteOptions = {}): OutputPlan {
  return checkOutputFolder(outDir, exportOptions(options));
}

/**
 * Writes the site as a folder (`index.html`, `app.js`, `style.css`, `tfjs/…`, `model/…`, and the manifest
 * of them): built in a temporary sibling folder, then swapped in (lib/io/atomic.ts) so `outDir` is never
 * half-written. An existing `outDir` is replaced only when it holds nothing but an earlier export's files
 * as written ({@link checkSiteOutput}); `force` moves anything else aside (`movedAside`), never deletes it.
 */
export async function writeSite(
  site: Site,
  outDir: string,
  options: WriteSiteOptions = {},
): Promise<{ movedAside?: string }> {
  const modelDir = options.modelDir ?? site.modelDir;
  return await writeOutputFolder(path.resolve(outDir), {
    ...exportOptions({ ...options, ...(modelDir ? { modelDir } : {}) }),
    purpose: `writing the web page to ${path.resolve(outDir)}`,
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
