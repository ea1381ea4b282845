/**
 * Offset claims: what makes a load of files exactly once across collectors of one group, even
 * when a rebalance lets two of them load the same offsets (a member whose commit outlived its
 * generation, a run that held its last load while another member read Hive's offsets).
 *
 * Every load starts a Kafka partition at a *position*: the offset where the chain of that
 * partition's committed loads ends. Before its commit, an attempt claims each position it starts
 * from, in a fixed order (topic, partition), by renaming a file to
 * `<root>/_hostflow/claims/<group>/<topic>/<partition>/<offset>~<version>.json`: a rename that fails
 * when the name exists, atomic on HDFS's NameNode and on a local disk (link). So one attempt
 * only can hold a slot. The file names the attempt, every position it claims, and its commit
 * statement. An attempt is
 * - **complete** once it holds every one of its positions: it, and only it, owns them for good;
 *   its commit (its rows into `loads`) may then run, by its own run or, after a crash, by any
 *   run that meets its claims (the rows and the statement are in the file: a file of `loads`
 *   named after the attempt is never written twice; a statement run twice adds the same rows
 *   twice, which the views count once);
 * - **dead** when a slot it needs holds a tombstone naming it, written by a run that found it
 *   pending in its way. It never completes; its slots are free again at the next version;
 * - **pending** otherwise (it is claiming, or it was killed while claiming).
 *
 * A run that finds its slot held by a complete attempt has lost the race: its load never
 * commits, and it leaves those offsets to the other (HF_LOAD_LOST). Claims are never deleted
 * while anything may still race for them, so these states only move forward (pending → complete
 * or pending → dead), which is what makes the decision the same for every reader.
 */
import { HostflowError } from "../../lib/errors.js";
import type { Cell } from "./encode.js";
import type { WarehouseFs } from "./warehouse-fs.js";

export const CLAIMS = "_hostflow/claims";

/** Where a load starts a Kafka partition. */
export interface Position {
  topic: string;
  partition: number;
  offset: number;
}

/** A claim file: an attempt holding a position. */
export interface Claim {
  attempt: string;
  /** The consumer group: each group loads its own copy, and claims its own positions. */
  group: string;
  positions: Position[];
  /** The attempt's commit statement (the INSERT into `loads`): run it to finish the attempt. */
  commit: string;
  /**
   * The same rows as cells in `loads`' column order: a loader that commits by writing a file of
   * `loads` (on Apache Hive) writes them. Absent in claims of older versions.
   */
  rows?: Cell[][];
}

/** A tombstone: the attempt `victim` may never hold this slot (it is dead). */
interface Tomb {
  victim: string;
  by: string;
}

type Slot = Claim | Tomb;

export type ClaimState = "complete" | "dead" | "pending";

/** Points inside a claim where a test holds the process. */
export type ClaimPoint = "mid-claims";

/** Thrown by `claim` when another attempt owns a position: this attempt never commits. */
export class LoadLostError extends HostflowError {
  constructor(
    readonly position: Position,
    readonly winner: Claim | undefined,
    attempt: string,
  ) {
    const where = `${position.topic}:${position.partition} from offset ${position.offset}`;
    super(
      "HF_LOAD_LOST",
      winner === undefined
        ? `load attempt ${attempt} was stopped by another collector of the group while it claimed ${where}: it never commits, and those records are loaded by the partition's owner`
        : `another collector of the group loaded ${where} (attempt ${winner.attempt}) while this run held it: this run's load (attempt ${attempt}) never commits, and those records are the other's`,
      { context: { ...position, attempt, winner: winner?.attempt } },
    );
  }
}

/** Positions in the order every attempt claims them. */
export function claimOrder(positions: readonly Position[]): Position[] {
  return [...positions].sort((a, b) =>
    a.topic === b.topic ? a.partition - b.partition : a.topic < b.topic ? -1 : 1,
  );
}

export class OffsetClaims {
  private readonly dir: string;
  private readonly made = new Set<string>();

  constructor(
    private readonly fs: WarehouseFs,
    root: string,
  ) {
    this.dir = `${root}/${CLAIMS}`;
  }

