/**
 * `npm start`: the local stack, and the agent sampling this host into it with conf/agent.yaml
 * (its state under .stack/agent). Ctrl-C stops the agent, then the servers this command started.
 */
import { spawn } from "node:child_process";
import path from "node:path";
import { describeError, isHostflowError } from "../lib/errors.js";
import type { Interrupts } from "./interrupt.js";
import { stackLayout } from "./stack/layout.js";
import { withLocalStack } from "./stack/stack.js";

const layout = stackLayout();
const say = (line: string) => console.log(`[start] ${line}`);

async function runAgent(interrupts: Interrupts): Promise<number> {
  const dataDir = path.join(layout.root, "agent");
  say(`agent: conf/agent.yaml, state in ${dataDir}; metrics on http://127.0.0.1:9200/metrics`);
  say("watch the samples arrive: kcat -b 127.0.0.1:9092 -C -t hostflow.metrics -f '%k %s\\n'");
  const child = spawn(
    process.execPath,
    ["--import", "tsx", "agent/cli.ts", "run", "-c", "conf/agent.yaml"],
    {
      stdio: "inherit",
      env: { ...process.env, HOSTFLOW_DATA_DIR: dataDir },
      // Its own process group: a terminal's Ctrl-C reaches it once, from here, not twice (a
      // second signal makes the agent exit at once instead of flushing).
      detached: true,
    },
  );
  interrupts.signal.addEventListener("abort", () => child.kill("SIGINT"), { once: true });
  interrupts.onExitNow(() => child.kill("SIGKILL"));
  return new Promise((resolve) => child.on("close", (code) => resolve(code ?? 0)));
}

withLocalStack(layout, ["kafka", "hive"], say, runAgent).then(
  (code) => process.exit(code),
  (error: unknown) => {
    if (isHostflowError(error, "HF_INTERRUPTED")) process.exit(130);
    console.error(`[start] ${describeError(error)}`);
    process.exit(1);
  },
);
