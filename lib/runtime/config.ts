/**
 * Run configuration from `TL_*` environment variables, shared by notebooks, CI and benchmarks.
 *
 * | variable         | default                                                                   |
 * | ---------------- | ------------------------------------------------------------------------- |
 * | `TL_DATA_URL`    | the tutorial's `cats_and_dogs_filtered.zip` URL                           |
 * | `TL_DATA_DIR`    | photos of `notebooks/your_own_images.ipynb` (folder or zip): see there    |
 * | `TL_CACHE_DIR`   | `data/` in the project                                                    |
 * | `TL_MIRROR`      | `../shared` beside the project when it exists; `none`: no mirror          |
 * | `TL_ALPHA`       | `1.0` (MobileNetV2 width multiplier); offline, the mirror weights' alpha  |
 * | `TL_WEIGHTS_URL` | Keras' ImageNet weight file for `TL_ALPHA` (derived)                      |
 * | `TL_EPOCHS`      | `10` epochs per phase (frozen, then fine-tuning)                          |
 * | `TL_CACHE_MB`    | decoded-image cache, MB: 25 % of the free memory (`lib/data/image_cache.ts`)   |
 *
 * URLs may be `https://`, `file://` or plain paths. Relative paths are taken from the project's root,
 * wherever the process runs (the notebooks run in `notebooks/`).
 *
 * The mirror is a folder of local copies of remote files (`data/`, `weights/`, …, as `../shared` is laid
 * out). When an origin cannot be reached, `getFile` given the mirror takes the mirror's file of the same name
 * instead and says so once; {@link fetchOptions} hands `getFile` the run's cache folder, mirror and hint.
 * Without `TL_ALPHA`, MobileNetV2's alpha follows the ImageNet weights the mirror holds when Keras' alpha-1.0
 * file can't be had (`imagenetAlpha` in `lib/model/mobilenet_v2.ts`). An alpha that is set is never replaced.
 *
 * Only the edges read these settings (notebooks, `lib/tasks/` entry points, `tools/`); the modules below take
 * them as explicit options.
 *
 * @module
 */
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

/** The project's root folder. */
export const PROJECT_ROOT: string = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");

/** The tutorial's dataset. */
export const DEFAULT_DATA_URL = "https://storage.googleapis.com/mledu-datasets/cats_and_dogs_filtered.zip";

/** MobileNetV2's width multiplier when `TL_ALPHA` is not set (the tutorial's). */
export const DEFAULT_ALPHA = 1.0;

/** The project's download cache when `TL_CACHE_DIR` is not set: `data/` in the project. */
export const DEFAULT_CACHE_DIR: string = path.join(PROJECT_ROOT, "data");

/** Settings of one run, as {@link loadConfig} reads them from the `TL_*` variables. */
export interface RunConfig {
  /** `TL_DATA_URL`: the tutorial's archive (URL, or an absolute path). */
  dataUrl: string;
  /** `TL_CACHE_DIR`: where downloads are kept (absolute); default {@link DEFAULT_CACHE_DIR}. */
  cacheDir: string;
  /** `TL_ALPHA`: MobileNetV2's width multiplier. */
  alpha: number;
  /** Whether `TL_ALPHA` set `alpha`: then it is never replaced by the alpha of the weights at hand. */
  alphaSet: boolean;
  /** Undefined: derive Keras' URL from `alpha` and the input size. */
  weightsUrl?: string;
  /** `TL_EPOCHS`: epochs per training stage. */
  epochs: number;
  /** The mirror folder (absolute), consulted by file name when an origin cannot be reached; undefined: none. */
  mirror?: string;
  /** `TL_DATA_DIR`: the photos of `notebooks/your_own_images.ipynb` (a folder or zip, absolute path or URL). */
  dataDir?: string;
}

/**
 * The run settings' former name, kept for existing callers.
 * @deprecated Use {@link RunConfig}: `Config` also names layer configurations elsewhere.
 */
export type Config = RunConfig;

/** The widths Keras publishes MobileNetV2 ImageNet weights for. */
export const IMAGENET_ALPHAS: readonly number[] = [0.35, 0.5, 0.75, 1.0, 1.3, 1.4];

/**
 * Whether `origin` is a URL (`scheme://…`) rather than a path.
 *
 * @example
 * ```ts
 * import { isUrl } from "./mod.ts";
 * import assert from "node:assert";
 *
 * assert.ok(isUrl("https://example.com/cats.zip") && isUrl("file:///tmp/cats.zip"));
 * assert.ok(!isUrl("../shared/data/cats.zip") && !isUrl("C:\\data\\cats.zip"));
 * ```
 */
