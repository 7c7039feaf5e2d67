/**
 * TODO runtime
 * @module
 */
export * from "./config.ts";
export * from "./failure_cleanup.ts";
export * from "./interrupt.ts";
export * from "./notebook.ts";
export * from "./output.ts";
// tf.ts re-exports TensorFlow.js' types, among them its `print`: ours is the one this folder means.
export { print } from "./output.ts";
export * from "./quiet_startup.ts";
export * from "./tf.ts";
