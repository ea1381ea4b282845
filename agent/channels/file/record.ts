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

/** A batch of events serialized once: the JSON kept for the in-memory queue, the sizes for the log. */
export interface PreparedPut<
  E extends { headers: unknown; body: unknown } = { headers: unknown; body: unknown },
> {
  /** The events themselves (the channel may keep them to spare a parse of `json` at take). */
  events: readonly E[];
  /** `{"headers":…,"body":…}`: exactly JSON.stringify({ headers, body }). */
  json: string[];
  /** Where the body's JSON starts in json[i]; it runs to the last character but one. */
  bodyAt: number[];
  byteLengths: number[];
  bytes: number;
}

/** `{"headers":` */
const HEADERS_AT = 11;
/** `,"body":` */
const BODY_KEY_LENGTH = 8;

export function preparePut<E extends { headers: unknown; body: unknown }>(
  events: readonly E[],
): PreparedPut<E> {
  const json = new Array<string>(events.length);
  const bodyAt = new Array<number>(events.length);
  const byteLengths = new Array<number>(events.length);
  let bytes = 0;
  for (let i = 0; i < events.length; i++) {
    const e = events[i] as { headers: unknown; body: unknown };
    // Made in two parts so that the body's JSON (the Kafka record's value) can be handed to the
    // sink as it is, without a parse and a stringify at take.
    const headers = JSON.stringify(e.headers);
    const text = `{"headers":${headers},"body":${JSON.stringify(e.body)}}`;
    json[i] = text;
    bodyAt[i] = HEADERS_AT + headers.length + BODY_KEY_LENGTH;
    const n = Buffer.byteLength(text, "utf8");
    byteLengths[i] = n;
    bytes += PUT_OVERHEAD + n;
  }
  return { events, json, bodyAt, byteLengths, bytes };
}

/** The PUT records of a batch, one buffer, so that the batch is one write. */
export function encodePuts(put: PreparedPut, firstSeq: number): Buffer {
  const buf = Buffer.allocUnsafe(put.bytes);
  let at = 0;
  for (let i = 0; i < put.json.length; i++) {
    const end = at + PUT_OVERHEAD + (put.byteLengths[i] as number);
    writeSeq(buf, firstSeq + i, at + RECORD_OVERHEAD);
    buf.write(put.json[i] as string, at + PUT_OVERHEAD, "utf8");
    seal(buf, at, end, RecordType.PUT);
    at = end;
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

export function putJson(buf: Buffer, record: RawRecord): string {
  return buf.toString("utf8", record.payloadAt + 8, record.end);
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

/** The body's JSON in a PUT's text (see preparePut): JSON.stringify(body), not parsed. */
export function putBody(json: string, bodyAt: number): string {
  return json.slice(bodyAt, -1);
}

/** The headers of a PUT's text (see preparePut), parsed alone. */
export function putHeaders(json: string, bodyAt: number): Record<string, string> {
  return JSON.parse(json.slice(HEADERS_AT, bodyAt - BODY_KEY_LENGTH)) as Record<string, string>;
}
