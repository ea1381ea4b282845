import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, readdir, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { HostflowError } from "../../lib/errors.js";
import { HiveClient } from "../../lib/hive/client.js";
import { orderedClasspath, siteXml } from "./hadoop-conf.js";
import { HDFS_WAREHOUSE, hdfsClientSettings } from "./hdfs.js";
import { tail } from "./jars.js";
import type { StackLayout } from "./layout.js";
import type { Java } from "./prerequisites.js";
import type { ServiceGroup } from "./service.js";

/** Which HiveServer2 the stack runs: Apache Hive (default) or Spark's Thrift Server. */
export type HiveFlavor = "apache" | "spark";
export const HIVE_FLAVORS: readonly HiveFlavor[] = ["apache", "spark"];

/** HOSTFLOW_STACK_HIVE: the HiveServer2 `up`, `npm test` and the demo start (default apache). */
export function hiveFlavorFromEnv(env: NodeJS.ProcessEnv = process.env): HiveFlavor {
  const value = env.HOSTFLOW_STACK_HIVE?.trim() || "apache";
  const flavor = HIVE_FLAVORS.find((f) => f === value);
  if (flavor === undefined) {
    throw new HostflowError(
      "HF_CONFIG_INVALID",
      `HOSTFLOW_STACK_HIVE="${value}" is invalid: expected ${HIVE_FLAVORS.join(" or ")}`,
      { context: { source: "HOSTFLOW_STACK_HIVE", value } },
    );
  }
  return flavor;
}

/**
 * HOSTFLOW_STACK_HIVE_HEAP: HiveServer2's -Xmx (default 2g). Tez runs its tasks inside that JVM,
 * so statements over many millions of rows (the fleet bench's checks and compaction) need more.
 */
export function hiveHeapFromEnv(env: NodeJS.ProcessEnv = process.env): string {
  const value = env.HOSTFLOW_STACK_HIVE_HEAP?.trim() || "2g";
  if (!/^[1-9][0-9]*[mg]$/i.test(value)) {
    throw new HostflowError(
      "HF_CONFIG_INVALID",
      `HOSTFLOW_STACK_HIVE_HEAP="${value}" is invalid: expected a size such as 2g or 6144m`,
      { context: { source: "HOSTFLOW_STACK_HIVE_HEAP", value } },
    );
  }
  return value;
}

/** Where both HiveServer2s keep their tables on the local HDFS. */

/**
 * What HiveServer2 reflects into on JDK 17 (Hive 4.0 supports Java 8 only officially): without
 * these it never comes up, retrying every 60 s.
 */
const JDK17_OPENS = [
  ...[
    "java.lang",
    "java.lang.invoke",
    "java.lang.reflect",
    "java.lang.ref",
    "java.io",
    "java.net",
    "java.nio",
    "java.util",
    "java.util.concurrent",
    "java.util.concurrent.atomic",
    "java.util.regex",
    "java.time",
    "java.text",
    "java.math",
    "sun.nio.ch",
    "sun.nio.cs",
    "sun.security.action",
    "sun.util.calendar",
    "jdk.internal.misc",
  ].map((pkg) => `--add-opens=java.base/${pkg}=ALL-UNNAMED`),
  "--add-opens=java.sql/java.sql=ALL-UNNAMED",
];

const LOG4J2 = `rootLogger.level = warn
rootLogger.appenderRef.stdout.ref = stdout
appender.stdout.type = Console
appender.stdout.name = stdout
appender.stdout.target = SYSTEM_OUT
appender.stdout.layout.type = PatternLayout
appender.stdout.layout.pattern = %d{yyyy-MM-dd HH:mm:ss} %p %c{1}: %m%n%ex
logger.server.name = org.apache.hive.service.server.HiveServer2
logger.server.level = info
logger.thrift.name = org.apache.hive.service.cli.thrift
logger.thrift.level = info
`;

/**
 * hive-site.xml of Apache Hive's HiveServer2 on 127.0.0.1: an embedded Derby metastore under
 * `dataDir`, the warehouse on the local HDFS, Tez in local mode inside the server's JVM,
 * binary transport with authentication NONE (clients still speak SASL PLAIN), no web UI.
 */
