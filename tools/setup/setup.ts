/**
 * `deno task setup`: installs everything the project needs, idempotently.
 *
 * 1. npm dependencies into a Deno-managed `node_modules` (no lifecycle scripts run).
 * 2. libtensorflow for tfjs-node: the package's own download (libtensorflow 2.9.1) when that host is
 *    reachable, otherwise the TensorFlow C libraries and headers from the `tensorflow-cpu` wheel that pip
 *    can fetch, with the addon built offline by node-gyp.
 * 3. The built backend (libraries + `tfjs_binding.node`) is cached outside `node_modules`, keyed by
 *    versions, so later setups and fresh clones on the same machine link it in seconds.
 * 4. A Python virtual env `.venv` with the Jupyter tooling, and the Deno Jupyter kernel registration.
 *
 * Flags: see {@link HELP}. The other tasks run {@link setUp} with `ifNeeded` through `tools/cli/task.ts`,
 * which says nothing when everything is in place.
 *
 * @module
 */
import { spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import process from "node:process";
import { fileURLToPath, pathToFileURL } from "node:url";
import { parseCommandLine, parseOptions } from "../../lib/cli/mod.ts";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");
const TFJS_NODE_VERSION = "4.22.0";
const STANDARD_LIBTENSORFLOW = "2.9.1";
const WHEEL_TENSORFLOW = Deno.env.get("TL_TENSORFLOW_WHEEL_VERSION") ?? "2.21.0";
/** What `.venv` holds: the notebook tooling, and `onnx` for the ONNX export's `onnx.checker` test. */
const VENV_REQUIREMENTS = ["jupyterlab==4.6.4", "nbclient==0.11.0", "nbconvert==7.17.1", "onnx==1.23.1"];
const STANDARD_DOWNLOAD_TIMEOUT_MS = 180_000;

const HELP = `Usage: deno task setup [-- options]

Installs what the project needs, idempotently: the npm packages (node_modules, no lifecycle scripts
run), TensorFlow's native library for tfjs-node (a cached build is linked in seconds; otherwise
downloaded, or built from the tensorflow-cpu wheel pip can fetch: several minutes), and .venv with
JupyterLab, nbclient and nbconvert plus the Deno Jupyter kernel. Every other task runs it with
--if-needed first.

Options:
  --if-needed      return at once (silently) when everything is already in place
  --no-jupyter     skip .venv and the Jupyter kernel
  --rebuild        ignore the cached native backend and make it again
  --check-backend  only load the native backend and print its version
  -h, --help       show this help

Environment: TL_BACKEND_CACHE (where built backends are cached; default
~/.cache/transfer-learning-ts), TL_BACKEND_SOURCE=wheel (skip tfjs-node's own download),
TL_TENSORFLOW_WHEEL_VERSION (default ${WHEEL_TENSORFLOW}).`;

/** What {@link setUp} does. */
export interface SetupOptions {
  /** Return at once when everything is in place. */
  ifNeeded?: boolean;
  /** Skip `.venv` and the Jupyter kernel. */
  noJupyter?: boolean;
  /** Ignore the backend cache. */
  rebuild?: boolean;
}

const t0 = performance.now();

function log(message: string) {
  const s = ((performance.now() - t0) / 1000).toFixed(1).padStart(6);
  console.error(`[setup ${s}s] ${message}`);
}

class SetupError extends Error {}

/** Runs a command, streaming its output to stderr unless `quiet`; rejects on a non-zero exit. */
function run(
  cmd: string,
  argv: string[],
  opts: { cwd?: string; env?: Record<string, string>; quiet?: boolean; timeoutMs?: number } = {},
): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, argv, {
      cwd: opts.cwd ?? ROOT,
      env: { ...Deno.env.toObject(), ...opts.env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    const onData = (chunk: Uint8Array) => {
      const text = new TextDecoder().decode(chunk);
      out += text;
      if (!opts.quiet) Deno.stderr.writeSync(chunk);
    };
    child.stdout.on("data", onData);
    child.stderr.on("data", onData);
    const timer = opts.timeoutMs
      ? setTimeout(() => {
        child.kill("SIGKILL");
        reject(new SetupError(`${cmd} ${argv.join(" ")} timed out after ${opts.timeoutMs! / 1000}s`));
      }, opts.timeoutMs)
      : undefined;
    child.on("error", (e) => {
      clearTimeout(timer);
      reject(new SetupError(`cannot run ${cmd}: ${e.message}`));
    });
    child.on("close", (code) => {
      clearTimeout(timer);
      if (code === 0) resolve(out);
      else {
        const tail = out.trim().split("\n").slice(-15).join("\n");
        reject(new SetupError(`${cmd} ${argv.join(" ")} exited with ${code}\n${tail}`));
      }
    });
  });
}

