/**
 * Zip extraction that verifies as it goes and never leaves half a folder: every entry is read and its
 * CRC-32 checked, into a temporary sibling of the destination that is swapped in only when complete
 * (`lib/io/atomic.ts`). Entries that would land outside the folder (zip-slip), entries below an entry the
 * archive stores as a file, a truncated archive or corrupt data are errors naming the archive and entry.
 *
 * @module
 */
import path from "node:path";
import { Uint8ArrayReader, Uint8ArrayWriter, ZipReader } from "@zip.js/zip.js";
import { swapFolder, tempSibling } from "./atomic.ts";

/**
 * Extracts the zip `archive` into `dir` (replacing it) through a temporary sibling folder; entries that would
 * land outside `dir`, a truncated archive or corrupt data (CRC-32 checked) are errors and leave no `dir` behind.
 */
export async function extractZip(archive: string, dir: string): Promise<void> {
  const temp = await extractZipInto(archive, dir);
  try {
    await swapFolder(temp, dir);
  } catch (e) {
    await Deno.remove(temp, { recursive: true }).catch(() => {});
    throw e;
  }
}

/** What {@link planEntries} needs of an entry. */
interface EntryInfo {
  filename: string;
  directory: boolean;
  symlink?: boolean;
}

/** Where each entry of the archive goes under `root`; refuses zip-slip and entries below a file entry. */
function planEntries(entries: EntryInfo[], root: string, label: string): (string | undefined)[] {
  const files = new Map<string, string>();
  const out = entries.map((entry) => {
    const destination = path.resolve(root, entry.filename);
    if (destination === root && entry.directory) return undefined; // "./": the folder itself
    if (path.isAbsolute(entry.filename) || !destination.startsWith(root + path.sep)) {
      throw new Error(
        `Refusing to extract ${label}: entry "${entry.filename}" would be written outside the target folder`,
      );
    }
    if (!entry.directory) files.set(destination, entry.filename);
    return destination;
  });
  for (const [i, destination] of out.entries()) {
    if (destination === undefined) continue;
    for (let dir = path.dirname(destination); dir.startsWith(root + path.sep); dir = path.dirname(dir)) {
      const file = files.get(dir);
      if (file === undefined) continue;
      const kind = entries.find((e) => e.filename === file)?.symlink ? "a symbolic link" : "a file";
      throw new Error(
        `Cannot extract ${label}: entry "${entries[i].filename}" lies under "${file}", which the archive ` +
          `stores as ${kind} (symbolic links are extracted as plain files, as Python's zipfile does)`,
      );
    }
  }
  return out;
}

type ZipEntry = Awaited<ReturnType<ZipReader<unknown>["getEntries"]>>[number];

/** Writes one entry to `destination`; errors name the archive (`label`) and the entry. */
async function writeEntry(entry: ZipEntry, destination: string, label: string): Promise<void> {
  try {
    if (entry.directory) {
      await Deno.mkdir(destination, { recursive: true });
      return;
    }
    let bytes: Uint8Array;
    try {
      bytes = await entry.getData(new Uint8ArrayWriter());
    } catch (e) {
      throw new Error(`corrupt data: ${(e as Error).message}`, { cause: e });
    }
    await Deno.mkdir(path.dirname(destination), { recursive: true });
    await Deno.writeFile(destination, bytes);
  } catch (e) {
    const message = (e as Error).message;
    throw new Error(
      message.startsWith("corrupt data")
        ? `Corrupt zip archive ${label}: entry "${entry.filename}": ${message}`
        : `Cannot extract ${label}: entry "${entry.filename}": ${message}`,
      { cause: e },
    );
  }
}

/**
 * Extracts (and so verifies: every entry read, CRC-32 checked) the zip `archive` into a new temporary sibling
 * of `dir`, returned; on any error nothing is left. `origin` names the archive in errors (default: its path).
 */
export async function extractZipInto(archive: string, dir: string, origin?: string): Promise<string> {
  const label = origin ? `the archive from ${origin}` : archive;
  const temp = tempSibling(dir, "extracting");
  const reader = new ZipReader(new Uint8ArrayReader(await Deno.readFile(archive)), {
    useWebWorkers: false,
    checkCrc32: true,
    filenameValidation: "tolerant",
  });
  try {
    let entries;
    try {
      entries = await reader.getEntries();
    } catch (e) {
      throw new Error(
        `${label} is not a readable zip archive (truncated or corrupt?): ${(e as Error).message}`,
        {
          cause: e,
        },
      );
    }
    const destinations = planEntries(entries, path.resolve(temp), label);
    await Deno.mkdir(temp, { recursive: true });
    for (const [i, entry] of entries.entries()) {
      if (destinations[i] !== undefined) await writeEntry(entry, destinations[i], label);
    }
    return temp;
  } catch (e) {
    await Deno.remove(temp, { recursive: true }).catch(() => {});
    throw e;
  } finally {
    await reader.close();
  }
}
