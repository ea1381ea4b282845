import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { mkdir, readdir, rename, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { HostflowError } from "../../lib/errors.js";
import type { StackLayout } from "./layout.js";
import { requireMaven } from "./prerequisites.js";

const MARKER = ".resolved";

/**
 * The classpath folder of a component (`kafka`, `spark`): its pom's dependencies copied there by
 * `mvn dependency:copy-dependencies`. Resolved once per pom content; later calls reuse the folder.
 */
export async function resolveJars(
  layout: StackLayout,
  component: string,
  say: (line: string) => void,
): Promise<string> {
  const pom = path.join(layout.project, "scripts", "stack", component, "pom.xml");
  const digest = createHash("sha256").update(readFileSync(pom)).digest("hex");
  const dir = layout.lib(component);
  const marker = path.join(dir, MARKER);
  if (existsSync(marker) && readFileSync(marker, "utf8") === digest) return dir;

  const mvn = requireMaven();
  const staging = `${dir}.partial`;
  await rm(staging, { recursive: true, force: true });
  await mkdir(path.dirname(dir), { recursive: true });
  say(`resolving the ${component} jars from Maven Central (first run only) …`);
  const started = Date.now();
  const output = await run(mvn, [
    "-B",
    "-q",
    "-f",
    pom,
    "dependency:copy-dependencies",
    `-DoutputDirectory=${staging}`,
    "-DincludeScope=runtime",
  ]);
  if (output.code !== 0) {
    throw new HostflowError(
      "HF_STACK_RESOLVE",
      `mvn could not resolve the ${component} jars (exit ${output.code}):\n${tail(output.text, 20)}`,
      { context: { pom } },
    );
  }
  const jars = (await readdir(staging)).filter((f) => f.endsWith(".jar"));
  if (jars.length === 0) {
    throw new HostflowError(
      "HF_STACK_RESOLVE",
      `mvn resolved no jars for ${component} from ${pom}`,
    );
  }
  await writeFile(path.join(staging, MARKER), digest);
  await rm(dir, { recursive: true, force: true });
  await rename(staging, dir);
  say(
    `resolved ${jars.length} ${component} jars in ${((Date.now() - started) / 1000).toFixed(1)} s`,
  );
  return dir;
}

function run(command: string, args: string[]): Promise<{ code: number; text: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ["ignore", "pipe", "pipe"] });
    let text = "";
    child.stdout.on("data", (chunk: Buffer) => {
      text += chunk.toString();
    });
    child.stderr.on("data", (chunk: Buffer) => {
      text += chunk.toString();
    });
    child.on("error", reject);
    child.on("close", (code) => resolve({ code: code ?? 1, text }));
  });
}

export function tail(text: string, lines: number): string {
  return text.trimEnd().split("\n").slice(-lines).join("\n");
}
