import type http from "node:http";
import { createRequire } from "node:module";
import { HostflowError } from "../../lib/errors.js";
import type { Agent } from "./agent.js";

// require(), not an ES import: Node 22 builds an ES module's view of node:http by reading every
// export, and its WebSocket getter loads undici, which needs the WebAssembly that the bin's
// --lite-mode turns off: the agent died at start (`WebAssembly is not defined`).
const { createServer } = createRequire(import.meta.url)("node:http") as typeof http;

/**
 * Self-monitoring: GET /metrics (Prometheus text) and GET /health (JSON; 200 when every
 * component is healthy, 503 otherwise).
 */
export async function serveMonitoring(agent: Agent, listen: string): Promise<http.Server> {
  const at = listen.lastIndexOf(":");
  const host = listen.slice(0, at);
  const port = Number(listen.slice(at + 1));
  const server = createServer((req, res) => {
    void (async () => {
      if (req.method !== "GET") {
        res.writeHead(405, { allow: "GET" }).end();
      } else if (req.url === "/metrics") {
        agent.refreshGauges();
        const body = await agent.metrics.registry.metrics();
        res.writeHead(200, { "content-type": agent.metrics.registry.contentType }).end(body);
      } else if (req.url === "/health") {
        const health = agent.health();
        res
          .writeHead(health.ok ? 200 : 503, { "content-type": "application/json" })
          .end(`${JSON.stringify(health)}\n`);
      } else {
        res.writeHead(404, { "content-type": "text/plain" }).end("GET /metrics or /health\n");
      }
    })().catch((error: unknown) => {
      res.writeHead(500).end(String(error));
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", (error: NodeJS.ErrnoException) =>
      reject(
        new HostflowError(
          "HF_CONFIG_INVALID",
          `agent.http.listen ${listen}: cannot listen (${error.code ?? error.message})`,
          {
            cause: error,
          },
        ),
      ),
    );
    server.listen(port, host, () => resolve());
  });
  return server;
}
