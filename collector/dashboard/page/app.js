// The dashboard page: fleet tiles, a sortable and filterable host table, and one host's charts
// (uPlot). It asks the server's JSON API, which answers from a short cache, every refreshMs.
// With the live tail on, each host and each chart says what comes from Kafka (live, seconds
// old) and what from Hive (loaded by the collector).
/* global uPlot */

const STATUS_ORDER = { silent: 0, critical: 1, warning: 2, ok: 3 };
const PALETTE = ["#2563eb", "#d64545", "#2f9e5b", "#e0a100", "#7c3aed", "#0891b2", "#db2777"];

const state = {
  fleet: undefined,
  selected: new URLSearchParams(location.search).get("host") ?? undefined,
  range: "hour",
  sort: { key: "status", desc: false },
  filter: "",
  refreshMs: 30_000,
  plots: [],
};

const $ = (selector) => document.querySelector(selector);

function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attributes)) {
    if (key === "class") node.className = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value);
  }
  for (const child of children) node.append(child);
  return node;
}

async function getJson(path) {
  const response = await fetch(path);
  const body = await response.json().catch(() => ({}));
  if (!response.ok) {
    const error = new Error(body.error?.message ?? `${path}: HTTP ${response.status}`);
    error.code = body.error?.code;
    throw error;
  }
  return body;
}

function ago(ms) {
  if (ms === undefined || ms === null) return "never";
  const s = Math.max(0, Math.round((Date.now() - ms) / 1000));
  if (s < 90) return `${s} s ago`;
  if (s < 5400) return `${Math.round(s / 60)} min ago`;
  if (s < 172800) return `${Math.round(s / 3600)} h ago`;
  return `${Math.round(s / 86400)} d ago`;
}

const pct = (v) => (v === undefined || v === null ? "–" : v.toFixed(1));

function showBanner(message) {
  const banner = $("#banner");
  banner.hidden = message === undefined;
  banner.textContent = message ?? "";
}

/** "live (Kafka, 3 s ago)" or "loaded (Hive)". */
function sourceText(host) {
  return host.source === "live" ? `live (Kafka, ${ago(host.liveLastSeen)})` : "loaded (Hive)";
}

function clock(ms) {
  return new Date(ms).toLocaleTimeString();
}

function renderLive(live) {
  const box = $("#live-state");
  for (const item of document.querySelectorAll("[data-live-only]")) item.hidden = !live;
  box.hidden = !live;
  if (!live) return;
  box.className = live.state;
  if (live.state === "live") {
    const bad = live.bad > 0 ? ` · ${live.bad.toLocaleString("en")} bad records skipped` : "";
    const capped =
      live.droppedForHostCap > 0 ? ` · host cap ${live.maxHosts.toLocaleString("en")} reached` : "";
    box.replaceChildren(
      "live: ",
      el("b", {}, "Kafka"),
      `, last record ${ago(live.lastRecordAt)} · ${live.hosts.toLocaleString("en")} hosts${bad}${capped}`,
    );
  } else if (live.state === "starting") {
    box.textContent = "live: connecting to Kafka…";
  } else {
    box.textContent = `live: Kafka unreachable (${live.error ?? "no answer"}); retrying, the hosts show what Hive has`;
  }
}

function worst(host) {
  if (host.flags.length > 0) return host.flags[0];
  return `cpu ${pct(host.cpuPercent)}% · mem ${pct(host.memPercent)}%`;
}

function renderTiles() {
  const hosts = [...state.fleet.hosts].sort(
    (a, b) => STATUS_ORDER[a.status] - STATUS_ORDER[b.status] || (a.host < b.host ? -1 : 1),
  );
  const counts = { critical: 0, silent: 0, warning: 0, ok: 0 };
  for (const h of hosts) counts[h.status]++;
  $("#summary").textContent =
    `${hosts.length} hosts · ${counts.critical} over a threshold · ${counts.silent} silent · ${counts.warning} warnings`;
  $("#tiles").replaceChildren(
    ...hosts.map((h) =>
      el(
        "button",
        {
          type: "button",
          class: `tile ${h.status}${h.host === state.selected ? " selected" : ""}`,
          title: `${h.flags.join(", ") || "healthy"} · ${sourceText(h)}`,
          "data-host": h.host,
          "data-status": h.status,
          "data-source": h.source,
          onclick: () => selectHost(h.host),
        },
        el("span", { class: "name" }, h.host),
        worst(h),
      ),
    ),
  );
}

function sortValue(host, key) {
  if (key === "status") return STATUS_ORDER[host.status];
  if (key === "disk") return host.fullestDisk?.usedPercent ?? -1;
  if (key === "flags") return host.flags.join(", ");
  if (key === "source") return host.source;
  return host[key] ?? -1;
}