function exists(p: string): boolean {
  try {
    fs.statSync(p); // follows symlinks: a dangling link counts as missing
    return true;
  } catch {
    return false;
  }
}

// ---------------------------------------------------------------------------------------------------
// Where things are

function tfjsNodeDir(): string {
  return path.join(
    ROOT,
    "node_modules",
    ".deno",
    `@tensorflow+tfjs-node@${TFJS_NODE_VERSION}`,
    "node_modules",
    "@tensorflow",
    "tfjs-node",
  );
}

/** The N-API build version node-pre-gyp's `find` picks for tfjs-node under Deno (and Node ≥ 18). */
function napiBuildVersion(pkgDir: string): number {
  const pkg = JSON.parse(fs.readFileSync(path.join(pkgDir, "package.json"), "utf8"));
  const runtime = Number(process.versions.napi);
  const versions: number[] = pkg.binary.napi_versions.filter((v: number) => v <= runtime);
  return Math.max(...versions);
}

function cacheRoot(): string {
  const base = Deno.env.get("TL_BACKEND_CACHE") ??
    path.join(Deno.env.get("XDG_CACHE_HOME") ?? path.join(os.homedir(), ".cache"), "transfer-learning-ts");
  return path.join(base, `tfjs-node-${TFJS_NODE_VERSION}-${os.platform()}-${os.arch()}`);
}

interface BackendEntry {
  dir: string;
  tensorflow: string;
  source: string;
  napi: number;
}

function readEntry(dir: string): BackendEntry | undefined {
  const info = path.join(dir, "backend.json");
  if (
    !exists(info) || !exists(path.join(dir, "tfjs_binding.node")) || !exists(path.join(dir, "deps", "lib"))
  ) return;
  return { dir, ...JSON.parse(fs.readFileSync(info, "utf8")) };
}

function cachedBackends(napi: number): BackendEntry[] {
  const root = cacheRoot();
  if (!exists(root)) return [];
  return fs.readdirSync(root)
    .map((name) => readEntry(path.join(root, name)))
    .filter((e): e is BackendEntry => e !== undefined && e.napi === napi);
}

// ---------------------------------------------------------------------------------------------------
// Steps

async function installNpmDependencies(quiet: boolean) {
  if (!quiet) log("installing npm dependencies (deno install, lifecycle scripts not run)…");
  await run(Deno.execPath(), ["install", "--quiet"], { quiet: true });
  if (!exists(tfjsNodeDir())) throw new SetupError(`deno install did not create ${tfjsNodeDir()}`);
}

/** True when tfjs-node's addon and libraries are in place inside node_modules. */
function backendLinked(pkgDir: string, napi: number): boolean {
  return exists(path.join(pkgDir, "lib", `napi-v${napi}`, "tfjs_binding.node")) &&
    exists(path.join(pkgDir, "deps", "lib", "libtensorflow_framework.so.2"));
}

