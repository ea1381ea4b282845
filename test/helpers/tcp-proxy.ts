/**
 * A TCP proxy on loopback in front of a real server, for tests that cut a client's connections
 * at a chosen moment (a HiveServer2 that goes away in the middle of a load) without touching
 * the server that other tests share.
 */
import net from "node:net";

export interface TcpProxy {
  port: number;
  /** Connections accepted and forwarded so far. */
  readonly connections: number;
  /** Destroys every open connection (both sides). */
  cut(): void;
  /** While true, new connections are closed at once, as by a server that is down. */
  refuse(on: boolean): void;
  /** Calls `onMatch` once, after forwarding client bytes that contain `text`. */
  watch(text: string, onMatch: () => void): void;
  close(): Promise<void>;
}

export async function tcpProxy(target: { host: string; port: number }): Promise<TcpProxy> {
  const sockets = new Set<net.Socket>();
  let refusing = false;
  let connections = 0;
  let watcher: { text: Buffer; onMatch: () => void } | undefined;
  const server = net.createServer((client) => {
    if (refusing) {
      client.destroy();
      return;
    }
    connections++;
    const upstream = net.connect(target.port, target.host);
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on("close", () => sockets.delete(socket));
      socket.on("error", () => undefined);
    }
    client.on("data", (data: Buffer) => {
      if (watcher !== undefined && data.includes(watcher.text)) {
        const { onMatch } = watcher;
        watcher = undefined;
        // Once the bytes are handed on: the server has the statement when the test acts.
        upstream.write(data, () => onMatch());
        return;
      }
      upstream.write(data);
    });
    upstream.pipe(client);
    client.on("close", () => upstream.destroy());
    upstream.on("close", () => client.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as net.AddressInfo).port;
  return {
    port,
    get connections() {
      return connections;
    },
    cut() {
      for (const socket of sockets) socket.destroy();
    },
    refuse(on) {
      refusing = on;
    },
    watch(text, onMatch) {
      watcher = { text: Buffer.from(text), onMatch };
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
