/**
 * Debian's headless Chromium as the browser checks launch it (`tools/browser/browser_check.ts`,
 * `tools/browser/web_check.ts`): the binary (`TL_CHROMIUM` or `/usr/bin/chromium`, installed by
 * `tools/setup/install_browser.sh`) and flags that stop its background network traffic, so that a check only
 * ever talks to the servers on 127.0.0.1 it started.
 *
 * @module
 */
import fs from "node:fs";

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
