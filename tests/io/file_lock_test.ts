import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { isProcessAlive, processStartTime, withFileLock } from "../../lib/io/file_lock.ts";
import { removeDeadLeftovers, tempSibling } from "../../lib/io/atomic.ts";
import { assert, assertEquals, assertMatch, assertRejects } from "../_assert.ts";
import { withTempDir } from "../_temp.ts";
import { deadPid } from "../_process.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

Deno.test("isProcessAlive: this process yes, an exited child no", async () => {
  assert(isProcessAlive(Deno.pid));
  assert(!isProcessAlive(await deadPid()));
  assert(!isProcessAlive(-1));
  assertMatch(processStartTime(Deno.pid) ?? "", /^\d+$/);
});

Deno.test("withFileLock: callers in one process take turns and the lock file is gone afterwards", async () => {
  await withTempDir("file_lock_test_", async (tmp) => {
    const lock = path.join(tmp, "entry.lock");
    const log: string[] = [];
    await Promise.all([1, 2, 3].map((i) =>
      withFileLock(lock, async () => {
        log.push(`in ${i}`);
        assert(fs.existsSync(lock));
        await sleep(20);
        log.push(`out ${i}`);
      })
    ));
    assertEquals(log, ["in 1", "out 1", "in 2", "out 2", "in 3", "out 3"]);
    assert(!fs.existsSync(lock));
    // A failing holder releases it too.
    await assertRejects(() => withFileLock(lock, () => Promise.reject(new Error("boom"))), Error, "boom");
    assert(!fs.existsSync(lock));
  });
});

Deno.test("withFileLock: a stale lock (dead owner, a reused PID, or unreadable and old) is taken over", async () => {
  await withTempDir("file_lock_test_", async (tmp) => {
    const lock = path.join(tmp, "entry.lock");
    const host = os.hostname();
    const stale = [
      { pid: await deadPid(), host, since: "2020-01-01T00:00:00Z" },
      // Our own PID written by an earlier process (same PID, another start time): not held by us.
      { pid: Deno.pid, host, start: "1", since: "2020-01-01T00:00:00Z" },
    ];
    for (const owner of stale) {
      await Deno.writeTextFile(lock, JSON.stringify(owner));
      let waited = false;
      assertEquals(
        await withFileLock(lock, () => Promise.resolve(42), { onWait: () => (waited = true) }),
        42,
      );
      assert(!waited, `no wait for ${JSON.stringify(owner)}`);
      assert(!fs.existsSync(lock));
    }
    await Deno.writeTextFile(lock, "");
    await Deno.utime(lock, new Date(0), new Date(0));
    assertEquals(await withFileLock(lock, () => Promise.resolve("ok")), "ok");
  });
});

Deno.test("withFileLock: a live holder in another process makes us wait, with a message, then run", async () => {
  await withTempDir("file_lock_test_", async (tmp) => {
    const lock = path.join(tmp, "entry.lock");
    const log = path.join(tmp, "log.txt");
    const script = `import { withFileLock } from ${JSON.stringify(pathToFileURL("lib/io/file_lock.ts").href)};
      await withFileLock(${JSON.stringify(lock)}, async () => {
        await Deno.writeTextFile(${JSON.stringify(log)}, "child in\\n", { append: true });
        await new Promise((r) => setTimeout(r, 700));
        await Deno.writeTextFile(${JSON.stringify(log)}, "child out\\n", { append: true });
      }, { purpose: "testing" });`;
    const child = new Deno.Command(Deno.execPath(), { args: ["eval", "--quiet", script] }).spawn();
    try {
      while (!fs.existsSync(log)) await sleep(10);
      const messages: string[] = [];
      await withFileLock(lock, async () => {
        await Deno.writeTextFile(log, "parent in\n", { append: true });
      }, { onWait: (owner) => messages.push(`${owner?.pid} ${owner?.purpose}`) });
      assertEquals(await Deno.readTextFile(log), "child in\nchild out\nparent in\n");
      assertEquals(messages, [`${child.pid} testing`]);
      // A timeout names the lock and its holder (a live process: ours' parent).
      await Deno.writeTextFile(lock, JSON.stringify({ pid: Deno.ppid, host: os.hostname(), since: "now" }));
      await assertRejects(
        () => withFileLock(lock, () => Promise.resolve(), { timeoutMs: 50, onWait: () => {} }),
        Error,
        `waiting for the lock ${lock}, held by process ${Deno.ppid}`,
      );
      await Deno.remove(lock);
    } finally {
      assert((await child.status).success);
    }
  });
});

Deno.test("removeDeadLeftovers removes temporary siblings of dead processes only", async () => {
  await withTempDir("file_lock_test_", async (tmp) => {
    const target = path.join(tmp, "data.zip");
    const dead = await deadPid();
    const parent = Deno.ppid; // alive: the test runner's parent
    const deadOne = `${target}.download-${dead}-0123abcd`;
    const liveOne = `${target}.download-${parent}-89abcdef`;
    const other = `${target}.unrelated-${dead}-01234567`;
    for (const f of [deadOne, liveOne, other]) await Deno.writeTextFile(f, "x");
    assertMatch(
      tempSibling(target, "download"),
      new RegExp(`data\\.zip\\.download-${Deno.pid}-[0-9a-f]{8}$`),
    );
    assertEquals(await removeDeadLeftovers(target, ["download"]), [deadOne]);
    assertEquals(fs.readdirSync(tmp).sort(), [path.basename(liveOne), path.basename(other)].sort());
  });
});
