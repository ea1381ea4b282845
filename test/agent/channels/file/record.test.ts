import * as zlib from "node:zlib";
import test from "ava";
import {
  crc32,
  encodePuts,
  encodeTake,
  jsonAt,
  preparePut,
  putBody,
  putHeaders,
  putJsonAt,
  putSeq,
  RecordType,
  recordEnd,
  scanRecords,
  takeRanges,
  toRanges,
} from "../../../../agent/channels/file/record.js";
import { samples } from "../helpers.js";

test("crc32 is zlib's (IEEE) crc32", (t) => {
  const data = Buffer.from("123456789");
  t.is(crc32(data), 0xcbf43926);
  if (typeof (zlib as { crc32?: unknown }).crc32 === "function")
    t.is(crc32(data), zlib.crc32(data));
});

test("a put batch is one buffer of PUT records with consecutive seqs", (t) => {
  const events = samples(0, 3);
  const buf = encodePuts(preparePut(events), 2 ** 32 + 5);
  const records = [...scanRecords(buf, 0)];
  t.is(records.length, 3);
  for (const [i, r] of records.entries()) {
    if (r.kind !== "record") {
      t.fail();
      continue;
    }
    t.is(r.type, RecordType.PUT);
    t.is(putSeq(buf, r), 2 ** 32 + 5 + i);
    t.deepEqual(JSON.parse(buf.toString("utf8", putJsonAt(r), r.end)), events[i]);
  }
});

test("TAKE records carry ranges", (t) => {
  const ranges = toRanges([1, 2, 3, 7, 9, 10]);
  t.deepEqual(ranges, [
    [1, 3],
    [7, 7],
    [9, 10],
  ]);
  const buf = encodeTake(ranges);
  const [record] = [...scanRecords(buf, 0)];
  t.true(record?.kind === "record" && record.type === RecordType.TAKE);
  if (record?.kind === "record") t.deepEqual(takeRanges(buf, record), ranges);
});

test("a scan resumes at the next valid record after damage, and reports a torn tail", (t) => {
  const buf = Buffer.concat([encodePuts(preparePut(samples(0, 4)), 0), Buffer.from([7, 0, 0])]);
  const second = [...scanRecords(buf, 0)][1] as { offset: number; end: number };
  buf[second.offset + 12] = (buf[second.offset + 12] as number) ^ 1;
  const items = [...scanRecords(buf, 0)];
  t.deepEqual(
    items.map((i) => i.kind),
    ["record", "damage", "record", "record", "damage"],
  );
  t.like(items[1], { offset: second.offset, resumeAt: second.end });
  t.like(items[4], { resumeAt: undefined });
});

test("a batch's records hold exactly JSON.stringify({ headers, body }), whatever its characters and size", (t) => {
  // Multi-byte characters (2, 3 and 4 bytes in UTF-8) and a batch far larger than the 64 KiB
  // the serializer starts with, so that it grows in the middle of a record.
  const events = Array.from({ length: 300 }, (_, i) => ({
    headers: { host: `hôst-${i}-日本`, topic: "t" },
    body: { name: "cpu", note: `${"é😀".repeat(i)}\u2028"quoted"`, value: i / 3 },
  }));
  const put = preparePut(events);
  const buf = encodePuts(put, 7);
  t.is(buf.length, put.bytes);
  t.true(put.bytes > 64 * 1024);
  const records = [...scanRecords(buf, 0)];
  t.is(records.length, events.length);
  for (const [i, r] of records.entries()) {
    if (r.kind !== "record") {
      t.fail(`record ${i} is damaged`);
      continue;
    }
    const event = events[i] as (typeof events)[number];
    t.is(putSeq(buf, r), 7 + i);
    t.is(r.end, recordEnd(put, i));
    t.is(buf.toString("utf8", putJsonAt(r), r.end), JSON.stringify(event));
    t.is(jsonAt(put, i), putJsonAt(r));
    t.is(putBody(buf, put.bodyAt[i] as number, r.end).toString("utf8"), JSON.stringify(event.body));
    t.deepEqual(putHeaders(buf, jsonAt(put, i), put.bodyAt[i] as number), event.headers);
  }
});
