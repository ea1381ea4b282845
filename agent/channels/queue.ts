/**
 * What the memory and the file channel share: the in-memory queue with Flume's put and take
 * transactions, the full policies, sequence numbers and the waits for events and for room. A
 * channel plugs its storage in through a `QueueStore` (the memory channel keeps the events, the
 * file channel writes them to its log first).
 */

import { HostflowError } from "../../lib/errors.js";
import type { Logger } from "../../lib/log.js";
import type { AgentEvent, ChannelEvent, ComponentContext, Take } from "../core/types.js";

/** A ring buffer: O(1) at both ends, so neither a put, a take nor a rollback shifts an array. */
export class Deque<T> {
  private buf: (T | undefined)[];
  private head = 0;
  private len = 0;

  constructor(initialCapacity = 16) {
    this.buf = new Array<T | undefined>(Math.max(4, initialCapacity));
  }

  get length(): number {
    return this.len;
  }

  push(item: T): void {
    if (this.len === this.buf.length) this.resize(this.buf.length * 2);
    this.buf[(this.head + this.len) % this.buf.length] = item;
    this.len++;
  }

  unshift(item: T): void {
    if (this.len === this.buf.length) this.resize(this.buf.length * 2);
    this.head = (this.head - 1 + this.buf.length) % this.buf.length;
    this.buf[this.head] = item;
    this.len++;
  }

  shift(): T | undefined {
    if (this.len === 0) return undefined;
    const item = this.buf[this.head];
    this.buf[this.head] = undefined;
    this.head = (this.head + 1) % this.buf.length;
    this.len--;
    // Give memory back after a burst (Kafka down for an hour, then drained).
    if (this.buf.length > 1024 && this.len < this.buf.length / 4) this.resize(this.buf.length / 2);
    return item;
  }

  /** Removes up to `max` items from the head. */
  shiftMany(max: number): T[] {
    const n = Math.min(max, this.len);
    const out = new Array<T>(n);
    for (let i = 0; i < n; i++) out[i] = this.shift() as T;
    return out;
  }

  /** Puts `items` back at the head, keeping their order. */
  unshiftMany(items: readonly T[]): void {
    for (let i = items.length - 1; i >= 0; i--) this.unshift(items[i] as T);
  }

  at(index: number): T | undefined {
    return index < 0 || index >= this.len
      ? undefined
      : this.buf[(this.head + index) % this.buf.length];
  }

  *[Symbol.iterator](): IterableIterator<T> {
    for (let i = 0; i < this.len; i++) yield this.buf[(this.head + i) % this.buf.length] as T;
  }

  clear(): void {
    this.buf = new Array<T | undefined>(16);
    this.head = 0;
    this.len = 0;
  }

  private resize(capacity: number): void {
    const next = new Array<T | undefined>(capacity);
    for (let i = 0; i < this.len; i++) next[i] = this.buf[(this.head + i) % this.buf.length];
    this.buf = next;
    this.head = 0;
  }
}

/** Wakes every waiter at once; each waiter checks again whether what it waits for is there. */
export class Notifier {
  private waiters = new Set<() => void>();

  wake(): void {
    const waiters = this.waiters;
    this.waiters = new Set();
    for (const wake of waiters) wake();
  }

  /** Resolves on wake(), after `ms`, or when `signal` aborts, whichever comes first. */
  wait(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      if (signal?.aborted || ms <= 0) return resolve();
      let timer: NodeJS.Timeout | undefined;
      const done = () => {
        if (timer) clearTimeout(timer);
        signal?.removeEventListener("abort", done);
        this.waiters.delete(done);
        resolve();
      };
      this.waiters.add(done);
      if (Number.isFinite(ms)) timer = setTimeout(done, ms);
      signal?.addEventListener("abort", done, { once: true });
    });
  }
}

/**
 * Puts are one at a time (sequence numbers are assigned in commit order, and the file channel's
 * log is appended in that order), first come first served; a put waiting for its turn can give
 * up when its signal aborts.
 */
class PutLock {
  private held = false;
  private readonly waiting: Array<() => void> = [];