export function hiveSettings(
  layout: StackLayout,
  dataDir: string,
): Record<string, string | number | boolean> {
  return {
    "javax.jdo.option.ConnectionURL": `jdbc:derby:;databaseName=${path.join(dataDir, "metastore_db")};create=true`,
    "javax.jdo.option.ConnectionDriverName": "org.apache.derby.jdbc.EmbeddedDriver",
    "hive.metastore.uris": "",
    "hive.metastore.schema.verification": true,
    "datanucleus.schema.autoCreateAll": false,
    "hive.metastore.warehouse.dir": `${HDFS_WAREHOUSE}/managed`,
    "hive.metastore.warehouse.external.dir": `${HDFS_WAREHOUSE}/external`,
    // Tez in local mode keeps each session's DAG outputs (shuffle files) in a local folder at the
    // same path as the session's folder under this one on HDFS, and never deletes it: under
    // /tmp/hive they piled up across stacks and runs (32 GB, and a full disk in a fleet bench).
    // A path in the stack's data folder keeps them with the stack; its start clears them.
    "hive.exec.scratchdir": path.join(dataDir, "scratch"),
    // Tez copies hive-exec (40 MB) to this folder once for its DAGs; on HDFS, sessions that start
    // at once race for it, and a statement cancelled during the copy leaves a file that fails
    // every later one ("Previous writer may have failed"). Tez runs in this JVM: a local folder.
    "hive.jar.directory": `file://${path.join(dataDir, "jars")}`,
    "hive.user.install.directory": `file://${path.join(dataDir, "install")}`,
    "hive.exec.local.scratchdir": path.join(dataDir, "scratch-local"),
    // One folder per session: a closing session deletes its resources folder, and a shared one
    // vanished under a session being opened ("Couldn't create directory …/resources").
    "hive.downloaded.resources.dir": path.join(
      dataDir,
      "resources",
      "${hive.session.id}_resources",
    ),
    "hive.querylog.location": path.join(dataDir, "querylog"),
    "hive.server2.logging.operation.log.location": path.join(dataDir, "operation_logs"),
    "hive.server2.thrift.bind.host": "127.0.0.1",
    "hive.server2.thrift.port": layout.ports.hive,
    "hive.server2.transport.mode": "binary",
    "hive.server2.authentication": "NONE",
    "hive.server2.enable.doAs": false,
    "hive.server2.webui.port": 0,
    "hive.server2.support.dynamic.service.discovery": false,
    "hive.execution.engine": "tez",
    "tez.local.mode": true,
    // One Tez session for every client session, started with HiveServer2: in local mode each
    // Tez session is an AM in this JVM, and with several of them tasks picked up other
    // queries' plans (`Invalid input path`, `Map operator initialization failed`; a query that
    // answered no rows with no error). Queries then run one at a time, as Tez's own AM runs DAGs.
    "hive.server2.tez.default.queues": "default",
    "hive.server2.tez.sessions.per.default.queue": 1,
    "hive.server2.tez.initialize.default.sessions": true,
    // Else Tez's local AM opens an RPC port on 0.0.0.0.
    "tez.local.mode.without.network": true,
    "tez.ignore.lib.uris": true,
    "tez.runtime.optimize.local.fetch": true,
    "mapreduce.framework.name": "local",
    "hive.exec.dynamic.partition.mode": "nonstrict",
    "hive.exec.max.dynamic.partitions.pernode": 1000,
    "hive.exec.submit.local.task.via.child": false,
    "hive.server2.in.place.progress": false,
    "hive.tez.exec.print.summary": false,
    "hive.session.history.enabled": false,
    "hive.server2.idle.session.timeout": "1h",
  };
}

/** The metastore schema made by schematool: a marker, written once it succeeded. */
const SCHEMA_MARKER = "metastore.initialized";

