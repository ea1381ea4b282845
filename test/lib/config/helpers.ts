import { mkdtempSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";

/** Writes `lines` (joined by newlines) to a new file under the OS temp dir; returns its path. */
export function writeConfig(lines: readonly string[], name = "agent.yaml"): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), "hostflow-config-"));
  const file = path.join(dir, name);
  writeFileSync(file, `${lines.join("\n")}\n`);
  return file;
}