/** Links a cached backend into the tfjs-node package: `deps` → cache, addon copied next to it. */
function linkBackend(entry: BackendEntry, pkgDir: string) {
  const deps = path.join(pkgDir, "deps");
  fs.rmSync(deps, { recursive: true, force: true });
  fs.symlinkSync(path.join(entry.dir, "deps"), deps);
  const modDir = path.join(pkgDir, "lib", `napi-v${entry.napi}`);
  fs.mkdirSync(modDir, { recursive: true });
  fs.copyFileSync(path.join(entry.dir, "tfjs_binding.node"), path.join(modDir, "tfjs_binding.node"));
  log(`linked native backend: TensorFlow ${entry.tensorflow} (${entry.source}) from ${entry.dir}`);
}

function nodeGypScript(): string {
  const candidates = [
    Deno.env.get("NODE_GYP"),
    path.join(
      path.dirname(path.dirname(whichSync("node") ?? "/usr/bin/node")),
      "lib",
      "node_modules",
      "npm",
      "node_modules",
      "node-gyp",
      "bin",
      "node-gyp.js",
    ),
    "/usr/lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js",
    "/usr/local/lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js",
  ];
  const found = candidates.find((c) => c && exists(c));
  if (!found) {
    throw new SetupError(
      "node-gyp not found: install Node.js with npm (it bundles node-gyp), or set NODE_GYP",
    );
  }
  return found;
}

function whichSync(cmd: string): string | undefined {
  for (const dir of (Deno.env.get("PATH") ?? "").split(":")) {
    const p = path.join(dir, cmd);
    if (exists(p)) return p;
  }
}

/** Node headers for node-gyp without a download: npm's `nodedir`, or the running Node's own prefix. */
function nodeDir(): string {
  const configured = Deno.env.get("npm_config_nodedir");
  if (configured) return configured;
  const node = whichSync("node");
  if (!node) {
    throw new SetupError("Node.js is required to build the tfjs-node addon (node-gyp); none on PATH");
  }
  const prefix = path.dirname(path.dirname(fs.realpathSync(node)));
  if (!exists(path.join(prefix, "include", "node", "node_api.h"))) {
    throw new SetupError(`Node headers not found under ${prefix}/include/node; set npm_config_nodedir`);
  }
  return prefix;
}

/** Builds `tfjs_binding.node` with node-gyp against `deps/` already laid out in the package. */
async function buildAddon(pkgDir: string, napi: number, outFile: string) {
  log(`building tfjs_binding.node with node-gyp (N-API ${napi}, headers from ${nodeDir()})…`);
  const moduleDir = path.join(pkgDir, "build", "module");
  await run("node", [
    nodeGypScript(),
    "rebuild",
    `--nodedir=${nodeDir()}`,
    "--module_name=tfjs_binding",
    `--module_path=${moduleDir}`,
    `--napi_build_version=${napi}`,
  ], { cwd: pkgDir, quiet: true });
  fs.copyFileSync(path.join(pkgDir, "build", "Release", "tfjs_binding.node"), outFile);
}

/** Writes a cache entry atomically: everything goes into a temp folder renamed at the end. */
async function makeEntry(
  name: string,
  fill: (
    tmp: string,
  ) => Promise<{ tensorflow: string; source: string }> | { tensorflow: string; source: string },
  napi: number,
): Promise<BackendEntry> {
  const root = cacheRoot();
  fs.mkdirSync(root, { recursive: true });
  const dir = path.join(root, name);
  const tmp = fs.mkdtempSync(path.join(root, `.${name}-`));
  try {
    const meta = await fill(tmp);
    fs.writeFileSync(path.join(tmp, "backend.json"), JSON.stringify({ ...meta, napi }, null, 2));
    fs.rmSync(dir, { recursive: true, force: true });
    fs.renameSync(tmp, dir);
  } catch (e) {
    fs.rmSync(tmp, { recursive: true, force: true });
    throw e;
  }
  return readEntry(dir)!;
}