export function isUrl(origin: string): boolean {
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(origin);
}

/**
 * Whether `getFile` can fetch `origin`: a path, or an `https://`, `http://` or `file://` URL.
 *
 * @example
 * ```ts
 * import { isSupportedOrigin } from "./mod.ts";
 * import assert from "node:assert";
 *
 * assert.ok(isSupportedOrigin("data/cats.zip") && isSupportedOrigin("FILE:///tmp/cats.zip"));
 * assert.ok(!isSupportedOrigin("ftp://example.com/cats.zip"));
 * ```
 */
export function isSupportedOrigin(origin: string): boolean {
  return !isUrl(origin) || /^(https?|file):\/\//i.test(origin);
}

/** Where settings are read from: the environment (`Deno.env`, or a map in tests). */
export interface Env {
  /** The variable's value, `undefined` when unset. */
  get(key: string): string | undefined;
}

/** Options of {@link loadConfig}. */
export interface LoadConfigOptions {
  /** The folder relative `TL_*` paths are taken from, and `../shared` beside; default {@link PROJECT_ROOT}. */
  root?: string;
}

function isDirectory(p: string): boolean {
  try {
    return fs.statSync(p).isDirectory();
  } catch {
    return false;
  }
}

/**
 * The mirror folder: `TL_MIRROR` (relative to `root`; `none` for no mirror), else `../shared` beside
 * `root` when that folder exists. A `TL_MIRROR` that is not a folder is an error.
 */
export function resolveMirror(env: Env = Deno.env, root: string = PROJECT_ROOT): string | undefined {
  const raw = env.get("TL_MIRROR")?.trim();
  if (raw === "") {
    throw new Error(
      `TL_MIRROR is set but empty: unset it for the default (../shared), or give a folder or "none"`,
    );
  }
  if (raw === undefined) {
    const beside = path.resolve(root, "..", "shared");
    return isDirectory(beside) ? beside : undefined;
  }
  if (raw.toLowerCase() === "none") return undefined;
  const mirror = path.resolve(root, raw);
  if (!isDirectory(mirror)) {
    throw new Error(
      `TL_MIRROR: ${mirror} is not a folder (expected a folder of local copies such as ../shared, ` +
        `or "none" for no mirror)`,
    );
  }
  return mirror;
}

/** The `TL_*` reading helpers of {@link loadConfig}: each problem is noted, none thrown, so all are told at once. */
function settingsReader(env: Env, root: string) {
  const problems: string[] = [];
  const text = (key: string): string | undefined => {
    const raw = env.get(key);
    if (raw === undefined) return undefined;
    if (raw.trim() === "") {
      problems.push(`${key} is set but empty: unset it for the default, or give a value`);
      return undefined;
    }
    return raw.trim();
  };
  const num = (key: string, fallback: number, ok: (n: number) => boolean, expected: string): number => {
    const raw = text(key);
    if (raw === undefined) return fallback;
    const n = Number(raw);
    if (!Number.isFinite(n) || !ok(n)) {
      problems.push(`${key}=${JSON.stringify(raw)}: expected ${expected}`);
      return fallback;
    }
    return n;
  };
  const source = (key: string): string | undefined => {
    const raw = text(key);
    if (raw === undefined) return undefined;
    if (!isSupportedOrigin(raw)) {
      problems.push(`${key}=${JSON.stringify(raw)}: expected an https://, http://, file:// URL or a path`);
    }
    return isUrl(raw) ? raw : path.resolve(root, raw);
  };
  return { env, root, problems, text, num, source };
}

type SettingsReader = ReturnType<typeof settingsReader>;

/** Where the data and weights come from and where downloads go: `TL_DATA_URL`, `TL_DATA_DIR`, `TL_CACHE_DIR`, `TL_MIRROR`. */
function readPlaces(r: SettingsReader) {
  const dataUrl = r.source("TL_DATA_URL") ?? DEFAULT_DATA_URL;
  const weightsUrl = r.source("TL_WEIGHTS_URL");
  const dataDir = r.source("TL_DATA_DIR");
  if (dataDir !== undefined && !isUrl(dataDir) && !fs.existsSync(dataDir)) {
    r.problems.push(`TL_DATA_DIR: ${dataDir} does not exist (expected a folder of class folders, or a zip)`);
  }
  const cacheDir = path.resolve(r.root, r.text("TL_CACHE_DIR") ?? "data");
  if (fs.existsSync(cacheDir) && !fs.statSync(cacheDir).isDirectory()) {
    r.problems.push(`TL_CACHE_DIR: ${cacheDir} exists and is not a folder`);
  }
  let mirror: string | undefined;
  try {
    mirror = resolveMirror(r.env, r.root);
  } catch (e) {
    r.problems.push((e as Error).message);
  }
  return { dataUrl, weightsUrl, dataDir, cacheDir, mirror };
}

