/**
 * A large image folder for `deno task bench --large N`: the tutorial's training images repeated under new
 * names until there are N, to measure what a dataset larger than memory does to the process (peak RSS
 * against the cache's budget) and to epoch times, without downloading anything.
 *
 * Files are hard links (copies when the file system refuses links): the bytes read and decoded are those of
 * real photos, and the folder costs no disk space. `validation/` links to the tutorial's. The folder is
 * built under a temporary name and renamed when complete, and reused when it already holds N images.
 *
 * @module
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { listClassFiles } from "../lib/data/mod.ts";

/** `root/train` grown to `count` images in `dir` (default: the system's temporary folder); returns `dir`. */
export function largeFolder(root: string, count: number, dir?: string): string {
  const target = dir ?? path.join(os.tmpdir(), `tl-bench-large-${count}`);
  const stamp = path.join(target, ".complete");
  if (fs.existsSync(stamp) && fs.readFileSync(stamp, "utf8") === String(count)) return target;
  const source = path.join(root, "train");
  const { files, classNames, labels } = listClassFiles(source, { labelled: true });
  if (files.length === 0) throw new Error(`bench --large: no training images in ${source}`);
  const tmp = `${target}.tmp-${Deno.pid}`;
  fs.rmSync(tmp, { recursive: true, force: true });
  for (const c of classNames) fs.mkdirSync(path.join(tmp, "train", c), { recursive: true });
  for (let k = 0; k < count; k++) {
    const i = k % files.length;
    const copy = Math.floor(k / files.length);
    const to = path.join(tmp, "train", classNames[labels![i]], `${copy}_${path.basename(files[i])}`);
    try {
      fs.linkSync(files[i], to);
    } catch {
      fs.copyFileSync(files[i], to);
    }
  }
  fs.symlinkSync(path.resolve(root, "validation"), path.join(tmp, "validation"));
  fs.writeFileSync(path.join(tmp, ".complete"), String(count));
  fs.rmSync(target, { recursive: true, force: true });
  fs.renameSync(tmp, target);
  console.error(`[bench] made ${target}: ${count} training images (links to ${source})`);
  return target;
}