/** Path 1: tfjs-node's own install script (downloads libtensorflow and a prebuilt addon). */
async function standardDownload(pkgDir: string, napi: number): Promise<BackendEntry> {
  log(`trying tfjs-node's standard download of libtensorflow ${STANDARD_LIBTENSORFLOW}…`);
  const preGypBin = path.join(
    ROOT,
    "node_modules",
    ".deno",
    "@mapbox+node-pre-gyp@1.0.9",
    "node_modules",
    "@mapbox",
    "node-pre-gyp",
    "bin",
  );
  fs.rmSync(path.join(pkgDir, "deps"), { recursive: true, force: true });
  await run("node", ["scripts/install.js"], {
    cwd: pkgDir,
    env: { PATH: `${preGypBin}:${Deno.env.get("PATH")}`, npm_config_nodedir: nodeDir() },
    timeoutMs: STANDARD_DOWNLOAD_TIMEOUT_MS,
    quiet: true,
  });
  const addon = path.join(pkgDir, "lib", `napi-v${napi}`, "tfjs_binding.node");
  if (!exists(addon)) throw new SetupError("install script finished without an addon");
  return await makeEntry(`libtensorflow-${STANDARD_LIBTENSORFLOW}-napi${napi}`, (tmp) => {
    fs.renameSync(path.join(pkgDir, "deps"), path.join(tmp, "deps"));
    fs.copyFileSync(addon, path.join(tmp, "tfjs_binding.node"));
    return { tensorflow: STANDARD_LIBTENSORFLOW, source: "tfjs-node standard download" };
  }, napi);
}

/** Path 2: TensorFlow's C libraries and headers from the tensorflow-cpu wheel, addon built offline. */
async function wheelBuild(pkgDir: string, napi: number): Promise<BackendEntry> {
  return await makeEntry(`tensorflow-cpu-${WHEEL_TENSORFLOW}-napi${napi}`, async (tmp) => {
    log(`fetching the tensorflow-cpu==${WHEEL_TENSORFLOW} wheel with pip (≈270 MB)…`);
    const wheelDir = path.join(tmp, "wheel");
    await run("python3", [
      "-m",
      "pip",
      "download",
      "--no-deps",
      "--only-binary=:all:",
      "--retries",
      "0",
      "-d",
      wheelDir,
      `tensorflow-cpu==${WHEEL_TENSORFLOW}`,
    ], { quiet: true });
    const wheel = fs.readdirSync(wheelDir).find((f) => f.endsWith(".whl"));
    if (!wheel) throw new SetupError(`pip download left no wheel in ${wheelDir}`);
    log(`extracting libtensorflow_cc.so.2, libtensorflow_framework.so.2 and the C headers from ${wheel}…`);
    const deps = path.join(tmp, "deps");
    await run("python3", ["-c", EXTRACT_WHEEL_PY, path.join(wheelDir, wheel), deps], { quiet: true });
    fs.rmSync(wheelDir, { recursive: true, force: true });
    const lib = path.join(deps, "lib");
    // The link names binding.gyp (-ltensorflow, -ltensorflow_framework) and install.js expect.
    for (
      const [link, target] of [
        ["libtensorflow.so", "libtensorflow_cc.so.2"],
        ["libtensorflow.so.2", "libtensorflow_cc.so.2"],
        [`libtensorflow.so.${STANDARD_LIBTENSORFLOW}`, "libtensorflow_cc.so.2"],
        ["libtensorflow_framework.so", "libtensorflow_framework.so.2"],
        [`libtensorflow_framework.so.${STANDARD_LIBTENSORFLOW}`, "libtensorflow_framework.so.2"],
      ]
    ) fs.symlinkSync(target, path.join(lib, link));
    fs.rmSync(path.join(pkgDir, "deps"), { recursive: true, force: true });
    fs.symlinkSync(deps, path.join(pkgDir, "deps"));
    try {
      await buildAddon(pkgDir, napi, path.join(tmp, "tfjs_binding.node"));
    } finally {
      fs.rmSync(path.join(pkgDir, "deps"), { force: true });
    }
    return {
      tensorflow: WHEEL_TENSORFLOW,
      source: `tensorflow-cpu ${WHEEL_TENSORFLOW} wheel, addon built with node-gyp`,
    };
  }, napi);
}

