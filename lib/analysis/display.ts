/**
 * Shows Vega-Lite specs in the Deno Jupyter kernel as one MIME bundle: the spec itself
 * (`application/vnd.vegalite.v5+json`, drawn by JupyterLab's Vega extension), a static SVG rendered
 * headless with Vega (`image/svg+xml`, for HTML exports and viewers without Vega) and a one-line
 * `text/plain`. No `text/html`: JupyterLab would prefer it over the chart.
 *
 * @module
 */
import * as vega from "vega";
import * as vegaLite from "vega-lite";
import { display } from "../runtime/mod.ts";

/**
 * A Vega-Lite v5 specification, as `plot.ts` builds them and {@link show} takes them: vega-lite's
 * `TopLevelSpec`, typed by its top-level fields only (vega-lite checks the rest when it compiles the spec).
 */
export interface TopLevelSpec {
  /** The Vega-Lite schema URL. */
  $schema?: string;
  /** The chart's title: text, or `{ text, … }`. */
  title?: string | { text?: string | string[]; [key: string]: unknown };
  /** What the chart shows, in words (the text shown where charts are not drawn). */
  description?: string;
  /** The rest of the spec: `data`, `mark`, `encoding`, `layer`, `concat`, `config`, … */
  [key: string]: unknown;
}

/** The MIME bundle of one chart. */
export interface ChartBundle {
  /** The spec, drawn by JupyterLab's Vega extension. */
  "application/vnd.vegalite.v5+json": TopLevelSpec;
  /** The chart rendered headless, for HTML exports and viewers without Vega. */
  "image/svg+xml": string;
  /** One line: the title and description. */
  "text/plain": string;
  /** Other representations. */
  [mime: string]: unknown;
}

/**
 * A Vega-Lite spec compiled to a Vega spec (`vega-lite`'s `compile`), for a page that draws it with the
 * Vega runtime alone. The caller's spec is left as it was; `what` names the caller in the error.
 */
export function compileToVega(spec: TopLevelSpec, what = "compileToVega"): vega.Spec {
  try {
    // Vega tags inline data objects with ids: compile a copy so the caller's spec stays as it was.
    return vegaLite.compile(structuredClone(spec) as unknown as vegaLite.TopLevelSpec).spec;
  } catch (e) {
    throw new Error(`${what}: the Vega-Lite spec does not compile: ${e instanceof Error ? e.message : e}`, {
      cause: e,
    });
  }
}

/** Renders a Vega-Lite spec to SVG without a browser (Vega's headless `View.toSVG`). */
export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  const compiled = compileToVega(spec, "renderSvg");
  const view = new vega.View(vega.parse(compiled), { renderer: "none" });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/**
 * A one-line text description of a spec: its title and description.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { describeSpec } from "./mod.ts";
 *
 * assert.equal(describeSpec({ title: "Loss", description: "10 epochs" }), "[Vega-Lite chart] Loss: 10 epochs");
 * ```
 */
export function describeSpec(spec: TopLevelSpec): string {
  const title = typeof spec.title === "string" ? spec.title : [spec.title?.text ?? []].flat().join(" ");
  return `[Vega-Lite chart] ${[title, spec.description].filter(Boolean).join(": ")}`;
}

/**
 * `spec` for a static SVG: without tooltip fields named `image` — pictures in a live Vega tooltip
 * (`vega-tooltip`, JupyterLab's), but long data URLs in an SVG's text tooltips — nor their inline values.
 */
function withoutImageTooltips(spec: TopLevelSpec): TopLevelSpec {
  const encoding = spec.encoding as { tooltip?: unknown } | undefined;
  const tooltip = encoding?.tooltip;
  const isImage = (t: unknown) => (t as { field?: unknown } | null)?.field === "image";
  if (!Array.isArray(tooltip) || !tooltip.some(isImage)) return spec;
  const data = spec.data as { values?: unknown } | undefined;
  const values = Array.isArray(data?.values)
    ? { data: { ...data, values: data.values.map(({ image: _, ...rest }) => rest) } }
    : {};
  return { ...spec, ...values, encoding: { ...encoding, tooltip: tooltip.filter((t) => !isImage(t)) } };
}

/**
 * The MIME bundle shown for `spec`; its SVG leaves out tooltip pictures (a tooltip field named `image`),
 * which the Vega-Lite view shows.
 */
export async function chartBundle(spec: TopLevelSpec): Promise<ChartBundle> {
  return {
    "application/vnd.vegalite.v5+json": spec,
    "image/svg+xml": await renderSvg(withoutImageTooltips(spec)),
    "text/plain": describeSpec(spec),
  };
}

/**
 * Displays `spec` as a chart. In the Deno Jupyter kernel it publishes the bundle as one `display_data`
 * output and resolves once it is sent; elsewhere it prints the `text/plain` line (get the SVG itself
 * with {@link renderSvg}). Resolves to nothing, so a cell ending in `await show(…)` adds no second output.
 */
export async function show(spec: TopLevelSpec): Promise<void> {
  await display(await chartBundle(spec));
}
