import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import test from "ava";
import { stackLayout } from "../../../scripts/stack/layout.js";
import { isAlive, runningPid, startJava, stopService } from "../../../scripts/stack/processes.js";

/**
 * Stands in for `java`: a shell script with the marker in its argv that installs `trap` for
 * SIGTERM, then says so in the file `ready` (a signal sent before that would find the shell's
 * default action, and on a busy machine a stop can come that early).
 */
async function fakeJava(dir: string, trap: string): Promise<string> {
  const file = path.join(dir, "fake-java");
  const ready = path.join(dir, "ready");
  await writeFile(
    file,
    `#!/bin/sh\necho started "$@"\ntrap ${trap} TERM\ntouch '${ready}'\nwhile :; do sleep 0.1; done\n`,
    { mode: 0o755 },
  );
  return file;
}

async function untilReady(dir: string): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (!existsSync(path.join(dir, "ready"))) {
    if (Date.now() > deadline) throw new Error("the stand-in never installed its SIGTERM trap");
    await sleep(20);
  }
}

test("start records the PID and logs; stop ends exactly that process and clears the pid file", async (t) => {
  const dir = await mkdtemp(path.join(tmpdir(), "hostflow-stack-"));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const layout = stackLayout(dir);
  const java = await fakeJava(dir, "'echo stopping; exit 0'");
  const pid = await startJava(layout, "svc", java, ["-Xmx1m", "Main"], dir);
  await untilReady(dir);
  t.is(await runningPid(layout, "svc"), pid);
  t.true(isAlive(pid));

  t.is(await stopService(layout, "svc", 5_000), "stopped");
  t.false(isAlive(pid));
  t.is(await runningPid(layout, "svc"), undefined);
  const log = await readFile(layout.log("svc"), "utf8");
  t.regex(log, new RegExp(`started -Dhostflow.stack=${dir}#svc -Xmx1m Main`));
  t.regex(log, /stopping/);
  t.is(await stopService(layout, "svc"), "not running");
});

test("a pid file naming a process that is not ours is stale: never signalled, and removed", async (t) => {
  const dir = await mkdtemp(path.join(tmpdir(), "hostflow-stack-"));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const layout = stackLayout(dir);
  await mkdir(path.dirname(layout.pid("svc")), { recursive: true });
  // This test's own PID: alive, but without the stack marker on its command line.
  await writeFile(layout.pid("svc"), `${process.pid}\n`);
  t.is(await stopService(layout, "svc"), "not running");
  t.true(isAlive(process.pid));
  t.is(await runningPid(layout, "svc"), undefined);
});

test("a process that ignores SIGTERM is killed after the grace period", async (t) => {
  const dir = await mkdtemp(path.join(tmpdir(), "hostflow-stack-"));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const layout = stackLayout(dir);
  const pid = await startJava(layout, "svc", await fakeJava(dir, "''"), [], dir);
  await untilReady(dir);
  t.is(await stopService(layout, "svc", 300), "killed");
  t.false(isAlive(pid));
});
