#!/usr/bin/env node
import { checkEndpoints, reportChecks, runCli } from "../lib/cli.js";

await runCli(
  "hostflow-collector",
  "Consumes host samples from Kafka, aggregates them and loads them into Hive.",
  (y) =>
    y.command(
      "check",
      "ask Kafka (KAFKA_BROKERS) for its metadata and HiveServer2 (HIVE_HOST, HIVE_PORT) to run SELECT 1",
      () => undefined,
      async () => reportChecks(await checkEndpoints(undefined, { kafka: true, hive: true })),
    ),
);
