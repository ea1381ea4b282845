import { spawnSync } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import test from "ava";
import { projectRoot } from "../../lib/project.js";
import { bundleAgent } from "../../scripts/package/bundle.js";

// What the bundle changes so that it needs nothing beside it (scripts/package/bundle.ts), checked
// on the tsc build (dist/) the way the agent's bundle is made from it.
const root = projectRoot();

test("in a bundle the kafkajs idle fix still recognises and patches kafkajs", async (t) => {
  // The entry must be under dist/, where the bundle's rewrites apply.
  const dir = await mkdtemp(path.join(root, "dist", ".bundle-test-"));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const entry = path.join(dir, "entry.js");
  await writeFile(
    entry,
    [
      'import { createKafka } from "../lib/kafka.js";',
      'import { fixKafkajsIdleLoop } from "../lib/kafkajs-idle.js";',
      'import { projectVersion } from "../lib/project.js";',
      'createKafka({ clientId: "t", brokers: ["127.0.0.1:1"] });',
      "console.log(fixKafkajsIdleLoop(), projectVersion());",
    ].join("\n"),
  );
  const out = await mkdtemp(path.join(tmpdir(), "hf-bundle-test-"));
  t.teardown(() => rm(out, { recursive: true, force: true }));
  const outfile = path.join(out, "bundle.mjs");
  await bundleAgent({ root, outfile, version: "9.9.9", entry });
  // In a folder with no node_modules above it, as an installed bundle is.
  const run = spawnSync(process.execPath, [outfile], { cwd: out, encoding: "utf8" });
  t.is(run.status, 0, run.stderr);
  // "already": createKafka applied it ("not-needed" would mean the check failed on the bundle).
  t.is(run.stdout.trim(), "already 9.9.9");
});