  /**
   * Claims every position for `claim.attempt`; resolves when the attempt is complete. Throws
   * LoadLostError when another attempt owns one (or killed this one). `at` is called after the
   * first position (a test holds or kills the run there).
   */
  async claim(claim: Claim, at?: (point: ClaimPoint) => void | Promise<void>): Promise<void> {
    const positions = claimOrder(claim.positions);
    const data = Buffer.from(JSON.stringify({ ...claim, positions }));
    for (const [index, position] of positions.entries()) {
      await this.claimOne(claim.attempt, claim.group, position, data);
      if (index === 0) await at?.("mid-claims");
    }
  }

  /**
   * Where an attempt stands. With `kill`, a pending attempt is made dead first (a tombstone in
   * the next slot it would take), unless it completes meanwhile: the answer is then final.
   */
  async state(claim: Claim, by: string, kill: boolean): Promise<ClaimState> {
    for (const position of claimOrder(claim.positions)) {
      let found = false;
      for (let version = 1; !found; version++) {
        const slot = this.slot(claim.group, position, version);
        let holder = await this.read(slot);
        if (holder === undefined) {
          if (!kill) return "pending";
          const tomb: Tomb = { victim: claim.attempt, by };
          if (await this.put(slot, Buffer.from(JSON.stringify(tomb)), by)) return "dead";
          holder = await this.read(slot);
          if (holder === undefined) {
            version -= 1; // gone again: a moment's race; look at the same slot once more
            continue;
          }
        }
        if ("victim" in holder) {
          if (holder.victim === claim.attempt) return "dead";
        } else if (holder.attempt === claim.attempt) found = true;
      }
    }
    return "complete";
  }

  /** The claim file of an attempt that holds a position (for messages and tests). */
  async holder(group: string, position: Position, version = 1): Promise<Claim | undefined> {
    const slot = await this.read(this.slot(group, position, version));
    return slot === undefined || "victim" in slot ? undefined : slot;
  }

  private async claimOne(
    attempt: string,
    group: string,
    position: Position,
    data: Buffer,
  ): Promise<void> {
    for (let version = 1; ; version++) {
      const slot = this.slot(group, position, version);
      let holder: Slot | undefined;
      for (let tries = 0; holder === undefined; tries++) {
        if (await this.put(slot, data, attempt)) return;
        holder = await this.read(slot);
        if (holder === undefined && tries >= 4) {
          throw new HostflowError(
            "HF_WAREHOUSE",
            `${this.fs.description} refused to rename a claim to ${slot}, which does not exist`,
            { retriable: true },
          );
        }
      }
      if ("victim" in holder) {
        if (holder.victim === attempt) throw new LoadLostError(position, undefined, attempt);
        continue; // a dead attempt's slot: the next version is free for a live one
      }
      if (holder.attempt === attempt) return; // this attempt's own, from a retried request
      const state = await this.state(holder, attempt, true);
      if (state === "dead") continue;
      throw new LoadLostError(position, holder, attempt);
    }
  }

  /** Renames a new file to `slot`; false when the slot is taken. */
  private async put(slot: string, data: Buffer, who: string): Promise<boolean> {
    const dir = slot.slice(0, slot.lastIndexOf("/"));
    if (!this.made.has(dir)) {
      await this.fs.mkdirs(dir);
      this.made.add(dir);
    }
    const tmp = `${dir}/_tmp.${encodeURIComponent(who)}.${process.pid}.json`;
    await this.fs.delete(tmp);
    await this.fs.write(tmp, data);
    const won = await this.fs.claim(tmp, slot);
    if (!won) await this.fs.delete(tmp);
    return won;
  }

  private async read(slot: string): Promise<Slot | undefined> {
    const text = await this.fs.readIfAny(slot);
    if (text === undefined) return undefined;
    try {
      return JSON.parse(text) as Slot;
    } catch (error) {
      throw new HostflowError(
        "HF_WAREHOUSE",
        `the claim file ${slot} (${this.fs.description}) is not what hostflow writes: ${(error as Error).message}`,
        { cause: error },
      );
    }
  }

  private slot(group: string, position: Position, version: number): string {
    const { topic, partition, offset } = position;
    return `${this.dir}/${encodeURIComponent(group)}/${encodeURIComponent(topic)}/${partition}/${offset}~${version}.json`;
  }
}
