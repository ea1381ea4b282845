import { readdir } from "node:fs/promises";
import path from "node:path";

/** A Hadoop-style `*-site.xml` (core-site, hdfs-site, hive-site) of `name → value`. */
export function siteXml(settings: Record<string, string | number | boolean>): string {
  const xmlText = (s: string) =>
    s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
  const properties = Object.entries(settings)
    .map(
      ([name, value]) =>
        `  <property><name>${xmlText(name)}</name><value>${xmlText(String(value))}</value></property>`,
    )
    .join("\n");
  return `<?xml version="1.0"?>\n<configuration>\n${properties}\n</configuration>\n`;
}

/**
 * A classpath of the config folder (first: Hadoop and Hive find their *-site.xml there) and
 * every jar of `lib`, those matching `last` at the end in that order: a `dir/*` wildcard leaves
 * the order to the file system.
 */
export async function orderedClasspath(
  conf: string,
  lib: string,
  last: RegExp[] = [],
): Promise<string> {
  const jars = (await readdir(lib)).filter((f) => f.endsWith(".jar")).sort();
  const tail = last.flatMap((re) => jars.filter((f) => re.test(f)));
  const head = jars.filter((f) => !tail.includes(f));
  return [conf, ...[...head, ...tail].map((f) => path.join(lib, f))].join(path.delimiter);
}

/** What a Hadoop JVM needs on JDK 17: WebHDFS answers 500 to every call without it. */
export const HADOOP_JDK17_OPENS = ["--add-opens=java.base/java.lang=ALL-UNNAMED"];

/** Hadoop's own logging (log4j 1.x API through reload4j): warnings, and the daemons' start-up. */
export const HADOOP_LOG4J = `log4j.rootLogger=WARN, stdout
log4j.appender.stdout=org.apache.log4j.ConsoleAppender
log4j.appender.stdout.layout=org.apache.log4j.PatternLayout
log4j.appender.stdout.layout.ConversionPattern=%d{ISO8601} %p %c{1}: %m%n
log4j.logger.org.apache.hadoop.hdfs.server.namenode.NameNode=INFO
log4j.logger.org.apache.hadoop.hdfs.server.datanode.DataNode=INFO
log4j.logger.org.apache.hadoop.hdfs.StateChange=WARN
log4j.logger.org.apache.hadoop.util.NativeCodeLoader=ERROR
`;
