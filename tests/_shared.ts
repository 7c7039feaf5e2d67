/**
 * The local copies of the tutorial's remote assets: the mirror folder the project uses (`TL_MIRROR`, by
 * default `../shared` beside the project; `lib/runtime/config.ts`). Integration tests use them and are skipped,
 * with a message, when they are absent.
 *
 * @module
 */
import fs from "node:fs";
import path from "node:path";
import { PROJECT_ROOT, resolveMirror } from "../lib/runtime/config.ts";

/** The mirror; without one (`TL_MIRROR=none`, or no `../shared`), `../shared`'s path, whose absence skips. */
export const SHARED_DIR: string = resolveMirror() ?? path.resolve(PROJECT_ROOT, "..", "shared");
export const SHARED_ZIP: string = path.join(SHARED_DIR, "data", "cats_and_dogs_filtered.zip");
export const SHARED_WEIGHTS_035: string = path.join(
  SHARED_DIR,
  "weights",
  "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_0.35_224_no_top.h5",
);

/** `true` when `file` exists; otherwise prints why the calling test is skipped and returns `false`. */
export function haveShared(file: string, test: string): boolean {
  if (fs.existsSync(file)) return true;
  console.warn(
    `SKIPPED ${test}: ${file} is absent (the local copies in the mirror folder, TL_MIRROR, default ../shared)`,
  );
  return false;
}
