import os from "node:os";
import path from "node:path";
import type { Env } from "../../lib/config/interpolate.js";
import {
  type ConfigSpec,
  type LoadedConfig,
  loadConfigFile,
  loadConfigText,
} from "../../lib/config/load.js";
import { type ConfigValidator, schemaDigest, validatorFrom } from "../../lib/config/validator.js";
import { checkAgentConfig } from "./checks.js";
import type { AgentConfig, FileChannelConfig, MemoryChannelConfig } from "./schema.js";
import { AgentConfig as AgentConfigSchema } from "./schema.js";

/** The agent config once loaded: every default applied, including those the schema cannot give. */
export type ResolvedAgentConfig = Omit<AgentConfig, "agent" | "channels"> & {
  agent: AgentConfig["agent"] & { id: string };
  channels: Record<string, MemoryChannelConfig | (FileChannelConfig & { dir: string })>;
};

export type LoadedAgentConfig = LoadedConfig<ResolvedAgentConfig>;

export interface LoadAgentConfigOptions {
  /** The default of agent.id; os.hostname() unless given (tests). */
  hostname?: string;
}

/**
 * The agent's validator, made once per process at import. `npm run build` writes the code Ajv
 * generates from the schema (scripts/package/validator.ts →
 * dist/agent/config/validate.generated.js, which the bundle includes), so an installed agent
 * does not load Ajv's compiler nor spend ~0.2 s of CPU compiling the schema at every start.
 * From source (tsx, the tests), or when that file was made from another schema (a bare tsc after
 * a schema change), the schema is compiled now, as before.
 */
async function agentValidator(): Promise<ConfigValidator> {
  try {
    const generated = await import("./validate.generated.js");
    if (generated.schemaDigest === schemaDigest(AgentConfigSchema)) {
      return validatorFrom(AgentConfigSchema, generated.default);
    }
  } catch (error) {
    const missing =
      (error as NodeJS.ErrnoException).code === "ERR_MODULE_NOT_FOUND" &&
      String((error as Error).message).includes("validate.generated");
    if (!missing) throw error;
  }
  const { compileConfigSchema } = await import("../../lib/config/validate.js");
  return compileConfigSchema(AgentConfigSchema);
}

const validator = await agentValidator();

function agentSpec(options: LoadAgentConfigOptions): ConfigSpec<AgentConfig, ResolvedAgentConfig> {
  return {
    validator,
    check: checkAgentConfig,
    complete: (config) => ({
      ...config,
      agent: { ...config.agent, id: config.agent.id ?? options.hostname ?? os.hostname() },
      channels: Object.fromEntries(
        Object.entries(config.channels).map(([name, channel]) => [
          name,
          channel.type === "file"
            ? { ...channel, dir: channel.dir ?? path.join(config.agent.data_dir, "channels", name) }
            : channel,
        ]),
      ),
    }),
  };
}

/**
 * Loads the agent's flow config: YAML with ${VAR} interpolation from `env`, validated against
 * agent/config/schema.ts and the flow's own rules, with defaults applied (agent.id: the host
 * name; a file channel's dir: <agent.data_dir>/channels/<name>), durations in milliseconds and
 * sizes in bytes, deep-frozen. Synchronous: it runs once, before the agent starts anything.
 *
 * Throws HF_CONFIG_READ (HostflowError), HF_CONFIG_PARSE or HF_CONFIG_INVALID (ConfigError:
 * `.issues`, `.formatIssues()`, every error at once). Warnings come back in the result.
 */
export function loadAgentConfig(
  file: string,
  env: Env = process.env,
  options: LoadAgentConfigOptions = {},
): LoadedAgentConfig {
  return loadConfigFile(file, agentSpec(options), env);
}

/** As loadAgentConfig, for YAML text; `file` is the name issues show. */
export function loadAgentConfigText(
  text: string,
  file: string,
  env: Env = process.env,
  options: LoadAgentConfigOptions = {},
): LoadedAgentConfig {
  return loadConfigText(text, file, agentSpec(options), env);
}
