/**
 * One bounded collector run (Camus-style): capture every partition's end offset, consume from
 * what Hive says is loaded up to those ends, aggregate, load, exit. See docs/collector.md for the
 * exactly-once argument; in short: a load is one statement that writes the rows and the offsets
 * they came from; the next run starts from the offsets in Hive, never from Kafka's alone.
 */
import { randomUUID } from "node:crypto";
import { existsSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import type { Admin, Batch, Consumer, Kafka } from "kafkajs";
import { pause } from "../lib/backoff.js";
import { HostflowError, isHostflowError } from "../lib/errors.js";
import { createKafka, groupMemberLogRoute, kafkaClientConfig, leaderMoving } from "../lib/kafka.js";
import type { Logger } from "../lib/log.js";
import { canonicalTags, WindowAggregator } from "./aggregate.js";
import type { ResolvedCollectorConfig } from "./config/load.js";
import { type GapEvent, GapTracker, type StreamState } from "./gaps.js";
import type { GapRow, OffsetRange, QuarantineRow, RawRow } from "./hive/encode.js";
import { type Loader, type LoadPoint, openLoader, type PendingLoad } from "./hive/load.js";
import { HiveStore } from "./hive/store.js";
import { warehouseFs } from "./hive/warehouse-fs.js";
import { filesReader, type WarehouseRows } from "./hive/warehouse-rows.js";
import { maintainAfterRun } from "./maintain.js";
import { checkRecord, type RecordCheckOptions } from "./records.js";

export type CrashPoint = "after-consume" | LoadPoint;
/** Where a test may kill a run (HOSTFLOW_CRASH_AT), in the order a load passes them. */
export const CRASH_POINTS: readonly CrashPoint[] = [
  "after-consume",
  "before-files",
  "mid-files",
  "after-files",
  "mid-claims",
  "mid-commit",
  "after-commit",
];

export interface RunOptions {
  logger: Logger;
  maxRecords?: number | undefined;
  maxSeconds?: number | undefined;
  maxBadRatio?: number | undefined;
  /** Called about once a second while consuming. */
  onProgress?: (progress: Progress) => void;
  /** Test hook: SIGKILL this process at that point of the first load. */
  crashAt?: CrashPoint | undefined;
  /**
   * Test hook: at that point of the first load, write `<dir>/reached` and wait until
   * `<dir>/release` exists (a test stops a server there).
   */
  holdAt?: { point: CrashPoint; dir: string } | undefined;
}

export interface Progress {
  done: number;
  total: number;
  bad: number;
  ratePerSecond: number;
}

export interface RunSummary {
  records: number;
  bad: number;
  loads: number;
  rows: number;
  windows: number;
  seconds: number;
  recordsPerSecond: number;
  /** Records between where this run stopped and the end offsets it captured. */
  lagLeft: number;
  stoppedBy: "end" | "max-records" | "max-seconds" | "another-collector";
  lostToRetention: number;
  gaps: number;
  duplicates: number;
  /** String fields left out of loaded records (Telegraf's uptime_format …): not errors. */
  stringFields: number;
  loadMs: number[];
}

interface PartitionState {
  topic: string;
  partition: number;
  /** End offset captured at start: the run consumes below it. */
  end: number;
  /** Next offset Hive has (committed loads). */
  loaded: number;
  /** Next offset of the last load begun (committed or not): where the pending range starts. */
  sealed: number;
  /** Next offset to process. */
  next: number;
  pendingRecords: number;
  pendingBad: number;
  assigned: boolean;
  /** A batch that starts at or before `next` came in since the last seek. */
  positioned: boolean;
}

/** Records read between two turns of the event loop while a load is in flight. */
const YIELD_EVERY = 1_000;
const KAFKAJS_RETRY = { retries: 5, initialRetryTime: 300, maxRetryTime: 10_000 };
/** Below this many records the bad ratio says little; the last check of a run applies anyway. */
const MIN_RECORDS_FOR_RATIO = 100;
/** Until the first load measures it; the benchmark's fleet encodes ~215 bytes a row. */
const STATEMENT_ROW_BYTES_GUESS = 240;

/** How long a run waits for a moving partition leader before it fails (topicOffsets). */
const LEADER_WAIT_MS = 30_000;

const key = (topic: string, partition: number) => `${topic}:${partition}`;

export async function runCollector(
  config: ResolvedCollectorConfig,
  options: RunOptions,
): Promise<RunSummary> {
  const store = await HiveStore.open(config.hive, options.logger);
  try {
    await store.checkTables();
    const fs = warehouseFs(config.hive);
    const loader = await openLoader(store, config.hive, options.logger, fs);
    try {
      await loader.recover();
      const kafka = createKafka(
        await kafkaClientConfig(config.kafka, KAFKAJS_RETRY),
        // kafkajs tells every join and pause at info: only its warnings and errors are news (and
        // not even those when the run's own level is above warn), and not a rebalance either.
        groupMemberLogRoute(
          options.logger.child(
            { component: "kafka" },
            { level: options.logger.levelVal > 40 ? options.logger.level : "warn" },
          ),
        ),
      );
      const summary = await new CollectorRun(
        config,
        options,
        store,
        loader,
        kafka,
        filesReader(config.hive, store),
      ).run();
      if (summary.loads > 0) await maintainAfterRun(config, store, options.logger);
      return summary;
    } finally {
      await loader.close();
    }
  } finally {
    await store.close();
  }
}

/** Exported for the failure-path tests; programs use runCollector. */
export class CollectorRun {
  private readonly logger: Logger;
  private readonly started = Date.now();
  private readonly partitions = new Map<string, PartitionState>();
  private readonly aggregator: WindowAggregator;
  private raw: RawRow[] = [];
  private quarantine: QuarantineRow[] = [];
  private gapRows: GapRow[] = [];
  private tracker: GapTracker | undefined;
  /** Stream states as Hive has them (initial plus every committed load's): what a rebalance falls back to. */
  private loadedStates = new Map<string, StreamState>();
  /** loadedStates plus the states of the load in flight: where the gap tracker starts. */
  private sealedStates = new Map<string, StreamState>();
  /**
   * Loads begun and not yet committed, oldest first: they commit in this order. While one waits
   * for its commit, the next one's files are written: at most two.
   */
  private inflight: InFlight[] = [];
  private sinceYield = 0;
  private readonly checkOptions: RecordCheckOptions;
  /** Records and value bytes read since the last load, all partitions (the batch limits). */
  private pendingRecords = 0;
  private pendingBytes = 0;
  /** Estimated statement bytes of the pending quarantined records (base64 and columns). */
  private quarantineBytes = 0;
  private rowBytes = STATEMENT_ROW_BYTES_GUESS;
  private total = {
    records: 0,
    bad: 0,
    loads: 0,
    rows: 0,
    windows: 0,
    gaps: 0,
    duplicates: 0,
    stringFields: 0,
  };
  /** String fields of the records read since the last load. */
  private pendingStringFields = 0;
  private lostToRetention = 0;
  private readonly loadMs: number[] = [];
  private stopReason: RunSummary["stoppedBy"] | undefined;
  private serial: Promise<unknown> = Promise.resolve();
  private finished = false;
  private failed = false;
  private joins = 0;
  /** Set once the run stops consuming. */
  private ended = false;
  private settle: { resolve: () => void; reject: (error: unknown) => void } | undefined;
  private consumer: Consumer | undefined;
  private badReasons = new Map<string, number>();

  constructor(
    private readonly config: ResolvedCollectorConfig,
    private readonly options: RunOptions,
    private readonly store: HiveStore,
    private readonly loader: Loader,
    private readonly kafka: Kafka,
    /**
     * Where each partition was loaded to and the streams' states, from the warehouse's files
     * (when the collector can read them): no Hive query at a run's start.
     */
    private readonly fromFiles?: Pick<WarehouseRows, "loadedOffsets" | "streamStates">,
  ) {
    this.logger = options.logger;
    this.aggregator = new WindowAggregator(config.aggregation.windows);
    this.checkOptions = {
      timestampUnit: config.records.timestamp_unit,
      maxBytes: config.records.max_bytes,
      maxAgeMs: config.records.max_age,
      maxFutureMs: config.records.max_future,
      now: this.started,
    };
  }

  async run(): Promise<RunSummary> {
    // Hive's reads and Kafka's go side by side: each takes about a second.
    const fromHive = this.readHive();
    const loadedInHive = fromHive.then((h) => h.loaded);
    // When Kafka's side fails first, these reject with nobody awaiting them any more: handled
    // here (an unhandled rejection ended a `run --schedule` process for good in the fleet bench).
    fromHive.catch(() => undefined);
    loadedInHive.catch(() => undefined);
    await this.capturePartitions(loadedInHive);
    const { states } = await fromHive;
    if (this.config.gaps.enabled) {
      for (const state of states) this.loadedStates.set(streamKey(state), state);
      this.sealedStates = new Map(this.loadedStates);
      this.resetTracker();
    }
    const total = this.toDo();
    this.logger.info(
      { partitions: this.partitions.size, records: total },
      `run starts: ${total} records to load from ${this.partitions.size} partitions`,
    );
    if (total > 0 || this.gapRows.length > 0) await this.consume();
    if (!this.finished && !this.failed) await this.finish();
    const seconds = (Date.now() - this.started) / 1000;
    return {
      ...this.total,
      seconds,
      recordsPerSecond: this.total.records / Math.max(seconds, 0.001),
      lagLeft: this.toDo(),
      stoppedBy: this.stopReason ?? "end",
      lostToRetention: this.lostToRetention,
      loadMs: this.loadMs,
    };
  }

  /** Where each partition of the group was loaded to: from `loads`' files, or asked of Hive. */
  private loadedOffsets(): Promise<Map<string, number>> {
    const group = this.config.kafka.group_id;
    return this.fromFiles ? this.fromFiles.loadedOffsets(group) : this.store.loadedOffsets(group);
  }

  /**
   * What the run starts from in Hive: the loaded offsets, then the streams' states (read after
   * them, so no load the offsets count is missing from the states).
   */
  private async readHive(): Promise<{ loaded: Map<string, number>; states: StreamState[] }> {
    const loaded = await this.loadedOffsets();
    const { state_days: days, enabled } = this.config.gaps;
    const states = !enabled
      ? []
      : this.fromFiles
        ? await this.fromFiles.streamStates(days, this.started)
        : await this.store.streamStates(days, this.started);
    return { loaded, states };
  }

  /** End offsets now, and where Hive says each partition was loaded up to. */
  private async capturePartitions(fromHive: Promise<Map<string, number>>): Promise<void> {
    const admin = this.kafka.admin();
    try {
      await admin.connect();
      const existing = new Set(await admin.listTopics());
      const missing = this.config.kafka.topics.filter((t) => !existing.has(t));
      if (missing.length > 0) {
        throw new HostflowError(
          "HF_KAFKA_TOPIC",
          `topic${missing.length > 1 ? "s" : ""} ${missing.join(", ")} not found on ${this.config.kafka.brokers.join(",")} (kafka.topics)`,
          { context: { missing } },
        );
      }
      const offsets = [];
      for (const topic of this.config.kafka.topics) {
        offsets.push({ topic, partitions: await this.topicOffsets(admin, topic) });
      }
      const loaded = await fromHive;
      for (const { topic, partitions } of offsets) {
        for (const p of partitions) {
          const low = Number(p.low);
          const end = Number(p.high);
          const recorded = loaded.get(key(topic, p.partition));
          const state: PartitionState = {
            topic,
            partition: p.partition,
            end,
            loaded: recorded ?? (this.config.kafka.start_from === "earliest" ? low : end),
            sealed: 0,
            next: 0,
            pendingRecords: 0,
            pendingBad: 0,
            assigned: false,
            positioned: false,
          };
          if (state.loaded > end) {
            throw new HostflowError(
              "HF_OFFSETS",
              `Hive has ${topic}:${p.partition} loaded up to offset ${state.loaded}, but the partition ends at ${end}: ` +
                `was the topic deleted and created again? Nothing was loaded; remove this topic's rows from ` +
                `${this.store.database}.${this.store.specs.loads.name} (group_id ${this.config.kafka.group_id}) to start it over`,
              { context: { topic, partition: p.partition } },
            );
          }
          if (state.loaded < low) this.lostRange(state, low);
          state.next = Math.max(state.loaded, low);
          state.sealed = state.next;
          this.partitions.set(key(topic, p.partition), state);
        }
      }
    } catch (error) {
      throw isHostflowError(error)
        ? error
        : new HostflowError(
            "HF_KAFKA_UNREACHABLE",
            `Kafka at ${this.config.kafka.brokers.join(",")} did not give the topics' offsets: ${(error as Error).message}`,
            { cause: error, retriable: true },
          );
    } finally {
      await admin.disconnect().catch(() => undefined);
    }
  }

  /**
   * A topic's offsets. kafkajs's fetchTopicOffsets gives up at once when a partition's leader is
   * moving, as it does minutes after a broker comes back (Kafka's preferred-leader rebalance):
   * two runs of the fleet bench failed on it. Such an answer is asked again from a new admin
   * client, whose metadata is fresh, for up to LEADER_WAIT_MS.
   */
  private async topicOffsets(admin: Admin, topic: string) {
    const deadline = Date.now() + LEADER_WAIT_MS;
    for (let attempt = 1; ; attempt++) {
      const client = attempt === 1 ? admin : this.kafka.admin();
      try {
        if (client !== admin) await client.connect();
        return await client.fetchTopicOffsets(topic);
      } catch (error) {
        if (!leaderMoving(error) || Date.now() >= deadline) throw error;
        this.logger.info(
          { topic, attempt, error: (error as Error).message },
          `a partition leader of ${topic} is moving: asking for its offsets again`,
        );
      } finally {
        if (client !== admin) await client.disconnect().catch(() => undefined);
      }
      await pause(Math.min(500 * attempt, 3_000));
    }
  }

  /** Records that left Kafka's retention before any run loaded them: said loudly, kept in gaps. */
  private lostRange(state: PartitionState, low: number): void {
    const lost = low - state.loaded;
    this.lostToRetention += lost;
    this.logger.error(
      { topic: state.topic, partition: state.partition, from: state.loaded, to: low - 1, lost },
      `${lost} records of ${state.topic}:${state.partition} (offsets ${state.loaded}–${low - 1}) ` +
        "were deleted by Kafka's retention before they were loaded; continuing from the earliest offset",
    );
    this.gapRows.push({
      kind: "retention",
      agentId: "",
      stream: "",
      host: "",
      fromSeq: state.loaded,
      toSeq: low - 1,
      count: lost,
      beforeTs: undefined,
      afterTs: undefined,
      topic: state.topic,
      partition: state.partition,
    });
  }

  private toDo(): number {
    let n = 0;
    for (const p of this.partitions.values()) n += Math.max(0, p.end - p.next);
    return n;
  }

  private async consume(): Promise<void> {
    const { kafka: settings } = this.config;
    const consumer = this.kafka.consumer({
      groupId: settings.group_id,
      sessionTimeout: settings.session_timeout,
      rebalanceTimeout: settings.rebalance_timeout,
      heartbeatInterval: Math.min(3_000, Math.floor(settings.session_timeout / 3)),
      allowAutoTopicCreation: false,
      maxBytesPerPartition: 4 * 1024 * 1024,
    });
    this.consumer = consumer;
    const done = new Promise<void>((resolve, reject) => {
      this.settle = { resolve, reject };
    });
    const fail = (error: unknown) => {
      this.failed = true;
      this.settle?.reject(error);
    };
    consumer.on(consumer.events.GROUP_JOIN, (event) => {
      this.enqueue(() => this.onAssignment(event.payload.memberAssignment)).catch(fail);
    });
    consumer.on(consumer.events.CRASH, (event) => {
      if (!event.payload.restart) {
        fail(
          new HostflowError(
            "HF_KAFKA_CONSUME",
            `the Kafka consumer of ${this.config.kafka.brokers.join(",")} stopped: ${event.payload.error.message} ` +
              `(nothing after the last load is lost: the next run reads it again)`,
            {
              cause: event.payload.error,
              retriable: true,
            },
          ),
        );
      }
    });
    const timers: NodeJS.Timeout[] = [];
    const maxMs = (this.options.maxSeconds ?? this.config.run.max_duration / 1000) * 1000;
    timers.push(
      setTimeout(() => {
        this.stopReason ??= "max-seconds";
        this.enqueue(() => this.maybeFinish()).catch(fail);
      }, maxMs),
    );
    if (this.options.onProgress) {
      const report = this.options.onProgress;
      const total = this.toDo();
      timers.push(
        setInterval(() => {
          const done = total - this.toDo();
          const seconds = (Date.now() - this.started) / 1000;
          report({
            done,
            total,
            bad: this.total.bad,
            ratePerSecond: done / Math.max(seconds, 0.001),
          });
        }, 1_000),
      );
    }
    try {
      try {
        await consumer.connect();
        await consumer.subscribe({
          topics: [...this.config.kafka.topics],
          fromBeginning: this.config.kafka.start_from === "earliest",
        });
        await consumer.run({
          autoCommit: false,
          eachBatchAutoResolve: false,
          // A failure ends the run with its own error; thrown, kafkajs would wrap it and restart.
          eachBatch: async ({ batch, heartbeat, resolveOffset }) => {
            await this.enqueue(() => this.onBatch(batch, heartbeat, resolveOffset)).catch(fail);
          },
        });
      } catch (error) {
        // A broker that went away between the start of the run and the consumer's join.
        throw isHostflowError(error)
          ? error
          : new HostflowError(
              "HF_KAFKA_CONSUME",
              `the Kafka consumer of ${this.config.kafka.brokers.join(",")} could not start: ${(error as Error).message} ` +
                `(nothing was loaded by this run; the next run reads it again)`,
              { cause: error, retriable: true },
            );
      }
      await done;
    } finally {
      this.ended = true;
      for (const timer of timers) clearTimeout(timer);
      await consumer.disconnect().catch(() => undefined);
    }
  }

  /** Loads, batches and assignments run one at a time, in order. */
  private enqueue<T>(work: () => Promise<T>): Promise<T> {
    const next = this.serial.then(work);
    this.serial = next.catch(() => undefined);
    return next;
  }

  private async onAssignment(assignment: Record<string, number[]>): Promise<void> {
    // A join that completes while the run ends (kafkajs rejoins after a missed rebalance) has
    // nothing left to do: reading Hive then would race the store's close.
    if (this.ended) return;
    this.joins += 1;
    const now = new Set<string>();
    for (const [topic, partitions] of Object.entries(assignment)) {
      for (const partition of partitions) now.add(key(topic, partition));
    }
    const lost = [...this.partitions.values()].filter(
      (p) => p.assigned && !now.has(key(p.topic, p.partition)),
    );
    const gained = [...this.partitions.values()].filter(
      (p) => !p.assigned && now.has(key(p.topic, p.partition)),
    );
    // Where Hive has each partition loaded to now, when that is cheap (read from `loads`' files):
    // the member that owned a partition before this join may have committed its last load after
    // this run read Hive at its start (a fleet run lost a whole run's reading so, to the claims).
    const fresh = this.fromFiles ? await this.loadedOffsets() : undefined;
    const movedOn = (p: PartitionState) => (fresh?.get(key(p.topic, p.partition)) ?? 0) > p.loaded;
    if (this.joins === 1 && fresh !== undefined) {
      // Nothing read yet: every partition starts where Hive has it now.
      for (const p of this.partitions.values()) {
        if (!movedOn(p)) continue;
        p.loaded = fresh.get(key(p.topic, p.partition)) as number;
        p.next = Math.max(p.next, p.loaded);
        p.sealed = p.next;
      }
    }
    const kept = [...this.partitions.values()].filter(
      (p) => p.assigned && now.has(key(p.topic, p.partition)),
    );
    if (
      this.joins > 1 &&
      lost.length === 0 &&
      this.loader.claimsOffsets &&
      !kept.some((p) => movedOn(p))
    ) {
      // Every partition this run read is still its own, and Hive has none of them loaded past
      // where this run's loads start: what it read stays, loads in flight commit as planned. A
      // member that owned one of them meanwhile unseen (this run's session had expired) starts
      // from Hive's chain of loads, as the pending load does: the offset claims let one of the
      // two commit (claims.ts). The partitions gained start where Hive has them loaded.
      if (gained.length > 0) {
        const loaded = fresh ?? (await this.loadedOffsets());
        for (const p of gained) {
          const recorded = loaded.get(key(p.topic, p.partition));
          if (recorded !== undefined && recorded > p.loaded) p.loaded = recorded;
          p.next = Math.max(p.next, p.loaded);
          p.sealed = p.next;
        }
      }
      this.logger.info(
        {
          kept: kept.length,
          gained: gained.map((p) => key(p.topic, p.partition)),
        },
        `the group rebalanced: this run kept its partitions and what it read of them, and gained ${gained.length}`,
      );
    } else if (this.joins > 1) {
      // Another member may have loaded since this run started, and rows not yet loaded may come
      // from partitions it now owns: drop them (a load in flight too: another member may have
      // read Hive's offsets already), and start again from Hive's record.
      await this.abandonInflight();
      const pending = this.pendingRecords;
      if (pending > 0) {
        this.logger.warn(
          {
            pending,
            revoked: lost.map((p) => key(p.topic, p.partition)),
            loadedByAnother: kept.filter(movedOn).map((p) => key(p.topic, p.partition)),
          },
          "the group rebalanced: records read but not loaded are dropped and read again",
        );
      }
      this.discardPending();
      const loaded = fresh ?? (await this.loadedOffsets());
      for (const p of this.partitions.values()) {
        const recorded = loaded.get(key(p.topic, p.partition));
        if (recorded !== undefined && recorded > p.loaded) p.loaded = recorded;
        p.next = Math.max(p.next, p.loaded);
        p.sealed = p.next;
      }
    }
    for (const p of this.partitions.values()) p.assigned = now.has(key(p.topic, p.partition));
    for (const p of this.partitions.values()) {
      if (!p.assigned) continue;
      if (p.next >= p.end) this.consumer?.pause([{ topic: p.topic, partitions: [p.partition] }]);
      else {
        p.positioned = false;
        this.consumer?.seek({ topic: p.topic, partition: p.partition, offset: String(p.next) });
      }
    }
    this.logger.info({ partitions: [...now] }, `assigned ${now.size} partitions`);
    await this.maybeFinish();
  }

  /**
   * Each message handled (or skipped as already loaded) is resolved, so that kafkajs fetches
   * past it; Kafka's committed offsets still move only after a load.
   */
  private async onBatch(
    batch: Batch,
    heartbeat: () => Promise<void>,
    resolveOffset: (offset: string) => void,
  ): Promise<void> {
    if (this.finished || this.failed) return;
    // A load whose files are written commits now, between batches: the member still owns its
    // partitions (kafkajs rejoins a rebalance only after this returns).
    while (this.inflight[0]?.load.ready) await this.commitOldest(heartbeat);
    if (this.finished) return;
    const p = this.partitions.get(key(batch.topic, batch.partition));
    if (p === undefined || !p.assigned) return;
    // A fetch sent before the seek may start past Hive's offset (Kafka's committed one ahead of
    // Hive's): skip it, the sought position comes next. Before it: already loaded, skipped below.
    const first = batch.messages[0];
    if (first !== undefined && Number(first.offset) > p.next && !p.positioned) return;
    p.positioned = true;
    for (const message of batch.messages) {
      if (this.stopReason !== undefined) break;
      const offset = Number(message.offset);
      // Below p.next: already loaded (a fetch that started before the seek) or already read.
      if (offset < p.next) {
        resolveOffset(message.offset);
        continue;
      }
      if (offset >= p.end) break;
      this.process(p, offset, message);
      p.next = offset + 1;
      resolveOffset(message.offset);
      if (this.options.maxRecords !== undefined && this.total.records >= this.options.maxRecords) {
        this.stopReason = "max-records";
      }
      if (this.shouldLoad()) await this.seal(heartbeat);
      // A load's files go out through sockets that this thread serves: let them move now and
      // then, not only between batches (a batch takes ~0.2 s to read).
      else if (this.inflight.length > 0 && ++this.sinceYield >= YIELD_EVERY) {
        this.sinceYield = 0;
        await new Promise<void>((resolve) => setImmediate(resolve));
        if (this.inflight[0]?.load.ready) await this.commitOldest(heartbeat);
      }
    }
    if (p.next >= p.end) this.consumer?.pause([{ topic: p.topic, partitions: [p.partition] }]);
    await this.maybeFinish(heartbeat);
  }

  private process(p: PartitionState, offset: number, message: Batch["messages"][number]): void {
    this.total.records += 1;
    p.pendingRecords += 1;
    this.pendingRecords += 1;
    this.pendingBytes += message.value?.length ?? 0;
    const checked = checkRecord(message.key, message.value, message.headers, this.checkOptions);
    if (!checked.ok) {
      this.total.bad += 1;
      p.pendingBad += 1;
      const reason = checked.reason;
      const kind = reason.split(":")[0] ?? reason;
      this.badReasons.set(kind, (this.badReasons.get(kind) ?? 0) + 1);
      this.quarantineBytes += (message.value?.length ?? 0) * 1.4 + 200;
      this.quarantine.push({
        topic: p.topic,
        partition: p.partition,
        offset,
        timestamp: Number(message.timestamp),
        key: message.key,
        value: message.value,
        reason,
      });
      return;
    }
    const { sample, host, headers } = checked;
    this.pendingStringFields += checked.skipped;
    this.aggregator.add(host, sample);
    if (this.config.aggregation.keep_raw) {
      const tags = canonicalTags(sample.tags);
      for (const [field, value] of Object.entries(sample.fields)) {
        this.raw.push({
          host,
          measurement: sample.name,
          tags,
          field,
          value,
          ts: sample.timestamp,
          agentId: headers?.agentId,
          seq: headers?.seq,
          topic: p.topic,
          partition: p.partition,
          offset,
        });
      }
    }
    if (headers !== undefined && this.tracker !== undefined) {
      this.tracker.observe(headers.agentId, headers.stream, headers.seq, host, sample.timestamp);
    }
  }

  private shouldLoad(): boolean {
    const { batch_records, batch_bytes } = this.config.run;
    if (this.pendingRecords >= batch_records || this.pendingBytes >= batch_bytes) return true;
    // The last load of a run cannot overlap with reading: keep it small, but big enough that
    // reading it covers the load before it (its files take ~40 % of its reading time here).
    const tail = Math.ceil((batch_records * 3) / 10);
    if (this.pendingRecords >= tail) {
      let rest = 0;
      for (const p of this.partitions.values()) if (p.assigned) rest += Math.max(0, p.end - p.next);
      if (rest > 0 && rest <= tail) return true;
    }
    // A statement must stay under its size limit; files are bounded by the batch limits only.
    const limit = this.loader.maxStatementBytes;
    if (limit === undefined) return false;
    const estimate =
      (this.aggregator.rowCount + this.raw.length) * this.rowBytes + this.quarantineBytes;
    return estimate >= limit * 0.8;
  }

  private async maybeFinish(heartbeat?: () => Promise<void>): Promise<void> {
    if (this.finished) return;
    const assigned = [...this.partitions.values()].filter((p) => p.assigned);
    const allDone = assigned.length > 0 && assigned.every((p) => p.next >= p.end);
    if (!allDone && this.stopReason === undefined) return;
    await this.finish(heartbeat);
    this.settle?.resolve();
  }

  private async finish(heartbeat?: () => Promise<void>): Promise<void> {
    this.finished = true;
    const complete =
      this.stopReason === undefined && [...this.partitions.values()].every((p) => p.next >= p.end);
    await this.seal(heartbeat, complete);
    await this.commitAll(heartbeat);
  }

  /**
   * Begins a load of what is pending (its files are written while the run reads on) after
   * committing the one before it. `final` (a run that read everything) lets the gap tracker
   * report holes that are old enough.
   */
  private async seal(heartbeat?: () => Promise<void>, final?: boolean): Promise<void> {
    const gapResult = this.tracker?.finish(Date.now(), final === true, {
      midRun: final === undefined,
    });
    const gapRows = [
      ...this.gapRows,
      ...(gapResult?.events ?? []).map(
        (e): GapRow => ({ ...e, topic: undefined, partition: undefined }),
      ),
    ];
    const streams = gapResult?.changed ?? [];
    const touched = [...this.partitions.values()].filter((p) => p.next > p.sealed);
    if (touched.length === 0 && gapRows.length === 0 && streams.length === 0) return;
    this.checkBadRatio(final === true);
    const loadId = `${this.config.kafka.group_id}-${randomUUID()}`;
    const offsets: OffsetRange[] = touched.map((p) => ({
      topic: p.topic,
      partition: p.partition,
      from: p.sealed,
      next: p.next,
      records: p.pendingRecords,
      bad: p.pendingBad,
    }));
    // A load that carries state only (gaps found at the end of a run) commits with this row.
    if (offsets.length === 0) {
      offsets.push({ topic: "", partition: -1, from: 0, next: 0, records: 0, bad: 0 });
    }
    const metrics = this.aggregator.rows();
    const unit = {
      loadId,
      groupId: this.config.kafka.group_id,
      collector: `${os.hostname()}/${process.pid}`,
      loadedAt: Date.now(),
      metrics,
      raw: this.raw,
      quarantine: this.quarantine,
      gaps: gapRows,
      streams,
      offsets,
    };
    const inflight: Omit<InFlight, "load"> = {
      loadId,
      ranges: touched.map((p) => ({ p, next: p.next })),
      records: offsets.reduce((n, o) => n + o.records, 0),
      bad: offsets.reduce((n, o) => n + o.bad, 0),
      stringFields: this.pendingStringFields,
      windows: new Set(metrics.map((m) => `${m.windowSeconds}:${m.windowStart}`)).size,
      events: gapResult?.events ?? [],
      streams,
    };
    for (const p of touched) {
      p.sealed = p.next;
      p.pendingRecords = 0;
      p.pendingBad = 0;
    }
    this.clearPending();
    // The tracker goes on from the states this load will put in Hive.
    for (const s of streams) this.sealedStates.set(streamKey(s), s);
    this.resetTracker();
    this.crash("after-consume");
    this.inflight.push({
      ...inflight,
      load: this.loader.begin(unit, (point) => {
        // mid-commit: the statement has gone; the kill comes while the server runs it.
        if (point === "mid-commit") setTimeout(() => this.crash(point), 300);
        else this.crash(point);
        return this.hold(point);
      }),
    });
    // The loads before it commit now (their files were written while this one was read).
    while (this.inflight.length > 1) await this.commitOldest(heartbeat);
  }

  /** Commits every load in flight, in order. */
  private async commitAll(heartbeat?: () => Promise<void>): Promise<void> {
    while (this.inflight.length > 0) await this.commitOldest(heartbeat);
  }

  /** Commits the oldest load in flight (waiting for its files), and books it. */
  private async commitOldest(heartbeat?: () => Promise<void>): Promise<void> {
    const inflight = this.inflight.shift();
    if (inflight === undefined) return;
    const beat = heartbeat
      ? setInterval(() => heartbeat().catch(() => undefined), 3_000)
      : undefined;
    let result: Awaited<ReturnType<PendingLoad["commit"]>>;
    const waiting = Date.now();
    try {
      result = await inflight.load.commit();
    } catch (error) {
      if (!isHostflowError(error, "HF_LOAD_LOST")) throw error;
      await this.lostRace(inflight, error);
      return;
    } finally {
      if (beat) clearInterval(beat);
    }
    const { ms, filesMs, rows: tableRows, bytes } = result;
    // What reading stood still for: the commit, and the files when they were not in place yet.
    const waitedMs = Date.now() - waiting;
    const rows = Object.values(tableRows).reduce((a, b) => a + b, 0);
    if (rows > 0) this.rowBytes = Math.max(64, bytes / rows);
    this.loadMs.push(ms);
    this.total.loads += 1;
    this.total.rows += tableRows.metrics;
    this.total.stringFields += inflight.stringFields;
    this.total.windows += inflight.windows;
    for (const e of inflight.events) {
      if (e.kind === "gap") this.total.gaps += 1;
      else this.total.duplicates += 1;
    }
    for (const s of inflight.streams) this.loadedStates.set(streamKey(s), s);
    this.logger.info(
      {
        loadId: inflight.loadId,
        ms,
        filesMs,
        waitedMs,
        ...tableRows,
        bytes,
        files: result.files,
        via: this.loader.via,
      },
      `loaded ${inflight.records} records as ${tableRows.metrics} rows in ${ms} ms (reading waited ${waitedMs} ms)`,
    );
    for (const { p, next } of inflight.ranges) p.loaded = Math.max(p.loaded, next);
    await this.commitToKafka(inflight.ranges.map(({ p }) => p));
  }

  /**
   * After a rebalance: the loads in flight never commit (their files stay invisible; a later run
   * removes them), and their records are read again.
   */
  private async abandonInflight(): Promise<void> {
    const abandoned = this.inflight;
    this.inflight = [];
    for (const inflight of abandoned) {
      this.total.records -= inflight.records;
      this.total.bad -= inflight.bad;
      this.logger.warn(
        { loadId: inflight.loadId, records: inflight.records },
        `the group rebalanced while a load was in flight: its ${inflight.records} records are read again`,
      );
      await inflight.load.abandon();
    }
  }

  /**
   * Another member of the group loaded offsets this run was about to commit (claims.ts): the run
   * lost its partitions in a rebalance it had not seen yet. It drops every load in flight and
   * what it read, and ends (exit 0): those records are the owner's to load.
   */
  private async lostRace(lost: InFlight, error: Error): Promise<void> {
    this.logger.warn({ loadId: lost.loadId, records: lost.records }, error.message);
    this.total.records -= lost.records;
    this.total.bad -= lost.bad;
    await this.abandonInflight();
    this.discardPending();
    this.stopReason = "another-collector";
    this.finished = true;
    this.settle?.resolve();
  }

  /** Kafka's committed offsets follow Hive's, so that lag tools see the truth; Hive stays the record. */
  private async commitToKafka(partitions: PartitionState[]): Promise<void> {
    const owned = partitions.filter((p) => p.assigned);
    if (this.consumer === undefined || owned.length === 0) return;
    try {
      await this.consumer.commitOffsets(
        owned.map((p) => ({ topic: p.topic, partition: p.partition, offset: String(p.loaded) })),
      );
    } catch (error) {
      this.logger.warn(
        { error: (error as Error).message },
        "committing offsets to Kafka failed (Hive has them; lag tools lag until the next run)",
      );
    }
  }

  private checkBadRatio(final: boolean): void {
    const limit = this.options.maxBadRatio ?? this.config.records.max_bad_ratio;
    const { records, bad } = this.total;
    if (limit >= 1 || records === 0 || (!final && records < MIN_RECORDS_FOR_RATIO)) return;
    if (bad / records <= limit) return;
    const reasons = [...this.badReasons]
      .sort((a, b) => b[1] - a[1])
      .slice(0, 3)
      .map(([reason, n]) => `${n}× ${reason}`)
      .join(", ");
    throw new HostflowError(
      "HF_BAD_RATIO",
      `${bad} of ${records} records (${((100 * bad) / records).toFixed(1)} %) were bad, above the limit ` +
        `of ${(100 * limit).toFixed(1)} % (records.max_bad_ratio, --max-bad-ratio): ${reasons}; ` +
        "the records read since the last load were not loaded and will be read again by the next run",
      { context: { records, bad, limit } },
    );
  }

  private clearPending(): void {
    this.pendingStringFields = 0;
    this.aggregator.clear();
    this.raw = [];
    this.quarantine = [];
    this.quarantineBytes = 0;
    this.gapRows = [];
    this.pendingRecords = 0;
    this.pendingBytes = 0;
  }

  private discardPending(): void {
    for (const p of this.partitions.values()) {
      this.total.records -= p.pendingRecords;
      this.total.bad -= p.pendingBad;
      p.next = p.loaded;
      p.sealed = p.loaded;
      p.pendingRecords = 0;
      p.pendingBad = 0;
    }
    const retention = this.gapRows.filter((g) => g.kind === "retention");
    this.clearPending();
    this.gapRows = retention;
    this.sealedStates = new Map(this.loadedStates);
    this.resetTracker();
  }

  private resetTracker(): void {
    if (!this.config.gaps.enabled) return;
    this.tracker = new GapTracker([...this.sealedStates.values()], {
      graceMs: this.config.gaps.grace,
      maxHolesPerStream: 1_000,
    });
  }

  private crash(point: CrashPoint): void {
    if (this.options.crashAt === point) process.kill(process.pid, "SIGKILL");
  }

  private held = false;
  private async hold(point: CrashPoint): Promise<void> {
    const hold = this.options.holdAt;
    if (hold === undefined || hold.point !== point || this.held) return;
    this.held = true;
    await writeFile(path.join(hold.dir, "reached"), String(process.pid));
    while (!existsSync(path.join(hold.dir, "release"))) await pause(100);
  }
}

/** A load begun and not committed, with what its commit books. */
interface InFlight {
  load: PendingLoad;
  loadId: string;
  /** Each partition it covers, and the next offset after its range. */
  ranges: { p: PartitionState; next: number }[];
  records: number;
  bad: number;
  stringFields: number;
  windows: number;
  events: GapEvent[];
  streams: StreamState[];
}

function streamKey(s: Pick<StreamState, "agentId" | "stream">): string {
  return `${s.agentId.length}:${s.agentId}${s.stream}`;
}
