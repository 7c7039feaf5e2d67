/**
 * Python's `str.format` for the placeholders Keras' `ModelCheckpoint` fills in its `filepath`:
 * `{name}` and `{name:spec}` with a numeric spec `[0][width][.precision][type]`, type `d`, `f`, `e`, `g`
 * or `%` (e.g. `{epoch:02d}`, `{val_loss:.2f}`); `{{` and `}}` are literal braces.
 *
 * @module
 */

/** `value` as Python formats it with `spec` (`02d`, `.4f`, `.3e`, `g`, `.1%`, or empty). */
function formatNumber(value: number, spec: string, name: string): string {
  const m = /^(0)?(\d+)?(?:\.(\d+))?([dfeg%])?$/.exec(spec);
  if (!m) throw new Error(`unsupported format spec "${spec}" for {${name}}`);
  const [, zero, width, precision, type] = m;
  const p = precision === undefined ? undefined : Number(precision);
  let text: string;
  switch (type) {
    case "d":
      if (!Number.isInteger(value)) {
        throw new Error(`ValueError: format code 'd' for a non-integer {${name}}`);
      }
      text = String(value);
      break;
    case "f":
      text = value.toFixed(p ?? 6);
      break;
    case "%":
      text = `${(value * 100).toFixed(p ?? 6)}%`;
      break;
    case "e":
      text = value.toExponential(p ?? 6).replace(/e([+-])(\d)$/, "e$10$2");
      break;
    default:
      text = type === "g" || p !== undefined ? String(Number(value.toPrecision(p || 6))) : String(value);
  }
  if (width === undefined || text.length >= Number(width)) return text;
  if (!zero) return text.padStart(Number(width));
  const sign = text.startsWith("-") ? "-" : "";
  return sign + text.slice(sign.length).padStart(Number(width) - sign.length, "0");
}

/**
 * `template` with each `{name[:spec]}` replaced from `values`; a missing name is a `KeyError` as in Python.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { pythonFormat } from "./mod.ts";
 *
 * assert.strictEqual(pythonFormat("ckpt/{epoch:02d}-{val_loss:.2f}", { epoch: 3, val_loss: 0.41666 }), "ckpt/03-0.42");
 * assert.throws(() => pythonFormat("{val_acc}", { epoch: 1 }), /KeyError: 'val_acc'/);
 * ```
 */
export function pythonFormat(template: string, values: Record<string, number>): string {
  return template.replace(/\{\{|\}\}|\{([^{}:]*)(?::([^{}]*))?\}/g, (whole, name, spec) => {
    if (whole === "{{") return "{";
    if (whole === "}}") return "}";
    if (!(name in values)) throw new Error(`KeyError: '${name}'`);
    return formatNumber(values[name], spec ?? "", name);
  });
}
