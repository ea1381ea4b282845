/**
 * The dashboard's own reader of kafka.topics: the last `dashboard.live_window` of samples, read
 * as they arrive into a LiveStore, so that the page shows a sample seconds after it was taken
 * while the collector keeps loading Hive in minute batches.
 *
 * It never touches the collector's offsets: it is a consumer group of its own,
 * `<kafka.group_id>-dashboard-<hostname>-<pid>` (one per dashboard process, so each gets every
 * partition), and commits nothing (autoCommit off, no commitOffsets), so that Kafka drops the
 * empty group once the dashboard is gone. Each partition starts at the offset of `now - window`
 * (Kafka's offsets-by-timestamp), and after a reconnect where it stopped unless that has left the
 * window. Records are checked by the collector's own checkRecord; bad ones are counted and
 * skipped. Kafka away is a state the page shows, never an exception: the tail retries with
 * backoff for as long as the dashboard runs.
 *
 * Imported only when `dashboard.live` is on (server.ts).
 */
import os from "node:os";
import type { Batch, Consumer, Kafka } from "kafkajs";
import { Backoff, pause } from "../../lib/backoff.js";
import { describeError, HostflowError, isHostflowError } from "../../lib/errors.js";
import { createKafka, kafkaClientConfig } from "../../lib/kafka.js";
import type { Logger } from "../../lib/log.js";
import { withTimeout } from "../../lib/timeout.js";
import type { ResolvedCollectorConfig } from "../config/load.js";
import { checkRecord, type RecordCheckOptions } from "../records.js";
import { LiveStore, MAX_LIVE_BUCKETS } from "./live-store.js";

export type LiveState = "starting" | "live" | "down";

/** What /api/fleet, /api/status and /api/live say of the live tail. */
export interface LiveStatus {
  /** starting: not joined yet; live: reading; down: Kafka did not answer (see error). */
  state: LiveState;
  error?: string;
  groupId: string;
  topics: string[];
  windowMs: number;
  bucketMs: number;
  /** Epoch ms from which the tail has every sample (windows starting earlier are partial). */
  coverageFrom?: number;
  /** Epoch ms (the dashboard's clock) of the last record read. */
  lastRecordAt?: number;
  hosts: number;
  maxHosts: number;
  /** Records read since the dashboard started. */
  records: number;
  /** Records that failed the collector's checks (the collector quarantines them), by reason. */
  bad: number;
  badReasons: Record<string, number>;
  lastBadReason?: string;
  /** Samples older than the window when read: not kept. */
  late: number;
  /** Samples of hosts beyond dashboard.live_max_hosts: not kept. */
  droppedForHostCap: number;
}

/** No fetch answered for this long: the tail says Kafka is down, whatever kafkajs still tries. */
const STALL_MS = 15_000;
/** The broker holds an empty fetch this long: the idle tail asks once a second. */
const MAX_WAIT_MS = 1_000;
const SWEEP_MS = 10_000;
/** Bad and capped records are logged at most this often. */
const LOG_EVERY_MS = 60_000;
const MAX_REASON_KINDS = 20;
const DISCONNECT_MS = 5_000;
/** The brokers' group.min.session.timeout.ms is 6 s by default. */
const SESSION_MS = 10_000;
const BACKOFF = { initialMs: 1_000, maxMs: 10_000, multiplier: 2, jitter: 0.2 };

const key = (topic: string, partition: number) => `${topic}:${partition}`;

export function liveGroupId(config: ResolvedCollectorConfig): string {
  return `${config.kafka.group_id}-dashboard-${os.hostname()}-${process.pid}`;
}

export class LiveTail {
  readonly store: LiveStore;
  readonly groupId: string;
  readonly #config: ResolvedCollectorConfig;
  readonly #logger: Logger;
  readonly #abort = new AbortController();
  /** The next offset to read per partition: where a new session starts. */
  readonly #next = new Map<string, number>();
  readonly #badReasons = new Map<string, number>();
  #state: LiveState = "starting";
  #error: string | undefined;
  #lastFetchAt = 0;
  #lastRecordAt: number | undefined;
  #records = 0;
  #bad = 0;
  #lastBadReason: string | undefined;
  #logged = { at: 0, bad: 0, capped: 0 };
  #running: Promise<void> | undefined;
  #sweeper: NodeJS.Timeout | undefined;

  constructor(config: ResolvedCollectorConfig, logger: Logger, store?: LiveStore) {
    this.#config = config;
    this.#logger = logger;
    this.groupId = liveGroupId(config);
    const bucketMs = Math.min(...config.aggregation.windows);
    this.store =
      store ??
      new LiveStore({
        // The default 10m with 1-second windows would be 600 buckets: cut to what load.ts allows.
        windowMs: Math.min(config.dashboard.live_window, MAX_LIVE_BUCKETS * bucketMs),
        bucketMs,
        maxHosts: config.dashboard.live_max_hosts,
      });
  }

  start(): void {
    this.#running ??= this.#loop();
    this.#sweeper = setInterval(() => this.store.sweep(Date.now()), SWEEP_MS);
    this.#sweeper.unref();
  }

