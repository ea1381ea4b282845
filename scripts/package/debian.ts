/**
 * The Debian package's control file and maintainer scripts, and the tarball's install and
 * uninstall scripts: the same shell steps, so that both install alike. POSIX sh, safe where
 * systemd does not run (a chroot, a container): the service is enabled when systemctl exists,
 * and started, stopped or reloaded only when systemd is the running init (/run/systemd/system).
 */

export const USER = "hostflow";
export const DATA_DIR = "/var/lib/hostflow";
export const CONFIG = "/etc/hostflow/agent.yaml";
export const UNIT = "hostflow-agent.service";

export function control(version: string, installedKb: number): string {
  return `${[
    "Package: hostflow-agent",
    `Version: ${version}`,
    "Architecture: all",
    "Maintainer: hostflow maintainers <hostflow@localhost>",
    `Installed-Size: ${installedKb}`,
    "Depends: nodejs (>= 20), passwd",
    "Section: admin",
    "Priority: optional",
    "Description: hostflow agent: this host's health, sampled and produced to Kafka",
    " A light, Flume-like agent: it samples CPU, memory, swap, load, disks, disk I/O,",
    " network and processes (Telegraf's names) and produces them to Kafka, keeping",
    " them in a file channel while Kafka is away. It runs as the systemd service",
    " hostflow-agent, as the unprivileged user hostflow, with its config in",
    " /etc/hostflow/agent.yaml.",
  ].join("\n")}\n`;
}

/** The user, the data dir and the config's group: what an install makes (idempotent). */
const CREATE = `
if ! getent passwd ${USER} >/dev/null; then
  useradd --system --user-group --home-dir ${DATA_DIR} --no-create-home \\
    --shell /usr/sbin/nologin --comment "hostflow agent" ${USER}
fi
install -d -o ${USER} -g ${USER} -m 0750 ${DATA_DIR}
`;

/** Enabled where systemctl exists (it works offline); started only under a running systemd. */
const ENABLE_AND_START = `
if command -v systemctl >/dev/null 2>&1; then
  systemctl enable ${UNIT} >/dev/null 2>&1 || echo "hostflow-agent: could not enable ${UNIT}" >&2
fi
if [ -d /run/systemd/system ]; then
  systemctl daemon-reload
  systemctl restart ${UNIT} || echo "hostflow-agent: ${UNIT} did not start: journalctl -u hostflow-agent" >&2
else
  echo "hostflow-agent: systemd is not running here: not started (hostflow-agent run -c ${CONFIG})"
fi
`;

const STOP = `
if [ -d /run/systemd/system ]; then
  systemctl stop ${UNIT} || true
fi
`;

const PURGE = `
echo "hostflow-agent: purge removes the user ${USER}, ${DATA_DIR} (with any samples not yet sent) and the unit's enablement"
if command -v systemctl >/dev/null 2>&1; then
  systemctl disable ${UNIT} >/dev/null 2>&1 || true
fi
rm -f /etc/systemd/system/multi-user.target.wants/${UNIT}
if [ -d /run/systemd/system ]; then
  systemctl daemon-reload || true
fi
rm -rf ${DATA_DIR}
if getent passwd ${USER} >/dev/null; then
  userdel ${USER} || echo "hostflow-agent: could not remove the user ${USER}" >&2
fi
if getent group ${USER} >/dev/null; then
  groupdel ${USER} 2>/dev/null || true
fi
`;

const script = (body: string) => `#!/bin/sh\nset -e\n${body.trimStart()}`;

export const postinst = script(`
# $1: configure; $2: the version configured before (empty on a first install).
if [ "$1" = configure ]; then
${indent(CREATE)}
  # The config may hold credentials (SASL): readable by the service, not by everyone. dpkg
  # installs it root:root 0644 (first install, or a new default the operator had not edited).
  if [ "$(stat -c %U:%G:%a ${CONFIG})" = root:root:644 ]; then
    chgrp ${USER} ${CONFIG} && chmod 0640 ${CONFIG}
  fi
${indent(ENABLE_AND_START)}
fi
exit 0
`);

export const prerm = script(`
# An upgrade keeps it running until postinst restarts it with the new version.
if [ "$1" = remove ] || [ "$1" = deconfigure ]; then
${indent(STOP)}
fi
exit 0
`);

export const postrm = script(`
case "$1" in
  remove)
    if [ -d /run/systemd/system ]; then systemctl daemon-reload || true; fi
    ;;
  purge)
${indent(PURGE, 4)}
    ;;
esac
exit 0
`);

/** The tarball's install: the package's postinst, and the default config unless one exists. */
export const tarballInstall = script(`
# After \`tar -xzf hostflow-agent-VERSION.tar.gz -C /\`, as root:
#   /usr/lib/hostflow-agent/install.sh
# An existing ${CONFIG} is kept: the default is /usr/lib/hostflow-agent/agent.yaml.
[ "$(id -u)" -eq 0 ] || { echo "install.sh: run as root" >&2; exit 1; }
command -v node >/dev/null 2>&1 || { echo "install.sh: Node.js >= 20 is required" >&2; exit 1; }
major=$(node -p 'process.versions.node.split(".")[0]')
[ "$major" -ge 20 ] || { echo "install.sh: Node.js >= 20 is required (found $(node -v))" >&2; exit 1; }
${CREATE}
if [ ! -f ${CONFIG} ]; then
  install -d -m 0755 /etc/hostflow
  install -m 0640 -g ${USER} /usr/lib/hostflow-agent/agent.yaml ${CONFIG}
fi
/usr/bin/hostflow-agent validate -c ${CONFIG}
${ENABLE_AND_START}
`);

/** The tarball's uninstall: stop, remove the files; with --purge also the user, data and config. */
export const tarballUninstall = (files: readonly string[]) =>
  script(`
#   /usr/lib/hostflow-agent/uninstall.sh [--purge]
[ "$(id -u)" -eq 0 ] || { echo "uninstall.sh: run as root" >&2; exit 1; }
${STOP}
if [ "\${1:-}" = --purge ]; then
${indent(PURGE)}
  rm -f ${CONFIG}
  rmdir /etc/hostflow 2>/dev/null || true
fi
rm -f ${files.map((f) => `/${f}`).join(" ")}
rmdir /usr/lib/hostflow-agent 2>/dev/null || true
`);

function indent(text: string, by = 2): string {
  return text
    .trim()
    .split("\n")
    .map((line) => (line === "" ? line : " ".repeat(by) + line))
    .join("\n");
}
