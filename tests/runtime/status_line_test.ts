import { assertEquals } from "../_assert.ts";
import { type JupyterApi, useJupyterApi } from "../../lib/runtime/output.ts";
import {
  formatBytes,
  formatDuration,
  progressBar,
  progressLine,
  statusLine,
} from "../../lib/runtime/status_line.ts";

/** A fake `Deno.jupyter` recording every message it is asked to send. */
function fakeKernel() {
  const messages: { obj: Record<string, string>; options?: Record<string, unknown> }[] = [];
  const api: JupyterApi = {
    display(obj, options) {
      messages.push({ obj: obj as Record<string, string>, options });
      return Promise.resolve();
    },
  };
  return { api, messages };
}

Deno.test("progressLine: 300 updates in 3 s are at most 8 kernel messages of one display, the final state last", () => {
  const { api, messages } = fakeKernel();
  const restore = useJupyterApi(api);
  try {
    let t = 0;
    const line = progressLine({ now: () => t });
    for (let i = 0; i < 300; i++) {
      line.update(`step ${i}`);
      t += 10;
    }
    line.done("finished");
    line.update("ignored after done");
    line.done("ignored too");
    assertEquals(messages.length <= 8, true, `${messages.length} messages`);
    assertEquals(messages.length >= 2, true);
    const ids = new Set(messages.map((m) => m.options?.display_id));
    assertEquals(ids.size, 1);
    assertEquals(messages[0].options?.update, undefined);
    assertEquals(messages.slice(1).every((m) => m.options?.update === true), true);
    assertEquals(messages.at(-1)!.obj["text/plain"], "finished");
  } finally {
    restore();
  }
});

Deno.test("progressLine: done() without text shows the last update even when it was throttled", () => {
  const { api, messages } = fakeKernel();
  const restore = useJupyterApi(api);
  try {
    const line = progressLine({ now: () => 0 });
    line.update("1/3");
    line.update("2/3");
    line.update("3/3");
    line.done();
    assertEquals(messages.map((m) => m.obj["text/plain"]), ["1/3", "3/3"]);
  } finally {
    restore();
  }
});

Deno.test("progressLine: terminal rewrites with \\r; piped output gets only the final line", () => {
  const written: string[] = [];
  let t = 0;
  const term = progressLine({ mode: "terminal", write: (s) => written.push(s), now: () => (t += 200) });
  term.update("a");
  term.update("b");
  term.done();
  assertEquals(written, ["\ra\x1b[K", "\rb\x1b[K", "\rb\x1b[K\n"]);

  const logged: unknown[][] = [];
  const original = console.log;
  console.log = (...args: unknown[]) => logged.push(args);
  try {
    const piped = progressLine({ mode: "lines" });
    piped.update("x");
    piped.update("y");
    piped.done("z");
  } finally {
    console.log = original;
  }
  assertEquals(logged, [["z"]]);
});

Deno.test("statusLine in the kernel: finished lines and the current one are ONE display; a final state is never throttled", async () => {
  const { api, messages } = fakeKernel();
  let t = 0;
  const line = statusLine({ api, displayId: "d1", intervalMs: 1000, now: () => t });
  await line.show(["Epoch 1/2", " 1/4"]);
  t = 10;
  await line.show(["Epoch 1/2", " 2/4"]); // within 1 s: skipped
  t = 20;
  await line.show(["Epoch 1/2", " 4/4 done"], true); // final: sent at once
  assertEquals(messages.map((m) => m.obj["text/plain"]), ["Epoch 1/2\n 1/4", "Epoch 1/2\n 4/4 done"]);
  assertEquals(messages.map((m) => m.options?.display_id), ["d1", "d1"]);
  assertEquals(messages.map((m) => m.options?.update), [undefined, true]);
});

Deno.test("statusLine in a terminal: each finished line written once, the current one redrawn with \\r", async () => {
  let out = "";
  const line = statusLine({ mode: "terminal", intervalMs: 0, write: (s) => out += s });
  await line.show(["Epoch 1/2"]);
  await line.show(["Epoch 1/2", " 1/2"]);
  await line.show(["Epoch 1/2", " 2/2 done"], true);
  await line.show(["Epoch 1/2", " 2/2 done", "Epoch 2/2"]);
  assertEquals(
    out,
    "\rEpoch 1/2\x1b[K" + "\rEpoch 1/2\x1b[K\n\r 1/2\x1b[K" + "\r 2/2 done\x1b[K\n" + "\rEpoch 2/2\x1b[K",
  );
});

Deno.test("statusLine: a kernel that fails to take a message is reported on stderr; the work goes on", async () => {
  const api: JupyterApi = { display: () => Promise.reject(new Error("kernel gone")) };
  const errors: string[] = [];
  const original = console.error;
  console.error = (...args: unknown[]) => errors.push(args.join(" "));
  try {
    await statusLine({ api, intervalMs: 0 }).show(["step 1"], true);
  } finally {
    console.error = original;
  }
  assertEquals(errors, ["output: could not send to Jupyter: Error: kernel gone"]);
});

Deno.test("formats: durations as Keras prints them, byte sizes, Keras' bar", () => {
  assertEquals([7.4, 62, 3723, -3].map(formatDuration), ["7s", "1:02", "1:02:03", "0s"]);
  assertEquals([Infinity, NaN].map(formatDuration), ["?", "?"]);
  assertEquals([0, 1023, 1024, 3_000_000, 5e12].map(formatBytes), [
    "0 B",
    "1023 B",
    "1.0 KB",
    "2.9 MB",
    "4.5 TB",
  ]);
  assertEquals([progressBar(0, 4, 8), progressBar(3, 4, 8), progressBar(5, 4, 8)], [
    "[>.......]",
    "[======>.]",
    "[========]",
  ]);
});
