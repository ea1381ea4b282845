import { spawnSync } from "node:child_process";
import { randomUUID } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, rename, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { HostflowError } from "../../lib/errors.js";
import { WebHdfs } from "../../lib/hdfs/webhdfs.js";
import { HADOOP_JDK17_OPENS, HADOOP_LOG4J, orderedClasspath, siteXml } from "./hadoop-conf.js";
import { tail } from "./jars.js";
import type { StackLayout } from "./layout.js";
import type { Java } from "./prerequisites.js";
import type { Service, ServiceGroup } from "./service.js";

/** fs.defaultFS of the local HDFS: what Hive's and Spark's warehouses live on. */
export const hdfsUri = (layout: StackLayout) => `hdfs://127.0.0.1:${layout.ports.namenode}`;
/** The root of the HiveServer2s' warehouses (managed, external, spark) and of hostflow's tables. */
export const HDFS_WAREHOUSE = "/warehouse";

export const webHdfsUrl = (layout: StackLayout) => `http://127.0.0.1:${layout.ports.namenodeHttp}`;

/** The client side of the local HDFS, for core-site.xml of Hive, Spark and the daemons. */
export function hdfsClientSettings(layout: StackLayout): Record<string, string | number | boolean> {
  return {
    "fs.defaultFS": hdfsUri(layout),
    "hadoop.security.authentication": "simple",
    // A small file's close waits for its last block's acknowledgement; Hadoop's first wait of
    // 400 ms makes every small INSERT 0.4 s slower.
    "dfs.client.block.write.locateFollowingBlock.initial.delay.ms": 20,
    "dfs.replication": 1,
  };
}

/**
 * hdfs-site.xml of one NameNode and one DataNode, every address on 127.0.0.1 (bind hosts too:
 * Hadoop's default is 0.0.0.0).
 */
export function hdfsSettings(
  layout: StackLayout,
  dataDir: string,
): Record<string, string | number | boolean> {
  const p = layout.ports;
  return {
    "dfs.namenode.name.dir": path.join(dataDir, "name"),
    "dfs.datanode.data.dir": path.join(dataDir, "data"),
    "dfs.namenode.rpc-address": `127.0.0.1:${p.namenode}`,
    "dfs.namenode.rpc-bind-host": "127.0.0.1",
    "dfs.namenode.http-address": `127.0.0.1:${p.namenodeHttp}`,
    "dfs.namenode.http-bind-host": "127.0.0.1",
    "dfs.namenode.servicerpc-bind-host": "127.0.0.1",
    "dfs.namenode.lifeline.rpc-bind-host": "127.0.0.1",
    "dfs.namenode.https-bind-host": "127.0.0.1",
    "dfs.namenode.secondary.http-address": "127.0.0.1:0",
    "dfs.datanode.address": `127.0.0.1:${p.datanode}`,
    "dfs.datanode.http.address": `127.0.0.1:${p.datanodeHttp}`,
    "dfs.datanode.ipc.address": `127.0.0.1:${p.datanodeIpc}`,
    "dfs.datanode.https.address": "127.0.0.1:0",
    // Else WebHDFS redirects writes to the DataNode as `localhost`, which may not be 127.0.0.1.
    "dfs.datanode.hostname": "127.0.0.1",
    "dfs.namenode.datanode.registration.ip-hostname-check": false,
    "dfs.http.policy": "HTTP_ONLY",
    "dfs.webhdfs.enabled": true,
    "dfs.permissions.enabled": layout.hdfsPermissions,
    // Leave safe mode as soon as the blocks are reported, not 30 s after.
    "dfs.namenode.safemode.extension": 0,
    "dfs.namenode.safemode.min.datanodes": 1,
    // One disk of a shared machine: do not refuse writes while it still has a few GB.
    "dfs.namenode.resource.du.reserved": 268_435_456,
    "dfs.datanode.du.reserved": 0,
    "dfs.heartbeat.interval": 1,
  };
}

/**
 * core-site.xml of the daemons: the client settings, and HiveServer2's user (the one running the
 * stack) allowed to act for itself, as Hive's metastore asks for each DDL (else "User: root is
 * not allowed to impersonate root"), from loopback only.
 */
export function hdfsDaemonCoreSettings(
  layout: StackLayout,
): Record<string, string | number | boolean> {
  const user = os.userInfo().username;
  return {
    ...hdfsClientSettings(layout),
    [`hadoop.proxyuser.${user}.hosts`]: "127.0.0.1",
    [`hadoop.proxyuser.${user}.groups`]: "*",
  };
}

interface NameNodeState {
  live: number;
  safeMode: string;
}