  async acquire(signal: AbortSignal | undefined, onAbort: () => Error): Promise<void> {
    if (signal?.aborted) throw onAbort();
    if (!this.held) {
      this.held = true;
      return;
    }
    await new Promise<void>((resolve, reject) => {
      const grant = () => {
        signal?.removeEventListener("abort", abort);
        resolve();
      };
      const abort = () => {
        const i = this.waiting.indexOf(grant);
        if (i >= 0) this.waiting.splice(i, 1);
        reject(onAbort());
      };
      this.waiting.push(grant);
      signal?.addEventListener("abort", abort, { once: true });
    });
  }

  release(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.held = false;
  }
}

/**
 * Evictions are never silent, but a channel that stays full would log a line per put: one warn
 * line a second at most, with what was dropped since the last line and the running total.
 */
export class DropReporter {
  private pending = 0;
  private firstSeq = 0;
  private lastSeq = 0;
  private total = 0;
  private lastLogAt = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly logger: Logger,
    private readonly channel: string,
    private readonly intervalMs = 1000,
  ) {}

  dropped(seqs: readonly number[]): void {
    if (seqs.length === 0) return;
    if (this.pending === 0) this.firstSeq = seqs[0] as number;
    this.lastSeq = seqs[seqs.length - 1] as number;
    this.pending += seqs.length;
    this.total += seqs.length;
    const wait = this.lastLogAt + this.intervalMs - Date.now();
    if (wait <= 0) this.flush();
    else if (!this.timer) {
      this.timer = setTimeout(() => this.flush(), wait);
      this.timer.unref();
    }
  }

  flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.pending === 0) return;
    this.logger.warn(
      {
        channel: this.channel,
        dropped: this.pending,
        firstSeq: this.firstSeq,
        lastSeq: this.lastSeq,
        totalDropped: this.total,
      },
      `channel ${this.channel} full: dropped the ${this.pending} oldest events (seq ${this.firstSeq}…${this.lastSeq}; ${this.total} in all)`,
    );
    this.pending = 0;
    this.lastLogAt = Date.now();
  }
}

export interface QueueEntry {
  readonly seq: number;
}

/** Where a channel keeps its events; the queue calls it inside its transactions. */
export interface QueueStore<E extends QueueEntry, P> {
  /** Done once per put, before waiting for room: serializes the batch, says how many bytes. */
  prepare(events: readonly AgentEvent[]): { batch: P; bytes: number };
  /** Whether `bytes` more fit once `evicting` are gone (the file channel's max_bytes). */
  fitsBytes?(bytes: number, evicting: readonly E[]): boolean;
  /**
   * Commits a put (durably, for the file channel) with sequence numbers from `firstSeq`, together
   * with the eviction of `evicted`. Throws to reject the put: then nothing of it happened.
   */
  commitPut(batch: P, firstSeq: number, evicted: readonly E[]): Promise<E[]> | E[];
  /** The events a take hands out. */
  materialize(entries: readonly E[]): ChannelEvent[];
  /** Makes a take commit durable; throws to keep the take open. */
  commitTake(entries: readonly E[]): Promise<void> | void;
}

export interface QueueOptions {
  name: string;
  capacity: number;
  transactionCapacity: number;
  whenFull: "block" | "drop_oldest";
  /** The channel's bytes relative to its byte limit (file channel), for fill(). */
  byteFill?: () => number;
}

/**
 * The transactional queue: `ready` holds committed events not in a take, oldest first; events
 * in open takes are counted in `inFlight` until the take commits or rolls back.
 */
export class TransactionalQueue<E extends QueueEntry, P> {
  private readonly ready = new Deque<E>(1024);
  private inFlight = 0;
  /** The entries of open takes, for the file channel's checkpoint (they are still live). */
  private readonly open = new Set<readonly E[]>();
  private seq: number;
  private closed = false;
  private readonly putLock = new PutLock();
  private readonly data = new Notifier();
  private readonly room = new Notifier();
  private readonly drops: DropReporter;