/** The model and training settings: `TL_ALPHA` (checked against `weightsUrl`) and `TL_EPOCHS`. */
function readTraining(r: SettingsReader, weightsUrl: string | undefined) {
  const alphaSet = (r.env.get("TL_ALPHA") ?? "").trim() !== "";
  const alpha = r.num(
    "TL_ALPHA",
    DEFAULT_ALPHA,
    (n) => n > 0 && n <= 4,
    "a width multiplier such as 0.35 or 1.0",
  );
  if (weightsUrl === undefined && !IMAGENET_ALPHAS.includes(alpha)) {
    r.problems.push(
      `TL_ALPHA=${alpha}: Keras publishes ImageNet weights for ${IMAGENET_ALPHAS.join(", ")} only ` +
        `(set TL_WEIGHTS_URL to a weights file for another width)`,
    );
  }
  // Training needs at least one epoch per stage; 0 would only fail at the first training cell.
  const epochs = r.num("TL_EPOCHS", 10, (n) => Number.isInteger(n) && n >= 1, "a whole number of epochs ≥ 1");
  return { alpha, alphaSet, epochs };
}

/**
 * Reads the `TL_*` variables and checks them all at once, before any loading or training: a malformed,
 * blank (set but empty) or out-of-range value is an error naming the variable and what is expected.
 * Relative paths are resolved from the project's root (`options.root`), not the working folder.
 */
export function loadConfig(env: Env = Deno.env, options: LoadConfigOptions = {}): RunConfig {
  const r = settingsReader(env, options.root ?? PROJECT_ROOT);
  const { dataUrl, weightsUrl, dataDir, cacheDir, mirror } = readPlaces(r);
  const { alpha, alphaSet, epochs } = readTraining(r, weightsUrl);
  if (r.problems.length > 0) {
    throw new Error(`Invalid configuration (TL_* environment variables):\n  ${r.problems.join("\n  ")}`);
  }
  return { dataUrl, cacheDir, alpha, alphaSet, weightsUrl, epochs, mirror, dataDir };
}

/** Keras' published weights, the default of `TL_WEIGHTS_URL`. */
const KERAS_WEIGHTS = "https://storage.googleapis.com/tensorflow/keras-applications/";

/**
 * What to tell the user when `origin` cannot be fetched, given the `TL_*` settings: which variable chose
 * it, or — for the default dataset and Keras' weights — how to work offline. `undefined` for other origins.
 * Pass it to `getFile` as `hint`.
 */
export function originHint(origin: string, env: Env = Deno.env): string | undefined {
  for (const key of ["TL_DATA_URL", "TL_WEIGHTS_URL"]) {
    if (env.get(key) === origin) return `this origin comes from ${key}; check its value`;
  }
  const name = decodeURIComponent(path.posix.basename(isUrl(origin) ? new URL(origin).pathname : origin));
  const offline = "a local copy (a path or file:// URL)";
  const mirror = "the mirror folder (TL_MIRROR, default ../shared)";
  if (origin === DEFAULT_DATA_URL) {
    return `the default dataset: without internet, put ${name} in ${mirror}, or set TL_DATA_URL to ${offline}`;
  }
  if (origin.startsWith(KERAS_WEIGHTS)) {
    return `Keras' ImageNet weights, the default: without internet, put ${name} (or Keras' file for another ` +
      `alpha) in ${mirror}, or set TL_WEIGHTS_URL (and TL_ALPHA) to ${offline}`;
  }
  return undefined;
}

/** The download settings of a run, as `getFile` takes them (see {@link fetchOptions}). */
export interface FetchOptions {
  /** The run's cache folder (`TL_CACHE_DIR`). */
  cacheDir: string;
  /** The run's mirror folder (`TL_MIRROR`), or `null` for none. */
  mirror: string | null;
  /** What to tell the user when the origin cannot be fetched ({@link originHint}). */
  hint?: string;
}

/**
 * The run's download settings for fetching `origin`: its cache folder, mirror and the hint naming the
 * `TL_*` variable behind `origin` — for `getFile(name, origin, { ...fetchOptions(config, origin) })`, so
 * that the settings stay at the edge (notebooks, tasks) and `getFile` reads none itself.
 */
export function fetchOptions(config: RunConfig, origin: string, env: Env = Deno.env): FetchOptions {
  const hint = originHint(origin, env);
  return { cacheDir: config.cacheDir, mirror: config.mirror ?? null, ...(hint ? { hint } : {}) };
}
