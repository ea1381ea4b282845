/**
 * Loss and duplicate detection per agent stream (docs/wire-format.md, "Headers"). A stream's
 * records can be spread over several partitions, so within a run they arrive out of order and a
 * run may stop before every partition is read: a missing seq is a pending hole until the run is
 * complete and the record after it is old enough that nothing can still be in flight.
 */

/** What the caller keeps between runs (in Hive), one per (agentId, stream). */
export interface StreamState {
  agentId: string;
  stream: string;
  /** Host of the record with maxSeq. */
  host: string;
  /** Highest seq seen so far. */
  maxSeq: number;
  /** Missing seq ranges (inclusive) below maxSeq, not yet reported, sorted. */
  holes: Array<[number, number]>;
  /** Sample timestamp (ms) of the record with maxSeq. */
  lastTs: number;
  /** Epoch ms of the run that last changed it. */
  updatedAt: number;
  /**
   * A stream first heard of in a run that has not read every partition yet: the lowest seq seen
   * so far. What is below it is history not yet read, not loss: it fills in silently.
   */
  floor?: number;
}

export interface GapEvent {
  kind: "gap" | "duplicate";
  agentId: string;
  stream: string;
  /** Gap: of the record just after it (for holes from earlier runs: the stream's host then).
   * Duplicate: of the latest duplicate record. */
  host: string;
  /** Inclusive; duplicates of contiguous seqs are merged into one range. */
  fromSeq: number;
  toSeq: number;
  /** Missing seqs (gap) or duplicate records (duplicate). */
  count: number;
  /** Gap: sample timestamps of the records around it, when known.
   * Duplicate: the earliest and the latest of the duplicate records. */
  beforeTs: number | undefined;
  afterTs: number | undefined;
}

export interface GapTrackerOptions {
  /** A hole is reported only once the record after it is older than this. */
  graceMs: number;
  /**
   * Beyond this many pending holes in a stream at the end of a run, the oldest are reported at
   * once (it bounds the state kept in Hive between runs). Not applied to a load in the middle of
   * a run: there, partitions read at different paces leave many holes that the run's later
   * records fill.
   */
  maxHolesPerStream: number;
}

interface Hole {
  from: number;
  to: number;
  beforeTs: number | undefined;
  afterTs: number | undefined;
  host: string;
  /** The timestamp the grace counts from: afterTs, or for holes of earlier runs (whose
   * neighbours are not kept) the stream's lastTs then, which is not earlier. */
  settleTs: number;
}

interface Duplicates {
  from: number;
  to: number;
  count: number;
  host: string;
  minTs: number;
  maxTs: number;
}

interface Track {
  agentId: string;
  stream: string;
  host: string;
  maxSeq: number;
  lastTs: number;
  holes: Hole[];
  duplicates: Duplicates[];
  observed: boolean;
  /** New streams only: the lowest seq seen (this run, or the run's earlier loads: `floor`),
   * below which history is unknown. */
  low: { seq: number; ts: number; host: string } | undefined;
}

/** One tracker per collector run: build it from the stored states, observe, then finish once. */
export class GapTracker {
  readonly #tracks = new Map<string, Track>();
  readonly #options: GapTrackerOptions;