/** The NameNode's JMX: live DataNodes and the safe-mode text ("" when off). */
async function nameNodeState(layout: StackLayout): Promise<NameNodeState> {
  const base = `${webHdfsUrl(layout)}/jmx?qry=`;
  const bean = async (name: string) => {
    const response = await fetch(`${base}${encodeURIComponent(name)}`, {
      signal: AbortSignal.timeout(3_000),
    });
    if (!response.ok) throw new Error(`JMX ${name}: HTTP ${response.status}`);
    const body = (await response.json()) as { beans: Array<Record<string, unknown>> };
    const found = body.beans[0];
    if (found === undefined) throw new Error(`JMX ${name}: no such bean yet`);
    return found;
  };
  const info = await bean("Hadoop:service=NameNode,name=NameNodeInfo");
  const state = await bean("Hadoop:service=NameNode,name=FSNamesystemState");
  return { live: Number(state.NumLiveDataNodes ?? 0), safeMode: String(info.Safemode ?? "") };
}

export function hdfsGroup(layout: StackLayout): ServiceGroup {
  const dataDir = layout.data("hdfs");
  const conf = layout.conf("hdfs");
  // Each daemon writes the files before it starts, and a JVM already starting reads them: a
  // file is replaced whole (renamed into place), never seen empty (the NameNode died on an
  // empty core-site.xml while the DataNode's start rewrote it).
  const put = async (name: string, text: string) => {
    const tmp = path.join(conf, `.${name}.${randomUUID()}.tmp`);
    await writeFile(tmp, text);
    await rename(tmp, path.join(conf, name));
  };
  const writeConf = async () => {
    await mkdir(conf, { recursive: true });
    await put("core-site.xml", siteXml(hdfsDaemonCoreSettings(layout)));
    await put("hdfs-site.xml", siteXml(hdfsSettings(layout, dataDir)));
    await put("log4j.properties", HADOOP_LOG4J);
  };
  const jvm = async (lib: string, main: string, heap: string) => [
    `-Xmx${heap}`,
    "-XX:+UseSerialGC",
    "-Djava.awt.headless=true",
    "-Djava.net.preferIPv4Stack=true",
    ...HADOOP_JDK17_OPENS,
    `-Dhadoop.log.dir=${path.join(layout.root, "logs")}`,
    `-Dlog4j.configuration=file:${path.join(conf, "log4j.properties")}`,
    "-cp",
    await orderedClasspath(conf, lib),
    main,
  ];
  const p = layout.ports;
  const services: Service[] = [
    {
      name: "namenode",
      ports: [p.namenode, p.namenodeHttp],
      async prepare(java: Java, lib: string) {
        await writeConf();
        await mkdir(dataDir, { recursive: true });
        const main = "org.apache.hadoop.hdfs.server.namenode.NameNode";
        if (!existsSync(path.join(dataDir, "name", "current", "VERSION"))) {
          const format = spawnSync(
            java.bin,
            [...(await jvm(lib, main, "256m")), "-format", "-nonInteractive", "-force"],
            { encoding: "utf8", cwd: dataDir },
          );
          if (format.status !== 0) {
            throw new HostflowError(
              "HF_STACK_START",
              `formatting the NameNode failed:\n${tail(format.stdout + format.stderr, 15)}`,
            );
          }
        }
        return { cwd: dataDir, args: await jvm(lib, main, "512m") };
      },
    },
    {
      name: "datanode",
      ports: [p.datanode, p.datanodeHttp, p.datanodeIpc],
      async prepare(_java: Java, lib: string) {
        await writeConf();
        await mkdir(path.join(dataDir, "data"), { recursive: true, mode: 0o700 });
        return {
          cwd: dataDir,
          args: await jvm(lib, "org.apache.hadoop.hdfs.server.datanode.DataNode", "512m"),
        };
      },
    },
  ];
  return {
    name: "hdfs",
    component: "hdfs",
    services,
    endpoint: `${hdfsUri(layout)} ${webHdfsUrl(layout)}`,
    readyTimeoutMs: 120_000,
    async probe() {
      let state: NameNodeState;
      try {
        state = await nameNodeState(layout);
      } catch (cause) {
        throw new HostflowError("HF_STACK_START", "the NameNode does not answer yet", {
          retriable: true,
          cause,
        });
      }
      // Writes fail with SafeModeException until the DataNode's first block report.
      if (state.live < 1 || state.safeMode !== "") {
        throw new HostflowError(
          "HF_STACK_START",
          `${state.live} live DataNode(s)${state.safeMode === "" ? "" : ", NameNode in safe mode"}`,
          { retriable: true },
        );
      }
      // Made here, not by HiveServer2 on first use: `up` leaves the warehouse root to be seen.
      const user = os.userInfo().username;
      await new WebHdfs({ url: webHdfsUrl(layout), user }).mkdirs(HDFS_WAREHOUSE);
    },
  };
}
