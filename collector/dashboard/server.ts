/**
 * The dashboard's web server: the page and its assets (the chart library from node_modules, so
 * the page needs no internet), and a JSON API over DashboardData. GET only. Hive being down is
 * an answer (503 with a code and a message the page shows, or the live data with Hive's error
 * beside it), never a crash; so is Kafka being down for the live tail.
 */
import { readFile } from "node:fs/promises";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { createRequire } from "node:module";
import type { AddressInfo } from "node:net";
import { fileURLToPath } from "node:url";
import { describeError, HostflowError, isHostflowError } from "../../lib/errors.js";
import type { Logger } from "../../lib/log.js";
import type { ResolvedCollectorConfig } from "../config/load.js";
import { checkRange, DashboardData } from "./data.js";
import type { LiveTail } from "./live-tail.js";

const require = createRequire(import.meta.url);
const page = (name: string) => fileURLToPath(new URL(`./page/${name}`, import.meta.url));

/** Path → file and content type; nothing else on disk is ever served. */
const ASSETS: Record<string, { file: string; type: string }> = {
  "/": { file: page("index.html"), type: "text/html; charset=utf-8" },
  "/assets/app.js": { file: page("app.js"), type: "text/javascript; charset=utf-8" },
  "/assets/style.css": { file: page("style.css"), type: "text/css; charset=utf-8" },
  "/assets/uplot.js": {
    file: require.resolve("uplot/dist/uPlot.iife.min.js"),
    type: "text/javascript; charset=utf-8",
  },
  "/assets/uplot.css": {
    file: require.resolve("uplot/dist/uPlot.min.css"),
    type: "text/css; charset=utf-8",
  },
};

export interface Dashboard {
  url: string;
  data: DashboardData;
  /** The live tail, when dashboard.live is on. */
  live: LiveTail | undefined;
  close(): Promise<void>;
}

export async function startDashboard(
  config: ResolvedCollectorConfig,
  logger: Logger,
  listen: { host: string; port: number } = config.dashboard,
): Promise<Dashboard> {
  // kafkajs's consumer and the tail are loaded only by a dashboard that follows Kafka.
  const live = config.dashboard.live
    ? new (await import("./live-tail.js")).LiveTail(config, logger)
    : undefined;
  const data = new DashboardData(config, logger, live);
  const hive = `${config.hive.host}:${config.hive.port}`;

  const api = async (url: URL): Promise<unknown> => {
    if (url.pathname === "/api/fleet") return data.fleet();
    if (url.pathname === "/api/status") return data.status();
    if (url.pathname === "/api/live") {
      if (live === undefined)
        throw new HostflowError("HF_DASHBOARD_REQUEST", "dashboard.live is off: no live tail");
      const now = Date.now();
      return {
        status: live.status(now),
        hosts: live.store.hosts(now, config.report.silent_after).map((h) => ({
          host: h.host,
          lastSeen: h.lastSeen,
          receivedAt: h.receivedAt,
        })),
      };
    }
    const series = /^\/api\/host\/([^/]+)\/series$/.exec(url.pathname);
    if (series)
      return data.series(
        decodeURIComponent(series[1] as string),
        checkRange(url.searchParams.get("range")),
      );
    return undefined;
  };

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? "/", "http://dashboard");
    if (req.method !== "GET" && req.method !== "HEAD") {
      return send(res, 405, { error: { code: "HF_DASHBOARD_REQUEST", message: "GET only" } });
    }
    if (url.pathname === "/health")
      return send(res, 200, {
        ok: true,
        hiveCalls: data.hiveCalls,
        ...(live === undefined ? {} : { live: live.status(Date.now()).state }),
      });
    const asset = ASSETS[url.pathname];
    if (asset) {
      res.writeHead(200, { "content-type": asset.type, "cache-control": "no-cache" });
      return res.end(await readFile(asset.file));
    }
    try {
      const body = await api(url);
      if (body === undefined)
        return send(res, 404, {
          error: { code: "HF_DASHBOARD_REQUEST", message: `no such page: ${url.pathname}` },
        });
      return send(res, 200, body);
    } catch (error) {
      const code = isHostflowError(error) ? error.code : "HF_INTERNAL";
      if (code === "HF_DASHBOARD_REQUEST")
        return send(res, 400, { error: { code, message: (error as Error).message } });
      const hiveDown = code.startsWith("HF_HIVE_") || code === "HF_TIMEOUT";
      logger.warn({ path: url.pathname }, `dashboard: ${describeError(error)}`);
      // Hive down is a 503 only when the live tail has nothing to show either: say why.
      const tail = live?.status(Date.now());
      const liveNote =
        tail === undefined
          ? ""
          : `; live from Kafka: ${tail.state}${tail.error ? ` (${tail.error})` : ""}`;
      return send(res, hiveDown ? 503 : 500, {
        error: {
          code,
          message: hiveDown
            ? `Hive at ${hive}: ${describeError(error)}${liveNote}`
            : describeError(error),
        },
      });
    }
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      logger.error(`dashboard: ${describeError(error)}`);
      if (!res.headersSent)
        send(res, 500, { error: { code: "HF_INTERNAL", message: "internal error" } });
      else res.end();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(listen.port, listen.host, () => resolve());
  });
  live?.start();
  const { port } = server.address() as AddressInfo;
  const host = listen.host.includes(":") ? `[${listen.host}]` : listen.host;
  return {
    url: `http://${host}:${port}/`,
    data,
    live,
    close: async () => {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      await Promise.all([data.close(), live?.stop()]);
    },
  };
}

function send(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, {
    "content-type": "application/json; charset=utf-8",
    "cache-control": "no-store",
  });
  res.end(JSON.stringify(body));
}