  async stop(): Promise<void> {
    this.#abort.abort();
    clearInterval(this.#sweeper);
    await this.#running;
  }

  status(now: number): LiveStatus {
    let state = this.#state;
    let error = this.#error;
    if (state === "live" && now - this.#lastFetchAt > STALL_MS) {
      state = "down";
      error = `no answer from Kafka at ${this.#config.kafka.brokers.join(",")} for ${Math.round((now - this.#lastFetchAt) / 1000)} s${error ? ` (${error})` : ""}`;
    }
    const { counts } = this.store;
    const status: LiveStatus = {
      state,
      groupId: this.groupId,
      topics: [...this.#config.kafka.topics],
      windowMs: this.store.windowMs,
      bucketMs: this.store.bucketMs,
      hosts: this.store.hostCount,
      maxHosts: this.store.maxHosts,
      records: this.#records,
      bad: this.#bad,
      badReasons: Object.fromEntries(this.#badReasons),
      late: counts.late,
      droppedForHostCap: counts.hostCap,
    };
    if (error !== undefined) status.error = error;
    if (this.store.coverageFrom !== undefined) status.coverageFrom = this.store.coverageFrom;
    if (this.#lastRecordAt !== undefined) status.lastRecordAt = this.#lastRecordAt;
    if (this.#lastBadReason !== undefined) status.lastBadReason = this.#lastBadReason;
    return status;
  }

  async #loop(): Promise<void> {
    const backoff = new Backoff(BACKOFF);
    const signal = this.#abort.signal;
    while (!signal.aborted) {
      try {
        await this.#session(signal, () => backoff.reset());
      } catch (error) {
        if (signal.aborted) break;
        this.#down(error);
      }
      if (signal.aborted) break;
      const wait = backoff.next();
      this.#logger.warn(
        `live: ${this.#error ?? "the Kafka consumer stopped"}; the page shows what Hive has and says so; retrying in ${Math.round(wait / 1000)} s`,
      );
      await pause(wait, signal);
    }
  }

  /** One consumer, from connect to a crash kafkajs does not restart from (or the stop). */
  async #session(signal: AbortSignal, onJoin: () => void): Promise<void> {
    const { kafka: settings } = this.#config;
    const kafka = createKafka(
      await kafkaClientConfig(settings, { retries: 3, initialRetryTime: 300 }),
      // kafkajs repeats every failed retry at error level: the tail's state says it once.
      (_level, fields, message) => this.#logger.debug(fields, message),
    );
    const since = Date.now() - this.store.windowMs;
    const startAt = await this.#offsetsAt(kafka, since);
    if (signal.aborted) return;
    let jumped = this.store.coverageFrom === undefined;
    for (const [k, offset] of startAt) {
      const next = this.#next.get(k);
      if (next === undefined || next < offset) {
        if (next !== undefined) jumped = true;
        this.#next.set(k, offset);
      }
    }
    // What was read before an outage that outlasted the window may miss records in between.
    if (jumped) this.store.coverageFrom = since;

    const consumer = kafka.consumer({
      groupId: this.groupId,
      allowAutoTopicCreation: false,
      maxWaitTimeInMs: MAX_WAIT_MS,
      // After a broker restart the coordinator waits for the member it remembers until this
      // expires before the tail can join again (30 s made the outage test's recovery ~36 s).
      sessionTimeout: SESSION_MS,
      heartbeatInterval: 3_000,
    });
    let end: () => void = () => undefined;
    const ended = new Promise<void>((resolve) => {
      end = resolve;
    });
    let failure: unknown;
    const stop = () => end();
    signal.addEventListener("abort", stop, { once: true });
    if (signal.aborted) end();
    consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => {
      this.#onJoin(consumer, payload.memberAssignment);
      onJoin();
    });
    consumer.on(consumer.events.FETCH, () => {
      this.#lastFetchAt = Date.now();
    });
    consumer.on(consumer.events.CRASH, ({ payload }) => {
      this.#down(payload.error);
      if (!payload.restart) {
        failure = payload.error;
        end();
      }
    });
    try {
      try {
        await consumer.connect();
        await consumer.subscribe({ topics: [...settings.topics], fromBeginning: true });
        await consumer.run({
          autoCommit: false,
          eachBatch: async ({ batch }) =>
            this.handleBatch(batch.topic, batch.partition, batch.messages),
        });
      } catch (cause) {
        throw new HostflowError(
          "HF_KAFKA_CONSUME",
          `cannot read ${settings.topics.join(", ")} from Kafka at ${settings.brokers.join(",")}: ${(cause as Error).message}`,
          { cause, retriable: true },
        );
      }
      await ended;
      if (failure !== undefined && !signal.aborted) throw failure;
    } finally {
      signal.removeEventListener("abort", stop);
      // Leaving the group asks the coordinator: a broker that hangs must not hold the dashboard's stop.
      await withTimeout(consumer.disconnect(), DISCONNECT_MS, "the live tail's disconnect").catch(
        () => undefined,
      );
    }
  }

  /** Where each partition starts: the first offset at or after `since` (the end if none). */
  async #offsetsAt(kafka: Kafka, since: number): Promise<Map<string, number>> {
    const { brokers, topics } = this.#config.kafka;
    const admin = kafka.admin();
    try {
      await admin.connect();
      const existing = new Set(await admin.listTopics());
      const missing = topics.filter((t) => !existing.has(t));
      if (missing.length > 0)
        throw new HostflowError(
          "HF_KAFKA_TOPIC",
          `topic${missing.length > 1 ? "s" : ""} ${missing.join(", ")} not found on ${brokers.join(",")} (kafka.topics)`,
          { retriable: true, context: { missing } },
        );
      const offsets = new Map<string, number>();
      for (const topic of topics) {
        for (const p of await admin.fetchTopicOffsetsByTimestamp(topic, since))
          offsets.set(key(topic, p.partition), Number(p.offset));
      }
      return offsets;
    } catch (cause) {
      if (isHostflowError(cause)) throw cause;
      throw new HostflowError(
        "HF_KAFKA_UNREACHABLE",
        `Kafka at ${brokers.join(",")} did not give the offsets of the live window: ${(cause as Error).message}`,
        { cause, retriable: true },
      );
    } finally {
      await admin.disconnect().catch(() => undefined);
    }
  }

