import type {
  ChannelConfig,
  InterceptorConfig,
  SinkConfig,
  SourceConfig,
} from "./config/schema.js";
import type { Channel, ComponentContext, Interceptor, Sink, Source } from "./core/types.js";

type Factories<Config extends { type: string }, Made> = {
  [Type in Config["type"]]: (
    name: string,
    options: Extract<Config, { type: Type }>,
    ctx: ComponentContext,
  ) => Made;
};

/**
 * The component types an agent can build, by type name: what a `type:` in the flow config
 * names. One registry per agent instance (tests build agents with their own).
 */
export interface ComponentRegistry {
  sources: Factories<SourceConfig, Source>;
  channels: Factories<ChannelConfig, Channel>;
  sinks: Factories<SinkConfig, Sink>;
  interceptors: {
    [Type in InterceptorConfig["type"]]: (
      options: Extract<InterceptorConfig, { type: Type }>,
      ctx: ComponentContext,
    ) => Interceptor;
  };
}

/** Builds a component from its config through the registry entry its `type` names. */
export function build<Config extends { type: string }, Made>(
  factories: Factories<Config, Made>,
  name: string,
  config: Config,
  ctx: ComponentContext,
): Made {
  const factory = factories[config.type as Config["type"]] as (
    n: string,
    o: Config,
    c: ComponentContext,
  ) => Made;
  return factory(name, config, ctx);
}

export function buildInterceptor(
  registry: ComponentRegistry,
  config: InterceptorConfig,
  ctx: ComponentContext,
): Interceptor {
  const factory = registry.interceptors[config.type] as (
    o: InterceptorConfig,
    c: ComponentContext,
  ) => Interceptor;
  return factory(config, ctx);
}
