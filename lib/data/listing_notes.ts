/**
 * What a folder listing (`image_files.ts`) left out and why, and how that is said: one summary line for the
 * files skipped (images of a format not read, hidden files, files that are not images), one line per kind
 * of folder or special file skipped ({@link describeListing}), and what a class folder without usable
 * images holds instead ({@link folderContents}). Nothing a listing leaves out goes unsaid: a photo of a
 * format not read is named by its extension with what to do, so that "Found 24 files" of 25 is explained.
 *
 * @module
 */

/** What a listing left out, and why. */
export interface ListingNotes {
  /** Images of a format not read, by lower-case extension (`.heic` → 2). */
  unsupported: Map<string, number>;
  /** Files that are not images, by lower-case extension (`""`: none). */
  notImages: Map<string, number>;
  /** Hidden files and folders (names starting with "."), not looked into. */
  hidden: number;
  /** Of those, macOS' AppleDouble files (`._name`: a copy's resource fork, not a photo). */
  appleDouble: number;
  /** FIFOs, sockets and devices: skipped without being opened (reading a FIFO waits forever). */
  specialFiles: string[];
  /** Linked folders not followed: they lead back into the folder listed (a loop, or its photos again). */
  linksBack: string[];
  /** Linked folders not followed: their real folder was listed already. */
  repeatedFolders: string[];
  /** Folders holding a saved model (`model.json`, or this project's `metadata.json`): never data. */
  modelFolders: string[];
}

/** Notes of a listing that left nothing out. */
export function emptyNotes(): ListingNotes {
  return {
    unsupported: new Map(),
    notImages: new Map(),
    hidden: 0,
    appleDouble: 0,
    specialFiles: [],
    linksBack: [],
    repeatedFolders: [],
    modelFolders: [],
  };
}

/** Adds the notes `from` to `into`. */
export function mergeNotes(into: ListingNotes, from: ListingNotes): void {
  for (const key of ["unsupported", "notImages"] as const) {
    for (const [ext, n] of from[key]) into[key].set(ext, (into[key].get(ext) ?? 0) + n);
  }
  into.hidden += from.hidden;
  into.appleDouble += from.appleDouble;
  for (const key of ["specialFiles", "linksBack", "repeatedFolders", "modelFolders"] as const) {
    into[key].push(...from[key]);
  }
}