const EXTRACT_WHEEL_PY = `
import os, sys, zipfile, shutil
wheel, deps = sys.argv[1], sys.argv[2]
libs = {"tensorflow/libtensorflow_cc.so.2", "tensorflow/libtensorflow_framework.so.2"}
headers = ("tensorflow/include/tensorflow/c/", "tensorflow/include/tensorflow/core/platform/",
           "tensorflow/include/tsl/", "tensorflow/include/xla/tsl/c/", "tensorflow/include/xla/tsl/platform/")
found = set()
with zipfile.ZipFile(wheel) as z:
    for info in z.infolist():
        name = info.filename
        if name in libs:
            dest = os.path.join(deps, "lib", os.path.basename(name)); found.add(name)
        elif name.startswith(headers) and name.endswith(".h"):
            dest = os.path.join(deps, "include", name[len("tensorflow/include/"):])
        else:
            continue
        os.makedirs(os.path.dirname(dest), exist_ok=True)
        with z.open(info) as src, open(dest, "wb") as out:
            shutil.copyfileobj(src, out, 1 << 20)
missing = libs - found
if missing:
    sys.exit("wheel lacks " + ", ".join(sorted(missing)))
`;

async function provideBackend(rebuild: boolean) {
  const pkgDir = tfjsNodeDir();
  const napi = napiBuildVersion(pkgDir);
  if (!rebuild) {
    const cached = cachedBackends(napi);
    // Prefer the newest TensorFlow when both kinds are cached.
    cached.sort((a, b) => b.tensorflow.localeCompare(a.tensorflow, undefined, { numeric: true }));
    if (cached.length > 0) {
      if (!backendLinked(pkgDir, napi) || !sameTarget(pkgDir, cached[0])) linkBackend(cached[0], pkgDir);
      else log(`native backend already in place: TensorFlow ${cached[0].tensorflow} (${cached[0].source})`);
      return;
    }
  }
  log(`no cached native backend in ${cacheRoot()}`);
  let entry: BackendEntry;
  if (Deno.env.get("TL_BACKEND_SOURCE") === "wheel") entry = await wheelBuild(pkgDir, napi);
  else {
    try {
      entry = await standardDownload(pkgDir, napi);
    } catch (e) {
      const reason = (e as Error).message.split("\n").find((l) =>
        /ENOTFOUND|EAI_AGAIN|ECONNREFUSED|timed out|403|404/.test(l)
      ) ??
        (e as Error).message.split("\n")[0];
      log(`standard download unavailable (${reason.trim()}); building from the tensorflow-cpu wheel instead`);
      entry = await wheelBuild(pkgDir, napi);
    }
  }
  linkBackend(entry, pkgDir);
}

function sameTarget(pkgDir: string, entry: BackendEntry): boolean {
  try {
    return fs.realpathSync(path.join(pkgDir, "deps")) === fs.realpathSync(path.join(entry.dir, "deps"));
  } catch {
    return false;
  }
}

/** Loads lib/runtime/tf.ts in a fresh process: the addon must load and the backend must be "tensorflow". */
async function checkBackend(): Promise<string> {
  const code = `import { tf, tensorflowVersion } from "${
    pathToFileURL(path.join(ROOT, "lib", "runtime", "tf.ts")).href
  }";
const y = tf.tidy(() => tf.conv2d(tf.ones([1, 8, 8, 3]), tf.ones([3, 3, 3, 2]), 1, "same").sum().dataSync()[0]);
console.log(JSON.stringify({ backend: tf.getBackend(), tensorflow: tensorflowVersion(), tfjs: tf.version.tfjs, check: y }));`;
  const out = await run(Deno.execPath(), ["eval", "--quiet", code], { quiet: true });
  const info = JSON.parse(out.trim().split("\n").at(-1)!);
  if (info.backend !== "tensorflow" || info.check !== 2904) {
    throw new SetupError(`native backend check failed: ${out}`);
  }
  return `backend ${info.backend}, TensorFlow ${info.tensorflow}, tfjs ${info.tfjs}`;
}

