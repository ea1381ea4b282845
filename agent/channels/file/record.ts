/**
 * The file channel's record format, shared by the log segments and the checkpoint:
 *
 *   [length u32 LE][crc32 u32 LE][type u8][payload: length bytes]
 *
 * The CRC (IEEE crc32, as zlib and gzip compute it) covers the type byte and the payload, so a
 * flipped bit anywhere but in the length shows as a CRC mismatch, and a damaged length as a
 * record that ends beyond the file or fails its CRC.
 */
import * as zlib from "node:zlib";

export const RecordType = {
  /** One event: [seq lo u32][seq hi u32][JSON of {headers, body}]. */
  PUT: 1,
  /** Events whose take committed (or that drop_oldest evicted): [count u32]([from][to] u64 pairs). */
  TAKE: 2,
  /** The first record of every segment: JSON {epoch, nextSeq, segment}. */
  HEADER: 3,
  /** The checkpoint file's only record: JSON (see checkpoint.ts). */
  CHECKPOINT: 4,
} as const;
export type RecordType = (typeof RecordType)[keyof typeof RecordType];

export const RECORD_OVERHEAD = 9;
export const PUT_OVERHEAD = RECORD_OVERHEAD + 8;
/** Longer than any record we write: a length beyond it is damage, not data. */
export const MAX_PAYLOAD = 64 * 1024 * 1024;

const TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

