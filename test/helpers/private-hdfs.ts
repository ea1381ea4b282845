import { spawnSync } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir, userInfo } from "node:os";
import path from "node:path";
import { WebHdfs } from "../../lib/hdfs/webhdfs.js";
import { type StackLayout, stackLayout } from "../../scripts/stack/layout.js";
import { findJava } from "../../scripts/stack/prerequisites.js";
import { stackDown, stackUp } from "../../scripts/stack/stack.js";
import { freePort } from "./ports.js";

export interface PrivateHdfs {
  layout: StackLayout;
  /** `hdfs://127.0.0.1:<port>`: a warehouse_dir on it is this URI and a path. */
  uri: string;
  webHdfsUrl: string;
  client: WebHdfs;
  /** Starts (again) what is stopped; resolves once the NameNode is out of safe mode. */
  start(): Promise<void>;
  /** Stops a daemon as an outage would (SIGKILL after `graceMs`). */
  stop(service: "namenode" | "datanode", graceMs?: number): Promise<void>;
  /** `hdfs dfsadmin …` against this HDFS (as the superuser); throws with its output on failure. */
  dfsadmin(...args: string[]): string;
  dispose(): Promise<void>;
}

/**
 * A NameNode and a DataNode of the test's own on free loopback ports, sharing the local stack's
 * jars: for tests that stop, restart or fill HDFS without disturbing the tests on the shared one.
 * HiveServer2 reads a table on it by its full URI. It checks permissions, as a cluster does: the
 * OS user that starts it is its superuser.
 */
export async function privateHdfs(): Promise<PrivateHdfs> {
  const ports = {
    namenode: await freePort(),
    namenodeHttp: await freePort(),
    datanode: await freePort(),
    datanodeHttp: await freePort(),
    datanodeIpc: await freePort(),
  };
  const dir = await mkdtemp(path.join(tmpdir(), "hostflow-hdfs-"));
  const lib = path.join(stackLayout().root, "lib");
  const layout = stackLayout(dir, { lib, ports, hdfsPermissions: true });
  const quiet = () => undefined;
  const uri = `hdfs://127.0.0.1:${ports.namenode}`;
  const webHdfsUrl = `http://127.0.0.1:${ports.namenodeHttp}`;
  const start = async () => {
    await stackUp(layout, { brokers: 1, groups: ["hdfs"], say: quiet });
  };
  await start();
  return {
    layout,
    uri,
    webHdfsUrl,
    client: new WebHdfs({ url: webHdfsUrl, user: userInfo().username }),
    start,
    stop: async (service, graceMs = 0) => {
      await stackDown(layout, { services: [service], say: quiet, graceMs });
    },
    dfsadmin: (...args) => {
      const java = findJava();
      const result = spawnSync(
        java.bin,
        [
          "-cp",
          `${layout.conf("hdfs")}${path.delimiter}${path.join(lib, "hdfs", "*")}`,
          "org.apache.hadoop.hdfs.tools.DFSAdmin",
          "-fs",
          uri,
          ...args,
        ],
        { encoding: "utf8", timeout: 120_000 },
      );
      if (result.status !== 0) {
        throw new Error(`dfsadmin ${args.join(" ")} failed: ${result.stdout}${result.stderr}`);
      }
      return result.stdout;
    },
    dispose: async () => {
      await stackDown(layout, { groups: ["hdfs"], say: quiet, graceMs: 0 }).catch(() => undefined);
      await rm(dir, { recursive: true, force: true });
    },
  };
}
