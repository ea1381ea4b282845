/** The YAML files of the fleet bench's agents and collectors. */

export interface AgentSpec {
  index: number;
  id: string;
  hosts: number;
  prefix: string;
  seed: number;
}

/** `hosts` split over `agents`, each with its own host names, seed and agent id. */
export function agentSpecs(hosts: number, agents: number): AgentSpec[] {
  return Array.from({ length: agents }, (_, i) => ({
    index: i + 1,
    id: `fleet-agent-${i + 1}`,
    hosts: Math.floor(hosts / agents) + (i < hosts % agents ? 1 : 0),
    prefix: `a${i + 1}-`,
    seed: 1000 + i,
  }));
}

/** The synthetic source's host names (agent/sources/synthetic.ts: prefix + zero-padded number). */
export function hostName(spec: AgentSpec, n: number): string {
  const width = Math.max(3, String(spec.hosts).length);
  return `${spec.prefix}${String(n).padStart(width, "0")}`;
}

/** `count` hosts spread evenly over the agents and over each agent's hosts. */
export function sampleHosts(specs: AgentSpec[], count: number): string[] {
  const out: string[] = [];
  const per = Math.ceil(count / specs.length);
  for (const spec of specs) {
    for (let k = 0; k < per && out.length < count; k++) {
      out.push(hostName(spec, 1 + Math.floor(((k + 0.5) * spec.hosts) / per)));
    }
  }
  return out;
}

const list = (xs: string[]) => `[${xs.map((x) => JSON.stringify(x)).join(", ")}]`;

/**
 * The shipped agent's flow (file channel → kafka sink, acks=all, its batch and linger) with the
 * synthetic source in place of sysinfo: `hosts` simulated hosts in real time, one sample of each
 * measurement per host every `intervalS`.
 */
export function agentYaml(
  spec: AgentSpec,
  options: { dataDir: string; brokers: string[]; topic: string; intervalS: number },
): string {
  return `agent:
  id: ${spec.id}
  data_dir: ${JSON.stringify(options.dataDir)}
  log_level: info
sources:
  fleet:
    type: synthetic
    channels: [events]
    hosts: ${spec.hosts}
    host_prefix: ${spec.prefix}
    interval: ${options.intervalS}s
    seed: ${spec.seed}
channels:
  events:
    type: file
    max_bytes: 512MiB
    when_full: block
sinks:
  kafka:
    type: kafka
    channel: events
    brokers: ${list(options.brokers)}
    topic: ${options.topic}
    acks: all
    batch_size: 500
    linger: 50ms
`;
}

export interface CollectorYamlOptions {
  brokers: string[];
  topic: string;
  database: string;
  hive: { host: string; port: number; user: string; password: string };
  webHdfsUrl: string;
  lockFile: string;
  maxDuration: string;
}

/** conf/collector.yaml's settings (windows 1m and 1h), with the bench's endpoints and names. */
export function collectorYaml(o: CollectorYamlOptions): string {
  return `kafka:
  brokers: ${list(o.brokers)}
  topics: [${o.topic}]
  group_id: ${o.database}
hive:
  host: ${o.hive.host}
  port: ${o.hive.port}
  user: ${JSON.stringify(o.hive.user)}
  password: ${JSON.stringify(o.hive.password)}
  database: ${o.database}
  warehouse_dir: /warehouse/hostflow
  webhdfs_url: ${JSON.stringify(o.webHdfsUrl)}
aggregation:
  windows: [1m, 1h]
records:
  timestamp_unit: ms
run:
  max_duration: ${o.maxDuration}
  lock_file: ${JSON.stringify(o.lockFile)}
`;
}
