/**
 * The fleet bench's figures: printed for the terminal, and as a Markdown block for
 * BENCHMARKS.md (newest run first, under the fleet section's marker).
 */
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import type { DashboardWatcher } from "./dashboard.js";
import type { PartFigures } from "./proc.js";
import {
  fixed,
  Histogram,
  int,
  markdownTable,
  type Summary,
  summarize,
  textTable,
} from "./stats.js";
import type { Truth } from "./truth.js";
import type { Commit, FieldTotal, ViewPoll } from "./warehouse.js";

/** Issue 14's aims. */
export const AIMS = {
  freshnessP95S: 90,
  dashboardP95S: 10,
  filesPerPartition: 10,
};

/** One run of a collector, as its summary line says. */
export interface CollectorRunLine {
  at: number;
  records: number;
  seconds: number;
  lagLeft: number;
  line: string;
}

/** How the agents ran when not as installed: nice, and the JIT. */
function agentSetup(o: { agentNice: number; agentJit: boolean }): string {
  const how = [
    ...(o.agentJit ? ["node with the JIT"] : []),
    ...(o.agentNice !== 0 ? [`nice ${o.agentNice}`] : []),
  ];
  return how.length > 0 ? ` (${how.join(", ")})` : "";
}

export interface Results {
  options: {
    minutes: number;
    hosts: number;
    agents: number;
    collectors: number;
    partitions: number;
    intervalS: number;
    schedule: string;
    maxDuration: string;
    /** The agents' nice value (they simulate hosts whose CPU is their own on a real fleet). */
    agentNice: number;
    /** Node with the JIT instead of the bundle's #! flags (--lite-mode). */
    agentJit: boolean;
    pollS: number;
    /** How `loads` was polled: its files through WebHDFS, or HiveServer2. */
    loadsVia: "files" | "hive";
    viewPollS: number;
    dashboardPollS: number;
    brokerDownS: number | undefined;
    collectorKill: boolean;
    command: string;
  };
  machine: {
    date: string;
    cores: number;
    model: string;
    memoryGiB: number;
    loadAverage: string;
    node: string;
    java: string;
    kafka: string;
    hadoop: string;
    hive: string;
    kcat: string;
    commit: string;
  };
  runDir: string;
  t0: number;
  windowSeconds: number;
  events: Array<{ at: number; what: string }>;
  faultWindows: Array<[number, number]>;
  parts: PartFigures[];
  machineBusy: { seconds: number; over: number };
  agents: Array<{ name: string; hosts: number; warnings: number; exit: number | null }>;
  collectors: Array<{
    name: string;
    runs: CollectorRunLine[];
    failures: string[];
    skipped: number;
    warnings: number;
    crashes: number;
    rebalances: number;
    strayAssignments: number;
    stopped: string;
  }>;
  lagSeries: Array<{ at: number; end: number; loaded: number }>;
  totalEnd: number;
  drained: boolean;
  drainSeconds: number;
  commits: Commit[];
  commitPolls: { polls: number; averageMs: number; lastError: string | undefined };
  truth: Truth;
  /** Undefined when the statement failed (checkErrors says why). */
  viewFields: Map<string, FieldTotal> | undefined;
  viewWindows: Map<string, FieldTotal> | undefined;
  checkErrors: string[];
  viewPolls: ViewPoll[];
  viewError: string | undefined;
  sampledHosts: string[];
  dashboard: DashboardWatcher | undefined;
  quarantined: number;
  gapRows: Array<{ kind: string; rows: number; missing: number }>;
  filesBefore: Map<string, Map<string, number>>;
  compaction:
    | { available: false }
    | {
        available: true;
        exit: number | null;
        seconds: number;
        output: string;
        after: Map<string, Map<string, number>>;
        viewFieldsAfter: Map<string, FieldTotal> | undefined;
      };
}

// ---------------------------------------------------------------------------------------------
// Exactly once

interface Difference {
  key: string;
  kafka: FieldTotal | undefined;
  view: FieldTotal | undefined;
}

interface Comparison {
  compared: number;
  lost: number;
  duplicated: number;
  /** Keys with the same samples but a sum that differs beyond rounding. */
  sumMismatches: number;
  differences: Difference[];
}

/** A sum differs when it is off by more than rounding of a different order of additions. */
const sumsDiffer = (a: number, b: number) =>
  Math.abs(a - b) > 1e-9 * Math.max(1, Math.abs(a), Math.abs(b));

