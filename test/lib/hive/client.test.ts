import net from "node:net";
import test from "ava";
import { isHostflowError } from "../../../lib/errors.js";
import { HiveClient, transientFailure } from "../../../lib/hive/client.js";

/** A TCP server on a free loopback port that handles each connection with `onSocket`. */
async function fakeServer(
  onSocket: (socket: net.Socket) => void,
): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on("error", () => undefined);
    onSocket(socket);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as net.AddressInfo).port;
  return {
    port,
    close: () =>
      new Promise((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

const endpoint = (port: number) => ({ host: "127.0.0.1", port, user: "u", password: "p" });

test("a port where nothing listens is HF_HIVE_UNREACHABLE, retriable, naming the endpoint", async (t) => {
  const server = await fakeServer(() => undefined);
  await server.close();
  const error = await t.throwsAsync(
    HiveClient.connect({ ...endpoint(server.port), connectTimeoutMs: 5_000 }),
  );
  t.true(isHostflowError(error, "HF_HIVE_UNREACHABLE"), String(error));
  t.true(isHostflowError(error) && error.retriable);
  t.regex(error?.message ?? "", new RegExp(`127\\.0\\.0\\.1:${server.port}: ECONNREFUSED`));
});

test("a server that never answers the handshake times out with a hint instead of hanging", async (t) => {
  const server = await fakeServer(() => undefined);
  const started = Date.now();
  const error = await t.throwsAsync(
    HiveClient.connect({ ...endpoint(server.port), connectTimeoutMs: 300 }),
  );
  t.true(isHostflowError(error, "HF_TIMEOUT"), String(error));
  t.regex(
    error?.message ?? "",
    /did not complete the connection within 300 ms; check that it listens with the binary transport and SASL/,
  );
  t.true(Date.now() - started < 5_000);
  await server.close();
});

test("a SASL rejection is HF_HIVE_AUTH, not retriable", async (t) => {
  // SASL frame: status byte (4 = ERROR), 4-byte length, payload.
  const server = await fakeServer((socket) => {
    socket.once("data", () => {
      const message = Buffer.from("Error validating the login");
      const header = Buffer.alloc(5);
      header.writeUInt8(4, 0);
      header.writeUInt32BE(message.length, 1);
      socket.write(Buffer.concat([header, message]));
    });
  });
  const error = await t.throwsAsync(
    HiveClient.connect({ ...endpoint(server.port), connectTimeoutMs: 5_000 }),
  );
  t.true(isHostflowError(error, "HF_HIVE_AUTH"), String(error));
  t.false(isHostflowError(error) && error.retriable);
  t.regex(error?.message ?? "", /rejected the user or password/);
  await server.close();
});

test("which failed statements are worth running again: the storage away, or a Tez task's setup raced in local mode", (t) => {
  // As HiveServer2 4.0.1 of the local stack reported them (the fleet bench, CI), and variations.
  const tez = (cause: string) =>
    "Error while compiling statement: FAILED: Execution Error, return code 2 from org.apache.hadoop.hive.ql.exec.tez.TezTask. " +
    "Vertex failed, vertexName=Map 1, vertexId=vertex_1796647981823_0001_2_02, diagnostics=[Task failed, " +
    "taskId=task_1796647981823_0001_2_02_000000, diagnostics=[TaskAttempt 0 failed, info=[Error: Node: vm/127.0.0.1 : " +
    `Error while running task ( failure ) : attempt_1796647981823_0001_2_02_000000_0:${cause}`;
  t.true(
    transientFailure(
      tez(
        "java.lang.RuntimeException: java.lang.RuntimeException: Map operator initialization failed",
      ),
    ),
  );
  t.true(
    transientFailure(
      tez(
        "java.lang.RuntimeException: java.lang.IllegalStateException: Invalid input path hdfs://127.0.0.1:8020/w/t/day=2026-12-07/a#1.parquet\n\tat x",
      ),
    ),
  );
  t.true(transientFailure("java.net.ConnectException: Connection refused"));
  t.false(transientFailure(tez("java.lang.OutOfMemoryError: Java heap space")));
  t.false(
    transientFailure(
      "Error while compiling statement: FAILED: SemanticException [Error 10001]: Line 1:14 Table not found 'nope'",
    ),
  );
  // A map operator that fails outside a Tez task is not this race.
  t.false(transientFailure("Map operator initialization failed"));
  t.false(transientFailure(undefined));
});