  constructor(
    private readonly options: QueueOptions,
    private readonly store: QueueStore<E, P>,
    private readonly ctx: ComponentContext,
    recovered: { nextSeq: number; entries?: Iterable<E> } = { nextSeq: 0 },
  ) {
    this.seq = recovered.nextSeq;
    for (const entry of recovered.entries ?? []) this.ready.push(entry);
    this.drops = new DropReporter(ctx.logger, options.name);
    this.updateGauges();
  }

  get nextSeq(): number {
    return this.seq;
  }

  /** After a write whose outcome on disk is unknown: never hand those numbers out again. */
  skipSeqs(n: number): void {
    this.seq += n;
  }

  size(): number {
    return this.ready.length + this.inFlight;
  }

  fill(): number {
    const events = this.size() / this.options.capacity;
    return Math.min(1, Math.max(events, this.options.byteFill?.() ?? 0));
  }

  /** Events not in a take, oldest first (for the file channel's checkpoint). */
  readyEntries(): Iterable<E> {
    return this.ready;
  }

  /** Events in open takes. */
  *takenEntries(): IterableIterator<E> {
    for (const entries of this.open) yield* entries;
  }

  /** Runs `fn` while no put commits, so that it sees the queue and the log agree. */
  async whilePutsPaused<T>(fn: () => Promise<T>): Promise<T> {
    await this.putLock.acquire(undefined, () => new Error("unreachable"));
    try {
      return await fn();
    } finally {
      this.putLock.release();
    }
  }

  async put(events: readonly AgentEvent[], signal?: AbortSignal): Promise<void> {
    this.assertOpen();
    const n = events.length;
    if (n > this.options.transactionCapacity || n > this.options.capacity) {
      throw new HostflowError(
        "HF_CHANNEL_TRANSACTION",
        `a put of ${n} events exceeds channel ${this.options.name}'s ${n > this.options.transactionCapacity ? `transaction capacity of ${this.options.transactionCapacity}` : `capacity of ${this.options.capacity}`}`,
        { context: { channel: this.options.name, events: n } },
      );
    }
    if (n === 0) return;
    const { batch, bytes } = this.store.prepare(events);
    await this.putLock.acquire(signal, () => this.fullError(n));
    try {
      this.assertOpen();
      const evicted = await this.makeRoom(n, bytes, signal);
      let entries: E[];
      try {
        entries = await this.store.commitPut(batch, this.seq, evicted);
      } catch (error) {
        this.ready.unshiftMany(evicted);
        throw error;
      }
      this.seq += entries.length;
      for (const entry of entries) this.ready.push(entry);
      this.ctx.metrics.count(this.options.name, "channel", "put", entries.length);
      if (evicted.length > 0) {
        this.ctx.metrics.count(this.options.name, "channel", "dropped", evicted.length);
        this.drops.dropped(evicted.map((e) => e.seq));
      }
      this.updateGauges();
      this.data.wake();
    } finally {
      this.putLock.release();
    }
  }

  /** Returns the entries evicted to make room (drop_oldest), or waits for room (block). */
  private async makeRoom(n: number, bytes: number, signal?: AbortSignal): Promise<E[]> {
    const evicted: E[] = [];
    for (;;) {
      this.assertOpen();
      // Evicted entries have left `ready` already: size() no longer counts them.
      const events = this.size() + n <= this.options.capacity;
      if (events && (this.store.fitsBytes?.(bytes, evicted) ?? true)) return evicted;
      if (this.options.whenFull === "drop_oldest" && this.ready.length > 0) {
        evicted.push(this.ready.shift() as E);
        continue;
      }
      // block, or drop_oldest with every event in a take: wait until a take commits.
      this.ready.unshiftMany(evicted);
      evicted.length = 0;
      if (signal?.aborted) throw this.fullError(n);
      await this.room.wait(Number.POSITIVE_INFINITY, signal);
    }
  }

