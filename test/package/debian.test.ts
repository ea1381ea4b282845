import { spawn } from "node:child_process";
import { copyFile, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import anyTest, { type TestFn } from "ava";
import { projectRoot, projectVersion } from "../../lib/project.js";
import { cannotRun, debianRootTar, inRoot, type Run, SUITE, unpackRoot } from "./debian-root.js";

// `npm run package`'s .deb and tarball installed for real into a throwaway Debian root (see
// ./debian-root.ts): install, validate and one sample as the service user, the unit through
// systemd-analyze verify, an upgrade that keeps an edited config, purge; then the tarball.
// One root for the whole sequence, so the steps run in order.

const test = anyTest as TestFn<{ dir: string; root: string; debs: string[]; tarball: string }>;
const reason = cannotRun();
const serial = reason === undefined ? test.serial : test.serial.skip;
if (reason !== undefined) console.error(`test/package/debian: skipped: ${reason}`);

const V1 = projectVersion();
const V2 = `${V1}.1`;
/** A build whose default config changed too. */
const V3 = `${V1}.2`;
const CONFIG = "/etc/hostflow/agent.yaml";
const UNIT = "/usr/lib/systemd/system/hostflow-agent.service";
const WANTS = "/etc/systemd/system/multi-user.target.wants/hostflow-agent.service";

function packageVersion(version: string, out: string, config?: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [
        ...["--import", "tsx", "scripts/package.ts", "--version", version, "--out", out],
        ...(config === undefined ? [] : ["--config", config]),
      ],
      { cwd: projectRoot(), stdio: ["ignore", "ignore", "pipe"] },
    );
    let stderr = "";
    child.stderr.on("data", (d: Buffer) => {
      stderr += d.toString();
    });
    child.on("error", reject);
    child.on("close", (code) =>
      code === 0 ? resolve() : reject(new Error(`package ${version}: exit ${code}\n${stderr}`)),
    );
  });
}

test.before(async (t) => {
  if (reason !== undefined) return;
  const dir = await mkdtemp(path.join(tmpdir(), "hf-package-"));
  const out = path.join(dir, "out");
  const [tar] = await Promise.all([
    debianRootTar((line) => t.log(line)),
    packageVersion(V1, path.join(out, "v1")),
  ]);
  await packageVersion(V2, path.join(out, "v2"));
  const changed = path.join(dir, "agent.yaml");
  const shipped = await readFile(path.join(projectRoot(), "conf/agent.yaml"), "utf8");
  await writeFile(changed, `# a new default of ${V3}\n${shipped}`);
  await packageVersion(V3, path.join(out, "v3"), changed);
  const root = await unpackRoot(tar, dir);
  // Into the root's /tmp, where dpkg inside can read them.
  const debs = [];
  for (const [v, sub] of [
    [V1, "v1"],
    [V2, "v2"],
    [V3, "v3"],
  ] as const) {
    const name = `hostflow-agent_${v}_all.deb`;
    await copyFile(path.join(out, sub, name), path.join(root, "tmp", name));
    debs.push(`/tmp/${name}`);
  }
  await copyFile(
    path.join(out, "v2", `hostflow-agent-${V2}.tar.gz`),
    path.join(root, "tmp/hostflow-agent.tar.gz"),
  );
  t.context = { dir, root, debs, tarball: "/tmp/hostflow-agent.tar.gz" };
});

test.after.always(async (t) => {
  if (t.context?.dir) await rm(t.context.dir, { recursive: true, force: true });
});

async function sh(t: { context: { root: string } }, script: string): Promise<Run> {
  return inRoot(t.context.root, script);
}

function ok(t: { is(a: unknown, b: unknown, m?: string): void }, r: Run, what: string): void {
  t.is(r.code, 0, `${what}: exit ${r.code}\n${r.stdout}\n${r.stderr}`);
}

serial(
  "dpkg -i installs the bundle, the command, the unit, the user and the data dir",
  async (t) => {
    const r = await sh(t, `dpkg -i ${t.context.debs[0]}`);
    ok(t, r, "dpkg -i");
    // No systemd runs in the root: the service is enabled, not started, and the install says so.
    t.regex(r.stdout, /systemd is not running here: not started/);
    const facts = await sh(
      t,
      [
        "id -nu hostflow",
        "getent passwd hostflow | cut -d: -f6,7",
        "stat -c '%U:%G %a' /var/lib/hostflow",
        `stat -c '%U:%G %a' ${CONFIG}`,
        `test -f ${UNIT} && echo unit`,
        `test -L ${WANTS} && echo enabled`,
        "command -v hostflow-agent",
        "hostflow-agent --version",
      ].join(" && "),
    );
    ok(t, facts, "facts");
    t.deepEqual(facts.stdout.trim().split("\n"), [
      "hostflow",
      "/var/lib/hostflow:/usr/sbin/nologin",
      "hostflow:hostflow 750",
      "root:hostflow 640",
      "unit",
      "enabled",
      "/usr/bin/hostflow-agent",
      V1,
    ]);
  },
);

