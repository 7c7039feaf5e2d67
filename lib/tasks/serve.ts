/**
 * A static server for a {@link Site} that serves nothing else: the request path must equal one of the
 * site's URL paths exactly. No path is ever joined onto a folder, so `..`, percent-encoded (`%2e%2e`,
 * `%2f`) and backslash tricks have nothing to escape from — they are not in the allow-list and get 404 —
 * and a file entry that resolves (through a symlink) outside its folder is not served either.
 *
 * It answers only requests whose `Host` header names the address it serves ({@link servedHosts}): a page
 * on another site that rebinds its own domain name to this machine (DNS rebinding) sends its own name as
 * `Host` and gets 421, so it cannot read the page or the model.
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

/** Host names that reach only this machine, as a URL writes them (`new URL(…).hostname`). */
const LOOPBACK_NAMES: readonly string[] = ["127.0.0.1", "localhost", "[::1]"];
/** The addresses that listen on every interface of this machine. */
const WILDCARDS: readonly string[] = ["0.0.0.0", "[::]"];

/** `hostname` as a URL writes it: lowercase, IPv4 dotted, IPv6 in brackets; `null` if it is none. */
function urlHostname(hostname: string): string | null {
  const bare = hostname.replace(/^\[(.*)\]$/, "$1");
  try {
    return new URL(`http://${bare.includes(":") ? `[${bare}]` : bare}/`).hostname;
  } catch {
    return null;
  }
}

/**
 * Whether a server listening on `hostname` is reachable only from this machine (127.0.0.0/8, `::1`,
 * `localhost`).
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { isLoopback } from "./serve.ts";
 *
 * assert.deepStrictEqual(["127.0.0.1", "localhost", "::1", "0.0.0.0", "192.168.1.5"].map(isLoopback), [
 *   true, true, true, false, false,
 * ]);
 * ```
 */
export function isLoopback(hostname: string): boolean {
  const h = urlHostname(hostname);
  return h !== null && (LOOPBACK_NAMES.includes(h) || /^127\.\d+\.\d+\.\d+$/.test(h));
}

/** This machine's own addresses (the interfaces', link-local ones aside) and name, as URLs write them. */
function ownNames(): string[] {
  const names: string[] = [];
  try {
    for (const i of Deno.networkInterfaces()) {
      const name = i.address.startsWith("fe80:") ? null : urlHostname(i.address);
      if (name) names.push(name);
    }
    const host = Deno.hostname().toLowerCase();
    names.push(host, `${host}.local`);
  } catch {
    // no permission to list the interfaces: only the names given and the loopback ones are answered
  }
  return names;
}

/**
 * The `Host` header values (`host:port`, as a URL writes them) a server listening on `hostname` and `port`
 * answers to: the address itself; for a loopback address also `127.0.0.1`, `localhost` and `[::1]`; for
 * every interface (`0.0.0.0`, `::`) also this machine's addresses and name. A name anyone else chose
 * (a rebinding domain) is not among them.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { servedHosts } from "./serve.ts";
 *
 * assert.deepStrictEqual(servedHosts("127.0.0.1", 8000), ["127.0.0.1:8000", "localhost:8000", "[::1]:8000"]);
 * assert.deepStrictEqual(servedHosts("192.168.1.5", 8080), ["192.168.1.5:8080"]);
 * ```
 */
export function servedHosts(hostname: string, port: number): string[] {
  const own = urlHostname(hostname);
  if (own === null) return [];
  const names = new Set([own]);
  const wildcard = WILDCARDS.includes(own);
  if (wildcard || isLoopback(own)) LOOPBACK_NAMES.forEach((n) => names.add(n));
  if (wildcard) ownNames().forEach((n) => names.add(n));
  return [...names].map((n) => `${n}:${port}`);
}

/** A `Host` header as `host:port` (port 80 when absent), the way {@link servedHosts} writes it; else `null`. */
function hostOf(header: string | null): string | null {
  // Only a name or an address and a port: no user info (`a@b`), path or anything a URL would reinterpret.
  if (header === null || !/^([a-z0-9.-]+|\[[0-9a-f:.]+\])(:\d{1,5})?$/i.test(header)) return null;
  try {
    const url = new URL(`http://${header}/`);
    return `${url.hostname}:${url.port || 80}`;
  } catch {
    return null;
  }
}

