/**
 * TODO data
 * @module
 */
export * from "./batch_decoder.ts";
export * from "./image_cache.ts";
export * from "./image_dataset.ts";
export * from "./image_decode.ts";
export * from "./image_files.ts";