function crc32Table(data: Uint8Array): number {
  let c = 0xffffffff;
  for (let i = 0; i < data.length; i++)
    c = (TABLE[(c ^ (data[i] as number)) & 0xff] as number) ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** zlib.crc32 (native) where Node has it (≥ 20.15), the same polynomial in JS before. */
export const crc32: (data: Uint8Array) => number =
  typeof (zlib as { crc32?: unknown }).crc32 === "function"
    ? (data) => zlib.crc32(data)
    : crc32Table;

function seal(buf: Buffer, at: number, end: number, type: RecordType): void {
  buf.writeUInt32LE(end - at - RECORD_OVERHEAD, at);
  buf[at + 8] = type;
  buf.writeUInt32LE(crc32(buf.subarray(at + 8, end)), at + 4);
}

function writeSeq(buf: Buffer, seq: number, at: number): void {
  buf.writeUInt32LE(seq % 0x1_0000_0000, at);
  buf.writeUInt32LE(Math.floor(seq / 0x1_0000_0000), at + 4);
}

function readSeq(buf: Buffer, at: number): number {
  return (buf.readUInt32LE(at + 4) as number) * 0x1_0000_0000 + buf.readUInt32LE(at);
}

/**
 * A batch of events serialized once, straight into the bytes of its PUT records: the buffer the
 * log writes in one go, and the one the channel keeps its waiting events in (no JSON string per
 * event on the heap, no second UTF-8 encoding when a sink sends the body).
 */
export interface PreparedPut<
  E extends { headers: unknown; body: unknown } = { headers: unknown; body: unknown },
> {
  /** The events themselves (the channel may keep them to spare a parse at take). */
  events: readonly E[];
  /**
   * The batch's PUT records, back to back; their seqs and CRCs are filled in by encodePuts.
   * Record i's JSON, `{"headers":…,"body":…}` (exactly JSON.stringify({ headers, body })), is
   * data[jsonAt(i), recordEnd(i)).
   */
  data: Buffer;
  /** Where record i starts in data; record i ends where record i + 1 starts, the last at bytes. */
  starts: number[];
  /** Where the body's JSON starts in data; it runs to the record's last byte but one. */
  bodyAt: number[];
  bytes: number;
}

/** `{"headers":` */
const HEADERS_AT = 11;
/** `,"body":` */
const BODY_KEY_LENGTH = 8;
const HEADERS_KEY = Buffer.from('{"headers":');
const BODY_KEY = Buffer.from(',"body":');
const CLOSE = 0x7d; // }

/**
 * Where a batch is serialized before its exact-size copy: UTF-8 needs at most 3 bytes per UTF-16
 * unit, so a record is written only where that many bytes are free. It grows as batches need
 * and is reused by every channel of the process (puts are synchronous here).
 */
let scratch = Buffer.allocUnsafeSlow(64 * 1024);

function room(at: number, need: number): void {
  if (at + need <= scratch.length) return;
  const grown = Buffer.allocUnsafeSlow(Math.max(scratch.length * 2, at + need));
  scratch.copy(grown, 0, 0, at);
  scratch = grown;
}

export function preparePut<E extends { headers: unknown; body: unknown }>(
  events: readonly E[],
): PreparedPut<E> {
  const starts = new Array<number>(events.length);
  const bodyAt = new Array<number>(events.length);
  let at = 0;
  for (let i = 0; i < events.length; i++) {
    const e = events[i] as { headers: unknown; body: unknown };
    // Written in parts so that the body's JSON (the Kafka record's value) can be handed to the
    // sink as it is, without a parse and a stringify at take.
    const headers = JSON.stringify(e.headers);
    const body = JSON.stringify(e.body);
    room(at, PUT_OVERHEAD + HEADERS_AT + BODY_KEY_LENGTH + 1 + 3 * (headers.length + body.length));
    starts[i] = at;
    let p = at + PUT_OVERHEAD;
    p += HEADERS_KEY.copy(scratch, p);
    p += scratch.write(headers, p, "utf8");
    p += BODY_KEY.copy(scratch, p);
    bodyAt[i] = p;
    p += scratch.write(body, p, "utf8");
    scratch[p++] = CLOSE;
    at = p;
  }
  const data = Buffer.allocUnsafe(at);
  scratch.copy(data, 0, 0, at);
  return { events, data, starts, bodyAt, bytes: at };
}

/** Where record i's JSON starts in a prepared batch's data. */
export function jsonAt(put: PreparedPut, i: number): number {
  return (put.starts[i] as number) + PUT_OVERHEAD;
}

/** Where record i ends in a prepared batch's data. */
export function recordEnd(put: PreparedPut, i: number): number {
  return i + 1 < put.starts.length ? (put.starts[i + 1] as number) : put.bytes;
}

/**
 * The PUT records of a batch, one buffer, so that the batch is one write: the prepared data with
 * each record's length, seq and CRC filled in (in place).
 */
export function encodePuts(put: PreparedPut, firstSeq: number): Buffer {
  const buf = put.data;
  for (let i = 0; i < put.starts.length; i++) {
    const at = put.starts[i] as number;
    writeSeq(buf, firstSeq + i, at + RECORD_OVERHEAD);
    seal(buf, at, recordEnd(put, i), RecordType.PUT);
  }
  return buf;
}

/** Sorted seqs → [from, to] inclusive ranges: a take of 500 events is one range, 25 bytes. */
export function toRanges(sortedSeqs: Iterable<number>): [number, number][] {
  const ranges: [number, number][] = [];
  let last: [number, number] | undefined;
  for (const seq of sortedSeqs) {
    if (last && seq === last[1] + 1) last[1] = seq;
    else {
      last = [seq, seq];
      ranges.push(last);
    }
  }
  return ranges;
}

export function encodeTake(ranges: readonly [number, number][]): Buffer {
  const end = RECORD_OVERHEAD + 4 + ranges.length * 16;
  const buf = Buffer.allocUnsafe(end);
  buf.writeUInt32LE(ranges.length, RECORD_OVERHEAD);
  let at = RECORD_OVERHEAD + 4;
  for (const [from, to] of ranges) {
    writeSeq(buf, from, at);
    writeSeq(buf, to, at + 8);
    at += 16;
  }
  seal(buf, 0, end, RecordType.TAKE);
  return buf;
}

export function encodeJson(type: RecordType, value: unknown): Buffer {
  const text = JSON.stringify(value);
  const n = Buffer.byteLength(text, "utf8");
  const buf = Buffer.allocUnsafe(RECORD_OVERHEAD + n);
  buf.write(text, RECORD_OVERHEAD, "utf8");
  seal(buf, 0, buf.length, type);
  return buf;
}

/** A record found in a buffer: payload = buf[payloadAt, end). */
export interface RawRecord {
  type: RecordType;
  offset: number;
  payloadAt: number;
  end: number;
}

/** The record at `at` if it is whole and its CRC matches, else undefined. */
export function recordAt(buf: Buffer, at: number): RawRecord | undefined {
  if (at + RECORD_OVERHEAD > buf.length) return undefined;
  const type = buf[at + 8] as number;
  if (type < RecordType.PUT || type > RecordType.CHECKPOINT) return undefined;
  const length = buf.readUInt32LE(at);
  const end = at + RECORD_OVERHEAD + length;
  if (length > MAX_PAYLOAD || end > buf.length) return undefined;
  if (crc32(buf.subarray(at + 8, end)) !== buf.readUInt32LE(at + 4)) return undefined;
  return { type: type as RecordType, offset: at, payloadAt: at + RECORD_OVERHEAD, end };
}

/** What a scan of a buffer finds: records, and damaged stretches between them. */
export type ScanItem =
  | ({ kind: "record" } & RawRecord)
  | {
      kind: "damage";
      offset: number;
      /** Where the next valid record starts; undefined: nothing valid follows (a torn tail). */
      resumeAt: number | undefined;
    };

/**
 * Reads records from `start`; after a bad one, looks byte by byte for the next offset that holds
 * a whole record with a matching CRC (a false match needs a 1 in 2^32 coincidence).
 */
export function* scanRecords(buf: Buffer, start: number): Generator<ScanItem> {
  let at = start;
  while (at < buf.length) {
    const record = recordAt(buf, at);
    if (record) {
      yield { kind: "record", ...record };
      at = record.end;
      continue;
    }
    let resumeAt: number | undefined;
    for (let p = at + 1; p + RECORD_OVERHEAD <= buf.length; p++) {
      if (recordAt(buf, p)) {
        resumeAt = p;
        break;
      }
    }
    yield { kind: "damage", offset: at, resumeAt };
    if (resumeAt === undefined) return;
    at = resumeAt;
  }
}

export function putSeq(buf: Buffer, record: RawRecord): number {
  return readSeq(buf, record.payloadAt);
}

/** Where a PUT record's JSON starts in buf. */
export function putJsonAt(record: RawRecord): number {
  return record.payloadAt + 8;
}

export function takeRanges(buf: Buffer, record: RawRecord): [number, number][] {
  const count = buf.readUInt32LE(record.payloadAt);
  const ranges: [number, number][] = [];
  let at = record.payloadAt + 4;
  for (let i = 0; i < count && at + 16 <= record.end; i++, at += 16) {
    ranges.push([readSeq(buf, at), readSeq(buf, at + 8)]);
  }
  return ranges;
}

export function jsonPayload(buf: Buffer, record: RawRecord): unknown {
  return JSON.parse(buf.toString("utf8", record.payloadAt, record.end));
}

/** The body's JSON in an event's JSON `buf[..., end)` whose body starts at bodyAt: not parsed. */
export function putBody(buf: Buffer, bodyAt: number, end: number): Buffer {
  return buf.subarray(bodyAt, end - 1);
}

/** The headers of an event's JSON starting at `at` (see preparePut), parsed alone. */
export function putHeaders(buf: Buffer, at: number, bodyAt: number): Record<string, string> {
  return JSON.parse(buf.toString("utf8", at + HEADERS_AT, bodyAt - BODY_KEY_LENGTH)) as Record<
    string,
    string
  >;
}
