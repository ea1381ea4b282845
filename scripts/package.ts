/**
 * `npm run package` (after `npm run build`, which the npm script runs first): the agent for
 * servers, offline, in dist/package/:
 *   hostflow-agent.mjs                the agent as one ES module: `node hostflow-agent.mjs …`
 *   hostflow-agent_VERSION_all.deb    Debian package (dpkg-deb): the bundle, /usr/bin/hostflow-agent,
 *                                     the systemd unit, /etc/hostflow/agent.yaml as a conffile,
 *                                     the user hostflow and /var/lib/hostflow made by postinst
 *   hostflow-agent-VERSION.tar.gz     the same tree for other distributions, with install.sh
 *                                     and uninstall.sh in /usr/lib/hostflow-agent/
 *
 *   node --import tsx scripts/package.ts [--version 0.1.1] [--only bundle] [--out DIR] [--config FILE]
 * VERSION: package.json's unless --version says (the upgrade test builds a newer one); the
 * default config is conf/agent.yaml unless --config says (the tests ship a changed one).
 */
import { spawnSync } from "node:child_process";
import { chmod, copyFile, mkdir, rm, stat, symlink, writeFile } from "node:fs/promises";
import path from "node:path";
import { parseArgs } from "node:util";
import { projectRoot, projectVersion } from "../lib/project.js";
import { bundleAgent } from "./package/bundle.js";
import * as debian from "./package/debian.js";
import { agentValidatorModule } from "./package/validator.js";

const { values: args } = parseArgs({
  options: {
    version: { type: "string" },
    only: { type: "string" },
    out: { type: "string" },
    config: { type: "string" },
  },
});
const root = projectRoot();
const version = args.version ?? projectVersion();
const out = path.resolve(args.out ?? path.join(root, "dist/package"));
const defaultConfig = path.resolve(args.config ?? path.join(root, "conf/agent.yaml"));
const say = (line: string) => console.log(`[package] ${line}`);

function run(command: string, argv: string[], cwd = root): void {
  const result = spawnSync(command, argv, { cwd, stdio: ["ignore", "inherit", "inherit"] });
  if (result.error) throw result.error;
  if (result.status !== 0) throw new Error(`${command} ${argv.join(" ")}: exit ${result.status}`);
}

async function write(file: string, text: string, mode = 0o644): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true });
  await writeFile(file, text);
  await chmod(file, mode);
}

/** The files both the .deb and the tarball install, under `tree` (paths relative to /). */
async function layout(tree: string, bundle: string): Promise<string[]> {
  const files = [
    "usr/lib/hostflow-agent/hostflow-agent.mjs",
    "usr/bin/hostflow-agent",
    "usr/lib/systemd/system/hostflow-agent.service",
    "usr/share/doc/hostflow-agent/copyright",
  ];
  await mkdir(path.join(tree, "usr/lib/hostflow-agent"), { recursive: true });
  await copyFile(bundle, path.join(tree, files[0] as string));
  await chmod(path.join(tree, files[0] as string), 0o755);
  await mkdir(path.join(tree, "usr/bin"), { recursive: true });
  // The bundle's #! line runs node with the agent's memory options (see agent/cli.ts).
  await symlink(
    "../lib/hostflow-agent/hostflow-agent.mjs",
    path.join(tree, "usr/bin/hostflow-agent"),
  );
  await mkdir(path.join(tree, "usr/lib/systemd/system"), { recursive: true });
  await copyFile(
    path.join(root, "scripts/systemd/hostflow-agent.service"),
    path.join(tree, files[2] as string),
  );
  await write(
    path.join(tree, files[3] as string),
    "hostflow agent\nLicense: Apache-2.0\nThe bundle includes npm packages under their own licenses (MIT, ISC, Apache-2.0); their notices are at the end of hostflow-agent.mjs.\n",
  );
  return files;
}

async function installedKb(dir: string): Promise<number> {
  const du = spawnSync("du", ["-sk", "--exclude=DEBIAN", dir], { encoding: "utf8" });
  return Number(du.stdout.split("\t")[0]) || 0;
}

async function deb(bundle: string): Promise<string> {
  const tree = path.join(out, "deb");
  await rm(tree, { recursive: true, force: true });
  await layout(tree, bundle);
  await mkdir(path.join(tree, "etc/hostflow"), { recursive: true });
  await copyFile(defaultConfig, path.join(tree, debian.CONFIG));
  await write(path.join(tree, "DEBIAN/control"), debian.control(version, await installedKb(tree)));
  await write(path.join(tree, "DEBIAN/conffiles"), `${debian.CONFIG}\n`);
  await write(path.join(tree, "DEBIAN/postinst"), debian.postinst, 0o755);
  await write(path.join(tree, "DEBIAN/prerm"), debian.prerm, 0o755);
  await write(path.join(tree, "DEBIAN/postrm"), debian.postrm, 0o755);
  const file = path.join(out, `hostflow-agent_${version}_all.deb`);
  await rm(file, { force: true });
  run("dpkg-deb", ["--root-owner-group", "-Zxz", "--build", tree, file]);
  await rm(tree, { recursive: true, force: true });
  return file;
}

async function tarball(bundle: string): Promise<string> {
  const tree = path.join(out, "tar");
  await rm(tree, { recursive: true, force: true });
  const files = await layout(tree, bundle);
  const lib = path.join(tree, "usr/lib/hostflow-agent");
  // Not etc/hostflow/agent.yaml: extracting over / would replace an operator's edited config.
  await copyFile(defaultConfig, path.join(lib, "agent.yaml"));
  const extra = ["agent.yaml", "install.sh", "uninstall.sh"].map(
    (f) => `usr/lib/hostflow-agent/${f}`,
  );
  await write(path.join(lib, "install.sh"), debian.tarballInstall, 0o755);
  await write(path.join(lib, "uninstall.sh"), debian.tarballUninstall([...files, ...extra]), 0o755);
  const file = path.join(out, `hostflow-agent-${version}.tar.gz`);
  run("tar", ["--owner=0", "--group=0", "--numeric-owner", "-czf", file, "-C", tree, "usr"]);
  await rm(tree, { recursive: true, force: true });
  return file;
}

// The generated validator the bundle includes, made here too: a build by tsc alone (npm test's)
// has none, and the bundle leaves out the compiler that would stand in for it.
const generated = path.join(root, "dist/agent/config/validate.generated.js");
await mkdir(path.dirname(generated), { recursive: true });
await writeFile(generated, agentValidatorModule());
await mkdir(out, { recursive: true });
const bundle = path.join(out, "hostflow-agent.mjs");
const { bytes } = await bundleAgent({ root, outfile: bundle, version });
await chmod(bundle, 0o755);
say(`${path.relative(root, bundle)}: ${(bytes / 1024 / 1024).toFixed(2)} MB`);
if (args.only !== "bundle") {
  for (const make of [deb, tarball]) {
    const file = await make(bundle);
    say(`${path.relative(root, file)}: ${((await stat(file)).size / 1024).toFixed(0)} KB`);
  }
}
