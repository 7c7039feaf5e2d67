/**
 * Run configuration from `TL_*` environment variables, shared by notebooks, CI and benchmarks.
 *
 * | variable         | default                                                      |
 * | ---------------- | ------------------------------------------------------------ |
 * | `TL_DATA_URL`    | the tutorial's `cats_and_dogs_filtered.zip` URL               |
 * | `TL_CACHE_DIR`   | `data/` in the project                                       |
 * | `TL_ALPHA`       | `1.0` (MobileNetV2 width multiplier)                         |
 * | `TL_WEIGHTS_URL` | Keras' ImageNet weight file for `TL_ALPHA` (derived)         |
 * | `TL_EPOCHS`      | `10` epochs per phase (frozen, then fine-tuning)             |
 *
 * URLs may be `https://`, `file://` or plain paths.
 *
 * @module
 */
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

/** The project's root folder. */
export const PROJECT_ROOT: string = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

/** The tutorial's dataset. */
export const DEFAULT_DATA_URL = "https://storage.googleapis.com/mledu-datasets/cats_and_dogs_filtered.zip";

/** Settings of one run. */
export interface Config {
  dataUrl: string;
  cacheDir: string;
  alpha: number;
  /** Undefined: derive Keras' URL from `alpha` and the input size. */
  weightsUrl?: string;
  epochs: number;
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

/**
 * Reads the `TL_*` variables and checks them all at once, before any loading or training: a malformed,
 * blank (set but empty) or out-of-range value is an error naming the variable and what is expected.
 */
export function loadConfig(env: { get(key: string): string | undefined } = Deno.env): Config {
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
    return raw;
  };
  const dataUrl = source("TL_DATA_URL") ?? DEFAULT_DATA_URL;
  const weightsUrl = source("TL_WEIGHTS_URL");
  const cacheDir = path.resolve(text("TL_CACHE_DIR") ?? path.join(PROJECT_ROOT, "data"));
  if (fs.existsSync(cacheDir) && !fs.statSync(cacheDir).isDirectory()) {
    problems.push(`TL_CACHE_DIR: ${cacheDir} exists and is not a folder`);
  }
  const alpha = num("TL_ALPHA", 1.0, (n) => n > 0 && n <= 4, "a width multiplier such as 0.35 or 1.0");
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
  return { dataUrl, cacheDir, alpha, weightsUrl, epochs };
}
