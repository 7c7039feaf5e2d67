/** Zip archives made in memory, for the tests of downloading and extracting archives. */
import { TextReader, Uint8ArrayReader, Uint8ArrayWriter, ZipWriter } from "@zip.js/zip.js";

/** A zip of `entries` (name → text or bytes); `options[name]` are zip.js' options for that entry. */
export async function makeZip(
  entries: Record<string, string | Uint8Array>,
  options: Record<string, object> = {},
): Promise<Uint8Array> {
  const writer = new ZipWriter(new Uint8ArrayWriter(), { useWebWorkers: false });
  for (const [name, content] of Object.entries(entries)) {
    const reader = typeof content === "string" ? new TextReader(content) : new Uint8ArrayReader(content);
    await writer.add(name, reader, options[name] ?? {});
  }
  return await writer.close();
}