function compare(
  kafka: Map<string, FieldTotal>,
  view: Map<string, FieldTotal> | undefined,
): Comparison | undefined {
  if (view === undefined) return undefined;
  const out: Comparison = {
    compared: 0,
    lost: 0,
    duplicated: 0,
    sumMismatches: 0,
    differences: [],
  };
  for (const key of new Set([...kafka.keys(), ...view.keys()])) {
    const k = kafka.get(key);
    const v = view.get(key);
    out.compared += 1;
    const diff = (v?.samples ?? 0) - (k?.samples ?? 0);
    if (diff > 0) out.duplicated += diff;
    if (diff < 0) out.lost -= diff;
    const sumOff = diff === 0 && sumsDiffer(k?.total ?? 0, v?.total ?? 0);
    if (sumOff) out.sumMismatches += 1;
    if (diff !== 0 || sumOff) out.differences.push({ key, kafka: k, view: v });
  }
  return out;
}

/** The view's per (measurement, field) totals of one window size, keyed as the reader's. */
function ofWindow(
  view: Map<string, FieldTotal> | undefined,
  seconds: number,
): Map<string, FieldTotal> | undefined {
  if (view === undefined) return undefined;
  const out = new Map<string, FieldTotal>();
  for (const [key, total] of view) {
    const [size, ...rest] = key.split("\0");
    if (Number(size) === seconds) out.set(rest.join("\0"), total);
  }
  return out;
}

/**
 * Offsets committed by two different loads (not two attempts of one load, which the views
 * count once): what the views count twice.
 */
function overlappingCommits(commits: Commit[]) {
  const load = (c: Commit) => c.loadId.split("#")[0];
  const byPartition = new Map<number, Commit[]>();
  for (const c of commits)
    byPartition.set(c.partition, [...(byPartition.get(c.partition) ?? []), c]);
  const pairs: Array<{ a: Commit; b: Commit; records: number }> = [];
  for (const list of byPartition.values()) {
    list.sort((x, y) => x.from - y.from);
    for (let i = 0; i < list.length; i++) {
      for (let j = i + 1; j < list.length; j++) {
        const a = list[i] as Commit;
        const b = list[j] as Commit;
        if (b.from >= a.next) break;
        if (load(a) === load(b)) continue;
        pairs.push({ a, b, records: Math.min(a.next, b.next) - b.from });
      }
    }
  }
  return pairs;
}

// ---------------------------------------------------------------------------------------------
// Freshness through the view itself, for the sampled hosts

function viewFreshness(r: Results): { view: Histogram; commit: Histogram; unseen: number } {
  const view = new Histogram();
  const commit = new Histogram();
  let unseen = 0;
  const polls = [...r.viewPolls].sort((a, b) => a.endedAt - b.endedAt);
  const first = polls[0];
  const last = polls[polls.length - 1];
  if (first === undefined || last === undefined) return { view, commit, unseen };
  for (const [host, samples] of r.truth.sampledCpu) {
    // In read order, which is the partition's: a load covers a prefix of it.
    samples.forEach(([ts, committedAt], i) => {
      if (ts < first.startedAt || (committedAt ?? Number.POSITIVE_INFINITY) > last.startedAt)
        return;
      const poll = polls.find((p) => (p.counts.get(host) ?? 0) >= i + 1);
      if (poll === undefined) {
        unseen += 1;
        return;
      }
      view.add((poll.endedAt - ts) / 1000);
      if (committedAt !== undefined) commit.add((committedAt - ts) / 1000);
    });
  }
  return { view, commit, unseen };
}

// ---------------------------------------------------------------------------------------------
// The report

const s0 = (n: number) => fixed(n, 0);
const sec = (n: number) => `${fixed(n, 1)} s`;
const quantiles = (s: Summary) =>
  s.count === 0 ? "n/a" : `p50 ${sec(s.p50)}, p95 ${sec(s.p95)}, max ${sec(s.max)}`;
const verdict = (ok: boolean | undefined) =>
  ok === undefined ? "not measured" : ok ? "PASS" : "FAIL";

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? Number.NaN : (s[Math.floor((s.length - 1) / 2)] as number);
}