/** The 421 answer to a request for another host (a rebinding page, or a name this server does not know). */
function misdirected(hosts: readonly string[]): Response {
  const named = hosts.filter((h) => !WILDCARDS.some((w) => h.startsWith(`${w}:`)));
  const shown = named.slice(0, 3).map((h) => `http://${h}/`).join(", ");
  const more = named.length > 3 ? ` (or ${named.length - 3} more)` : "";
  return plain(
    421,
    `misdirected request: this server answers only requests for ${shown}${more}; ` +
      `open the page at one of those addresses`,
  );
}

/**
 * The request handler: GET/HEAD of exactly the site's paths (`/` is `/index.html`), 404 for all else; a
 * request whose `Host` header is not one of `hosts` (`host:port` as {@link servedHosts} writes them) gets
 * 421 whatever it asks for.
 */
export function siteHandler(site: Site, hosts: readonly string[]): (request: Request) => Promise<Response> {
  return async (request: Request) => {
    const host = hostOf(request.headers.get("host"));
    if (host === null || !hosts.includes(host)) return misdirected(hosts);
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
  /** Default `127.0.0.1` (this machine only); `0.0.0.0` listens on every interface. */
  hostname?: string;
  /** Default 8000; 0 picks a free port. */
  port?: number;
  /** Stops the server when aborted. */
  signal?: AbortSignal;
  /**
   * Called once listening, with the URL to open on this machine and whether other computers can reach
   * the server (`exposed`: the address is not a loopback one), with the URLs they would open.
   */
  onListen?: (url: string, network: { exposed: boolean; urls: string[] }) => void;
}

/** `http://host:port/` for a `host:port` of {@link servedHosts}. */
const urlOf = (host: string) => `http://${host}/`;

/**
 * What a server on `hostname` answering `hosts` ({@link servedHosts}) tells {@link ServeOptions.onListen}:
 * the URL to open on this machine, and whether and where other computers reach it (IP addresses only: a
 * machine's name may mean nothing on the others).
 */
function reach(hostname: string, hosts: string[]): { url: string; exposed: boolean; urls: string[] } {
  const nameOf = (h: string) => h.slice(0, h.lastIndexOf(":"));
  const anyInterface = (h: string) => WILDCARDS.includes(nameOf(h));
  const here = hosts.find((h) => !anyInterface(h)) ?? hosts[0];
  const exposed = !isLoopback(hostname);
  // 0.0.0.0 listens on IPv4 only; `::` on both (Linux, macOS and Windows map IPv4 onto it by default).
  const address = nameOf(hosts[0]) === "0.0.0.0" ? /^\d/ : /^[\d[]/;
  const others = !exposed
    ? []
    : !anyInterface(hosts[0])
    ? [hosts[0]]
    : hosts.filter((h) => !anyInterface(h) && !isLoopback(nameOf(h)) && address.test(h));
  return { url: urlOf(here), exposed, urls: others.map(urlOf) };
}

/**
 * Serves `site` until `signal` aborts; the returned server's `finished` settles after shutdown. Only
 * requests for the address served are answered ({@link servedHosts}; the others get 421).
 */
export function serveSite(site: Site, options: ServeOptions = {}): Deno.HttpServer<Deno.NetAddr> {
  const { hostname = "127.0.0.1", port = 8000, signal, onListen } = options;
  // Filled once the port is known (port 0 picks one); until then no request is answered.
  const hosts: string[] = [];
  return Deno.serve({
    hostname,
    port,
    signal,
    onListen: (addr) => {
      hosts.push(...new Set([...servedHosts(hostname, addr.port), ...servedHosts(addr.hostname, addr.port)]));
      const { url, ...network } = reach(hostname, hosts);
      onListen?.(url, network);
    },
  }, siteHandler(site, hosts));
}
