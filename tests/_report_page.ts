/**
 * A saved `report.html` in headless Chromium at a desktop and a phone width — the check
 * `tests/tasks/report_test.ts` and `tests/tasks/train_review_report_test.ts` both make.
 */
import fs from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { chromium, type Page } from "playwright-core";
import { PROJECT_ROOT } from "../lib/runtime/config.ts";
import { CHROMIUM, chromiumFlags } from "../tools/browser/chromium.ts";
import { assert, assertEquals } from "./_assert.ts";

/** Options of {@link checkReportPage}. */
export interface ReportPageCheck {
  /** Screenshots go to `out/report/<shotName>-<width>.png`. */
  shotName: string;
  /** More checks of the loaded page at each width. */
  extra?: (tab: Page, width: number) => Promise<void>;
}

/**
 * Opens `page` at 1280 and 390 px: no console error, page error or failed request, no sideways scrolling
 * (the message names the widest elements), then `extra`, then a full-page screenshot.
 */
export async function checkReportPage(page: string, { shotName, extra }: ReportPageCheck): Promise<void> {
  const shots = path.join(PROJECT_ROOT, "out", "report");
  fs.mkdirSync(shots, { recursive: true });
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: chromiumFlags() });
  try {
    for (const width of [1280, 390]) {
      const tab = await browser.newPage({ viewport: { width, height: 900 } });
      const errors: string[] = [];
      tab.on("console", (m) => m.type() === "error" && errors.push(m.text()));
      tab.on("pageerror", (e) => errors.push(e.message));
      tab.on("requestfailed", (r) => errors.push(`failed: ${r.url()}`));
      await tab.goto(pathToFileURL(page).href, { waitUntil: "load" });
      assertEquals(errors, [], `console errors at ${width} px`);
      const scroll = await tab.evaluate("document.documentElement.scrollWidth") as number;
      const wide = await tab.evaluate(
        `[...document.querySelectorAll("body *")].filter((e) => e.getBoundingClientRect().right > ${width})
          .map((e) => e.tagName + "." + e.className + ": " + (e.textContent ?? "").slice(0, 60)).slice(0, 5).join("; ")`,
      );
      assert(scroll <= width, `${scroll} px wide at ${width} px: sideways scrolling (${wide})`);
      await extra?.(tab, width);
      await tab.screenshot({ path: path.join(shots, `${shotName}-${width}.png`), fullPage: true });
      await tab.close();
    }
  } finally {
    await browser.close();
  }
}
