/**
 * TODO graph
 * @module
 */
export * from "./frozen_graph.ts";
export * from "./graph_session.ts";
export * from "./layer_kinds.ts";