  /** Called by kafkajs before its first fetch of the new assignment: seeks never race a fetch. */
  #onJoin(consumer: Consumer, assignment: Record<string, number[]>): void {
    let partitions = 0;
    for (const [topic, list] of Object.entries(assignment)) {
      for (const partition of list) {
        partitions++;
        const next = this.#next.get(key(topic, partition));
        // A partition created since the start has only new records: kafkajs starts it at its beginning.
        if (next !== undefined) consumer.seek({ topic, partition, offset: String(next) });
      }
    }
    this.#lastFetchAt = Date.now();
    const was = this.#state;
    this.#state = "live";
    this.#error = undefined;
    const from = this.store.coverageFrom;
    this.#logger.info(
      `live: ${was === "down" ? "back: " : ""}reading ${this.#config.kafka.topics.join(", ")} (${partitions} partitions) from Kafka as group ${this.groupId}, from ${from === undefined ? "the start" : new Date(from).toISOString()}`,
    );
  }

  /** Reads one fetched batch into the store (public for the tests: it needs no broker). */
  handleBatch(
    topic: string,
    partition: number,
    messages: ReadonlyArray<
      Pick<Batch["messages"][number], "offset" | "key" | "value" | "headers">
    >,
  ): void {
    const k = key(topic, partition);
    const now = Date.now();
    this.#lastFetchAt = now;
    const records = this.#config.records;
    const options: RecordCheckOptions = {
      timestampUnit: records.timestamp_unit,
      maxBytes: records.max_bytes,
      maxAgeMs: records.max_age,
      maxFutureMs: records.max_future,
      now,
    };
    let next = this.#next.get(k) ?? 0;
    for (const message of messages) {
      const offset = Number(message.offset);
      // Read already: a fetch that was under way when a reconnect seeked.
      if (offset < next) continue;
      next = offset + 1;
      this.#records++;
      const checked = checkRecord(message.key, message.value, message.headers, options);
      if (checked.ok) this.store.add(checked.host, checked.sample, now);
      else this.#badRecord(checked.reason);
    }
    this.#next.set(k, next);
    if (messages.length > 0) this.#lastRecordAt = now;
    this.#logNews(now);
  }

  #badRecord(reason: string): void {
    this.#bad++;
    this.#lastBadReason = reason.length > 300 ? `${reason.slice(0, 300)}…` : reason;
    // "timestamp 1791… is …", "not JSON: …", "fields.x: …": the words before a number or a colon.
    const kind = (reason.split(/:|\s\d/)[0] ?? reason).trim().slice(0, 60);
    if (this.#badReasons.has(kind) || this.#badReasons.size < MAX_REASON_KINDS)
      this.#badReasons.set(kind, (this.#badReasons.get(kind) ?? 0) + 1);
  }

  /** Bad records and hosts over the cap, at most once a minute: a line, not a flood. */
  #logNews(now: number): void {
    const capped = this.store.counts.hostCap;
    if (now - this.#logged.at < LOG_EVERY_MS) return;
    if (capped > this.#logged.capped) {
      this.#logger.warn(
        `live: dashboard.live_max_hosts (${this.store.maxHosts}) reached: ${capped - this.#logged.capped} samples of hosts beyond it were not kept live (they show once loaded into Hive); raise it, or shorten live_window to let silent hosts leave sooner`,
      );
    }
    if (this.#bad > this.#logged.bad) {
      this.#logger.warn(
        `live: ${this.#bad - this.#logged.bad} bad records skipped (the collector quarantines them), e.g. ${this.#lastBadReason}`,
      );
    }
    if (capped > this.#logged.capped || this.#bad > this.#logged.bad)
      this.#logged = { at: now, bad: this.#bad, capped };
  }

  #down(error: unknown): void {
    this.#state = "down";
    this.#error = describeError(error);
  }
}
