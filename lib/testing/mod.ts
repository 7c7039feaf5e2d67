/**
 * TODO testing
 * @module
 */
export * from "./tiny.ts";
