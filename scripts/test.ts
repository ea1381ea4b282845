/**
 * `npm test`: builds, lints, brings up the local stack when it does not run yet (and stops what
 * it started at the end), then runs every ava test. Arguments go to ava (`npm test -- test/lib`).
 * KAFKA_BROKERS / HIVE_HOST point the tests at an existing cluster instead of the local stack.
 */
import { spawn } from "node:child_process";
import { describeError, isHostflowError } from "../lib/errors.js";
import type { Interrupts } from "./interrupt.js";
import { stackLayout } from "./stack/layout.js";
import { withLocalStack } from "./stack/stack.js";

const say = (line: string) => console.log(`[test] ${line}`);

function run(
  command: string,
  args: string[],
  onLine?: (line: string) => void,
  interrupts?: Interrupts,
): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      stdio: ["ignore", onLine ? "pipe" : "inherit", "inherit"],
    });
    const stop = () => child.kill("SIGINT");
    interrupts?.signal.addEventListener("abort", stop, { once: true });
    interrupts?.onExitNow(() => child.kill("SIGKILL"));
    let pending = "";
    child.stdout?.on("data", (chunk: Buffer) => {
      process.stdout.write(chunk);
      const lines = (pending + chunk.toString()).split("\n");
      pending = lines.pop() ?? "";
      for (const line of lines) onLine?.(line);
    });
    child.on("error", reject);
    child.on("close", (code, signal) => {
      interrupts?.signal.removeEventListener("abort", stop);
      if (pending) onLine?.(pending);
      resolve(code ?? (signal ? 128 : 1));
    });
  });
}

async function main(): Promise<number> {
  say("build (tsc)");
  if ((await run("npx", ["tsc", "-p", "tsconfig.json"])) !== 0) return 1;
  say("lint (biome)");
  if ((await run("npx", ["biome", "check", "--error-on-warnings", "."])) !== 0) return 1;

  const layout = stackLayout();
  // The end-to-end tests (*.e2e.test.ts: the whole demo, the dashboard in Chromium) start
  // agents, collectors and a browser: they run in a pass of their own after the others, so that
  // on two cores they do not starve the timing-sensitive tests. Arguments replace both passes.
  const args = process.argv.slice(2);
  const passes =
    args.length > 0
      ? [args]
      : [["test/**/*.test.ts", "!test/**/*.e2e.test.ts"], ["test/**/*.e2e.test.ts"]];
  return withLocalStack(layout, ["kafka", "hive"], say, async (interrupts) => {
    const counts = { pass: 0, fail: 0, skip: 0, todo: 0 };
    let code = 0;
    for (const pass of passes) {
      if (interrupts.signal.aborted) break;
      const found = { pass: 0, fail: 0, skip: 0, todo: 0 };
      const exit = await run(
        "npx",
        ["ava", "--tap", ...pass],
        (line) => {
          const m = /^# (pass|fail|skip|todo)\s+(\d+)/.exec(line);
          if (m) found[m[1] as keyof typeof found] = Number(m[2]);
        },
        interrupts,
      );
      if (exit !== 0 && found.fail === 0) found.fail = 1;
      for (const key of Object.keys(counts) as Array<keyof typeof counts>)
        counts[key] += found[key];
      code ||= exit;
    }
    console.log(`\ntests: ${counts.pass} passed, ${counts.fail} failed, ${counts.skip} skipped`);
    return code;
  });
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    if (isHostflowError(error, "HF_INTERRUPTED")) process.exit(130);
    console.error(`[test] ${describeError(error)}`);
    process.exit(1);
  },
);
