/**
 * The independent recomputation: every record the run produced, read back with kcat (librdkafka,
 * no consumer group: each partition from its beginning to its end, then exit) and summed here
 * from the wire format (JSON values as docs/wire-format.md defines them, the hf-* headers).
 * Nothing of the collector runs on this path. While reading, each record also gets its
 * freshness (when the views showed it, from the commits the bench saw, minus its timestamp)
 * and its delay into Kafka (the record's CreateTime, set by the agent's producer at send,
 * minus the sample's timestamp).
 */
import { once } from "node:events";
import { createInterface } from "node:readline";
import { startProcess } from "./children.js";
import { Histogram } from "./stats.js";
import { CHECKED_FIELDS, type FieldTotal } from "./warehouse.js";

export interface StreamCheck {
  agentId: string;
  stream: string;
  records: number;
  /** Sequence numbers between the smallest and largest seen that never came. */
  missing: number;
  /** Records whose sequence number came before (at-least-once retries of the producer). */
  duplicates: number;
  lowest: number;
  highest: number;
  /**
   * The first holes: sequence numbers from–to, and the CreateTime of the records just before
   * and after them (when the producer sent around the hole).
   */
  holes: Array<{ from: number; to: number; sentBefore: number; sentAfter: number }>;
}

export interface Truth {
  records: number;
  perPartition: Map<number, number>;
  /** measurement \0 field → samples, sum (every field of every record). */
  fields: Map<string, FieldTotal>;
  /** host \0 minute \0 measurement \0 field → samples, sum (the checked fields). */
  hostWindows: Map<string, FieldTotal>;
  streams: StreamCheck[];
  /** The cpu sample timestamps of each host, in the order read (one per host and cycle). */
  cpuTimes: Map<string, number[]>;
  /** Their records' CreateTime (the agent's send), in the same order. */
  cpuSent: Map<string, number[]>;
  /** For the sampled hosts: each cpu sample's timestamp and when its load was seen committed. */
  sampledCpu: Map<string, Array<[number, number | undefined]>>;
  hosts: number;
  /** Seconds from a sample's timestamp to the first poll that saw its load committed. */
  freshness: Histogram;
  /** The same for samples outside the fault windows. */
  freshnessQuiet: Histogram;
  /**
   * Seconds from a record's CreateTime to the same poll: what the collectors add after the
   * record is in Kafka (the bench's own agents share the machine with everything else).
   */
  freshnessFromKafka: Histogram;
  neverVisible: number;
  /** Seconds from a sample's timestamp to its record's CreateTime (the agent's send). */
  intoKafka: Histogram;
  bad: number;
  firstTs: number;
  lastTs: number;
  readSeconds: number;
}

/** A growing count per sequence number (0, 1, 2 and more: a byte each), and when each was sent. */
class SeqCounts {
  private counts = new Uint8Array(1 << 16);
  private sent = new Float64Array(1 << 16);
  records = 0;
  duplicates = 0;
  lowest = Number.POSITIVE_INFINITY;
  highest = -1;

  add(seq: number, sentAt: number): void {
    while (seq >= this.counts.length) {
      const grown = new Uint8Array(this.counts.length * 2);
      grown.set(this.counts);
      this.counts = grown;
      const times = new Float64Array(this.sent.length * 2);
      times.set(this.sent);
      this.sent = times;
    }
    this.sent[seq] = sentAt;
    const had = this.counts[seq] ?? 0;
    if (had > 0) this.duplicates += 1;
    if (had < 255) this.counts[seq] = had + 1;
    this.records += 1;
    if (seq < this.lowest) this.lowest = seq;
    if (seq > this.highest) this.highest = seq;
  }

  missing(): number {
    let n = 0;
    for (let s = this.lowest; s <= this.highest; s++) if (this.counts[s] === 0) n += 1;
    return n;
  }

  holes(limit: number): StreamCheck["holes"] {
    const out: StreamCheck["holes"] = [];
    for (let s = this.lowest; s <= this.highest && out.length < limit; s++) {
      if (this.counts[s] !== 0) continue;
      let to = s;
      while (to + 1 <= this.highest && this.counts[to + 1] === 0) to += 1;
      out.push({
        from: s,
        to,
        sentBefore: this.sent[s - 1] ?? Number.NaN,
        sentAfter: this.sent[to + 1] ?? Number.NaN,
      });
      s = to;
    }
    return out;
  }
}

const CHECKED = new Set(CHECKED_FIELDS.map(([m, f]) => `${m}\0${f}`));

function parseHeaders(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const pair of text.split(",")) {
    const at = pair.indexOf("=");
    if (at > 0) out.set(pair.slice(0, at), pair.slice(at + 1));
  }
  return out;
}

export interface ReadOptions {
  brokers: string[];
  topic: string;
  log: string;
  /** When the views first showed the record at (partition, offset), if ever. */
  visibleAt: (partition: number, offset: number) => number | undefined;
  /** Samples whose timestamp falls in one of these [from, to) spans are not "quiet". */
  faultWindows: Array<[number, number]>;
  sampledHosts: Set<string>;
}

