/**
 * The web page (lib/tasks/web/) opened from disk, as someone double-clicking the exported index.html would:
 * browsers let such a page load neither its model nor its scripts' WASM, so it must say how to serve it
 * instead of showing "Loading TensorFlow.js…" for ever. Needs Debian's Chromium
 * (`bash tools/setup/install_browser.sh`); skipped without it.
 */
import fs from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { assertMatch } from "../_assert.ts";
import { PROJECT_ROOT } from "../../lib/runtime/config.ts";
import { CHROMIUM, chromiumFlags } from "../../tools/browser/chromium.ts";

const ignore = !fs.existsSync(CHROMIUM);
if (ignore) {
  console.warn(`SKIPPED web page file:// test: ${CHROMIUM} is absent (bash tools/setup/install_browser.sh)`);
}

/** The text of the element `id` in a dumped DOM. */
function textOf(dom: string, id: string): string {
  return dom.match(new RegExp(`<p id="${id}"[^>]*>([^<]*)</p>`))?.[1] ??
    `(no #${id} in ${dom.slice(0, 2000)})`;
}

Deno.test({
  name: "the page opened as a file says how to serve it (python3 -m http.server, deno task serve)",
  ignore,
  async fn() {
    const dir = Deno.makeTempDirSync({ prefix: "tl-page-file-" });
    try {
      for (const f of ["index.html", "app.js", "style.css"]) {
        fs.copyFileSync(path.join(PROJECT_ROOT, "lib", "tasks", "web", f), path.join(dir, f));
      }
      const { stdout, success } = await new Deno.Command(CHROMIUM, {
        args: [
          ...chromiumFlags(),
          "--virtual-time-budget=3000",
          "--dump-dom",
          pathToFileURL(path.join(dir, "index.html")).href,
        ],
        stdout: "piped",
        stderr: "null",
        signal: AbortSignal.timeout(60_000),
      }).output();
      const dom = new TextDecoder().decode(stdout);
      if (!success) throw new Error(`chromium failed: ${dom.slice(0, 500)}`);
      assertMatch(textOf(dom, "status"), /^Not ready: opened as a file/);
      const error = textOf(dom, "error");
      assertMatch(error, /opened as a file/);
      assertMatch(error, /`python3 -m http\.server` in that folder/);
      assertMatch(error, /`deno task serve -- --model models\/NAME`/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  },
});
