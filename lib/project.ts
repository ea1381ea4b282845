import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

interface PackageJson {
  name?: string;
  version?: string;
}

/** The hostflow checkout or install this code runs from (the same from sources and from dist/). */
export function projectRoot(from = path.dirname(fileURLToPath(import.meta.url))): string {
  for (let dir = from; ; dir = path.dirname(dir)) {
    const pkg = path.join(dir, "package.json");
    if (existsSync(pkg) && readPackage(pkg).name === "hostflow") return dir;
    if (path.dirname(dir) === dir) throw new Error(`no hostflow package.json above ${from}`);
  }
}

export function projectVersion(): string {
  return readPackage(path.join(projectRoot(), "package.json")).version ?? "0.0.0";
}

function readPackage(file: string): PackageJson {
  return JSON.parse(readFileSync(file, "utf8")) as PackageJson;
}
