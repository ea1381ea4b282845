#!/usr/bin/env node
import { checkEndpoints, reportChecks, runCli } from "../lib/cli.js";

await runCli(
  "hostflow-agent",
  "Samples this host's health and produces it to Kafka, following a YAML flow config.",
  (y) =>
    y.command(
      "check",
      "ask the Kafka cluster (KAFKA_BROKERS, default 127.0.0.1:9092) for its metadata",
      () => undefined,
      async () => reportChecks(await checkEndpoints(undefined, { kafka: true, hive: false })),
    ),
);
