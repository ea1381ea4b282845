import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { pathToFileURL } from "node:url";
import type { ValidateFunction } from "ajv";
import test from "ava";
import { AgentConfig } from "../../../agent/config/schema.js";
import { compileConfigSchema } from "../../../lib/config/validate.js";
import { schemaDigest, validatorFrom } from "../../../lib/config/validator.js";
import { parseYaml } from "../../../lib/config/yaml.js";
import { projectRoot } from "../../../lib/project.js";
import { agentValidatorModule } from "../../../scripts/package/validator.js";

// The build's generated validator (dist/agent/config/validate.generated.js, what an installed
// agent and the bundle use) against the schema compiled at start (what runs from source): the
// same issues and the same defaults for the shipped configs and for broken ones.

const root = projectRoot();

async function generated(): Promise<{ default: ValidateFunction; schemaDigest: string }> {
  // Under node_modules, so that its imports of ajv's run-time helpers resolve.
  const base = path.join(root, "node_modules/.cache/hostflow-tests");
  await mkdir(base, { recursive: true });
  const dir = await mkdtemp(path.join(base, "validator-"));
  const file = path.join(dir, "validate.generated.js");
  await writeFile(file, agentValidatorModule());
  try {
    return await import(pathToFileURL(file).href);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const BROKEN = [
  "agent: {data_dir: /tmp/x, bogus: 1}",
  "sources:",
  "  host: {type: sysinfo, channels: [events], interval: 10x}",
  "  seq: {type: sequence, channels: [events], rate: -1}",
  "channels:",
  "  events: {type: flie}",
  "  mem: {type: memory, capacity: ten}",
  "sinks:",
  "  k: {type: kafka, channel: events, brokers: [], topic: t, acks: 3}",
  "  l: {channel: events}",
  "sink_groups:",
  "  g: {sinks: [k, k], processor: {type: failover}}",
].join("\n");

test("the generated validator reports and completes as the compiled one", async (t) => {
  const module = await generated();
  t.is(module.schemaDigest, schemaDigest(AgentConfig));
  const fromBuild = validatorFrom(AgentConfig, module.default);
  const atStart = compileConfigSchema(AgentConfig);
  const texts: [string, string][] = [
    ["broken.yaml", BROKEN],
    ["empty.yaml", ""],
  ];
  for (const dir of ["conf", "conf/examples", "conf/demo"]) {
    for (const name of await readdir(path.join(root, dir))) {
      if (!name.endsWith(".yaml") || name.startsWith("collector")) continue;
      texts.push([`${dir}/${name}`, await readFile(path.join(root, dir, name), "utf8")]);
    }
  }
  t.true(texts.length >= 6);
  for (const [file, text] of texts) {
    const [a, b] = [parseYaml(text, file), parseYaml(text, file)];
    const [dataA, dataB] = [a.toJS(), b.toJS()];
    const issues = fromBuild.validate(a, dataA);
    t.deepEqual(issues, atStart.validate(b, dataB), file);
    t.deepEqual(dataA, dataB, `${file}: defaults`);
    if (file === "broken.yaml") t.true(issues.length >= 6, JSON.stringify(issues));
  }
});
