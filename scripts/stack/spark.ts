import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { HDFS_WAREHOUSE, hdfsClientSettings } from "./hdfs.js";
import { selectOne } from "./hive.js";
import type { StackLayout } from "./layout.js";
import type { Java } from "./prerequisites.js";
import type { ServiceGroup } from "./service.js";

/** What spark-submit adds on JDK 17 (Spark's JavaModuleOptions): Spark reflects into java.base. */
const JDK17_OPENS = [
  "java.lang",
  "java.lang.invoke",
  "java.lang.reflect",
  "java.io",
  "java.net",
  "java.nio",
  "java.util",
  "java.util.concurrent",
  "java.util.concurrent.atomic",
  "jdk.internal.ref",
  "sun.nio.ch",
  "sun.nio.cs",
  "sun.security.action",
  "sun.util.calendar",
].map((pkg) => `--add-opens=java.base/${pkg}=ALL-UNNAMED`);

const LOG4J2 = `rootLogger.level = warn
rootLogger.appenderRef.stdout.ref = stdout
appender.stdout.type = Console
appender.stdout.name = stdout
appender.stdout.target = SYSTEM_OUT
appender.stdout.layout.type = PatternLayout
appender.stdout.layout.pattern = %d{yyyy-MM-dd HH:mm:ss} %p %c{1}: %m%n%ex
logger.thriftserver.name = org.apache.spark.sql.hive.thriftserver
logger.thriftserver.level = info
logger.hiveserver.name = org.apache.hive.service
logger.hiveserver.level = info
`;

/**
 * The JVM arguments of Spark's Thrift Server as a HiveServer2 on 127.0.0.1: local[2] master,
 * an embedded Derby metastore under `dataDir`, its warehouse on the local HDFS (`hdfs`, the
 * client settings of hdfs.ts), binary transport with authentication NONE (clients still speak
 * SASL PLAIN), no web UI.
 */
export function sparkThriftServerArgs(
  dataDir: string,
  classpath: string,
  log4j2: string,
  port: number,
  hdfs: Record<string, string | number | boolean>,
): string[] {
  const spark: Record<string, string> = {
    ...Object.fromEntries(
      Object.entries(hdfs).map(([key, value]) => [`spark.hadoop.${key}`, String(value)]),
    ),
    "spark.master": "local[2]",
    "spark.app.name": "hostflow-hiveserver2",
    "spark.ui.enabled": "false",
    "spark.driver.host": "127.0.0.1",
    "spark.driver.bindAddress": "127.0.0.1",
    "spark.local.dir": path.join(dataDir, "tmp"),
    "spark.sql.catalogImplementation": "hive",
    "spark.sql.warehouse.dir": `${hdfs["fs.defaultFS"]}${HDFS_WAREHOUSE}/spark`,
    "spark.sql.shuffle.partitions": "4",
    "spark.sql.session.timeZone": "UTC",
    // Read and write Hive serde tables as Hive does. Spark's own Parquet path caches a table's
    // file list per session, so that one session does not see another's INSERT into an
    // unpartitioned table (the collector's loads table) until REFRESH TABLE: Hive has no such cache.
    "spark.sql.hive.convertMetastoreParquet": "false",
    "spark.sql.hive.convertMetastoreOrc": "false",
    // The collector's loads carry their rows in the statement text; Spark keeps each statement's
    // plan strings for its UI, which filled a 2 GB heap after a few dozen large loads.
    "spark.sql.maxPlanStringLength": "10000",
    "spark.ui.retainedJobs": "20",
    "spark.ui.retainedStages": "20",
    "spark.sql.ui.retainedExecutions": "20",
    "spark.sql.thriftServer.ui.retainedStatements": "20",
    "spark.sql.thriftServer.ui.retainedSessions": "20",
    "spark.hadoop.javax.jdo.option.ConnectionURL": `jdbc:derby:;databaseName=${path.join(dataDir, "metastore_db")};create=true`,
    "spark.hadoop.hive.exec.scratchdir": "/tmp/hive-spark",
    "spark.hadoop.hive.exec.local.scratchdir": path.join(dataDir, "scratch-local"),
    // One folder per session: a closing session deletes its resources folder, and a shared one
    // vanished under a session being opened ("Couldn't create directory …/resources").
    "spark.hadoop.hive.downloaded.resources.dir": path.join(
      dataDir,
      "resources",
      "${hive.session.id}_resources",
    ),
  };
  const hiveconf: Record<string, string> = {
    "hive.server2.thrift.bind.host": "127.0.0.1",
    "hive.server2.thrift.port": String(port),
    "hive.server2.transport.mode": "binary",
    "hive.server2.authentication": "NONE",
    "hive.server2.enable.doAs": "false",
    "hive.server2.logging.operation.log.location": path.join(dataDir, "operation_logs"),
  };
  return [
    "-Xms512m",
    "-Xmx4g",
    "-XX:+UseG1GC",
    "-XX:+IgnoreUnrecognizedVMOptions",
    ...JDK17_OPENS,
    "-Djdk.reflect.useDirectMethodHandle=false",
    "-Djava.awt.headless=true",
    `-Dderby.system.home=${dataDir}`,
    `-Dlog4j2.configurationFile=file:${log4j2}`,
    ...Object.entries(spark).map(([key, value]) => `-D${key}=${value}`),
    "-cp",
    `${classpath}/*`,
    "org.apache.spark.sql.hive.thriftserver.HiveThriftServer2",
    ...Object.entries(hiveconf).flatMap(([key, value]) => ["--hiveconf", `${key}=${value}`]),
  ];
}

/** Spark's Thrift Server as the stack's HiveServer2 (`up --hive spark`), on the same HDFS. */
export function sparkHiveGroup(layout: StackLayout): ServiceGroup {
  const name = "spark";
  const port = layout.ports.hive;
  return {
    name: "hive",
    component: "spark",
    endpoint: `127.0.0.1:${port}`,
    readyTimeoutMs: 180_000,
    dependsOn: ["hdfs"],
    services: [
      {
        name,
        ports: [port],
        async prepare(_java: Java, classpath: string) {
          const dataDir = layout.data(name);
          const conf = layout.conf(name);
          await mkdir(conf, { recursive: true });
          // Hive creates these on first use, racily: two sessions opened at once can both fail
          // to mkdir the parent ("Couldn't create directory …/resources"). Made up front instead.
          for (const sub of ["tmp", "scratch-local", "resources", "operation_logs"]) {
            await mkdir(path.join(dataDir, sub), { recursive: true });
          }
          const log4j2 = path.join(conf, "log4j2.properties");
          await writeFile(log4j2, LOG4J2);
          // Spark would otherwise pick the first non-loopback interface for its driver.
          const env = { SPARK_LOCAL_IP: "127.0.0.1" };
          return {
            cwd: dataDir,
            env,
            args: sparkThriftServerArgs(
              dataDir,
              classpath,
              log4j2,
              port,
              hdfsClientSettings(layout),
            ),
          };
        },
      },
    ],
    probe: () => selectOne(port),
  };
}
