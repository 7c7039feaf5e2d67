/**
 * A static server for a {@link Site} that serves nothing else: the request path must equal one of the
 * site's URL paths exactly. No path is ever joined onto a folder, so `..`, percent-encoded (`%2e%2e`,
 * `%2f`) and backslash tricks have nothing to escape from — they are not in the allow-list and get 404 —
 * and a file entry that resolves (through a symlink) outside its folder is not served either.
 *
 * @module
 */
import type { Site } from "./site.ts";
import { readEntry } from "./site.ts";

/**
 * Headers on every response: no content sniffing, no referrer, no framing by other sites, and a content
 * security policy that lets the page reach only this origin (the page holds the same policy in a
 * `<meta>` tag for static hosts).
 */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
  "x-frame-options": "DENY",
  "cross-origin-resource-policy": "same-origin",
  "content-security-policy": "default-src 'none'; script-src 'self' 'wasm-unsafe-eval'; " +
    "connect-src 'self'; img-src 'self' blob: data:; style-src 'self'; worker-src 'self' blob:; " +
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
};

function plain(status: number, text: string, extra: Record<string, string> = {}): Response {
  return new Response(`${text}\n`, {
    status,
    headers: { ...SECURITY_HEADERS, "content-type": "text/plain; charset=utf-8", ...extra },
  });
}

/**
 * The request's path exactly as the client sent it (without query or fragment). Not `URL.pathname`:
 * that resolves `..` segments, and the server must see them to refuse them.
 */
export function rawPath(url: string): string {
  const scheme = url.indexOf("://");
  const start = url.indexOf("/", scheme < 0 ? 0 : scheme + 3);
  if (start < 0) return "/";
  const rest = url.slice(start);
  const end = rest.search(/[?#]/);
  return end < 0 ? rest : rest.slice(0, end);
}

/** The request handler: GET/HEAD of exactly the site's paths (`/` is `/index.html`), 404 for all else. */
export function siteHandler(site: Site): (request: Request) => Promise<Response> {
  return async (request: Request) => {
    if (request.method !== "GET" && request.method !== "HEAD") {
      return plain(405, "method not allowed", { allow: "GET, HEAD" });
    }
    const pathname = rawPath(request.url);
    const entry = site.entries.get(pathname === "/" ? "/index.html" : pathname);
    const body = entry ? await readEntry(entry) : null;
    if (!entry || !body) return plain(404, "not found");
    const headers = {
      ...SECURITY_HEADERS,
      "content-type": entry.type,
      "content-length": String(body.length),
      "cache-control": "no-cache",
    };
    return new Response(request.method === "HEAD" ? null : body as Uint8Array<ArrayBuffer>, { headers });
  };
}

/** Options of {@link serveSite}. */
export interface ServeOptions {
  /** Default `127.0.0.1` (this machine only). */
  hostname?: string;
  /** Default 8000; 0 picks a free port. */
  port?: number;
  /** Stops the server when aborted. */
  signal?: AbortSignal;
  /** Called with the URL once listening. */
  onListen?: (url: string) => void;
}

/** Serves `site` until `signal` aborts; the returned server's `finished` settles after shutdown. */
export function serveSite(site: Site, options: ServeOptions = {}): Deno.HttpServer<Deno.NetAddr> {
  const { hostname = "127.0.0.1", port = 8000, signal, onListen } = options;
  return Deno.serve({
    hostname,
    port,
    signal,
    onListen: (addr) => {
      const host = addr.hostname.includes(":") ? `[${addr.hostname}]` : addr.hostname;
      onListen?.(`http://${host}:${addr.port}/`);
    },
  }, siteHandler(site));
}
