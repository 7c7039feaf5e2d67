/**
 * A `deno lint` plugin (deno.json `lint.plugins`): a function in `lib/` longer than {@link MAX_LINES} lines
 * is reported, so that the library stays readable one function at a time. Tests, tools and benchmarks
 * are not held to it.
 *
 * @module
 */

/** The longest function `lib/` keeps, in lines from its first to its last. */
export const MAX_LINES = 60;

type Ranged = { range: [number, number] };

const plugin: Deno.lint.Plugin = {
  name: "project",
  rules: {
    "function-length": {
      create(context) {
        if (!/[\\/]lib[\\/]/.test(context.filename)) return {};
        const text = context.sourceCode.text;
        const lineOf = (offset: number) => text.slice(0, offset).split("\n").length;
        const check = (node: Ranged, name: string) => {
          const lines = lineOf(node.range[1]) - lineOf(node.range[0]) + 1;
          if (lines > MAX_LINES) {
            context.report({
              node: node as never,
              message: `${name} is ${lines} lines, more than ${MAX_LINES}: split it into named steps`,
            });
          }
        };
        return {
          FunctionDeclaration(node) {
            check(node as never, `function ${node.id?.name ?? "(anonymous)"}`);
          },
          FunctionExpression(node) {
            check(node as never, "a function expression");
          },
          ArrowFunctionExpression(node) {
            check(node as never, "an arrow function");
          },
        };
      },
    },
  },
};

export default plugin;
