import { spawnSync } from "node:child_process";
import path from "node:path";
import { HostflowError } from "../../lib/errors.js";

export interface Java {
  bin: string;
  major: number;
}

/**
 * Kafka 4 brokers need Java 17 or later; Spark 3.5 runs on 8, 11 and 17; Hive 4.0 and Hadoop
 * 3.4 run on 17 with --add-opens: 17 serves all.
 */
const SUPPORTED_JAVA = [17];

/** The `java` of JAVA_HOME, else of PATH, checked to be one that every server of the stack runs on. */
export function findJava(env: NodeJS.ProcessEnv = process.env): Java {
  const bin = env.JAVA_HOME ? path.join(env.JAVA_HOME, "bin", "java") : "java";
  const probe = spawnSync(bin, ["-version"], { encoding: "utf8", env });
  if (probe.error || probe.status !== 0) {
    throw new HostflowError(
      "HF_STACK_PREREQUISITE",
      `cannot run ${bin} (${probe.error?.message ?? `exit ${probe.status}`}): the local stack needs a JDK 17; ` +
        "install one (Debian: apt-get install openjdk-17-jdk-headless) or set JAVA_HOME",
    );
  }
  const version = /version "(\d+)(?:\.(\d+))?/.exec(probe.stderr);
  const major = version ? Number(version[1] === "1" ? version[2] : version[1]) : Number.NaN;
  if (!SUPPORTED_JAVA.includes(major)) {
    throw new HostflowError(
      "HF_STACK_PREREQUISITE",
      `${bin} is Java ${Number.isNaN(major) ? "of unknown version" : major}; Kafka 4, Hive 4 and Spark 3.5 together need Java ${SUPPORTED_JAVA.join(" or ")}: ` +
        "set JAVA_HOME to such a JDK (e.g. /usr/lib/jvm/java-17-openjdk-amd64)",
    );
  }
  return { bin, major };
}

export function requireMaven(env: NodeJS.ProcessEnv = process.env): string {
  const probe = spawnSync("mvn", ["-v"], { encoding: "utf8", env });
  if (probe.error || probe.status !== 0) {
    throw new HostflowError(
      "HF_STACK_PREREQUISITE",
      "cannot run mvn: the first `npm run stack -- up` resolves the Kafka, HDFS, Hive and Spark jars from Maven Central with it; " +
        "install Maven 3 (Debian: apt-get install maven)",
    );
  }
  return "mvn";
}
