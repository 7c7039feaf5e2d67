/**
 * TODO model
 * @module
 */
export * from "./augment.ts";
export * from "./classifier.ts";
export * from "./inference_export.ts";
export * from "./inference_model.ts";
export * from "./losses.ts";
export * from "./mobilenet_v2.ts";
export * from "./model_io.ts";
export * from "./optimizers.ts";
export * from "./summary.ts";