export async function readTruth(options: ReadOptions): Promise<Truth> {
  const started = Date.now();
  const truth: Truth = {
    records: 0,
    perPartition: new Map(),
    fields: new Map(),
    hostWindows: new Map(),
    streams: [],
    cpuTimes: new Map(),
    cpuSent: new Map(),
    sampledCpu: new Map(),
    hosts: 0,
    freshness: new Histogram(),
    freshnessQuiet: new Histogram(),
    freshnessFromKafka: new Histogram(),
    neverVisible: 0,
    intoKafka: new Histogram(),
    bad: 0,
    firstTs: Number.POSITIVE_INFINITY,
    lastTs: Number.NEGATIVE_INFINITY,
    readSeconds: 0,
  };
  const streams = new Map<string, SeqCounts>();
  const add = (map: Map<string, FieldTotal>, key: string, value: number) => {
    const t = map.get(key);
    if (t === undefined) map.set(key, { samples: 1, total: value });
    else {
      t.samples += 1;
      t.total += value;
    }
  };
  const quiet = (ts: number) => !options.faultWindows.some(([from, to]) => ts >= from && ts < to);

  const kcat = await startProcess(
    "kcat",
    [
      "kcat",
      "-C",
      "-b",
      options.brokers.join(","),
      "-t",
      options.topic,
      "-o",
      "beginning",
      "-e",
      "-q",
      "-f",
      "%p\t%o\t%T\t%k\t%h\t%s\n",
    ],
    { log: options.log, stdout: "pipe" },
  );
  const lines = createInterface({
    input: kcat.child.stdout as NodeJS.ReadableStream,
    crlfDelay: Number.POSITIVE_INFINITY,
  });
  const handle = (line: string) => {
    const cut: number[] = [];
    for (let at = line.indexOf("\t"); at >= 0 && cut.length < 5; at = line.indexOf("\t", at + 1))
      cut.push(at);
    if (cut.length < 5) {
      truth.bad += 1;
      return;
    }
    const [a, b, c, d, e] = cut as [number, number, number, number, number];
    const partition = Number(line.slice(0, a));
    const offset = Number(line.slice(a + 1, b));
    const createTime = Number(line.slice(b + 1, c));
    const key = line.slice(c + 1, d);
    const headers = parseHeaders(line.slice(d + 1, e));
    let sample: {
      name: string;
      tags: Record<string, string>;
      fields: Record<string, unknown>;
      timestamp: number;
    };
    try {
      sample = JSON.parse(line.slice(e + 1));
    } catch {
      truth.bad += 1;
      return;
    }
    truth.records += 1;
    truth.perPartition.set(partition, (truth.perPartition.get(partition) ?? 0) + 1);
    const host = sample.tags?.host ?? key;
    const ts = sample.timestamp;
    if (ts < truth.firstTs) truth.firstTs = ts;
    if (ts > truth.lastTs) truth.lastTs = ts;
    const minute = Math.floor(ts / 60_000) * 60_000;
    for (const [field, raw] of Object.entries(sample.fields)) {
      // As the wire format says: numbers, booleans as 0/1; strings are not samples.
      const value = typeof raw === "boolean" ? Number(raw) : raw;
      if (typeof value !== "number") continue;
      const mf = `${sample.name}\0${field}`;
      add(truth.fields, mf, value);
      if (CHECKED.has(mf)) add(truth.hostWindows, `${host}\0${minute}\0${mf}`, value);
    }
    if (sample.name === "cpu") {
      const list = truth.cpuTimes.get(host);
      if (list === undefined) truth.cpuTimes.set(host, [ts]);
      else list.push(ts);
      const sent = truth.cpuSent.get(host);
      if (sent === undefined) truth.cpuSent.set(host, [createTime]);
      else sent.push(createTime);
    }
    const agentId = headers.get("hf-agent-id");
    const stream = headers.get("hf-stream");
    const seq = Number(headers.get("hf-seq"));
    if (agentId !== undefined && stream !== undefined && Number.isInteger(seq)) {
      const id = `${agentId}\0${stream}`;
      let counts = streams.get(id);
      if (counts === undefined) {
        counts = new SeqCounts();
        streams.set(id, counts);
      }
      counts.add(seq, createTime);
    }
    truth.intoKafka.add((createTime - ts) / 1000);
    const seen = options.visibleAt(partition, offset);
    if (sample.name === "cpu" && options.sampledHosts.has(host)) {
      const list = truth.sampledCpu.get(host) ?? [];
      list.push([ts, seen]);
      truth.sampledCpu.set(host, list);
    }
    if (seen === undefined) truth.neverVisible += 1;
    else {
      truth.freshness.add((seen - ts) / 1000);
      truth.freshnessFromKafka.add((seen - createTime) / 1000);
      if (quiet(ts)) truth.freshnessQuiet.add((seen - ts) / 1000);
    }
  };
  lines.on("line", handle);
  await once(lines, "close");
  const { code } = await kcat.exited;
  if (code !== 0) throw new Error(`kcat exited with ${code}; see ${options.log}`);
  truth.hosts = truth.cpuTimes.size;
  for (const [id, counts] of streams) {
    const [agentId = "", stream = ""] = id.split("\0");
    truth.streams.push({
      agentId,
      stream,
      records: counts.records,
      missing: counts.missing(),
      duplicates: counts.duplicates,
      lowest: counts.lowest,
      highest: counts.highest,
      holes: counts.holes(5),
    });
  }
  truth.streams.sort((x, y) => x.agentId.localeCompare(y.agentId));
  truth.readSeconds = (Date.now() - started) / 1000;
  return truth;
}
