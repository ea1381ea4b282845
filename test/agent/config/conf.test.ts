import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import test from "ava";
import { agentConfigArtifacts } from "../../../agent/config/docs.js";
import { loadAgentConfig } from "../../../agent/config/load.js";
import { projectRoot } from "../../../lib/project.js";

const root = projectRoot();
const examples = readdirSync(path.join(root, "conf/examples"))
  .filter((f) => f.endsWith(".yaml"))
  .map((f) => `conf/examples/${f}`);

for (const file of ["conf/agent.yaml", ...examples]) {
  test(`${file} is valid, without warnings`, (t) => {
    const { warnings } = loadAgentConfig(path.join(root, file), {}, { hostname: "test" });
    t.deepEqual(warnings, []);
  });

  test(`${file} names the editor schema by a path that exists`, (t) => {
    const first = readFileSync(path.join(root, file), "utf8").split("\n")[0] ?? "";
    const match = /^# yaml-language-server: \$schema=(\S+)$/.exec(first);
    t.truthy(match, first);
    const schema = path.resolve(path.dirname(path.join(root, file)), match?.[1] ?? "");
    t.is(schema, path.join(root, "conf/agent.schema.json"));
  });
}

test("at least the documented examples are there", (t) => {
  for (const name of ["memory-to-logger", "multiplexing", "failover", "synthetic-fleet"]) {
    t.true(examples.includes(`conf/examples/${name}.yaml`), name);
  }
});

for (const [file, expected] of Object.entries(agentConfigArtifacts())) {
  test(`${file} is what npm run gen:config makes of the schema`, (t) => {
    const committed = readFileSync(path.join(root, file), "utf8");
    t.true(committed === expected, `${file} is stale: run npm run gen:config`);
  });
}
