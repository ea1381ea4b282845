import { createFileChannel } from "./channels/file/index.js";
import { createMemoryChannel } from "./channels/memory.js";
import { createFilterInterceptor } from "./interceptors/filter.js";
import { createHostInterceptor } from "./interceptors/host.js";
import { createStaticInterceptor } from "./interceptors/static.js";
import { createTimestampInterceptor } from "./interceptors/timestamp.js";
import type { ComponentRegistry } from "./registry.js";
import { createFileRollSink } from "./sinks/file_roll.js";
import { createKafkaSink } from "./sinks/kafka.js";
import { createLoggerSink } from "./sinks/logger.js";
import { createNullSink } from "./sinks/null.js";
import { createSequenceSource } from "./sources/sequence.js";
import { createSyntheticSource } from "./sources/synthetic.js";
import { createSysinfoSource } from "./sources/sysinfo.js";

/** Every component type the agent ships, by the name a config's `type:` uses. */
export function defaultRegistry(): ComponentRegistry {
  return {
    sources: {
      sysinfo: (name, options, ctx) => createSysinfoSource(name, options, ctx),
      synthetic: createSyntheticSource,
      sequence: createSequenceSource,
    },
    channels: {
      memory: createMemoryChannel,
      file: createFileChannel,
    },
    sinks: {
      kafka: (name, options, ctx) => createKafkaSink(name, options, ctx),
      logger: (name, options, ctx) => createLoggerSink(name, options, ctx),
      file_roll: (name, options, ctx) => createFileRollSink(name, options, ctx),
      null: createNullSink,
    },
    interceptors: {
      host: createHostInterceptor,
      timestamp: createTimestampInterceptor,
      static: createStaticInterceptor,
      filter: (options, ctx) => createFilterInterceptor(options, ctx),
    },
  };
}
