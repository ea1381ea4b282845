/**
 * Writes the files made from the config schemas: conf/{agent,collector}.schema.json and
 * docs/{agent,collector}-config.md. `--check` writes nothing and exits 1 when a file is stale.
 */
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { agentConfigArtifacts } from "../agent/config/docs.js";
import { collectorConfigArtifacts } from "../collector/config/docs.js";
import { projectRoot } from "../lib/project.js";

const check = process.argv.includes("--check");
const root = projectRoot();
let stale = 0;
for (const [file, content] of Object.entries({
  ...agentConfigArtifacts(),
  ...collectorConfigArtifacts(),
})) {
  const target = path.join(root, file);
  let current: string | undefined;
  try {
    current = readFileSync(target, "utf8");
  } catch {
    current = undefined;
  }
  if (current === content) continue;
  if (check) {
    stale += 1;
    console.error(`${file} is stale: run npm run gen:config`);
  } else {
    writeFileSync(target, content);
    console.log(`wrote ${file}`);
  }
}
if (stale > 0) process.exitCode = 1;
