#!/usr/bin/env bash
# Installs the hostflow agent as a systemd service running as the unprivileged user `hostflow`.
# Run as root from a checkout or an unpacked release: sudo scripts/install-agent.sh [PREFIX]
set -euo pipefail

prefix=${1:-/opt/hostflow}
here=$(cd "$(dirname "$0")/.." && pwd)

[ "$(id -u)" -eq 0 ] || { echo "install-agent: run as root (sudo)" >&2; exit 1; }
command -v node >/dev/null || { echo "install-agent: Node.js >= 20 is required" >&2; exit 1; }
major=$(node -p 'process.versions.node.split(".")[0]')
[ "$major" -ge 20 ] || { echo "install-agent: Node.js >= 20 is required (found $(node -v))" >&2; exit 1; }

id hostflow >/dev/null 2>&1 || useradd --system --home-dir /var/lib/hostflow --shell /usr/sbin/nologin hostflow
install -d -o hostflow -g hostflow -m 0750 /var/lib/hostflow
install -d -m 0755 /etc/hostflow "$prefix"

# The build output and the production dependencies only, installed beside it.
[ -f "$here/dist/agent/cli.js" ] || { echo "install-agent: run 'npm run build' first" >&2; exit 1; }
rm -rf "$prefix/dist"
cp -R "$here/dist" "$here/conf" "$here/package.json" "$here/package-lock.json" "$prefix/"
(cd "$prefix" && npm ci --omit=dev --ignore-scripts --no-audit --no-fund >/dev/null)
ln -sf "$prefix/dist/agent/cli.js" /usr/local/bin/hostflow-agent
chmod +x "$prefix/dist/agent/cli.js"

# Keep an operator's edited config.
[ -f /etc/hostflow/agent.yaml ] || install -m 0640 -g hostflow "$here/conf/agent.yaml" /etc/hostflow/agent.yaml
hostflow-agent validate -c /etc/hostflow/agent.yaml

install -m 0644 "$here/scripts/systemd/hostflow-agent.service" /etc/systemd/system/hostflow-agent.service
systemctl daemon-reload
systemctl enable --now hostflow-agent
echo "hostflow-agent installed in $prefix and started; logs: journalctl -u hostflow-agent; health: curl -s 127.0.0.1:9200/health"