serial("validate and run --once, as the service user, on the root's Node.js", async (t) => {
  const node = await sh(t, "node --version");
  t.log(`Debian ${SUITE}: nodejs ${node.stdout.trim()}`);
  const as = "setpriv --reuid=hostflow --regid=hostflow --init-groups";
  const validate = await sh(t, `${as} hostflow-agent validate -c ${CONFIG}`);
  ok(t, validate, "validate");
  t.regex(validate.stdout, /agent.yaml: ok \(agent .*: 1 sources, 1 channels, 1 sinks/);
  const once = await sh(t, `${as} hostflow-agent run --once -c ${CONFIG}`);
  ok(t, once, "run --once");
  const names = new Set(
    once.stdout
      .trim()
      .split("\n")
      .map((line) => (JSON.parse(line) as { value: { name: string } }).value.name),
  );
  // Not disk: in a chroot the host's mounts are not the root's.
  for (const name of ["cpu", "mem", "system", "diskio", "net"]) t.true(names.has(name), name);
  // node hostflow-agent.mjs works as well as the command.
  const direct = await sh(
    t,
    `node /usr/lib/hostflow-agent/hostflow-agent.mjs validate -c ${CONFIG}`,
  );
  ok(t, direct, "node hostflow-agent.mjs validate");
});

serial("systemd-analyze verify accepts the unit", async (t) => {
  const r = await sh(t, `systemd-analyze verify --man=no ${UNIT}`);
  ok(t, r, "systemd-analyze verify");
  t.is(r.stderr.trim(), "", "no warnings");
});

serial("an upgrade keeps an edited config", async (t) => {
  const edit = `sed -i -e '1i # edited by the operator' -e 's/^agent:$/agent:\\n  id: edited-host/' ${CONFIG}`;
  ok(t, await sh(t, edit), "edit");
  const before = await sh(t, `cat ${CONFIG}`);
  ok(t, await sh(t, `hostflow-agent validate -c ${CONFIG}`), "the edited config is valid");
  const r = await sh(t, `dpkg -i ${t.context.debs[1]}`);
  ok(t, r, "dpkg -i (upgrade)");
  const after = await sh(t, `cat ${CONFIG}; dpkg-query -W -f '\${Version}' hostflow-agent`);
  t.is(after.stdout, before.stdout + V2);
  const once = await sh(t, `hostflow-agent run --once -c ${CONFIG} | head -1`);
  ok(t, once, "run --once after the upgrade");
  t.regex(once.stdout, /"hf-agent-id":"edited-host"/);
});

serial(
  "when the operator and the new default both changed it, dpkg asks; confold keeps the operator's",
  async (t) => {
    const before = await sh(t, `cat ${CONFIG}`);
    // No terminal to answer the prompt: dpkg stops there and says why.
    const asked = await sh(t, `dpkg -i ${t.context.debs[2]}`);
    t.not(asked.code, 0);
    t.regex(asked.stdout + asked.stderr, /Modified \(by you or by a script\) since installation/);
    t.regex(asked.stdout + asked.stderr, /Package distributor has shipped an updated version/);
    const kept = await sh(t, `dpkg -i --force-confold ${t.context.debs[2]}`);
    ok(t, kept, "dpkg -i --force-confold");
    const after = await sh(
      t,
      `cat ${CONFIG}; head -1 ${CONFIG}.dpkg-dist; dpkg-query -W -f '\${Version}' hostflow-agent`,
    );
    t.is(after.stdout, `${before.stdout}# a new default of ${V3}\n${V3}`);
  },
);

serial(
  "purge says what it removes, then removes the user, the unit and the data dir",
  async (t) => {
    const r = await sh(t, "dpkg --purge hostflow-agent");
    ok(t, r, "dpkg --purge");
    t.regex(r.stdout, /purge removes the user hostflow, \/var\/lib\/hostflow/);
    const left = await sh(
      t,
      `for f in /var/lib/hostflow ${UNIT} ${WANTS} /etc/hostflow /usr/bin/hostflow-agent /usr/lib/hostflow-agent; do test -e $f -o -L $f && echo $f; done; getent passwd hostflow; getent group hostflow; true`,
    );
    t.is(left.stdout.trim(), "", "nothing left");
  },
);

serial(
  "the tarball installs the same tree, with install.sh and uninstall.sh --purge",
  async (t) => {
    const r = await sh(
      t,
      `tar -xzf ${t.context.tarball} -C / && /usr/lib/hostflow-agent/install.sh`,
    );
    ok(t, r, "install.sh");
    ok(t, await sh(t, `hostflow-agent run --once -c ${CONFIG} | grep -q '"name":"cpu"'`), "--once");
    const facts = await sh(t, `stat -c '%U:%G %a' /var/lib/hostflow ${CONFIG}; test -L ${WANTS}`);
    t.is(facts.stdout, "hostflow:hostflow 750\nroot:hostflow 640\n");
    ok(t, await sh(t, "/usr/lib/hostflow-agent/uninstall.sh --purge"), "uninstall.sh --purge");
    const left = await sh(
      t,
      `for f in /var/lib/hostflow ${UNIT} ${WANTS} ${CONFIG} /usr/bin/hostflow-agent /usr/lib/hostflow-agent; do test -e $f -o -L $f && echo $f; done; getent passwd hostflow; true`,
    );
    t.is(left.stdout.trim(), "", "nothing left");
  },
);
