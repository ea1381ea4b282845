import type { InterceptorConfig } from "../config/schema.js";

/** The config of the interceptor of type T, as its factory receives it (defaults applied). */
export type InterceptorOptions<T extends InterceptorConfig["type"]> = Extract<
  InterceptorConfig,
  { type: T }
>;
