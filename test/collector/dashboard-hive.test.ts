/**
 * How often the dashboard asks Hive for the fleet: every cache_ttl, but while the live tail is
 * live every half live_window (the hosts heard from within it are on the page from Kafka; the
 * fleet's queries scan the day's metrics). Hive here is a port that takes each connection and
 * closes it: every ask is a connection that fails at once, counted.
 */
import net from "node:net";
import test from "ava";
import { loadCollectorConfigText } from "../../collector/config/load.js";
import { DashboardData, type LiveSource } from "../../collector/dashboard/data.js";
import type { LiveStore } from "../../collector/dashboard/live-store.js";
import type { LiveState, LiveStatus } from "../../collector/dashboard/live-tail.js";
import { quiet } from "../helpers/collector.js";
import { waitFor } from "../helpers/wait.js";

test("Hive's fleet is asked every cache_ttl, but only every half live_window while the tail is live", async (t) => {
  let connections = 0;
  const hive = net.createServer((socket) => {
    connections++;
    socket.destroy();
  });
  await new Promise<void>((resolve) => hive.listen(0, "127.0.0.1", resolve));
  t.teardown(() => new Promise<void>((resolve) => hive.close(() => resolve())));
  const port = (hive.address() as net.AddressInfo).port;
  const { config } = loadCollectorConfigText(
    `kafka:\n  brokers: [127.0.0.1:9]\nhive:\n  host: 127.0.0.1\n  port: ${port}\n  retries: 0\n` +
      "dashboard:\n  cache_ttl: 100ms\n  live_window: 10m\n",
    "collector.yaml",
    {},
  );
  let state: LiveState = "live";
  const live: LiveSource = {
    store: { hosts: () => [] } as unknown as LiveStore,
    status: () => ({ state }) as unknown as LiveStatus,
  };
  const data = new DashboardData(config, quiet, live);
  t.teardown(() => data.close());
  const ask = () => data.fleet().catch(() => undefined);
  // The first ask fails (no Hive); while live, the page answers from the tail and Hive's failure
  // is kept for 5 minutes, not 100 ms.
  await waitFor("the dashboard never asked Hive", async () => {
    await ask();
    return connections >= 1 ? true : undefined;
  });
  const first = connections;
  const until = Date.now() + 2_000;
  let asks = 0;
  while (Date.now() < until) {
    await ask();
    asks++;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  t.is(connections, first, `${asks} asks over 2 s (20 cache_ttl) while live: Hive asked again`);
  // Kafka down: Hive is all the page has, asked again every cache_ttl.
  state = "down";
  await waitFor("with the tail down, Hive was not asked again every cache_ttl", async () => {
    await ask();
    return connections >= first + 3 ? true : undefined;
  });
  t.pass();
});
