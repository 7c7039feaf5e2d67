/**
 * Debian's headless Chromium as the browser checks launch it (`tools/browser/browser_check.ts`,
 * `tools/browser/web_check.ts`): the binary (`TL_CHROMIUM` or `/usr/bin/chromium`, installed by
 * `tools/setup/install_browser.sh`) and flags that stop its background network traffic, so that a check only
 * ever talks to the servers on 127.0.0.1 it started.
 *
 * @module
 */
import fs from "node:fs";
import type { BrowserContext } from "playwright-core";

/** The Chromium binary the checks drive. */
export const CHROMIUM: string = Deno.env.get("TL_CHROMIUM") ?? "/usr/bin/chromium";

/**
 * Launch flags: headless, no background networking. `webgl: "software"` keeps WebGL available through
 * SwiftShader on machines without a GPU (the web page check measures it); otherwise the GPU is off.
 */
export function chromiumFlags(options: { webgl?: "off" | "software" } = {}): string[] {
  return [
    "--headless",
    "--no-sandbox",
    options.webgl === "software" ? "--enable-unsafe-swiftshader" : "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
  ];
}

/** Throws a clear error naming the install script when the Chromium binary is absent. */
export function requireChromium(): void {
  if (!fs.existsSync(CHROMIUM)) {
    throw new Error(
      `${CHROMIUM} is missing: run \`bash tools/setup/install_browser.sh\` (Debian's chromium)`,
    );
  }
}

/** Options of {@link allowOnly}. */
export interface AllowOnlyOptions {
  /** Also let `blob:` and `data:` URLs through (the page's own in-memory images); default true. */
  inline?: boolean;
  /** Receives each blocked URL, for a check that reports them. */
  blocked?: string[];
}

/**
 * Aborts every request of `context` except to `origins` (the servers the check started): a page under
 * check never reaches the network, and what it tried is known.
 */
export async function allowOnly(
  context: BrowserContext,
  origins: Iterable<string>,
  { inline = true, blocked }: AllowOnlyOptions = {},
): Promise<void> {
  const allowed = new Set(origins);
  await context.route("**/*", (route) => {
    const target = route.request().url();
    if (allowed.has(new URL(target).origin) || (inline && /^(blob|data):/.test(target))) {
      return route.continue();
    }
    blocked?.push(target);
    return route.abort("blockedbyclient");
  });
}
