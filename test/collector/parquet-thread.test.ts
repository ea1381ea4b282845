import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import test from "ava";
import { loadCollectorConfig } from "../../collector/config/load.js";
import type { LoadUnit } from "../../collector/hive/encode.js";
import { parquetParts } from "../../collector/hive/parquet.js";
import { ParquetThread } from "../../collector/hive/parquet-thread.js";
import { tableSpecs } from "../../collector/hive/tables.js";
import { isHostflowError } from "../../lib/errors.js";

// The shipped config's table names.
const specs = tableSpecs(
  loadCollectorConfig(fileURLToPath(new URL("../../conf/collector.yaml", import.meta.url)), {})
    .config.hive.tables,
);

const unit = (): LoadUnit => ({
  loadId: "g-1",
  groupId: "g",
  collector: "h/1",
  loadedAt: Date.parse("2026-12-04T00:01:00Z"),
  metrics: [
    {
      host: "web-01",
      measurement: "cpu",
      tags: '{"cpu":"cpu-total"}',
      field: "usage_idle",
      windowSeconds: 60,
      windowStart: Date.parse("2026-12-04T00:00:00Z"),
      samples: 6,
      total: 540,
      minimum: 80,
      maximum: 99,
      firstValue: 90,
      firstTs: Date.parse("2026-12-04T00:00:01Z"),
      lastValue: 91,
      lastTs: Date.parse("2026-12-04T00:00:51Z"),
    },
  ],
  raw: [],
  quarantine: [],
  gaps: [],
  streams: [],
  offsets: [{ topic: "t", partition: 0, from: 0, next: 6, records: 6, bad: 0 }],
});

test("the writer thread writes the bytes this thread would; after close() it refuses instead of starting again", async (t) => {
  const thread = new ParquetThread();
  const parts = await thread.parts(unit(), specs, "g-1#1");
  const here = parquetParts(unit(), specs, "g-1#1");
  t.deepEqual(
    parts.map((p) => [p.kind, p.partitionPath, p.rows, Buffer.from(p.data).toString("base64")]),
    here.map((p) => [p.kind, p.partitionPath, p.rows, Buffer.from(p.data).toString("base64")]),
  );
  await thread.close();
  const error = await t.throwsAsync(thread.parts(unit(), specs, "g-1#2"));
  t.true(isHostflowError(error, "HF_WAREHOUSE"), String(error));
  t.regex(String(error), /closed/);
});

test("an idle writer thread does not keep the process alive (a run that never closed it still exits)", async (t) => {
  const script = `
    const { ParquetThread } = await import(${JSON.stringify(new URL("../../collector/hive/parquet-thread.ts", import.meta.url).href)});
    const { tableSpecs } = await import(${JSON.stringify(new URL("../../collector/hive/tables.ts", import.meta.url).href)});
    const specs = tableSpecs({ metrics: "metrics", raw: "raw_samples", quarantine: "quarantine", gaps: "gaps", loads: "loads", streams: "streams" });
    const unit = JSON.parse(process.argv[1]);
    const parts = await new ParquetThread().parts(unit, specs, "g-1#1");
    console.log("wrote " + parts.length);
  `;
  const child = spawn(
    process.execPath,
    ["--import", "tsx", "--input-type=module", "-e", script, JSON.stringify(unit())],
    { stdio: ["ignore", "pipe", "inherit"] },
  );
  let out = "";
  child.stdout.on("data", (chunk: Buffer) => {
    out += chunk.toString();
  });
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  const bound = new Promise<"hung">((resolve) => {
    const timer = setTimeout(() => resolve("hung"), 60_000);
    exited.then(() => clearTimeout(timer));
  });
  const result = await Promise.race([exited, bound]);
  if (result === "hung") child.kill("SIGKILL");
  t.is(result, 0, `the process did not exit by itself within 60 s of starting (output: ${out})`);
  t.regex(out, /wrote 1/);
});