function filesTable(
  before: Map<string, Map<string, number>>,
  after?: Map<string, Map<string, number>>,
) {
  const rows: string[][] = [
    after === undefined
      ? ["table", "partitions", "files per partition (max)", "files"]
      : [
          "table",
          "partitions",
          "files per partition (max), before",
          "after",
          "files before",
          "after",
        ],
  ];
  let worstAfter = 0;
  for (const [table, partitions] of [...before].sort()) {
    const counts = [...partitions.values()];
    const a = after?.get(table);
    const afterCounts = a === undefined ? [] : [...a.values()];
    worstAfter = Math.max(worstAfter, ...afterCounts);
    const sum = (xs: number[]) => xs.reduce((x, y) => x + y, 0);
    rows.push(
      after === undefined
        ? [table, int(partitions.size), int(Math.max(0, ...counts)), int(sum(counts))]
        : [
            table,
            int(partitions.size),
            int(Math.max(0, ...counts)),
            int(Math.max(0, ...afterCounts)),
            int(sum(counts)),
            int(sum(afterCounts)),
          ],
    );
  }
  return { rows, worstAfter };
}

export function report(r: Results): {
  text: string;
  markdown: string;
  allMet: boolean;
  correct: boolean;
} {
  const o = r.options;
  const m = r.machine;
  const rel = (at: number) => `${s0((at - r.t0) / 1000)} s`;

  // Throughput and lag
  const windowEnd = r.t0 + r.windowSeconds * 1000;
  const atEnd = [...r.lagSeries].filter((l) => l.at <= windowEnd).pop();
  // Rates over the window's last two thirds: the first third holds the pipeline's warm-up.
  const steadyFrom = r.lagSeries.find((l) => l.at >= r.t0 + (r.windowSeconds * 1000) / 3);
  const steadyS = atEnd && steadyFrom ? (atEnd.at - steadyFrom.at) / 1000 : Number.NaN;
  const producedRate = atEnd && steadyFrom ? (atEnd.end - steadyFrom.end) / steadyS : Number.NaN;
  const loadedRate =
    atEnd && steadyFrom ? (atEnd.loaded - steadyFrom.loaded) / steadyS : Number.NaN;
  const maxLag = Math.max(0, ...r.lagSeries.map((l) => l.end - l.loaded));
  const lagAtEnd = atEnd === undefined ? Number.NaN : atEnd.end - atEnd.loaded;
  const perMinute = producedRate * 60;
  const keepsUp = r.drained && lagAtEnd <= 2 * perMinute && r.drainSeconds <= 150;

  // Exactly once
  const fields60 = compare(r.truth.fields, ofWindow(r.viewFields, 60));
  const fields3600 = compare(r.truth.fields, ofWindow(r.viewFields, 3600));
  const windows = compare(r.truth.hostWindows, r.viewWindows);
  const compacted = r.compaction.available === true;
  const fieldsAfter =
    r.compaction.available === true
      ? compare(r.truth.fields, ofWindow(r.compaction.viewFieldsAfter, 60))
      : undefined;
  const exact = [fields60, fields3600, windows, ...(compacted ? [fieldsAfter] : [])].every(
    (c) => c !== undefined && c.lost === 0 && c.duplicated === 0 && c.sumMismatches === 0,
  );
  const total = (pick: (c: Comparison) => number) =>
    [fields60, windows].reduce((n, c) => n + (c === undefined ? 0 : pick(c)), 0);
  const correct = exact && r.truth.neverVisible === 0 && r.truth.bad === 0;
  const overlaps = overlappingCommits(r.commits);
  const overlapText = overlaps
    .slice(0, 8)
    .map(
      ({ a, b, records }) =>
        `partition ${a.partition}: ${int(records)} records in ${a.loadId} (${a.collector}, offsets ${a.from}–${a.next - 1}, seen at ${rel(a.seenAt)}) and ${b.loadId} (${b.collector}, ${b.from}–${b.next - 1}, seen at ${rel(b.seenAt)})`,
    );
  const producerDuplicates = r.truth.streams.reduce((n, s) => n + s.duplicates, 0);
  const producerMissing = r.truth.streams.reduce((n, s) => n + s.missing, 0);

  // Freshness
  const fresh = summarize(r.truth.freshness);
  const quiet = summarize(r.truth.freshnessQuiet);
  const intoKafka = summarize(r.truth.intoKafka);
  const fromKafka = summarize(r.truth.freshnessFromKafka);
  const viewCheck = viewFreshness(r);
  const dash = r.dashboard;
  const dashMode = dash?.mode() ?? "waiting";
  const dashFresh =
    dash !== undefined && (dashMode === "live" || dashMode === "hive")
      ? dash.freshness(r.truth.cpuTimes, r.truth.cpuSent)
      : undefined;
  const dashSummary = dashFresh === undefined ? undefined : summarize(dashFresh.all);
  const dashFromKafka = dashFresh === undefined ? undefined : summarize(dashFresh.fromKafka);

  // Files
  const files = filesTable(
    r.filesBefore,
    r.compaction.available === true ? r.compaction.after : undefined,
  );

  const aims: Array<[string, string, boolean | undefined]> = [
    [
      "every sample counted exactly once (Kafka, read back by kcat, against the metrics view)",
      `${int(total((c) => c.lost))} lost, ${int(total((c) => c.duplicated))} duplicated, ${int(total((c) => c.sumMismatches))} sums off, ${int(r.truth.neverVisible)} records never visible${r.checkErrors.length > 0 ? `; NOT CHECKED: ${r.checkErrors.join("; ")}` : ""}`,
      correct,
    ],
    [
      `freshness, sample → metrics view, p95 ≤ ${AIMS.freshnessP95S} s`,
      quantiles(fresh),
      fresh.count > 0 ? fresh.p95 <= AIMS.freshnessP95S : undefined,
    ],
    [
      `freshness on the dashboard, p95 ≤ ${AIMS.dashboardP95S} s`,
      dashSummary === undefined
        ? `not measured: ${dashMode === "not live" ? "the hosts of /api/fleet have no `source` (the dashboard runs without its live Kafka tail)" : "the dashboard listed no hosts"}`
        : `${quantiles(dashSummary)}${dashMode === "hive" ? " (Hive-backed lastSeen, --dashboard-force: not the live tail)" : ""}`,
      dashSummary === undefined ? undefined : dashSummary.p95 <= AIMS.dashboardP95S,
    ],
    [
      `≤ ${AIMS.filesPerPartition} files per day partition per table after compaction`,
      r.compaction.available === true
        ? `at most ${files.worstAfter} after \`compact\` (exit ${r.compaction.exit})`
        : "compaction: not available (hostflow-collector has no compact command)",
      r.compaction.available === true
        ? r.compaction.exit === 0 && files.worstAfter <= AIMS.filesPerPartition
        : undefined,
    ],
    [
      "(extra) agents → Kafka: every sequence number the agents committed is in the topic",
      `${int(producerMissing)} missing, ${int(producerDuplicates)} duplicated (at-least-once retries)`,
      producerMissing === 0,
    ],
    [
      "the collectors keep up",
      `produced ${int(producedRate)}/s, committed ${int(loadedRate)}/s over the window's last two thirds; lag at its end ${int(lagAtEnd)} records (${fixed(lagAtEnd / producedRate, 0)} s of production), max ${int(maxLag)}; all loaded ${r.drained ? `${s0(r.drainSeconds)} s` : "NOT"} after the agents stopped`,
      keepsUp,
    ],
  ];
  const allMet = aims.every(([, , ok]) => ok !== false);

  // ---- parts
  const partRows = [
    ["part", "CPU s", "cores (avg)", "steady RSS MB", "peak RSS MB", "processes"],
    ...r.parts.map((p) => [
      p.name,
      fixed(p.cpuSeconds, 0),
      fixed(p.cores, 3),
      fixed(p.steadyRssMb, 0),
      fixed(p.peakRssMb, 0),
      String(p.processes),
    ]),
  ];
  const ours = r.parts.reduce((n, p) => n + p.cpuSeconds, 0);
  const busy = r.machineBusy.seconds;
  const cpuLine = `machine busy ${fixed(busy / r.machineBusy.over, 2)} of ${m.cores} cores over the window; the parts above ${fixed(ours / r.windowSeconds, 2)}, everything else (the bench itself, kcat, other users' processes) ${fixed((busy - ours) / r.machineBusy.over, 2)}`;

  const collectorRows = [
    [
      "collector",
      "runs",
      "records per run (median)",
      "run s (median / max)",
      "failed",
      "ticks skipped",
      "rebalances",
      "consumer crashes",
      "assignments outside a run",
      "warn+error lines",
      "at the bench's SIGTERM",
    ],
    ...r.collectors.map((c) => [
      c.name,
      String(c.runs.length),
      int(median(c.runs.map((x) => x.records))),
      `${fixed(median(c.runs.map((x) => x.seconds)), 1)} / ${fixed(Math.max(0, ...c.runs.map((x) => x.seconds)), 1)}`,
      String(c.failures.length),
      String(c.skipped),
      String(c.rebalances),
      String(c.crashes),
      String(c.strayAssignments),
      String(c.warnings),
      c.stopped,
    ]),
  ];
  const agentLine = r.agents
    .map((a) => `${a.name} ${int(a.hosts)} hosts, ${a.warnings} warn/error lines, exit ${a.exit}`)
    .join("; ");

  const compareRow = (what: string, c: Comparison | undefined) =>
    c === undefined
      ? [what, "query failed", "", "", ""]
      : [what, int(c.compared), int(c.lost), int(c.duplicated), int(c.sumMismatches)];
  const exactRows = [
    ["compared", "keys", "lost samples", "duplicated samples", "sums off"],
    compareRow("per measurement and field, 1 min windows", fields60),
    compareRow("per measurement and field, 1 h windows", fields3600),
    compareRow("per host and minute: cpu usage_idle, mem used_percent", windows),
    ...(compacted
      ? [compareRow("after compaction, per measurement and field, 1 min", fieldsAfter)]
      : []),
  ];
  const firstDifferences = [...(fields60?.differences ?? []), ...(windows?.differences ?? [])]
    .slice(0, 10)
    .map(
      (d) =>
        `${d.key.replace(/\0/g, " ")}: Kafka ${d.kafka?.samples ?? 0} samples (sum ${d.kafka?.total ?? 0}), view ${d.view?.samples ?? 0} (sum ${d.view?.total ?? 0})`,
    );

  const freshRows = [
    ["freshness", "samples", "p50", "p95", "max"],
    [
      "sample → metrics view (commit seen in loads), all",
      int(fresh.count),
      sec(fresh.p50),
      sec(fresh.p95),
      sec(fresh.max),
    ],
    [
      "… outside the fault windows",
      int(quiet.count),
      sec(quiet.p50),
      sec(quiet.p95),
      sec(quiet.max),
    ],
    [
      "sample → record in Kafka (CreateTime)",
      int(intoKafka.count),
      sec(intoKafka.p50),
      sec(intoKafka.p95),
      sec(intoKafka.max),
    ],
    [
      "record in Kafka (CreateTime) → metrics view (commit seen in loads)",
      int(fromKafka.count),
      sec(fromKafka.p50),
      sec(fromKafka.p95),
      sec(fromKafka.max),
    ],
    ...(viewCheck.view.count > 0
      ? [
          [
            `sampled hosts' cpu samples, the metrics view polled`,
            int(viewCheck.view.count),
            sec(viewCheck.view.quantile(0.5)),
            sec(viewCheck.view.quantile(0.95)),
            sec(viewCheck.view.max),
          ],
          [
            "the same samples, commit seen in loads",
            int(viewCheck.commit.count),
            sec(viewCheck.commit.quantile(0.5)),
            sec(viewCheck.commit.quantile(0.95)),
            sec(viewCheck.commit.max),
          ],
        ]
      : []),
    ...(dashSummary
      ? [
          [
            `sample → dashboard /api/fleet (${dashMode})`,
            int(dashSummary.count),
            sec(dashSummary.p50),
            sec(dashSummary.p95),
            sec(dashSummary.max),
          ],
          ...(dashFromKafka
            ? [
                [
                  `record in Kafka (CreateTime) → dashboard /api/fleet (${dashMode})`,
                  int(dashFromKafka.count),
                  sec(dashFromKafka.p50),
                  sec(dashFromKafka.p95),
                  sec(dashFromKafka.max),
                ],
              ]
            : []),
        ]
      : []),
  ];
  const viewPollMs =
    r.viewPolls.length === 0
      ? Number.NaN
      : r.viewPolls.reduce((n, p) => n + p.endedAt - p.startedAt, 0) / r.viewPolls.length;

  const eventsText = r.events.map((e) => `${rel(e.at)}: ${e.what}`);
  const gapsText =
    r.gapRows.length === 0
      ? "none"
      : r.gapRows
          .map((g) => `${g.kind} ${int(g.rows)} rows (${int(g.missing)} sequence numbers)`)
          .join(", ");
  const holesText = r.truth.streams.flatMap((s) =>
    s.holes.map(
      (h) =>
        `${s.agentId}: seq ${h.from}–${h.to} (${h.to - h.from + 1}) missing between records sent at ${rel(h.sentBefore)} and ${rel(h.sentAfter)}`,
    ),
  );
  const streamsText = r.truth.streams
    .map(
      (s) =>
        `${s.agentId} ${int(s.records)} records, seq ${s.lowest}–${s.highest}, ${int(s.missing)} missing, ${int(s.duplicates)} duplicates`,
    )
    .join("; ");

  const setup = `${o.agents} agents × ${int(o.hosts / o.agents)} simulated hosts (${int(o.hosts)}) every ${o.intervalS} s${agentSetup(o)}, ${o.collectors} collectors (\`run --schedule "${o.schedule}"\`, run.max_duration ${o.maxDuration}) in one group, ${o.partitions} partitions (replication 3, min.insync.replicas 2), ${o.minutes} min`;
  const faults = [
    o.brokerDownS === undefined
      ? "no broker kill"
      : `broker 2 SIGKILLed at 30 % for ${o.brokerDownS} s`,
    o.collectorKill
      ? `collector ${o.collectors} SIGKILLed in a run at 60 %, started again 5 s later`
      : "no collector kill",
  ].join("; ");

  // ---- text
  const text = [
    `fleet: ${setup}; ${faults}`,
    `machine: ${m.cores} × ${m.model}, ${m.memoryGiB} GiB, load average ${m.loadAverage} at the end; node ${m.node}, ${m.java}, Kafka ${m.kafka}, Hadoop ${m.hadoop}, Hive ${m.hive}, ${m.kcat}; hostflow ${m.commit}`,
    `logs: ${r.runDir}`,
    "",
    "timeline (from the agents' start):",
    ...eventsText.map((e) => `  ${e}`),
    "",
    `throughput: ${int(r.totalEnd)} records produced in ${s0(r.windowSeconds)} s; over the window's last two thirds ${int(producedRate)} records/s produced, ${int(loadedRate)}/s committed in Hive; lag max ${int(maxLag)}, at the window's end ${int(lagAtEnd)}; all loaded ${r.drained ? `${s0(r.drainSeconds)} s` : "NOT"} after the agents stopped`,
    textTable(collectorRows),
    `  agents: ${agentLine}`,
    "",
    `exactly once: ${int(r.truth.records)} records read back by kcat in ${s0(r.truth.readSeconds)} s (${int(r.truth.hosts)} hosts, ${int(r.truth.bad)} unreadable), against the metrics view:`,
    textTable(exactRows),
    ...firstDifferences.map((d) => `  difference: ${d}`),
    `  ${correct ? "0 lost / 0 duplicated" : "NOT exactly once"}; records never visible in the view: ${int(r.truth.neverVisible)}; quarantined: ${int(r.quarantined)}`,
    `  producer side (hf-seq per agent stream, in Kafka): ${int(producerDuplicates)} duplicates, ${int(producerMissing)} missing — ${streamsText}`,
    `  commits of the same offsets by two loads: ${overlaps.length === 0 ? "none" : `${overlaps.length} (${int(overlaps.reduce((n, o) => n + o.records, 0))} records)`}`,
    ...overlapText.map((t) => `    ${t}`),
    ...holesText.map((h) => `  hole: ${h}`),
    `  gaps view (the collectors' gap tracker): ${gapsText}`,
    "",
    `freshness (loads polled every ${o.pollS} s ${o.loadsVia === "files" ? "(its files, through WebHDFS)" : "(through HiveServer2)"}, ${int(r.commitPolls.polls)} polls of ${s0(r.commitPolls.averageMs)} ms; the view for ${r.sampledHosts.length} hosts every ${o.viewPollS} s, ${r.viewPolls.length} polls of ${s0(viewPollMs)} ms${r.viewError ? `, last error: ${r.viewError}` : ""}):`,
    textTable(freshRows),
    `  dashboard: ${dashMode}${dash ? ` (a host's fields: ${dash.stats().hostFields.join(", ") || "none seen"}), ${dash.stats().polls} polls of ${s0(dash.stats().averageMs)} ms${dash.stats().lastError ? `, last error: ${dash.stats().lastError}` : ""}` : ", never answered"}`,
    "",
    "CPU (utime+stime from /proc, over the production window) and RSS:",
    textTable(partRows),
    `  ${cpuLine}`,
    "",
    `files per day partition (WebHDFS LISTSTATUS)${r.compaction.available === true ? `, before and after compact (${sec(r.compaction.seconds)}; ${r.compaction.output.replace(/\n/g, " / ")})` : "; compaction: not available"}:`,
    textTable(files.rows),
    "",
    "aims:",
    ...aims.map(([what, measured, ok]) => `  ${verdict(ok).padEnd(12)} ${what}: ${measured}`),
  ].join("\n");

  // ---- markdown
  const markdown = [
    `### ${m.date.slice(0, 10)}: ${int(o.hosts)} hosts, ${o.minutes} min${o.brokerDownS !== undefined || o.collectorKill ? ", with faults" : ""}`,
    "",
    `\`${o.command}\` (hostflow ${m.commit}). ${setup}; ${faults}. Machine: ${m.cores} × ${m.model}, ${m.memoryGiB} GiB, load average ${m.loadAverage} at the end; Node.js ${m.node}, ${m.java}, Kafka ${m.kafka} (3 KRaft nodes), HDFS ${m.hadoop}, Apache Hive ${m.hive}, ${m.kcat}.`,
    "",
    markdownTable([
      ["aim", "measured", ""],
      ...aims.map(([what, measured, ok]) => [what, measured, verdict(ok)]),
    ]),
    "",
    `Timeline: ${eventsText.join("; ")}.`,
    "",
    `Throughput: ${int(r.totalEnd)} records in ${s0(r.windowSeconds)} s; over the window's last two thirds ${int(producedRate)} records/s produced, ${int(loadedRate)}/s committed; lag at most ${int(maxLag)} records, ${int(lagAtEnd)} at the window's end.`,
    "",
    markdownTable(collectorRows),
    "",
    `Exactly once: ${int(r.truth.records)} records read back by kcat (${int(r.truth.hosts)} hosts), against the \`metrics\` view; never visible: ${int(r.truth.neverVisible)}; quarantined: ${int(r.quarantined)}. Producer side (hf-seq in Kafka): ${int(producerDuplicates)} duplicates, ${int(producerMissing)} missing. Gaps view: ${gapsText}.`,
    "",
    markdownTable(exactRows),
    ...(firstDifferences.length > 0 ? ["", ...firstDifferences.map((d) => `- ${d}`)] : []),
    ...(holesText.length > 0
      ? [
          "",
          "Sequence numbers missing in Kafka (the first holes per agent):",
          "",
          ...holesText.map((h) => `- ${h}`),
        ]
      : []),
    "",
    `Freshness (\`loads\` polled every ${o.pollS} s ${o.loadsVia === "files" ? "(its files, through WebHDFS)" : "(through HiveServer2)"}, ${s0(r.commitPolls.averageMs)} ms a poll; the view for ${r.sampledHosts.length} hosts every ${o.viewPollS} s, ${s0(viewPollMs)} ms a poll; dashboard: ${dashMode}):`,
    "",
    markdownTable(freshRows),
    "",
    `CPU over the production window (utime+stime, /proc) and RSS (steady: median after the first ${s0(Math.min(120, r.windowSeconds / 3))} s; peak: VmHWM):`,
    "",
    markdownTable(partRows),
    "",
    `${cpuLine.charAt(0).toUpperCase()}${cpuLine.slice(1)}.`,
    "",
    `Files per day partition${r.compaction.available === true ? ", before and after `hostflow-collector compact`" : " (compaction: not available)"}:`,
    "",
    markdownTable(files.rows),
    "",
  ].join("\n");
  return { text, markdown, allMet, correct };
}

export const BENCHMARKS_SECTION = "## The fleet under faults (`npm run bench -- fleet`)";
export const BENCHMARKS_MARKER = "<!-- npm run bench -- fleet: runs go below, newest first -->";

/** Puts a run's block under the fleet section's marker (the section is made when missing). */
export function recordInBenchmarks(file: string, block: string): void {
  let text = existsSync(file) ? readFileSync(file, "utf8") : "# Benchmarks\n";
  if (!text.includes(BENCHMARKS_MARKER)) {
    text = `${text.trimEnd()}\n\n${BENCHMARKS_SECTION}\n\n${BENCHMARKS_MARKER}\n`;
  }
  const at = text.indexOf(BENCHMARKS_MARKER) + BENCHMARKS_MARKER.length;
  writeFileSync(file, `${text.slice(0, at)}\n\n${block.trimEnd()}\n${text.slice(at)}`);
}
