import { spawnSync } from "node:child_process";
import path from "node:path";
import { HostflowError } from "../../lib/errors.js";

export interface Java {
  bin: string;
  major: number;
}

/** Spark 3.5 runs on Java 8, 11 and 17; Kafka 3.9 on 11 and later: 11 and 17 serve both. */
const SUPPORTED_JAVA = [11, 17];

/** The `java` of JAVA_HOME, else of PATH, checked to be one that Spark 3.5 and Kafka 3.9 run on. */
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
      `${bin} is Java ${Number.isNaN(major) ? "of unknown version" : major}; Spark 3.5 needs Java ${SUPPORTED_JAVA.join(" or ")}: ` +
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
      "cannot run mvn: the first `npm run stack -- up` resolves the Kafka and Spark jars from Maven Central with it; " +
        "install Maven 3 (Debian: apt-get install maven)",
    );
  }
  return "mvn";
}
