/**
 * TODO train
 * @module
 */
export * from "./batch_checks.ts";
export * from "./fit.ts";
export * from "./progress.ts";
export * from "./train_graph.ts";
export * from "./validation_cache.ts";