  async take(max: number, waitMs: number, signal?: AbortSignal): Promise<Take> {
    this.assertOpen();
    if (max > this.options.transactionCapacity) {
      throw new HostflowError(
        "HF_CHANNEL_TRANSACTION",
        `a take of ${max} events exceeds channel ${this.options.name}'s transaction capacity of ${this.options.transactionCapacity}`,
        { context: { channel: this.options.name, events: max } },
      );
    }
    const deadline = Date.now() + waitMs;
    while (this.ready.length === 0 && !this.closed && !signal?.aborted) {
      const left = deadline - Date.now();
      if (left <= 0) break;
      await this.data.wait(left, signal);
    }
    // Stopped while waiting: hand out nothing, the runner is shutting down too.
    const entries = this.closed ? [] : this.ready.shiftMany(Math.max(0, max));
    this.inFlight += entries.length;
    return this.openTake(entries);
  }

  /**
   * Resolves once at least `count` events are ready to take, `ms` have passed (no timer when
   * infinite), `signal` aborts or the queue closes: a sink waits here without waking while the
   * channel stays empty.
   */
  async waitForEvents(count: number, ms: number, signal?: AbortSignal): Promise<void> {
    const deadline = Date.now() + ms;
    while (this.ready.length < count && !this.closed && !signal?.aborted) {
      const left = deadline - Date.now();
      if (left <= 0) return;
      await this.data.wait(left, signal);
    }
  }

  private openTake(entries: E[]): Take {
    const events = entries.length === 0 ? [] : this.store.materialize(entries);
    if (entries.length > 0) this.open.add(entries);
    let state: "open" | "committing" | "done" = "open";
    const finished = () =>
      new HostflowError(
        "HF_CHANNEL_TRANSACTION",
        `this take of channel ${this.options.name} is already committed or rolled back`,
        { context: { channel: this.options.name } },
      );
    return {
      events,
      commit: async () => {
        if (state !== "open") throw finished();
        if (entries.length === 0) {
          state = "done";
          return;
        }
        state = "committing";
        try {
          await this.store.commitTake(entries);
        } catch (error) {
          state = "open";
          throw error;
        }
        state = "done";
        this.open.delete(entries);
        this.inFlight -= entries.length;
        this.ctx.metrics.count(this.options.name, "channel", "taken", entries.length);
        this.updateGauges();
        this.room.wake();
      },
      rollback: async () => {
        if (state !== "open") throw finished();
        state = "done";
        if (entries.length === 0) return;
        this.open.delete(entries);
        this.inFlight -= entries.length;
        this.ctx.metrics.count(this.options.name, "channel", "rolled_back", entries.length);
        if (this.closed) return;
        this.ready.unshiftMany(entries);
        this.updateGauges();
        this.data.wake();
      },
    };
  }

  /**
   * Refuses new puts and takes and wakes everything waiting; returns once no put is committing,
   * with what was left in the queue.
   */
  async close(): Promise<{ ready: E[]; inFlight: number }> {
    this.closed = true;
    this.data.wake();
    this.room.wake();
    await this.whilePutsPaused(async () => undefined);
    this.drops.flush();
    const ready = this.ready.shiftMany(this.ready.length);
    const inFlight = this.inFlight;
    this.ready.clear();
    return { ready, inFlight };
  }

  /** Wakes blocked puts after room appeared outside a take commit (file: a segment deleted). */
  roomChanged(): void {
    this.room.wake();
  }

  updateGauges(): void {
    const labels = { channel: this.options.name };
    this.ctx.metrics.channelSize.set(labels, this.size());
    this.ctx.metrics.channelFill.set(labels, this.fill());
  }

  private assertOpen(): void {
    if (this.closed) {
      throw new HostflowError("HF_CHANNEL_CLOSED", `channel ${this.options.name} is stopped`, {
        context: { channel: this.options.name },
      });
    }
  }

  private fullError(n: number): HostflowError {
    return new HostflowError(
      "HF_CHANNEL_FULL",
      `channel ${this.options.name} stayed full; the put of ${n} events was abandoned`,
      {
        retriable: true,
        context: { channel: this.options.name, size: this.size(), capacity: this.options.capacity },
      },
    );
  }
}
