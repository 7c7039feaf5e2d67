/**
 * A review as a POSIX shell script the user reads, edits and runs (`deno task review -- --script FILE`):
 * `rm` lines for copies of the same photo, `mv` lines (commented out) for likely mislabels. The tool never
 * moves anything itself; the script names only files that exist when it is written, each path quoted.
 *
 * @module
 */
import fs from "node:fs";
import path from "node:path";
import type { ReviewDuplicate, ReviewedImage, ReviewReport } from "./review_report.ts";

/**
 * Cosine similarity from which a pair is taken for the same photo (a copy, re-encoded or resized): its
 * `rm` line is active. Below it (another shot of the same scene, say) the line is commented out. On the
 * flowers, every pair from 0.98 up was the same photo, and pairs from 0.88 to 0.96 were other shots of
 * the same scene (docs/interpretation.md).
 */
export const SAME_PHOTO_SIMILARITY = 0.98;

/** `s` as one single-quoted shell word (a `'` inside becomes `'\''`); newlines are kept literally. */
export function shellQuote(s: string): string {
  return `'${s.replaceAll("'", `'\\''`)}'`;
}

const pct = (p: number) => `${(p * 100).toFixed(1)}%`;

/** Which of a pair to remove: the validation/test copy of a leak, else the second. */
function removable(d: ReviewDuplicate): { keep: ReviewedImage; drop: ReviewedImage } {
  if (d.kind === "leak" && d.a.part === "train") return { keep: d.a, drop: d.b };
  if (d.kind === "leak" && d.b.part === "train") return { keep: d.b, drop: d.a };
  return { keep: d.a, drop: d.b };
}

/** Lines for the near-duplicate pairs: one `rm` per file at most, never both files of a pair. */
function duplicateLines(report: ReviewReport, exists: (file: string) => boolean): string[] {
  const lines: string[] = [];
  const dropped = new Set<string>();
  for (const d of report.duplicates) {
    const { keep, drop } = removable(d);
    if (!exists(keep.file) || !exists(drop.file) || dropped.has(keep.file) || dropped.has(drop.file)) {
      continue;
    }
    const why = d.kind === "leak"
      ? `leak: the ${drop.part} copy of`
      : d.kind === "conflict"
      ? `conflict: the same photo labelled ${keep.label} as`
      : "duplicate of";
    lines.push(`# ${why} ${keep.file} (similarity ${d.similarity.toFixed(4)})`);
    // A conflict needs a decision about the label, not only a removal: never active.
    const active = d.similarity >= SAME_PHOTO_SIMILARITY && d.kind !== "conflict";
    if (active) dropped.add(drop.file);
    lines.push(`${active ? "" : "# "}rm -- ${shellQuote(drop.file)}`, "");
  }
  return lines;
}

/** Lines for the likely mislabels: a commented-out `mv` into the predicted class's folder. */
function mislabelLines(report: ReviewReport, exists: (file: string) => boolean): string[] {
  const lines: string[] = [];
  for (const m of report.mislabels) {
    if (!exists(m.file)) continue;
    const parts = m.file.split("/");
    if (parts.length < 2 || parts[parts.length - 2] !== m.label) continue; // not in its class folder
    const target = [...parts.slice(0, -2), m.predicted].join("/") + "/";
    lines.push(
      `# labelled ${m.label}, the model says ${m.predicted} (${pct(m.probability)}, loss ${
        m.loss.toFixed(2)
      })`,
      `# mv -n -- ${shellQuote(m.file)} ${shellQuote(target)}`,
      "",
    );
  }
  return lines;
}

/**
 * The script of `report`: `cd` into the data folder, then the `rm` lines (active only for the same photo
 * in the same class or across parts) and the commented-out `mv` lines. Files that no longer exist are
 * left out.
 */
export function reviewScript(report: ReviewReport): string {
  const exists = (file: string) => fs.existsSync(path.join(report.root, ...file.split("/")));
  const { minConfidence, minSimilarity } = report.thresholds;
  return [
    "#!/bin/sh",
    `# Photos to fix in ${report.root}, found by \`deno task review\` with the model ${report.model}.`,
    "# Nothing has been moved or removed. Read each line, delete or uncomment what you (dis)agree with,",
    "# then run: sh THIS_FILE. Train again afterwards.",
    `# Near-duplicates: cosine similarity ≥ ${minSimilarity}; \`rm\` lines are active from ` +
    `${SAME_PHOTO_SIMILARITY} (the same photo).`,
    `# Likely mislabels: the model gives another class ≥ ${pct(minConfidence)}; check the photo first.`,
    "set -eu",
    `cd -- ${shellQuote(report.root)}`,
    "",
    "# --- Near-duplicates and leaks ---",
    ...duplicateLines(report, exists),
    "# --- Likely mislabels ---",
    ...mislabelLines(report, exists),
  ].join("\n") + "\n";
}