/** `1 file`, `2 files`. */
function count(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? "" : "s"}`;
}

/** The number of files in `counts`. */
function total(counts: Map<string, number>): number {
  return [...counts.values()].reduce((a, b) => a + b, 0);
}

/** `1 .heic, 2 .webp` (by extension; at most five named). */
function byExtension(counts: Map<string, number>): string {
  const parts = [...counts].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([ext, n]) => `${n} ${ext === "" ? "without extension" : ext}`);
  return parts.length > 5 ? [...parts.slice(0, 5), "…"].join(", ") : parts.join(", ");
}

/** `a, b, c, …`: the first three paths. */
function firstPaths(paths: string[]): string {
  return paths.slice(0, 3).join(", ") + (paths.length > 3 ? `, … (${paths.length} in all)` : "");
}

/** What to do with images of a format not read (WebP is read unless only Keras' formats are asked for). */
function convertAdvice(unsupported: Map<string, number>): string {
  const webp = unsupported.has(".webp") ? ' (.webp: or list with formats: "decodable", which reads it)' : "";
  return `convert ${total(unsupported) === 1 ? "it" : "them"} to JPEG or PNG${webp}`;
}

/** `3 hidden files (2 of them macOS "._" files)`, `1 hidden macOS "._" file`. */
function hiddenText({ hidden, appleDouble }: ListingNotes): string {
  if (appleDouble === hidden) return count(hidden, 'hidden macOS "._" file');
  const apple = appleDouble > 0 ? ` (${appleDouble} of them macOS "._" files)` : "";
  return `${count(hidden, "hidden file")}${apple}`;
}

/** `a`, `a and b`, `a, b and c`. */
function listing(parts: string[]): string {
  return parts.length <= 1 ? parts.join("") : `${parts.slice(0, -1).join(", ")} and ${parts.at(-1)}`;
}

/**
 * The one summary line of the files left out, or `null`: images of a format not read, always (they may be
 * photos the user meant to use); hidden files and files that are not images only when `verbose`.
 */
export function summaryLine(notes: ListingNotes, verbose: boolean): string | null {
  const skipped = total(notes.unsupported);
  const head = skipped === 0
    ? ""
    : `Skipped ${count(skipped, "file")}: ${byExtension(notes.unsupported)} — ${
      convertAdvice(notes.unsupported)
    }`;
  const ignored: string[] = [];
  if (verbose && notes.hidden > 0) ignored.push(hiddenText(notes));
  const others = total(notes.notImages);
  if (verbose && others > 0) {
    ignored.push(
      `${others === 1 ? "1 file that is not an image" : `${others} files that are not images`} ` +
        `(${byExtension(notes.notImages)})`,
    );
  }
  if (ignored.length === 0) return head === "" ? null : `${head}.`;
  const tail = `gnored ${ignored.join(" and ")}.`;
  return head === "" ? `I${tail}` : `${head}; i${tail}`;
}

/**
 * What a listing left out, in words, one line each: the {@link summaryLine}, then the special files,
 * linked folders and model folders skipped (always said: each changes what the folder seems to hold).
 */
export function describeListing(notes: ListingNotes, options: { verbose: boolean }): string[] {
  const lines: string[] = [];
  const summary = summaryLine(notes, options.verbose);
  if (summary !== null) lines.push(summary);
  const { specialFiles, linksBack, repeatedFolders, modelFolders } = notes;
  if (specialFiles.length > 0) {
    lines.push(
      `Skipped ${count(specialFiles.length, "special file")} (a FIFO, socket or device: not an image, ` +
        `never opened): ${firstPaths(specialFiles)}`,
    );
  }
  if (linksBack.length > 0) {
    lines.push(
      `Did not follow ${count(linksBack.length, "linked folder")} leading back into the folder (a loop, ` +
        `or the same photos a second time): ${firstPaths(linksBack)}`,
    );
  }
  if (repeatedFolders.length > 0) {
    lines.push(
      `Did not follow ${count(repeatedFolders.length, "linked folder")} whose real folder was listed ` +
        `already (two links to one folder): ${firstPaths(repeatedFolders)}`,
    );
  }
  if (modelFolders.length > 0) {
    lines.push(
      `Skipped ${count(modelFolders.length, "folder")} holding a saved model (model.json or ` +
        `metadata.json), which is never data: ${firstPaths(modelFolders)}`,
    );
  }
  return lines;
}

/**
 * What a folder in which no image was found holds instead, from its listing's notes: `"it is empty"`, or
 * `"it holds only 2 files that are not images (2 .txt)"`, `"… 3 images of a format not read (3 .heic) —
 * convert them to JPEG or PNG"`, hidden files, special files, a saved model, linked folders not followed.
 */
export function folderContents(notes: ListingNotes): string {
  const parts: string[] = [];
  const unsupported = total(notes.unsupported);
  if (unsupported > 0) {
    parts.push(`${count(unsupported, "image")} of a format not read (${byExtension(notes.unsupported)})`);
  }
  const others = total(notes.notImages);
  if (others > 0) {
    parts.push(
      `${others === 1 ? "1 file that is not an image" : `${others} files that are not images`} ` +
        `(${byExtension(notes.notImages)})`,
    );
  }
  if (notes.hidden > 0) parts.push(hiddenText(notes));
  if (notes.specialFiles.length > 0) parts.push(count(notes.specialFiles.length, "special file"));
  if (notes.modelFolders.length > 0) parts.push("a saved model");
  const links = notes.linksBack.length + notes.repeatedFolders.length;
  if (links > 0) parts.push(`${count(links, "linked folder")} not followed`);
  if (parts.length === 0) return "it is empty";
  const advice = unsupported > 0 ? ` — ${convertAdvice(notes.unsupported)}` : "";
  return `it holds only ${listing(parts)}${advice}`;
}