async function setUpJupyter() {
  const venv = path.join(ROOT, ".venv");
  const stamp = path.join(venv, ".requirements");
  const wanted = VENV_REQUIREMENTS.join("\n");
  if (!exists(stamp) || fs.readFileSync(stamp, "utf8") !== wanted) {
    log(`creating .venv with ${VENV_REQUIREMENTS.join(", ")} (pip)…`);
    await run("python3", ["-m", "venv", venv], { quiet: true });
    await run(path.join(venv, "bin", "python"), [
      "-m",
      "pip",
      "install",
      "--quiet",
      "--retries",
      "0",
      ...VENV_REQUIREMENTS,
    ], { quiet: true });
    fs.writeFileSync(stamp, wanted);
  } else log("Jupyter tooling already in .venv");
  if (Deno.env.get("CI")) {
    // A CI clone is deleted after the run: its deno must not become the user's registered kernel.
    log("CI: not registering the Deno Jupyter kernel (the notebook runner uses its own kernelspec)");
    return;
  }
  log("registering the Deno Jupyter kernel (deno jupyter --install)…");
  await run(Deno.execPath(), ["jupyter", "--install", "--force"], { quiet: true });
}

function jupyterReady(): boolean {
  return exists(path.join(ROOT, ".venv", ".requirements"));
}

/** Whether everything {@link setUp} provides is in place (without running `deno install`). */
export function setupComplete(options: { noJupyter?: boolean } = {}): boolean {
  const pkgDir = tfjsNodeDir();
  return exists(path.join(pkgDir, "package.json")) && backendLinked(pkgDir, napiBuildVersion(pkgDir)) &&
    (options.noJupyter === true || jupyterReady());
}

/**
 * Installs what is missing (see the module's doc). With `ifNeeded` and everything in place it only
 * syncs `node_modules` with deno.json (`deno install`, quiet) and prints nothing.
 */
export async function setUp(options: SetupOptions = {}): Promise<void> {
  await installNpmDependencies(options.ifNeeded === true && exists(path.join(ROOT, "node_modules")));
  if (options.ifNeeded && setupComplete(options)) return;
  await provideBackend(options.rebuild === true);
  log(await checkBackend());
  if (!options.noJupyter) await setUpJupyter();
  log("setup complete");
}

/** Runs {@link setUp}: exit code 0, or 1 once the reason it failed is logged; other errors (bugs) propagate. */
export async function runSetup(options: SetupOptions): Promise<number> {
  try {
    await setUp(options);
    return 0;
  } catch (e) {
    if (!(e instanceof SetupError)) throw e;
    log(`setup failed: ${e.message}`);
    return 1;
  }
}

async function main(): Promise<number> {
  const parsed = parseCommandLine("setup", HELP, () => {
    const { values: v } = parseOptions({
      args: Deno.args,
      options: {
        "if-needed": { type: "boolean" },
        "no-jupyter": { type: "boolean" },
        rebuild: { type: "boolean" },
        "check-backend": { type: "boolean" },
        help: { type: "boolean", short: "h" },
      },
    });
    return v.help ? "help" : v;
  });
  if (typeof parsed === "number") return parsed;
  if (parsed["check-backend"]) {
    try {
      console.log(await checkBackend());
      return 0;
    } catch (e) {
      if (!(e instanceof SetupError)) throw e;
      log(`backend check failed: ${e.message}`);
      return 1;
    }
  }
  return await runSetup({
    ifNeeded: parsed["if-needed"],
    noJupyter: parsed["no-jupyter"],
    rebuild: parsed.rebuild,
  });
}

if (import.meta.main) Deno.exit(await main());