function renderTable() {
  const { key, desc } = state.sort;
  const needle = state.filter.toLowerCase();
  const rows = state.fleet.hosts
    .filter(
      (h) =>
        needle === "" ||
        h.host.toLowerCase().includes(needle) ||
        h.status.includes(needle) ||
        h.source.includes(needle) ||
        h.flags.join(" ").toLowerCase().includes(needle),
    )
    .sort((a, b) => {
      const x = sortValue(a, key);
      const y = sortValue(b, key);
      const order = x < y ? -1 : x > y ? 1 : a.host < b.host ? -1 : 1;
      return desc ? -order : order;
    });
  for (const th of document.querySelectorAll("#hosts th")) {
    th.classList.toggle("sorted", th.dataset.key === key);
    th.classList.toggle("desc", th.dataset.key === key && desc);
  }
  $("#hosts tbody").replaceChildren(
    ...rows.map((h) =>
      el(
        "tr",
        { "data-host": h.host, onclick: () => selectHost(h.host) },
        el("td", {}, h.host),
        el("td", {}, el("span", { class: `badge ${h.status}` }, h.status)),
        el("td", { class: "num" }, pct(h.cpuPercent)),
        el("td", { class: "num" }, pct(h.memPercent)),
        el(
          "td",
          { class: "num" },
          h.fullestDisk ? `${h.fullestDisk.path} ${pct(h.fullestDisk.usedPercent)}` : "–",
        ),
        el("td", { class: "num" }, ago(h.lastSeen)),
        el(
          "td",
          {},
          el(
            "span",
            { class: `badge ${h.source}`, title: sourceText(h) },
            h.source === "live" ? `live · ${ago(h.liveLastSeen)}` : "loaded",
          ),
        ),
        el("td", { class: "num" }, String(h.gaps)),
        el("td", { class: "flags" }, h.flags.join(", ")),
      ),
    ),
  );
}

function bytesPerSecond(v) {
  if (v === null || v === undefined) return "–";
  const units = ["B/s", "KB/s", "MB/s", "GB/s"];
  let i = 0;
  let x = Math.abs(v);
  while (x >= 1000 && i < units.length - 1) {
    x /= 1000;
    i++;
  }
  return `${(Math.sign(v) * x).toFixed(x < 10 ? 1 : 0)} ${units[i]}`;
}

/** uPlot wants one x array and aligned y arrays: the union of the series' times. */
function aligned(series) {
  const times = [...new Set(series.flatMap((s) => s.points.map((p) => p[0])))].sort(
    (a, b) => a - b,
  );
  const index = new Map(times.map((t, i) => [t, i]));
  const ys = series.map((s) => {
    const y = new Array(times.length).fill(null);
    for (const [t, v] of s.points) y[index.get(t)] = v;
    return y;
  });
  return [times.map((t) => t / 1000), ...ys];
}

/** The live part of a chart, from view.liveFrom on, under the lines. */
function shadeLive(u, from) {
  const { left, top, width, height } = u.bbox;
  const x = Math.max(left, u.valToPos(from, "x", true));
  if (x >= left + width) return;
  u.ctx.save();
  u.ctx.fillStyle = "rgba(37, 99, 235, 0.12)";
  u.ctx.fillRect(x, top, left + width - x, height);
  u.ctx.restore();
}

function renderSource(view) {
  const note = $("#host-source");
  note.hidden = !state.fleet?.live;
  if (view.liveFrom !== undefined)
    note.textContent = `shaded: live from Kafka, windows from ${clock(view.liveFrom)} on; before: loaded from Hive`;
  else if (view.windowSeconds * 1000 !== state.fleet?.live?.bucketMs)
    note.textContent = `all loaded from Hive: live windows are ${state.fleet?.live?.bucketMs / 1000} s, this range is drawn by ${view.windowSeconds} s`;
  else note.textContent = "all loaded from Hive: nothing newer from Kafka for this host";
}

