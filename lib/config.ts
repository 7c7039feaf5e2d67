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

/** Reads the `TL_*` variables; a malformed value is an error naming the variable. */
export function loadConfig(env: { get(key: string): string | undefined } = Deno.env): Config {
  const num = (key: string, fallback: number, ok: (n: number) => boolean, expected: string): number => {
    const raw = env.get(key);
    if (raw === undefined || raw === "") return fallback;
    const n = Number(raw);
    if (!Number.isFinite(n) || !ok(n)) throw new Error(`${key}=${JSON.stringify(raw)}: expected ${expected}`);
    return n;
  };
  return {
    dataUrl: env.get("TL_DATA_URL") || DEFAULT_DATA_URL,
    cacheDir: path.resolve(env.get("TL_CACHE_DIR") || path.join(PROJECT_ROOT, "data")),
    alpha: num("TL_ALPHA", 1.0, (n) => n > 0, "a positive width multiplier such as 0.35 or 1.0"),
    weightsUrl: env.get("TL_WEIGHTS_URL") || undefined,
    epochs: num("TL_EPOCHS", 10, (n) => Number.isInteger(n) && n >= 0, "a whole number of epochs ≥ 0"),
  };
}
