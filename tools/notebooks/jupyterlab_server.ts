/**
 * Starts JupyterLab from the project's `.venv` for the browser checks: on 127.0.0.1 at a free port with a
 * random token, throw-away settings (every cell attached, no autosave, no news fetching), the app exposed to
 * the page as `window.jupyterapp` (so a check can run JupyterLab's own commands), and the Deno kernelspec
 * (interrupt mode "signal": Interrupt sends SIGINT) in a temporary JUPYTER_PATH. The kernel inherits this
 * process's environment (the `TL_*` settings).
 *
 * @module
 */
import fs from "node:fs";
import path from "node:path";
import { PROJECT_ROOT } from "../../lib/runtime/mod.ts";

/** A running JupyterLab. */
export interface JupyterLab {
  child: Deno.ChildProcess;
  base: string;
  token: string;
  logFile: string;
}

/** A port nobody listens on now. */
function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  return port;
}

/** Writes `value` as JSON, creating the folder. */
function writeJson(file: string, value: unknown) {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, JSON.stringify(value, null, 1));
}

/** Starts JupyterLab serving `rootDir` (its log in `logFile`); resolves once its API answers. */
export async function startJupyterLab(rootDir: string, tmp: string, logFile: string): Promise<JupyterLab> {
  const jupyter = path.join(PROJECT_ROOT, ".venv", "bin", "jupyter-lab");
  if (!fs.existsSync(jupyter)) throw new Error(`${jupyter} is missing: run \`deno task setup\` first`);
  const port = freePort();
  const token = crypto.randomUUID().replaceAll("-", "");
  const settings = path.join(tmp, "user-settings");
  writeJson(path.join(settings, "@jupyterlab/notebook-extension/tracker.jupyterlab-settings"), {
    windowingMode: "none",
  });
  // JupyterLab adds a PNG of each chart to the notebook model: never save it over the checked file.
  writeJson(path.join(settings, "@jupyterlab/docmanager-extension/plugin.jupyterlab-settings"), {
    autosave: false,
  });
  writeJson(path.join(settings, "@jupyterlab/apputils-extension/notification.jupyterlab-settings"), {
    fetchNews: "false",
    checkForUpdates: false,
  });
  writeJson(path.join(tmp, "jupyter-path/kernels/deno/kernel.json"), {
    argv: [Deno.execPath(), "jupyter", "--kernel", "--conn", "{connection_file}"],
    display_name: "Deno",
    language: "typescript",
    interrupt_mode: "signal",
  });
  const log = await Deno.open(logFile, { write: true, create: true, truncate: true });
  const child = new Deno.Command(jupyter, {
    args: [
      "--no-browser",
      "--ServerApp.ip=127.0.0.1",
      `--ServerApp.port=${port}`,
      "--ServerApp.port_retries=0",
      "--ServerApp.allow_root=True",
      "--LabApp.extension_manager=readonly",
      "--LabApp.expose_app_in_browser=True",
      // JupyterLab makes a checkpoint of every notebook it opens: into the temporary folder, not notebooks/.
      `--FileCheckpoints.checkpoint_dir=${path.join(tmp, "checkpoints")}`,
      `--IdentityProvider.token=${token}`,
      `--ServerApp.root_dir=${rootDir}`,
      `--LabApp.user_settings_dir=${settings}`,
      `--LabApp.workspaces_dir=${path.join(tmp, "workspaces")}`,
    ],
    env: {
      JUPYTER_PATH: path.join(tmp, "jupyter-path"),
      JUPYTER_CONFIG_DIR: path.join(tmp, "config"),
      JUPYTER_DATA_DIR: path.join(tmp, "data"),
      JUPYTER_RUNTIME_DIR: path.join(tmp, "runtime"),
    },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  // Both streams into one file (a WritableStream takes one writer at a time, so write chunk by chunk).
  const copy = async (stream: ReadableStream<Uint8Array>) => {
    for await (const chunk of stream) {
      for (let done = 0; done < chunk.length;) done += await log.write(chunk.subarray(done));
    }
  };
  Promise.all([copy(child.stdout), copy(child.stderr)]).finally(() => log.close()).catch(() => {});
  const base = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 90_000;
  let exited: Deno.CommandStatus | undefined;
  child.status.then((s) => exited = s);
  while (Date.now() < deadline && !exited) {
    try {
      const res = await fetch(`${base}/api/status?token=${token}`);
      await res.body?.cancel();
      if (res.ok) return { child, base, token, logFile };
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 500));
  }
  try {
    child.kill("SIGKILL");
  } catch {
    // already gone
  }
  throw new Error(
    `JupyterLab did not start (${exited ? `exit code ${exited.code}` : "timed out"}); see ${logFile}`,
  );
}

/** Stops JupyterLab (and its kernels): SIGTERM, SIGKILL after 10 s. */
export async function stopJupyterLab(child: Deno.ChildProcess) {
  try {
    child.kill("SIGTERM");
  } catch {
    return;
  }
  const timer = setTimeout(() => {
    try {
      child.kill("SIGKILL");
    } catch {
      // already gone
    }
  }, 10_000);
  await child.status;
  clearTimeout(timer);
}
