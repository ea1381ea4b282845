import { spawn } from "node:child_process";
import { setTimeout as sleep } from "node:timers/promises";
import test from "ava";
import { loadCollectorConfig } from "../../collector/config/load.js";
import { HiveStore } from "../../collector/hive/store.js";
import { portInUse } from "../../scripts/stack/ports.js";
import { endpoints, quiet, webHdfs } from "../helpers/collector.js";
import { deleteTopic } from "../helpers/kafka.js";
import { uniqueName } from "../helpers/names.js";
import { freePort } from "../helpers/ports.js";

test("npm run demo: the fleet's history loaded, the report printed, the dashboard served; SIGINT stops all it started", async (t) => {
  t.timeout(10 * 60_000);
  const database = uniqueName("hf_demo");
  const agentPort = await freePort();
  const env = { ...process.env, DEMO_DATABASE: database };
  const demo = spawn(
    process.execPath,
    [
      "--import",
      "tsx",
      "scripts/demo.ts",
      ...["--hosts", "6", "--history", "20m", "--port", "0", "--agent-port", String(agentPort)],
    ],
    { env, stdio: ["ignore", "pipe", "pipe"] },
  );
  let out = "";
  demo.stdout.on("data", (chunk: Buffer) => {
    out += chunk.toString();
  });
  demo.stderr.on("data", (chunk: Buffer) => {
    out += chunk.toString();
  });
  const exited = new Promise<number | null>((resolve) => demo.on("close", resolve));
  t.teardown(async () => {
    if (demo.exitCode === null) demo.kill("SIGKILL");
    const topic = /topic (hostflow\.demo-\d+)/.exec(out)?.[1];
    if (topic) await deleteTopic(endpoints.kafkaBrokers, topic).catch(() => undefined);
    const { config } = loadCollectorConfig("conf/demo/collector.yaml", env);
    const store = await HiveStore.open(config.hive, quiet);
    await store.dropDatabase(webHdfs).catch(() => undefined);
    await store.close();
  });

  let url: string | undefined;
  while (url === undefined && demo.exitCode === null) {
    url = /\[demo\] dashboard: (http\S+)/.exec(out)?.[1];
    await sleep(500);
  }
  if (url === undefined)
    t.fail(`the demo ended before serving the dashboard:\n${out.slice(-3000)}`);
  // 6 simulated hosts and this one; a CPU hog, a filling disk, a silent host, a lossy agent.
  t.regex(out, /Fleet health at [^:]+:\d\d UTC: 7 hosts, [1-7] flagged/);
  t.regex(out, /sim-\d+ .*cpu \d+\.\d% > 90%/);
  t.regex(out, /sim-\d+ .*silent \d+ min/);
  t.regex(out, /sim-\d+ .*\d+ gaps?/);

  const page = await fetch(url as string);
  t.is(page.status, 200);
  t.regex(page.headers.get("content-type") ?? "", /text\/html/);
  const fleet = await fetch(new URL("/api/fleet", url));
  t.is(fleet.status, 200);
  const body = JSON.stringify(await fleet.json());
  for (let i = 1; i <= 6; i++) t.true(body.includes(`"sim-00${i}"`), `sim-00${i} in /api/fleet`);

  demo.kill("SIGINT");
  t.is(await exited, 0, out.slice(-2000));
  const dashboardPort = Number(new URL(url as string).port);
  t.false(await portInUse(agentPort), "the agent stopped");
  t.false(await portInUse(dashboardPort), "the dashboard stopped");
});
