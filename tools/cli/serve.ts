/**
 * `deno task serve -- [--model models/NAME] [--port N] [--host H]`: the classifier in a web page, served
 * to this machine (127.0.0.1) until Ctrl-C; another `--host` is warned about, since it lets other computers
 * in. See lib/tasks/site.ts for what is served, lib/tasks/serve.ts for how.
 *
 * @module
 */
import {
  parseCommandLine,
  parseOptions,
  runTool,
  shownPath,
  UsageError,
  userModelArg,
} from "../../lib/cli/mod.ts";

const USAGE = `Usage: deno task serve -- [--model DIR] [--port N] [--host HOST]

Serves a web page that classifies photos in the browser with a trained classifier (TensorFlow.js,
WebGL / WASM / CPU; everything served from this project, no network).

  --model DIR   a folder written by \`deno task train\` (models/NAME, or just NAME); default: the
                model trained last (models/LATEST, else the newest models/*/metadata.json)
  --port N      default 8000 (0: any free port)
  --host HOST   default 127.0.0.1 (this machine only); 0.0.0.0 serves the whole network: anyone who
                can reach this computer can then open the page and download the model
  -h, --help    show this help

Only requests addressed to this server (its address and port, or localhost) are answered: a page from
another site cannot read this one through a domain name of its own (DNS rebinding).`;

/** Parsed command line, or a usage error (exit 2). */
export function parseServeArgs(
  args: string[],
): { model?: string; port: number; hostname: string; help: boolean } {
  const { values, positionals } = parseOptions({
    args,
    options: {
      model: { type: "string" },
      port: { type: "string", default: "8000" },
      host: { type: "string", default: "127.0.0.1" },
      help: { type: "boolean", short: "h", default: false },
    },
    allowPositionals: true,
    strict: true,
  });
  if (positionals.length) throw new UsageError(`unexpected argument ${JSON.stringify(positionals[0])}`);
  const port = Number(values.port);
  if (!/^\d+$/.test(values.port!) || port > 65535) {
    throw new UsageError(`--port must be an integer in 0..65535, got ${JSON.stringify(values.port)}`);
  }
  if (!values.host) throw new UsageError("--host must not be empty");
  // Deno listens on "::1", not "[::1]": brackets belong in URLs only.
  const hostname = values.host.replace(/^\[(.*)\]$/, "$1");
  return { model: values.model, port, hostname, help: values.help! };
}

/** The warning for a `--host` other computers reach, with the addresses they would open. */
export function exposedWarning(host: string, urls: string[]): string {
  const where = urls.length ? ` (from another computer: ${urls.slice(0, 3).join(", ")})` : "";
  return `serve: warning: --host ${host} is reachable from other computers: anyone on your network can ` +
    `open the page and download the model${where}. Leave --host out to serve this computer only.`;
}

async function main(args: string[]): Promise<number> {
  const parsed = parseCommandLine("serve", USAGE, () => {
    const p = parseServeArgs(args);
    return p.help ? "help" : p;
  });
  if (typeof parsed === "number") return parsed;
  // Loaded after argument parsing: --help and usage errors answer without starting TensorFlow.
  const { buildSite, latestModelDir, resolveModelDir, serveSite } = await import("../../lib/tasks/mod.ts");
  const model = parsed.model === undefined
    ? { dir: latestModelDir() }
    : resolveModelDir(userModelArg(parsed.model));
  if (model.note) console.error(`serve: ${model.note}`);
  const modelDir = model.dir;
  console.log(`serve: preparing ${shownPath(modelDir)} for the browser…`);
  const site = await buildSite(modelDir);
  const controller = new AbortController();
  Deno.addSignalListener("SIGINT", () => controller.abort());
  const server = serveSite(site, {
    hostname: parsed.hostname,
    port: parsed.port,
    signal: controller.signal,
    onListen: (url, network) => {
      const { name, classNames } = site.metadata;
      console.log(`serve: model "${name}" (${classNames.length} classes: ${classNames.join(", ")})`);
      console.log(`serve: open ${url} (Ctrl-C stops)`);
      if (network.exposed) console.error(exposedWarning(parsed.hostname, network.urls));
    },
  });
  await server.finished;
  return 0;
}

if (import.meta.main) {
  await runTool("serve", async () => {
    try {
      return await main(Deno.args);
    } catch (e) {
      if (!(e instanceof Deno.errors.AddrInUse)) throw e;
      throw new UsageError(`the port is in use (${e.message}): choose another with --port N, or --port 0`);
    }
  });
}
