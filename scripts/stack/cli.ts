import { rm } from "node:fs/promises";
import { runCli } from "../../lib/cli.js";
import { HIVE_FLAVORS, type HiveFlavor, hiveFlavorFromEnv } from "./hive.js";
import { BROKER_COUNTS, type BrokerCount } from "./kafka.js";
import { stackLayout } from "./layout.js";
import { GROUP_NAMES, type GroupName, stackDown, stackStatus, stackUp } from "./stack.js";

const say = (line: string) => console.log(line);
const layout = stackLayout();

const onlyOption = {
  choices: GROUP_NAMES,
  array: true,
  describe: "limit to these parts of the stack",
} as const;

await runCli(
  "npm run stack --",
  "The local Kafka (KRaft), HDFS and HiveServer2 (Apache Hive, or Spark's Thrift Server) on 127.0.0.1; HOSTFLOW_STACK_PORTS moves the ports, HOSTFLOW_STACK_DIR the folder.",
  (y) =>
    y
      .command(
        "up",
        "start the stack (idempotent) and wait until it answers",
        (y) =>
          y
            .option("brokers", {
              choices: BROKER_COUNTS,
              default: 1 as BrokerCount,
              describe: "Kafka nodes: 1 (127.0.0.1:9092) or 3 (9092, 9094, 9096)",
              coerce: (value: unknown) => Number(value) as BrokerCount,
            })
            .option("hive", {
              choices: HIVE_FLAVORS,
              default: hiveFlavorFromEnv(),
              describe:
                "the HiveServer2: Apache Hive 4 (Tez, local) or Spark's Thrift Server (default: HOSTFLOW_STACK_HIVE, else apache)",
            })
            .option("only", onlyOption),
        async (argv) => {
          const groups = await stackUp(layout, {
            brokers: argv.brokers,
            hive: argv.hive as HiveFlavor,
            groups: argv.only as GroupName[] | undefined,
            say,
          });
          for (const g of groups) {
            const how =
              g.started.length > 0 ? `ready in ${g.seconds.toFixed(1)} s` : "already running";
            say(`${g.name.padEnd(6)} ${g.endpoint.padEnd(52)} ${how}`);
          }
          say(`logs in ${layout.root}/logs; stop with: npm run stack -- down`);
        },
      )
      .command(
        "down",
        "stop what `up` started",
        (y) =>
          y.option("only", onlyOption).option("wipe", {
            type: "boolean",
            default: false,
            describe: "also delete the stack's data (topics, tables)",
          }),
        async (argv) => {
          await stackDown(layout, { groups: argv.only as GroupName[] | undefined, say });
          if (argv.wipe) {
            await rm(`${layout.root}/data`, { recursive: true, force: true });
            say(`deleted ${layout.root}/data`);
          }
          say("stack stopped");
        },
      )
      .command(
        "status",
        "say what runs (exit 0: all, 1: some, 3: none)",
        () => undefined,
        async () => {
          const services = await stackStatus(layout);
          for (const s of services) {
            const ports = s.ports
              .map((p) => `${p.port} ${p.answers ? "answers" : "closed"}`)
              .join(", ");
            say(
              `${s.name.padEnd(8)} ${s.pid === undefined ? "stopped" : `pid ${s.pid}`.padEnd(10)}  ${ports}`,
            );
          }
          const up = services.filter((s) => s.pid !== undefined).length;
          process.exitCode = up === services.length ? 0 : up === 0 ? 3 : 1;
        },
      ),
);
