// `npm test` runs this first (pretest), in plain JavaScript because nothing is installed yet on a
// fresh clone: it runs `npm ci` when node_modules is missing or older than package-lock.json.
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, readFileSync, writeFileSync } from "node:fs";

// The dashboard's browser test drives Debian's Chromium (no browser download from npm): install it
// where it is missing and we may (root with apt-get); otherwise that test says how.
const CHROMIUM = "/usr/bin/chromium";
if (!existsSync(CHROMIUM) && process.getuid?.() === 0 && existsSync("/usr/bin/apt-get")) {
  console.log(`installing Debian's chromium for the dashboard's browser test (apt-get) …`);
  const apt = (args) =>
    spawnSync("apt-get", args, {
      stdio: "inherit",
      env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" },
    });
  const ok =
    apt(["update", "-qq"]).status === 0 && apt(["install", "-y", "-qq", "chromium"]).status === 0;
  if (!ok) console.error("apt-get install chromium failed: the dashboard's browser test will fail");
}

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
