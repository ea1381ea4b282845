/**
 * A throwaway Debian root for the package tests: debootstrap (Debian's own packages) makes a
 * minimal trixie with nodejs (20 in trixie; the package's Depends) and systemd (systemctl
 * enable offline, systemd-analyze verify), once per machine; it is kept as a tar in the cache
 * (HOSTFLOW_CACHE_DIR, default ~/.cache/hostflow: outside the checkout, so a fresh clone and CI
 * reuse it) and each test unpacks a fresh copy. Commands run in it through chroot in a mount
 * namespace of their own (unshare), with /proc, /sys and /dev bound in: the mounts end with
 * the command, whatever happens to the test.
 */
import { spawn, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, rename, rm } from "node:fs/promises";
import { homedir } from "node:os";
import path from "node:path";

export const SUITE = "trixie";
const PACKAGES = ["nodejs", "systemd", "passwd"];
const MIRROR = process.env.HOSTFLOW_DEBIAN_MIRROR ?? "http://deb.debian.org/debian";

export function cacheDir(): string {
  return process.env.HOSTFLOW_CACHE_DIR ?? path.join(homedir(), ".cache/hostflow");
}

/** Why these tests cannot run here, or undefined. */
export function cannotRun(): string | undefined {
  if (process.getuid?.() !== 0) return "they need root (debootstrap, chroot, dpkg in a root)";
  for (const tool of ["unshare", "chroot", "dpkg-deb", "tar"]) {
    if (spawnSync("sh", ["-c", `command -v ${tool}`]).status !== 0) return `${tool} is missing`;
  }
  return undefined;
}

export interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

export function run(command: string, args: string[], input?: string): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      stdio: [input === undefined ? "ignore" : "pipe", "pipe", "pipe"],
      env: { ...process.env, DEBIAN_FRONTEND: "noninteractive", LC_ALL: "C.UTF-8" },
    });
    let stdout = "";
    let stderr = "";
    child.stdout?.on("data", (d: Buffer) => {
      stdout += d.toString();
    });
    child.stderr?.on("data", (d: Buffer) => {
      stderr += d.toString();
    });
    if (input !== undefined) child.stdin?.end(input);
    child.on("error", reject);
    child.on("close", (code, signal) =>
      resolve({ code: code ?? (signal ? 128 : 1), stdout, stderr }),
    );
  });
}

async function must(command: string, args: string[]): Promise<Run> {
  const result = await run(command, args);
  if (result.code !== 0) {
    throw new Error(
      `${command} ${args.join(" ")}: exit ${result.code}\n${(result.stdout + result.stderr).slice(-3000)}`,
    );
  }
  return result;
}

/** debootstrap, from Debian's packages, when the machine lacks it (root, apt-get). */
async function ensureDebootstrap(): Promise<void> {
  if (existsSync("/usr/sbin/debootstrap")) return;
  await must("apt-get", ["update", "-qq"]);
  await must("apt-get", ["install", "-y", "-qq", "debootstrap"]);
}

/**
 * The cached root's tar, made when missing: ~1.5–3 min and ~60 MB from the mirror the first
 * time on a machine, then nothing. Made in a temp folder and renamed, so that a run that dies
 * half-way leaves no half root behind.
 */
export async function debianRootTar(log: (line: string) => void = () => {}): Promise<string> {
  const tar = path.join(cacheDir(), `debian-${SUITE}-${PACKAGES.join("-")}.tar`);
  if (existsSync(tar)) return tar;
  await ensureDebootstrap();
  await mkdir(cacheDir(), { recursive: true });
  const work = await mkdtemp(path.join(cacheDir(), "debootstrap-"));
  try {
    const root = path.join(work, "root");
    const started = Date.now();
    log(`debootstrap ${SUITE} (${PACKAGES.join(", ")}) from ${MIRROR}, once: cached in ${tar}`);
    await must("debootstrap", [
      "--variant=minbase",
      `--include=${PACKAGES.join(",")}`,
      SUITE,
      root,
      MIRROR,
    ]);
    await rm(path.join(root, "var/cache/apt/archives"), { recursive: true, force: true });
    await mkdir(path.join(root, "var/cache/apt/archives/partial"), { recursive: true });
    await must("tar", ["-cf", `${tar}.part`, "-C", root, "."]);
    await rename(`${tar}.part`, tar);
    log(`Debian root made in ${((Date.now() - started) / 1000).toFixed(0)} s`);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
  return tar;
}

/** A fresh copy of the cached root in `dir`. */
export async function unpackRoot(tar: string, dir: string): Promise<string> {
  const root = path.join(dir, "root");
  await mkdir(root, { recursive: true });
  await must("tar", ["-xf", tar, "-C", root]);
  return root;
}

/** A shell command inside `root` (chroot), as root, with /proc, /sys and /dev of the host. */
export function inRoot(root: string, script: string): Promise<Run> {
  const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
  const mounts = [
    `mount -t proc proc ${q(`${root}/proc`)}`,
    `mount --rbind /sys ${q(`${root}/sys`)}`,
    `mount --rbind /dev ${q(`${root}/dev`)}`,
    `exec chroot ${q(root)} /bin/sh -c ${q(script)}`,
  ].join(" && ");
  return run("unshare", ["--mount", "--propagation", "private", "--fork", "sh", "-c", mounts]);
}
