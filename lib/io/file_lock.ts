/**
 * An inter-process lock on one file-system entry (a cache entry, a model folder), so that two processes —
 * two notebooks, a notebook and a CLI — never write the same thing at once and the second one reuses what
 * the first produced.
 *
 * The lock is a file created with `O_CREAT | O_EXCL` (`Deno.open({ createNew: true })`, atomic on local file
 * systems) holding its owner's PID, host and process start time. A lock whose owner is dead (or is another
 * process that now has the same PID, told apart by the start time) is stale and taken over; a waiter says
 * once whom it waits for. Inside one process, callers of the same lock are queued, so the PID written in the
 * file always means "held".
 *
 * @module
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import process from "node:process";

/** What a lock file says about its holder. */
export interface LockOwner {
  /** The holder's process id. */
  pid: number;
  /** The holder's host name (a lock from another machine cannot be checked and counts as held). */
  host: string;
  /** The holder's start time (`/proc/<pid>/stat` field 22) where Linux tells it: tells a reused PID apart. */
  start?: string;
  /** ISO time the lock was taken. */
  since: string;
  /** What the holder is doing, for the waiting message. */
  purpose?: string;
}

/** Options of {@link withFileLock}. */
export interface FileLockOptions {
  /** Shown to a waiting process, e.g. "fetching data/datasets/cats.zip". */
  purpose?: string;
  /** Called once when the lock is held by another live process; default: a line on stderr. */
  onWait?: (owner: LockOwner | undefined, lockFile: string) => void;
  /** Give up after this long (an error naming the lock file and its holder); default: wait as long as needed. */
  timeoutMs?: number;
  /** How often to look again while waiting; default 100 ms. */
  pollMs?: number;
}

const queues = new Map<string, Promise<unknown>>();

/**
 * Runs `fn` while holding the lock file `lockFile` (created beside the guarded entry, removed afterwards),
 * waiting for another holder first.
 */
export async function withFileLock<T>(
  lockFile: string,
  fn: () => Promise<T>,
  options: FileLockOptions = {},
): Promise<T> {
  const file = path.resolve(lockFile);
  // One holder per process at a time: later callers in this process wait for the earlier ones.
  const previous = queues.get(file) ?? Promise.resolve();
  let release!: () => void;
  const mine = new Promise<void>((resolve) => (release = resolve));
  const chained = previous.then(() => mine);
  queues.set(file, chained);
  try {
    await previous.catch(() => {});
    const token = await acquire(file, options);
    try {
      return await fn();
    } finally {
      await releaseLock(file, token);
    }
  } finally {
    release();
    if (queues.get(file) === chained) queues.delete(file);
  }
}

/** `true` when a process with this PID exists on this machine (permission denied still means it exists). */
export function isProcessAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  if (pid === Deno.pid) return true;
  try {
    process.kill(pid, 0); // signal 0: only the existence and permission checks
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** The start time of `pid` in clock ticks since boot (Linux), or undefined where unknown. */
export function processStartTime(pid: number): string | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    // Fields after the command name, which is in parentheses and may contain spaces.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return fields[19];
  } catch {
    return undefined;
  }
}

/** `true` when the process described by a lock file or a temporary name still runs. */
export function ownerAlive(owner: Pick<LockOwner, "pid" | "host" | "start">): boolean {
  if (owner.host !== os.hostname()) return true; // another machine: cannot tell, assume it runs
  if (!isProcessAlive(owner.pid)) return false;
  const start = processStartTime(owner.pid);
  return owner.start === undefined || start === undefined || start === owner.start;
}

function readOwner(file: string): { text: string; owner?: LockOwner; mtimeMs: number } | undefined {
  try {
    const text = fs.readFileSync(file, "utf8");
    const mtimeMs = fs.statSync(file).mtimeMs;
    try {
      const owner = JSON.parse(text) as LockOwner;
      return { text, owner: Number.isInteger(owner?.pid) ? owner : undefined, mtimeMs };
    } catch {
      return { text, mtimeMs };
    }
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw e;
  }
}

/** A lock file nobody will release: its owner is dead, or it stayed unreadable (a crash while writing it). */
function isStale(info: { owner?: LockOwner; mtimeMs: number }): boolean {
  if (info.owner) return !ownerAlive(info.owner);
  return Date.now() - info.mtimeMs > 10_000;
}

async function acquire(file: string, options: FileLockOptions): Promise<string> {
  const owner: LockOwner = {
    pid: Deno.pid,
    host: os.hostname(),
    start: processStartTime(Deno.pid),
    since: new Date().toISOString(),
    ...(options.purpose ? { purpose: options.purpose } : {}),
  };
  const token = JSON.stringify(owner);
  const started = Date.now();
  let told = false;
  for (;;) {
    try {
      const handle = await Deno.open(file, { write: true, createNew: true });
      const bytes = new TextEncoder().encode(token);
      try {
        for (let at = 0; at < bytes.length;) at += await handle.write(bytes.subarray(at));
      } catch (e) {
        // A lock file without its owner would make every later caller wait out the staleness window.
        handle.close();
        await Deno.remove(file).catch(() => {});
        throw e;
      }
      handle.close();
      return token;
    } catch (e) {
      if (!(e instanceof Deno.errors.AlreadyExists)) {
        throw new Error(`Cannot create the lock file ${file}: ${(e as Error).message}`, { cause: e });
      }
    }
    const info = readOwner(file);
    if (info === undefined) continue; // released meanwhile
    if (isStale(info)) {
      await takeOver(file, info.text);
      continue;
    }
    if (!told) {
      told = true;
      (options.onWait ?? defaultOnWait)(info.owner, file);
    }
    if (options.timeoutMs !== undefined && Date.now() - started > options.timeoutMs) {
      throw new Error(
        `Timed out after ${options.timeoutMs} ms waiting for the lock ${file}, held by ${
          describe(info.owner)
        }`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, options.pollMs ?? 100));
  }
}

function describe(owner?: LockOwner): string {
  if (!owner) return "another process";
  return `process ${owner.pid}${owner.host !== os.hostname() ? ` on ${owner.host}` : ""}` +
    (owner.purpose ? ` (${owner.purpose})` : "") + ` since ${owner.since}`;
}

function defaultOnWait(owner: LockOwner | undefined, file: string) {
  console.error(`Waiting for ${describe(owner)} to finish (lock ${file})…`);
}

/**
 * Removes the stale lock whose content was `staleText`. A second guard file makes the check-and-remove one
 * step among the processes taking over, so that none removes a lock another one has just taken.
 */
async function takeOver(file: string, staleText: string) {
  const guard = `${file}.takeover`;
  try {
    const handle = await Deno.open(guard, { write: true, createNew: true });
    try {
      await handle.write(new TextEncoder().encode(JSON.stringify({ pid: Deno.pid, host: os.hostname() })));
    } finally {
      handle.close();
    }
  } catch (e) {
    if (!(e instanceof Deno.errors.AlreadyExists)) throw e;
    const info = readOwner(guard);
    if (info && isStale(info)) await Deno.remove(guard).catch(() => {});
    else await new Promise((resolve) => setTimeout(resolve, 20));
    return;
  }
  try {
    if (readOwner(file)?.text === staleText) await Deno.remove(file).catch(() => {});
  } finally {
    await Deno.remove(guard).catch(() => {});
  }
}

async function releaseLock(file: string, token: string) {
  if (readOwner(file)?.text === token) await Deno.remove(file).catch(() => {});
}
