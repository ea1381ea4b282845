import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import test from "ava";
import { isHostflowError } from "../../../lib/errors.js";
import { findJava, requireMaven } from "../../../scripts/stack/prerequisites.js";

/** A JAVA_HOME whose bin/java prints `version` the way `java -version` does (to stderr). */
async function javaHome(
  t: { teardown(fn: () => Promise<void>): void },
  version: string,
): Promise<string> {
  const home = await mkdtemp(path.join(tmpdir(), "hostflow-jdk-"));
  t.teardown(() => rm(home, { recursive: true, force: true }));
  await mkdir(path.join(home, "bin"));
  await writeFile(
    path.join(home, "bin", "java"),
    `#!/bin/sh\necho 'openjdk version "${version}" 2025-04-15' >&2\n`,
    {
      mode: 0o755,
    },
  );
  return home;
}

test("JAVA_HOME with a JDK 17 is taken", async (t) => {
  const home = await javaHome(t, "17.0.15");
  t.deepEqual(findJava({ JAVA_HOME: home }), { bin: path.join(home, "bin", "java"), major: 17 });
});

test("a JDK that the stack's servers do not all run on is refused, saying which to use", async (t) => {
  const home = await javaHome(t, "25.0.1");
  const error = t.throws(() => findJava({ JAVA_HOME: home }));
  t.true(isHostflowError(error, "HF_STACK_PREREQUISITE"));
  t.regex(
    error?.message ?? "",
    /is Java 25; Kafka 4, Hive 4 and Spark 3\.5 together need Java 17: set JAVA_HOME/,
  );
});

test("a missing java says how to install one", (t) => {
  const error = t.throws(() => findJava({ JAVA_HOME: "/nonexistent/jdk" }));
  t.true(isHostflowError(error, "HF_STACK_PREREQUISITE"));
  t.regex(
    error?.message ?? "",
    /cannot run \/nonexistent\/jdk\/bin\/java .*needs a JDK 17; install one/,
  );
});

test("a missing mvn says what it is needed for and how to install it", (t) => {
  const error = t.throws(() => requireMaven({ PATH: "/nonexistent" }));
  t.true(isHostflowError(error, "HF_STACK_PREREQUISITE"));
  t.regex(
    error?.message ?? "",
    /cannot run mvn: .*resolves the Kafka, HDFS, Hive and Spark jars .*apt-get install maven/,
  );
});
