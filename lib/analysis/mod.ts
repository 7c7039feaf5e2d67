/**
 * TODO analysis
 * @module
 */
export * from "./display.ts";
export * from "./interpret.ts";
export * from "./plot.ts";
