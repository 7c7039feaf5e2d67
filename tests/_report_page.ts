/**
 * A saved `report.html` in headless Chromium at a desktop and a phone width — the check
 * `tests/tasks/report_test.ts` and `tests/tasks/train_review_report_test.ts` both make.
 */
import fs from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { chromium, type Page } from "playwright-core";
import { PROJECT_ROOT } from "../lib/runtime/config.ts";
import { allowOnly, CHROMIUM, chromiumFlags } from "../tools/browser/chromium.ts";
import { assert, assertEquals } from "./_assert.ts";

/** Options of {@link checkReportPage}. */
export interface ReportPageCheck {
  /** Screenshots go to `out/report/<shotName>-<width>.png`. */
  shotName: string;
  /** More checks of the loaded page at each width. */
  extra?: (tab: Page, width: number) => Promise<void>;
}

/**
 * Opens `page` at 1280 and 390 px: no console error, page error or failed request, no request but the page
 * itself and its data URLs (others are blocked by `allowOnly` and listed), no sideways scrolling (the
 * message names the widest elements), then `extra` — after which there must still be no error or request
 * — then a full-page screenshot.
 */
export async function checkReportPage(page: string, { shotName, extra }: ReportPageCheck): Promise<void> {
  const shots = path.join(PROJECT_ROOT, "out", "report");
  fs.mkdirSync(shots, { recursive: true });
  const url = pathToFileURL(page).href;
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: chromiumFlags() });
  try {
    for (const width of [1280, 390]) {
      const context = await browser.newContext({ viewport: { width, height: 900 } });
      const blocked: string[] = [];
      // A file: URL's origin is "null": the page itself passes, the "request" listener names any other file.
      await allowOnly(context, ["null"], { blocked });
      const tab = await context.newPage();
      const errors: string[] = [];
      const requests: string[] = [];
      tab.on("console", (m) => m.type() === "error" && errors.push(m.text()));
      tab.on("pageerror", (e) => errors.push(e.message));
      tab.on("requestfailed", (r) => errors.push(`failed: ${r.url()}`));
      tab.on("request", (r) => r.url() !== url && !r.url().startsWith("data:") && requests.push(r.url()));
      await tab.goto(url, { waitUntil: "load" });
      assertEquals(errors, [], `console errors at ${width} px`);
      const scroll = await tab.evaluate("document.documentElement.scrollWidth") as number;
      const wide = await tab.evaluate(
        `[...document.querySelectorAll("body *")].filter((e) => e.getBoundingClientRect().right > ${width})
          .map((e) => e.tagName + "." + e.className + ": " + (e.textContent ?? "").slice(0, 60)).slice(0, 5).join("; ")`,
      );
      assert(scroll <= width, `${scroll} px wide at ${width} px: sideways scrolling (${wide})`);
      await extra?.(tab, width);
      assertEquals(errors, [], `console errors at ${width} px, after the extra checks`);
      assertEquals([...requests, ...blocked], [], `requests at ${width} px: the report must need none`);
      await tab.screenshot({ path: path.join(shots, `${shotName}-${width}.png`), fullPage: true });
      await context.close();
    }
  } finally {
    await browser.close();
  }
}

/**
 * Points at the interactive map's topmost point (Vega draws it after the static SVG is hidden): its tooltip
 * must show the photo's thumbnail, decoded, and the file's name, inside the window. Returns the tooltip's text.
 */
export async function hoverMapPoint(tab: Page, width: number): Promise<string> {
  await tab.waitForSelector("#map-interactive svg .mark-symbol.role-mark path", { timeout: 10_000 });
  assert(await tab.evaluate(`document.getElementById("map-static").hidden`), "the static map is hidden");
  const points = tab.locator("#map-interactive svg .mark-symbol.role-mark path");
  const last = points.nth(await points.count() - 1);
  await last.scrollIntoViewIfNeeded();
  const box = await last.boundingBox();
  assert(box, "the point is on the page");
  await tab.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
  await tab.waitForSelector(".map-tip:not([hidden]) img", { timeout: 5_000 });
  const [natural, right, text] = await tab.evaluate(`(() => {
    const tip = document.querySelector(".map-tip");
    return [tip.querySelector("img").naturalWidth, tip.getBoundingClientRect().right, tip.textContent];
  })()`) as [number, number, string];
  assert(natural > 0, "the thumbnail is decoded");
  assert(right <= width, `the tooltip ends at ${right} px, outside the ${width} px window`);
  assert(/file: .+class: .+predicted: /.test(text), text);
  return text;
}