export function apacheHiveGroup(layout: StackLayout): ServiceGroup {
  const name = "hive";
  const port = layout.ports.hive;
  return {
    name: "hive",
    component: "hive",
    endpoint: `127.0.0.1:${port}`,
    readyTimeoutMs: 240_000,
    dependsOn: ["hdfs"],
    services: [
      {
        name,
        ports: [port],
        async prepare(java: Java, lib: string) {
          const dataDir = layout.data(name);
          const conf = layout.conf(name);
          await mkdir(conf, { recursive: true });
          for (const sub of [
            "scratch-local",
            "resources",
            "operation_logs",
            "querylog",
            "jars",
            "install",
          ]) {
            await mkdir(path.join(dataDir, sub), { recursive: true });
          }
          // In hdfs-site too: HdfsConfiguration reads hdfs-default.xml (dfs.replication 3) after
          // core-site.xml, so a client setting only there is undone.
          await writeFile(path.join(conf, "core-site.xml"), siteXml(hdfsClientSettings(layout)));
          await writeFile(path.join(conf, "hdfs-site.xml"), siteXml(hdfsClientSettings(layout)));
          await writeFile(path.join(conf, "hive-site.xml"), siteXml(hiveSettings(layout, dataDir)));
          const log4j2 = path.join(conf, "hive-log4j2.properties");
          await writeFile(log4j2, LOG4J2);
          // Tez's log set-up needs a class of log4j 1.2 that Hive's bridge lacks: reload4j last.
          const classpath = await orderedClasspath(conf, lib, [/^reload4j-/]);
          const common = [
            "-XX:+UseG1GC",
            "-Djava.awt.headless=true",
            "-Djava.net.preferIPv4Stack=true",
            ...JDK17_OPENS,
            `-Dderby.system.home=${dataDir}`,
            `-Dlog4j2.configurationFile=file:${log4j2}`,
            `-Dlog4j.configurationFile=file:${log4j2}`,
            "-Dhive.root.logger=WARN,console",
            "-cp",
            classpath,
          ];
          // No session outlives the server: what its Tez sessions left on the local disk goes.
          await rm(path.join(dataDir, "scratch"), { recursive: true, force: true });
          await initMetastore(java, lib, dataDir, common);
          return {
            cwd: dataDir,
            env: { HADOOP_USER_NAME: process.env.USER ?? "root" },
            args: [
              "-Xms256m",
              `-Xmx${hiveHeapFromEnv()}`,
              ...common,
              "org.apache.hive.service.server.HiveServer2",
            ],
          };
        },
      },
    ],
    probe: () => selectOne(port),
  };
}

/**
 * The embedded Derby metastore's schema, made once with schematool before HiveServer2 starts
 * (Derby embedded lets one JVM at a time in). A schema half made by a failed run is made again.
 */
async function initMetastore(
  java: Java,
  lib: string,
  dataDir: string,
  jvm: string[],
): Promise<void> {
  if (existsSync(path.join(dataDir, SCHEMA_MARKER))) return;
  await rm(path.join(dataDir, "metastore_db"), { recursive: true, force: true });
  const home = await unpackMetastoreScripts(lib, dataDir);
  const result = spawnSync(
    java.bin,
    [
      "-Xmx512m",
      ...jvm,
      "org.apache.hadoop.hive.metastore.tools.schematool.MetastoreSchemaTool",
      "-dbType",
      "derby",
      "-initSchema",
    ],
    { encoding: "utf8", cwd: dataDir, env: { ...process.env, METASTORE_HOME: home } },
  );
  if (result.status !== 0) {
    throw new HostflowError(
      "HF_STACK_START",
      `schematool could not make the metastore schema (exit ${result.status}):\n${tail(result.stdout + result.stderr, 20)}`,
    );
  }
  await writeFile(path.join(dataDir, SCHEMA_MARKER), `${new Date().toISOString()}\n`);
}

async function unpackMetastoreScripts(lib: string, dataDir: string): Promise<string> {
  const archive = (await readdir(lib)).find((f) =>
    /^hive-standalone-metastore-server-.*-bin\.tar\.gz$/.test(f),
  );
  if (archive === undefined) {
    throw new HostflowError(
      "HF_STACK_RESOLVE",
      `no hive-standalone-metastore-server-*-bin.tar.gz in ${lib}: the metastore's schema scripts come from it`,
    );
  }
  const target = path.join(dataDir, "metastore-home");
  await rm(target, { recursive: true, force: true });
  await mkdir(target, { recursive: true });
  const untar = spawnSync(
    "tar",
    ["-xzf", path.join(lib, archive), "-C", target, "--strip-components=1"],
    { encoding: "utf8" },
  );
  if (untar.status !== 0) {
    throw new HostflowError(
      "HF_STACK_START",
      `could not unpack ${archive}: ${untar.stderr.trim() || `exit ${untar.status}`}`,
    );
  }
  return target;
}

/** Whether HiveServer2 runs a query: a session opened and `SELECT 1` answered. */
export async function selectOne(port: number): Promise<void> {
  const client = await HiveClient.connect({
    host: "127.0.0.1",
    port,
    user: "hostflow",
    password: "anonymous",
    connectTimeoutMs: 5_000,
    statementTimeoutMs: 60_000,
  });
  try {
    await client.query("SELECT 1");
  } finally {
    await client.close();
  }
}
