import { assertEquals } from "../_assert.ts";
import {
  display,
  formatParts,
  type JupyterApi,
  print,
  sendAllowanceMs,
  settled,
  useJupyterApi,
} from "../../lib/runtime/output.ts";

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

Deno.test("print: a 300-line block is one message in the kernel", () => {
  const { api, messages } = fakeKernel();
  const restore = useJupyterApi(api);
  try {
    const lines = Array.from({ length: 300 }, (_, i) => `line ${i}`);
    print(lines.join("\n"));
    print("shape", [32, 5, 5, 1280]);
    assertEquals(messages.length, 2);
    assertEquals(messages[0].obj["text/plain"].split("\n").length, 300);
    assertEquals(messages[0].options?.raw, true);
    assertEquals(messages[1].obj["text/plain"], "shape [ 32, 5, 5, 1280 ]");
  } finally {
    restore();
  }
});

Deno.test("print: outside the kernel it is console.log", () => {
  const restore = useJupyterApi(null);
  const logged: unknown[][] = [];
  const original = console.log;
  console.log = (...args: unknown[]) => logged.push(args);
  try {
    print("a", 1);
  } finally {
    console.log = original;
    restore();
  }
  assertEquals(logged, [["a", 1]]);
});

Deno.test("formatParts: strings as they are, values inspected", () => {
  assertEquals(formatParts(["x:", 3, { a: 1 }]), "x: 3 { a: 1 }");
});

Deno.test("display: one message; a large bundle waits for the kernel to send it before resolving", async () => {
  const { api, messages } = fakeKernel();
  const restore = useJupyterApi(api);
  try {
    await display({ "text/plain": "small" });
    const big = { "text/plain": "chart", "image/svg+xml": "x".repeat(1_000_000) };
    const t0 = performance.now();
    await display(big);
    const waited = performance.now() - t0;
    assertEquals(messages.length, 2);
    assertEquals(messages[1].obj, big);
    assertEquals(waited >= sendAllowanceMs(1_000_000) - 5, true, `resolved after ${waited} ms`);
  } finally {
    restore();
  }
  assertEquals(sendAllowanceMs(2_000), 0);
  assertEquals(sendAllowanceMs(3_000_000) >= 400, true);
});

Deno.test("settled: resolves once the kernel had time to send the last print; at once outside the kernel", async () => {
  const restore = useJupyterApi(null);
  try {
    const t0 = performance.now();
    print("outside");
    await settled();
    assertEquals(performance.now() - t0 < 50, true);
  } finally {
    restore();
  }
  const { api, messages } = fakeKernel();
  const undo = useJupyterApi(api);
  try {
    const t0 = performance.now();
    assertEquals(print("the last line of a cell"), undefined, "print returns nothing, like Python's");
    await settled();
    assertEquals(messages.length, 1);
    assertEquals(performance.now() - t0 >= 95, true, `resolved after ${performance.now() - t0} ms`);
  } finally {
    undo();
  }
});
