import { createServer } from "node:net";
import { portInUse } from "../../scripts/stack/ports.js";

/** A loopback port nothing listens on at the moment of asking. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => resolve(typeof address === "object" && address ? address.port : 0));
    });
  });
}

/** An even port p with p and p + 1 free (a Kafka node's client and controller listeners). */
export async function freePortPair(): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = 20_000 + 2 * Math.floor(Math.random() * 10_000);
    if (!(await portInUse(port)) && !(await portInUse(port + 1))) return port;
  }
  throw new Error("no free port pair for a private Kafka");
}
