/**
 * WebHDFS against the local stack's NameNode and DataNode: a ranged read (what compaction reads
 * Parquet footers with) gives the bytes as written, binary and all.
 */
import test from "ava";
import { endpointsFromEnv } from "../../../lib/endpoints.js";
import { WebHdfs } from "../../../lib/hdfs/webhdfs.js";

test("readRange gives the bytes from an offset, fewer at the end of the file", async (t) => {
  const { webHdfs } = endpointsFromEnv();
  const hdfs = new WebHdfs(webHdfs);
  const dir = `/tmp/hf-webhdfs-${process.pid}-${Date.now().toString(36)}`;
  t.teardown(() => hdfs.delete(dir).then(() => undefined));
  const bytes = Uint8Array.from({ length: 200_000 }, (_, i) => (i * 7 + (i >> 8)) & 0xff);
  await hdfs.create(`${dir}/f.bin`, bytes);
  t.deepEqual(new Uint8Array(await hdfs.readRange(`${dir}/f.bin`, 0, 16)), bytes.subarray(0, 16));
  t.deepEqual(
    new Uint8Array(await hdfs.readRange(`${dir}/f.bin`, 123_457, 65_536)),
    bytes.subarray(123_457, 123_457 + 65_536),
  );
  const tail = await hdfs.readRange(`${dir}/f.bin`, 199_990, 100);
  t.is(tail.byteLength, 10, "a range past the end stops at it");
  t.deepEqual(new Uint8Array(tail), bytes.subarray(199_990));
});
