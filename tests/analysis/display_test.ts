import { assert, assertEquals, assertMatch, assertRejects } from "../_assert.ts";
import { tf } from "../../lib/runtime/tf.ts";
import type { Tensor4D } from "../../lib/runtime/tf.ts";
import { chartBundle, describeSpec, renderSvg, show } from "../../lib/analysis/display.ts";
import { jupyterApi } from "../../lib/runtime/output.ts";
import { imageGridSpec, learningCurvesSpec } from "../../lib/analysis/plot.ts";
import { dataMapSpec } from "../../lib/analysis/data_map.ts";
import type { TopLevelSpec } from "../../lib/analysis/plot.ts";

const history = {
  accuracy: [0.6, 0.8, 0.9, 0.93],
  val_accuracy: [0.7, 0.85, 0.92, 0.95],
  loss: [0.7, 0.45, 0.3, 0.2],
  val_loss: [0.6, 0.4, 0.28, 0.22],
};

/** Checks that every tag in `svg` is closed in order: a small XML well-formedness check. */
function assertBalanced(svg: string) {
  const stack: string[] = [];
  for (const [, close, name, selfClosing] of svg.matchAll(/<(\/?)([a-zA-Z][\w:-]*)[^>]*?(\/?)>/g)) {
    if (selfClosing) continue;
    if (!close) stack.push(name);
    else assertEquals(stack.pop(), name, `</${name}> closes the wrong element`);
  }
  assertEquals(stack, [], "unclosed elements");
}

Deno.test("renderSvg draws the learning curves: both panels, lines, legends and the fine-tuning rule", async () => {
  const svg = await renderSvg(learningCurvesSpec(history, { fineTuneAt: 2 }));
  assertMatch(svg, /^<svg [^>]*xmlns="http:\/\/www\.w3\.org\/2000\/svg"[^>]*width="\d+" height="\d+"/);
  assert(svg.endsWith("</svg>"));
  assertBalanced(svg);
  for (
    const text of ["Training and Validation Accuracy", "Training and Validation Loss", "Start Fine Tuning"]
  ) {
    assert(svg.includes(`>${text}</text>`), `missing text ${text}`);
  }
  for (
    const text of ["Training Accuracy", "Validation Accuracy", "Training Loss", "Validation Loss", "epoch"]
  ) {
    assert(svg.includes(`>${text}</text>`), `missing text ${text}`);
  }
  // Two lines per panel and one rule per panel.
  assertEquals(
    svg.match(/<path aria-label="[^"]*" role="graphics-symbol" aria-roledescription="line mark"/g)?.length,
    4,
  );
  assertEquals(svg.match(/aria-roledescription="rule mark"/g)?.length, 2);
  // The accuracy axis runs from 0.6 (the lowest accuracy, rounded down) to 1.0, the loss axis from 0.0.
  assert(svg.includes(">0.6</text>") && svg.includes(">1.0</text>") && svg.includes(">0.0</text>"));
});

Deno.test("renderSvg embeds each grid image as a PNG data URL with its title", async () => {
  const images = tf.tidy(() => tf.randomUniform([9, 8, 8, 3], 0, 255, "float32", 7)) as Tensor4D;
  const titles = ["cats", "dogs", "cats", "dogs", "dogs", "cats", "cats", "cats", "dogs"];
  const svg = await renderSvg(await imageGridSpec(images, titles, { title: "Samples", size: 64 }));
  images.dispose();
  assertBalanced(svg);
  const hrefs = [...svg.matchAll(/<image [^>]*href="(data:[^"]*)"[^>]*width="64" height="64"/g)].map((m) =>
    m[1]
  );
  assertEquals(hrefs.length, 9);
  assert(hrefs.every((h) => h.startsWith("data:image/png;base64,")));
  assertEquals(new Set(hrefs).size, 9, "each tile shows its own image");
  assertEquals(svg.match(/>cats<\/text>/g)?.length, 5);
  assertEquals(svg.match(/>dogs<\/text>/g)?.length, 4);
  assert(svg.includes(">Samples</text>"));
});

Deno.test("chartBundle is exactly Vega-Lite + SVG + text, never HTML", async () => {
  const spec = learningCurvesSpec(history);
  const bundle = await chartBundle(spec);
  assertEquals(Object.keys(bundle).sort(), [
    "application/vnd.vegalite.v5+json",
    "image/svg+xml",
    "text/plain",
  ]);
  assertEquals(bundle["application/vnd.vegalite.v5+json"], spec);
  // Vega numbers clip paths per process: two renders differ only in those ids.
  const clipIds = (svg: string) => svg.replace(/clip\d+/g, "clip");
  assertEquals(clipIds(bundle["image/svg+xml"]), clipIds(await renderSvg(spec)));
  assertEquals(bundle["text/plain"], "[Vega-Lite chart] Learning curves over 4 epochs");
  // The bundle must survive the JSON of a Jupyter message unchanged.
  assertEquals(JSON.parse(JSON.stringify(bundle)), bundle);
  assertEquals(
    describeSpec({ title: { text: "T" }, description: "d", mark: "point" } as TopLevelSpec),
    "[Vega-Lite chart] T: d",
  );
});

Deno.test("renderSvg names a spec that does not compile", async () => {
  await assertRejects(
    () =>
      renderSvg(
        { mark: "point", encoding: { x: { field: "a", type: "nonsense" } } } as unknown as TopLevelSpec,
      ),
    Error,
    "the Vega-Lite spec does not compile",
  );
});

Deno.test("show outside a kernel prints the text line and resolves to nothing", async () => {
  assertEquals(jupyterApi(), undefined);
  const printed: unknown[] = [];
  const log = console.log;
  console.log = (...args: unknown[]) => printed.push(...args);
  let result: unknown;
  try {
    result = await show(learningCurvesSpec(history));
  } finally {
    console.log = log;
  }
  assertEquals(result, undefined);
  assertEquals(printed, ["[Vega-Lite chart] Learning curves over 4 epochs"]);
});

Deno.test("chartBundle: tooltip pictures stay in the Vega-Lite spec, out of the SVG's labels", async () => {
  const image = `data:image/jpeg;base64,${"QUJD".repeat(50)}`;
  // Vega-Lite's default aria-label of a point lists its tooltip fields: the data URL too.
  const spec: TopLevelSpec = {
    data: { values: [{ x: 0, name: "cats/1.jpg", image }, { x: 1, name: "dogs/2.jpg" }] },
    mark: "point",
    encoding: { x: { field: "x", type: "quantitative" }, tooltip: [{ field: "image" }, { field: "name" }] },
  };
  const bundle = await chartBundle(spec);
  assertEquals(bundle["application/vnd.vegalite.v5+json"], spec, "the picture in the spec");
  assert(!bundle["image/svg+xml"].includes("data:image"), "no picture data in the SVG");
  assert(bundle["image/svg+xml"].includes("name: cats/1.jpg"), "the SVG's labels name the file");
  assertEquals((spec.data as { values: { image?: string }[] }).values[0].image, image, "spec left as it was");
  // The map of the data: the same.
  const map = dataMapSpec([{ x: 0, y: 0, label: "cats", predicted: "cats", name: "cats/1.jpg", image }]);
  const mapBundle = await chartBundle(map);
  assert(JSON.stringify(mapBundle["application/vnd.vegalite.v5+json"]).includes(image));
  assert(!mapBundle["image/svg+xml"].includes("data:image"));
});