function renderCharts(view) {
  for (const plot of state.plots) plot.destroy();
  state.plots = [];
  const container = $("#charts");
  const width = Math.max(380, Math.floor((container.clientWidth - 12) / 2) - 8);
  container.replaceChildren(
    ...view.charts.map((chart) => {
      const box = el(
        "div",
        {
          class: "chart",
          "data-chart": chart.id,
          ...(view.liveFrom === undefined ? {} : { "data-live-from": String(view.liveFrom) }),
        },
        el("h3", {}, `${chart.title} (${chart.unit})`),
      );
      if (chart.series.length === 0 || chart.series.every((s) => s.points.length === 0)) {
        box.append(el("div", { class: "empty" }, "no data in this range"));
        return box;
      }
      const percent = chart.unit === "%";
      const plot = new uPlot(
        {
          width,
          height: 200,
          scales: { y: percent ? { range: [0, 100] } : { auto: true } },
          hooks:
            view.liveFrom === undefined
              ? {}
              : { drawClear: [(u) => shadeLive(u, view.liveFrom / 1000)] },
          axes: [
            {},
            {
              size: 70,
              values: (_u, ticks) => ticks.map((v) => (percent ? `${v}%` : bytesPerSecond(v))),
            },
          ],
          series: [
            {},
            ...chart.series.map((s, i) => ({
              label: s.label,
              stroke: PALETTE[i % PALETTE.length],
              width: 1.5,
              spanGaps: false,
              value: (_u, v) =>
                percent ? (v === null ? "–" : `${v.toFixed(1)}%`) : bytesPerSecond(v),
            })),
          ],
        },
        aligned(chart.series),
        box,
      );
      state.plots.push(plot);
      return box;
    }),
  );
}

async function loadHost() {
  const host = state.selected;
  if (host === undefined) return;
  const info = state.fleet?.hosts.find((h) => h.host === host);
  $("#host").hidden = false;
  $("#host-title").textContent = host;
  $("#host-flags").textContent = info
    ? `${info.status}${info.flags.length ? `: ${info.flags.join(", ")}` : ""} · last sample ${ago(info.lastSeen)} · ${sourceText(info)}`
    : "";
  for (const b of document.querySelectorAll("#ranges button"))
    b.classList.toggle("active", b.dataset.range === state.range);
  const view = await getJson(`/api/host/${encodeURIComponent(host)}/series?range=${state.range}`);
  if (state.selected === host) {
    renderSource(view);
    renderCharts(view);
  }
}

function selectHost(host) {
  state.selected = host;
  history.replaceState(null, "", `?host=${encodeURIComponent(host)}`);
  renderTiles();
  loadHost().catch((error) => showBanner(error.message));
  $("#host").scrollIntoView({ behavior: "smooth", block: "start" });
}

async function refresh() {
  try {
    state.fleet = await getJson("/api/fleet");
    state.refreshMs = state.fleet.refreshMs ?? state.refreshMs;
    const hive = state.fleet.hiveError;
    if (hive)
      showBanner(
        `${hive.message} [${hive.code}]. Showing the live data from Kafka${state.fleet.loadedAt ? ` over Hive's answer of ${clock(state.fleet.loadedAt)}` : ""}; retrying.`,
      );
    else if (state.fleet.hivePending)
      showBanner("Waiting for Hive's first answer: showing the live data from Kafka only.");
    else showBanner(undefined);
    renderLive(state.fleet.live);
    renderTiles();
    renderTable();
    if (state.selected) await loadHost();
  } catch (error) {
    showBanner(
      `${error.message}${error.code ? ` [${error.code}]` : ""}. Showing the last data received; retrying every ${Math.round(state.refreshMs / 1000)} s.`,
    );
  }
  try {
    const status = await getJson("/api/status");
    const lag =
      status.lag === undefined
        ? [
            `lag unknown (${status.hiveError?.message ?? status.kafkaError ?? "Kafka did not answer"})`,
          ]
        : [el("b", {}, status.lag.toLocaleString("en")), " records behind Kafka"];
    $("#freshness").replaceChildren(
      "last load ",
      el("b", {}, ago(status.lastLoadAt)),
      " · ",
      ...lag,
      ` · refreshed ${new Date().toLocaleTimeString()}`,
    );
  } catch (error) {
    $("#freshness").textContent = `status unknown: ${error.message}`;
  }
  setTimeout(refresh, state.refreshMs);
}

$("#filter").addEventListener("input", (event) => {
  state.filter = event.target.value;
  if (state.fleet) renderTable();
});
for (const th of document.querySelectorAll("#hosts th")) {
  th.addEventListener("click", () => {
    const key = th.dataset.key;
    state.sort = { key, desc: state.sort.key === key ? !state.sort.desc : false };
    renderTable();
  });
}
for (const button of document.querySelectorAll("#ranges button")) {
  button.addEventListener("click", () => {
    state.range = button.dataset.range;
    loadHost().catch((error) => showBanner(error.message));
  });
}
$("#close-host").addEventListener("click", () => {
  state.selected = undefined;
  history.replaceState(null, "", location.pathname);
  $("#host").hidden = true;
  renderTiles();
});

refresh();
