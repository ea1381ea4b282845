// `npm test` runs this first (pretest), in plain JavaScript because nothing is installed yet on a
// fresh clone: it runs `npm ci` when node_modules is missing or older than package-lock.json.
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, readFileSync, writeFileSync } from "node:fs";

const lock = createHash("sha256").update(readFileSync("package-lock.json")).digest("hex");
const stamp = "node_modules/.hostflow-lock";
if (existsSync(stamp) && readFileSync(stamp, "utf8") === lock) process.exit(0);

console.log("installing npm packages (npm ci) …");
const ci = spawnSync("npm", ["ci", "--no-audit", "--no-fund"], { stdio: "inherit" });
if (ci.status !== 0) {
  console.error(`npm ci failed (exit ${ci.status ?? ci.signal}); the tests need its packages`);
  process.exit(ci.status ?? 1);
}
writeFileSync(stamp, lock);
