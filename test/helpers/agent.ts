import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { defaultRegistry } from "../../agent/components.js";
import { loadAgentConfigText } from "../../agent/config/load.js";
import { Agent } from "../../agent/runtime/agent.js";
import { createLogger } from "../../lib/log.js";
import { sleep } from "../../lib/timeout.js";

/** An agent built from YAML text as `run` would build it (validated, defaults applied). */
export function agentFromYaml(yaml: string, env: NodeJS.ProcessEnv = {}): Agent {
  const { config } = loadAgentConfigText(
    yaml,
    "test.yaml",
    { ...process.env, ...env },
    { hostname: "test-host" },
  );
  return new Agent(config, defaultRegistry(), createLogger("test-agent", "silent"));
}

/** The value of hostflow_events_total for one component and outcome. */
export function eventCount(agent: Agent, component: string, outcome: string): Promise<number> {
  return agent.metrics.total(component, outcome);
}

export async function waitFor(
  what: string,
  check: () => Promise<boolean> | boolean,
  timeoutMs = 30_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(50);
  }
}

export async function tempDir(
  t: { teardown(fn: () => Promise<void>): void },
  prefix = "hostflow-agent-",
): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), prefix));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return dir;
}