  constructor(states: readonly StreamState[], options: GapTrackerOptions) {
    this.#options = options;
    for (const state of states) {
      const { agentId, stream, host, maxSeq, lastTs } = state;
      const holes = state.holes.map(([from, to]): Hole => {
        return { from, to, beforeTs: undefined, afterTs: undefined, host, settleTs: lastTs };
      });
      this.#tracks.set(trackKey(agentId, stream), {
        agentId,
        stream,
        host,
        maxSeq,
        lastTs,
        holes,
        duplicates: [],
        observed: false,
        low: state.floor === undefined ? undefined : { seq: state.floor, ts: lastTs, host },
      });
    }
  }

  observe(agentId: string, stream: string, seq: number, host: string, ts: number): void {
    if (!Number.isSafeInteger(seq) || seq < 0) throw new RangeError(`seq ${seq}: not a count`);
    const key = trackKey(agentId, stream);
    const track = this.#tracks.get(key);
    if (track === undefined) {
      this.#tracks.set(key, {
        agentId,
        stream,
        host,
        maxSeq: seq,
        lastTs: ts,
        holes: [],
        duplicates: [],
        observed: true,
        low: { seq, ts, host },
      });
      return;
    }
    track.observed = true;
    if (seq > track.maxSeq) {
      if (seq > track.maxSeq + 1) {
        track.holes.push({
          from: track.maxSeq + 1,
          to: seq - 1,
          beforeTs: track.lastTs,
          afterTs: ts,
          host,
          settleTs: ts,
        });
      }
      track.maxSeq = seq;
      track.lastTs = ts;
      track.host = host;
    } else if (track.low !== undefined && seq < track.low.seq) {
      const { low } = track;
      if (seq < low.seq - 1) {
        track.holes.unshift({
          from: seq + 1,
          to: low.seq - 1,
          beforeTs: ts,
          afterTs: low.ts,
          host: low.host,
          settleTs: low.ts,
        });
      }
      track.low = { seq, ts, host };
    } else if (!fill(track.holes, seq, ts, host)) {
      addDuplicate(track.duplicates, seq, ts, host);
    }
  }

  /**
   * complete: every partition was read up to the end offsets captured at the run's start.
   * midRun: a load before the run's last, whose pending holes are all kept.
   */
  finish(
    now: number,
    complete: boolean,
    { midRun = false } = {},
  ): { events: GapEvent[]; changed: StreamState[] } {
    const events: GapEvent[] = [];
    const changed: StreamState[] = [];
    const settled = now - this.#options.graceMs;
    for (const track of this.#tracks.values()) {
      const { agentId, stream } = track;
      let pending: Hole[] = [];
      let reported: Hole[] = [];
      for (const hole of track.holes) {
        (complete && hole.settleTs < settled ? reported : pending).push(hole);
      }
      const excess = midRun ? 0 : pending.length - Math.max(0, this.#options.maxHolesPerStream);
      if (excess > 0) {
        reported = reported.concat(pending.slice(0, excess)).sort((a, b) => a.from - b.from);
        pending = pending.slice(excess);
      }
      for (const { from, to, host, beforeTs, afterTs } of reported) {
        const range = { fromSeq: from, toSeq: to, count: to - from + 1, beforeTs, afterTs };
        events.push({ kind: "gap", agentId, stream, host, ...range });
      }
      for (const { from, to, host, count, minTs, maxTs } of track.duplicates) {
        const range = { fromSeq: from, toSeq: to, count, beforeTs: minTs, afterTs: maxTs };
        events.push({ kind: "duplicate", agentId, stream, host, ...range });
      }
      if (!track.observed && reported.length === 0) continue;
      const holes = pending.map((hole): [number, number] => [hole.from, hole.to]);
      const { host, maxSeq, lastTs, low } = track;
      const state: StreamState = { agentId, stream, host, maxSeq, lastTs, holes, updatedAt: now };
      // A run that read everything has seen what there was below the lowest seq.
      if (low !== undefined && (midRun || !complete)) state.floor = low.seq;
      changed.push(state);
    }
    return { events, changed };
  }
}

// Length-prefixed: agent ids come from record headers and may contain any character.
function trackKey(agentId: string, stream: string): string {
  return `${agentId.length}:${agentId}${stream}`;
}

/** Index of the last range starting at or below seq, -1 if none. */
function floorIndex(ranges: ReadonlyArray<{ from: number }>, seq: number): number {
  let low = 0;
  let high = ranges.length - 1;
  while (low <= high) {
    const mid = (low + high) >>> 1;
    if ((ranges[mid] as { from: number }).from <= seq) low = mid + 1;
    else high = mid - 1;
  }
  return high;
}

/** Removes seq from its hole, if in one: a late arrival from another partition. */
function fill(holes: Hole[], seq: number, ts: number, host: string): boolean {
  const index = floorIndex(holes, seq);
  const hole = holes[index];
  if (hole === undefined || seq > hole.to) return false;
  if (seq === hole.from && seq === hole.to) {
    holes.splice(index, 1);
  } else if (seq < hole.to) {
    if (seq > hole.from)
      holes.splice(index, 0, { ...hole, to: seq - 1, afterTs: ts, host, settleTs: ts });
    hole.from = seq + 1;
    hole.beforeTs = ts;
  } else {
    hole.to = seq - 1;
    hole.afterTs = ts;
    hole.settleTs = ts;
    hole.host = host;
  }
  return true;
}

function addDuplicate(ranges: Duplicates[], seq: number, ts: number, host: string): void {
  const index = floorIndex(ranges, seq);
  const left = ranges[index];
  const right = ranges[index + 1];
  let range: Duplicates;
  if (left !== undefined && seq <= left.to + 1) {
    range = left;
    range.to = Math.max(range.to, seq);
  } else if (right !== undefined && right.from === seq + 1) {
    range = right;
    range.from = seq;
  } else {
    ranges.splice(index + 1, 0, { from: seq, to: seq, count: 1, host, minTs: ts, maxTs: ts });
    return;
  }
  range.count++;
  range.host = host;
  range.minTs = Math.min(range.minTs, ts);
  range.maxTs = Math.max(range.maxTs, ts);
  const next = ranges[index + 1];
  if (range === left && next !== undefined && next.from === range.to + 1) {
    range.to = next.to;
    range.count += next.count;
    range.minTs = Math.min(range.minTs, next.minTs);
    range.maxTs = Math.max(range.maxTs, next.maxTs);
    ranges.splice(index + 1, 1);
  }
}
