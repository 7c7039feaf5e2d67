import {
  describeListing,
  emptyNotes,
  folderContents,
  mergeNotes,
  summaryLine,
} from "../../lib/data/listing_notes.ts";
import type { ListingNotes } from "../../lib/data/listing_notes.ts";
import { assertEquals } from "../_assert.ts";

/** Notes with `fields` set. */
function notes(fields: Partial<ListingNotes>): ListingNotes {
  return { ...emptyNotes(), ...fields };
}

Deno.test("summaryLine: formats not read always, counted and named with what to do; hidden and other files when verbose", () => {
  const n = notes({
    unsupported: new Map([[".webp", 1], [".heic", 1]]),
    notImages: new Map([[".txt", 2], ["", 1]]),
    hidden: 3,
    appleDouble: 2,
  });
  assertEquals(
    summaryLine(n, false),
    'Skipped 2 files: 1 .heic, 1 .webp — convert them to JPEG or PNG (.webp: or list with formats: "decodable", which reads it).',
  );
  assertEquals(
    summaryLine(n, true),
    'Skipped 2 files: 1 .heic, 1 .webp — convert them to JPEG or PNG (.webp: or list with formats: "decodable", ' +
      'which reads it); ignored 3 hidden files (2 of them macOS "._" files) and 3 files that are not images ' +
      "(1 without extension, 2 .txt).",
  );
  const decodable = notes({ unsupported: new Map([[".heic", 1]]) });
  assertEquals(summaryLine(decodable, true), "Skipped 1 file: 1 .heic — convert it to JPEG or PNG.");
  const hiddenOnly = notes({ hidden: 2, appleDouble: 2 });
  assertEquals(summaryLine(hiddenOnly, false), null, "nothing to warn of");
  assertEquals(summaryLine(hiddenOnly, true), 'Ignored 2 hidden macOS "._" files.');
  assertEquals(summaryLine(emptyNotes(), true), null);
});

Deno.test("describeListing: special files, links back, repeated links and model folders each said in one line", () => {
  const n = notes({
    specialFiles: ["/d/cats/pipe.jpg"],
    linksBack: ["/d/self", "/d/cats/loop", "/d/kittens", "/d/dogs/up"],
    repeatedFolders: ["/d/dogs/again"],
    modelFolders: ["/d/model"],
  });
  assertEquals(describeListing(n, { verbose: false }), [
    "Skipped 1 special file (a FIFO, socket or device: not an image, never opened): /d/cats/pipe.jpg",
    "Did not follow 4 linked folders leading back into the folder (a loop, or the same photos a second " +
    "time): /d/self, /d/cats/loop, /d/kittens, … (4 in all)",
    "Did not follow 1 linked folder whose real folder was listed already (two links to one folder): " +
    "/d/dogs/again",
    "Skipped 1 folder holding a saved model (model.json or metadata.json), which is never data: /d/model",
  ]);
  assertEquals(describeListing(emptyNotes(), { verbose: true }), []);
});

Deno.test("folderContents: what a folder without images holds instead", () => {
  assertEquals(folderContents(emptyNotes()), "it is empty");
  assertEquals(
    folderContents(notes({ notImages: new Map([[".txt", 1]]) })),
    "it holds only 1 file that is not an image (1 .txt)",
  );
  assertEquals(
    folderContents(notes({ unsupported: new Map([[".heic", 3]]), hidden: 1 })),
    "it holds only 3 images of a format not read (3 .heic) and 1 hidden file — convert them to JPEG or PNG",
  );
  assertEquals(
    folderContents(notes({ specialFiles: ["p"], modelFolders: ["m"], linksBack: ["l"] })),
    "it holds only 1 special file, a saved model and 1 linked folder not followed",
  );
});

Deno.test("mergeNotes adds counts and lists", () => {
  const a = notes({ unsupported: new Map([[".heic", 1]]), hidden: 1, specialFiles: ["x"] });
  mergeNotes(a, notes({ unsupported: new Map([[".heic", 2], [".avif", 1]]), appleDouble: 1, hidden: 1 }));
  assertEquals([...a.unsupported], [[".heic", 3], [".avif", 1]]);
  assertEquals([a.hidden, a.appleDouble, a.specialFiles], [2, 1, ["x"]]);
});
