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
 * out). When an origin cannot be reached, `getFile` takes the mirror's file of the same name instead and
 * says so once; without `TL_ALPHA`, MobileNetV2's alpha follows the ImageNet weights the mirror holds when
 * Keras' alpha-1.0 file can't be had (`imagenetAlpha` in `lib/model/mobilenet_v2.ts`). An alpha that is set is
 * never replaced.
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

/** Settings of one run. */
export interface Config {
  /** `TL_DATA_URL`: the tutorial's archive (URL, or an absolute path). */
  dataUrl: string;
  cacheDir: string;
  alpha: number;
  /** Whether `TL_ALPHA` set `alpha`: then it is never replaced by the alpha of the weights at hand. */
  alphaSet: boolean;
  /** Undefined: derive Keras' URL from `alpha` and the input size. */
  weightsUrl?: string;
  epochs: number;
  /** The mirror folder (absolute), consulted by file name when an origin cannot be reached; undefined: none. */
  mirror?: string;
  /** `TL_DATA_DIR`: the photos of `notebooks/your_own_images.ipynb` (a folder or zip, absolute path or URL). */
  dataDir?: string;
}

/** The widths Keras publishes MobileNetV2 ImageNet weights for. */
export const IMAGENET_ALPHAS: readonly number[] = [0.35, 0.5, 0.75, 1.0, 1.3, 1.4];

/** Whether `origin` is a URL (`scheme://…`) rather than a path. */
export function isUrl(origin: string): boolean {
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(origin);
}

/** Whether `getFile` can fetch `origin`: a path, or an `https://`, `http://` or `file://` URL. */
export function isSupportedOrigin(origin: string): boolean {
  return !isUrl(origin) || /^(https?|file):\/\//i.test(origin);
}

/** Where settings are read from: the environment (default `Deno.env`). */
export interface Env {
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

/**
 * Reads the `TL_*` variables and checks them all at once, before any loading or training: a malformed,
 * blank (set but empty) or out-of-range value is an error naming the variable and what is expected.
 * Relative paths are resolved from the project's root (`options.root`), not the working folder.
 */
export function loadConfig(env: Env = Deno.env, options: LoadConfigOptions = {}): Config {
  const root = options.root ?? PROJECT_ROOT;
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
  const dataUrl = source("TL_DATA_URL") ?? DEFAULT_DATA_URL;
  const weightsUrl = source("TL_WEIGHTS_URL");
  const dataDir = source("TL_DATA_DIR");
  if (dataDir !== undefined && !isUrl(dataDir) && !fs.existsSync(dataDir)) {
    problems.push(`TL_DATA_DIR: ${dataDir} does not exist (expected a folder of class folders, or a zip)`);
  }
  const cacheDir = path.resolve(root, text("TL_CACHE_DIR") ?? "data");
  if (fs.existsSync(cacheDir) && !fs.statSync(cacheDir).isDirectory()) {
    problems.push(`TL_CACHE_DIR: ${cacheDir} exists and is not a folder`);
  }
  let mirror: string | undefined;
  try {
    mirror = resolveMirror(env, root);
  } catch (e) {
    problems.push((e as Error).message);
  }
  const alphaSet = (env.get("TL_ALPHA") ?? "").trim() !== "";
  const alpha = num(
    "TL_ALPHA",
    DEFAULT_ALPHA,
    (n) => n > 0 && n <= 4,
    "a width multiplier such as 0.35 or 1.0",
  );
  if (weightsUrl === undefined && !IMAGENET_ALPHAS.includes(alpha)) {
    problems.push(
      `TL_ALPHA=${alpha}: Keras publishes ImageNet weights for ${IMAGENET_ALPHAS.join(", ")} only ` +
        `(set TL_WEIGHTS_URL to a weights file for another width)`,
    );
  }
  // Training needs at least one epoch per stage; 0 would only fail at the first training cell.
  const epochs = num("TL_EPOCHS", 10, (n) => Number.isInteger(n) && n >= 1, "a whole number of epochs ≥ 1");
  if (problems.length > 0) {
    throw new Error(`Invalid configuration (TL_* environment variables):\n  ${problems.join("\n  ")}`);
  }
  return { dataUrl, cacheDir, alpha, alphaSet, weightsUrl, epochs, mirror, dataDir };
}
