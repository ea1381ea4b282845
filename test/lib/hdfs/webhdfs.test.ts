import http from "node:http";
import type { AddressInfo } from "node:net";
import test from "ava";
import { isHostflowError } from "../../../lib/errors.js";
import { WebHdfs } from "../../../lib/hdfs/webhdfs.js";

/** A NameNode that answers every call with this status and RemoteException (failure paths). */
async function nameNode(
  t: import("ava").ExecutionContext,
  status: number,
  exception: string,
  message: string,
) {
  const server = http.createServer((_request, response) => {
    response.writeHead(status, { "content-type": "application/json" });
    response.end(
      JSON.stringify({ RemoteException: { exception, javaClassName: `x.${exception}`, message } }),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  t.teardown(() => server.close());
  return new WebHdfs({
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    user: "etl",
  });
}

test("a permission refused is HF_WAREHOUSE_DENIED naming the path and the user, not retried", async (t) => {
  const hdfs = await nameNode(
    t,
    403,
    "AccessControlException",
    'Permission denied: user=etl, access=WRITE, inode="/w":root:supergroup:drwxr-xr-x',
  );
  const error = await t.throwsAsync(hdfs.mkdirs("/w/db"));
  t.true(isHostflowError(error, "HF_WAREHOUSE_DENIED"));
  t.false(isHostflowError(error) && error.retriable);
  t.regex(
    String(error?.message),
    /MKDIRS \/w\/db \(user etl\) with HTTP 403: AccessControlException: Permission denied/,
  );
});

test("a quota is HF_WAREHOUSE_FULL, not retried", async (t) => {
  const hdfs = await nameNode(
    t,
    403,
    "DSQuotaExceededException",
    "The DiskSpace quota of /w is exceeded: quota = 1024 B",
  );
  const error = await t.throwsAsync(hdfs.create("/w/db/x.parquet", new Uint8Array(8)));
  t.true(isHostflowError(error, "HF_WAREHOUSE_FULL"));
  t.false(isHostflowError(error) && error.retriable);
});

for (const [exception, message] of [
  ["SafeModeException", "Cannot create file /w/x. Name node is in safe mode."],
  ["RetriableException", "NameNode still not started"],
  [
    "EOFException",
    'End of File Exception between local host is: "vm/127.0.0.1"; destination host is: "localhost":8020',
  ],
] as const) {
  test(`${exception} (a NameNode in safe mode, starting or restarting) is retriable HF_HDFS`, async (t) => {
    const hdfs = await nameNode(t, 403, exception, message);
    const error = await t.throwsAsync(hdfs.list("/w"));
    t.true(isHostflowError(error, "HF_HDFS"));
    t.true(isHostflowError(error) && error.retriable);
  });
}

test("another refusal (a file that exists) is HF_HDFS, not retried", async (t) => {
  const hdfs = await nameNode(
    t,
    403,
    "FileAlreadyExistsException",
    "/w/x.parquet for client 127.0.0.1 already exists",
  );
  const error = await t.throwsAsync(hdfs.create("/w/x.parquet", new Uint8Array(1)));
  t.true(isHostflowError(error, "HF_HDFS"));
  t.false(isHostflowError(error) && error.retriable);
});

test("nothing listening: retriable HF_HDFS saying it did not answer", async (t) => {
  const hdfs = new WebHdfs({ url: "http://127.0.0.1:9", user: "etl" });
  const error = await t.throwsAsync(hdfs.list("/w"));
  t.true(isHostflowError(error, "HF_HDFS") && error.retriable);
  t.regex(String(error?.message), /did not answer LISTSTATUS \/w/);
});

test("a request on a kept-alive connection the server has dropped is sent once more", async (t) => {
  // The second request on each connection gets its socket destroyed, as a NameNode that closed
  // an idle connection while the client was sending does.
  const perSocket = new WeakMap<object, number>();
  let requests = 0;
  const server = http.createServer((request, response) => {
    requests += 1;
    const n = (perSocket.get(request.socket) ?? 0) + 1;
    perSocket.set(request.socket, n);
    if (n > 1) {
      request.socket.destroy();
      return;
    }
    response.writeHead(200, { "content-type": "application/json" });
    response.end(JSON.stringify({ FileStatus: { pathSuffix: "", type: "FILE", length: 1 } }));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  t.teardown(() => server.close());
  const hdfs = new WebHdfs({
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    user: "etl",
  });
  t.is((await hdfs.status("/a"))?.type, "FILE");
  t.is((await hdfs.status("/b"))?.type, "FILE", "answered on a new connection");
  t.is(requests, 3, "the dropped request, then the same request again");
});
