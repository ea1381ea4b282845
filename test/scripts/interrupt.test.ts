import { type ChildProcess, spawn } from "node:child_process";
import { setTimeout as sleep } from "node:timers/promises";
import test from "ava";

function start(samePressMs: number): { child: ChildProcess; out: () => string } {
  const child = spawn(
    process.execPath,
    ["--import", "tsx", "test/fixtures/interrupts.ts", String(samePressMs)],
    { stdio: ["pipe", "pipe", "inherit"] },
  );
  let out = "";
  child.stdout?.on("data", (chunk: Buffer) => {
    out += chunk.toString();
  });
  return { child, out: () => out };
}

async function until(what: string, done: () => boolean): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (!done()) {
    if (Date.now() > deadline) throw new Error(`${what} never happened`);
    await sleep(20);
  }
}

const ended = (child: ChildProcess) =>
  new Promise<number | null>((resolve) => child.on("close", (code) => resolve(code)));

test("one Ctrl-C that arrives three times (terminal, npm, tsx) is one press: an ordered stop", async (t) => {
  const { child, out } = start(60_000);
  const end = ended(child);
  await until("ready", () => out().includes("ready"));
  for (let i = 0; i < 3; i++) child.kill("SIGINT");
  await until("the abort", () => out().includes("aborted"));
  child.stdin?.end(); // the ordered stop is done
  t.is(await end, 0);
  t.is(out().match(/SIGINT: stopping/g)?.length, 1);
  t.notRegex(out(), /hook:/);
});

test("a second Ctrl-C exits at once with 130, running every exit-now hook, the last added first", async (t) => {
  const { child, out } = start(0);
  const end = ended(child);
  await until("ready", () => out().includes("ready"));
  child.kill("SIGINT");
  await until("the abort", () => out().includes("aborted"));
  child.kill("SIGINT");
  t.is(await end, 130);
  t.regex(out(), /exiting at once[\s\S]*hook: second\nhook: first\n/);
});
