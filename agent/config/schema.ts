/**
 * The agent's flow config (conf/agent.yaml): THE schema. Validation, the TypeScript types below,
 * conf/agent.schema.json (for editors) and docs/agent-config.md are all made from it.
 */
import { type Static, Type } from "@sinclair/typebox";
import { kafkaConnection } from "../../lib/config/kafka.js";
import { ComponentName, ComponentRef, Duration, Size, Strict } from "../../lib/config/types.js";

const NameList = (description: string) => Type.Array(ComponentName, { minItems: 1, description });

const IncludeExclude = (what: string, examples: string[]) =>
  Strict(
    {
      include: Type.Optional(
        Type.Array(Type.String(), {
          description: `${what} to keep (glob patterns); empty or absent keeps all`,
          examples: [examples],
        }),
      ),
      exclude: Type.Optional(
        Type.Array(Type.String(), {
          description: `${what} to leave out (glob patterns), applied after include`,
        }),
      ),
    },
    { description: `which ${what} to sample` },
  );

// ---------------------------------------------------------------- interceptors

export const HostInterceptor = Strict(
  {
    type: Type.Literal("host"),
    hostname: Type.Optional(
      Type.String({ description: "the host name to set; default: this machine's (os.hostname())" }),
    ),
    preserve_existing: Type.Boolean({
      default: true,
      description: "keep a host tag the event already has",
    }),
  },
  { description: "sets the `host` tag and header (the default Kafka key)" },
);

export const TimestampInterceptor = Strict(
  {
    type: Type.Literal("timestamp"),
    preserve_existing: Type.Boolean({
      default: true,
      description: "keep a timestamp the event already has",
    }),
  },
  { description: "sets the sample timestamp to the time of interception" },
);

export const StaticInterceptor = Strict(
  {
    type: Type.Literal("static"),
    tags: Type.Record(Type.String(), Type.String(), {
      default: {},
      description: "tags added to every sample",
      examples: [{ dc: "eu-1", role: "web" }],
    }),
    headers: Type.Record(Type.String(), Type.String(), {
      default: {},
      description: "event headers added (for selectors and topic patterns)",
    }),
    preserve_existing: Type.Boolean({
      default: true,
      description: "keep tags and headers the event already has",
    }),
  },
  { description: "adds fixed tags and headers" },
);

export const FilterInterceptor = Strict(
  {
    type: Type.Literal("filter"),
    include: Type.Optional(
      Type.Array(Type.String(), {
        description: "measurement names to keep (glob patterns)",
        examples: [["cpu", "mem", "disk*"]],
      }),
    ),
    exclude: Type.Optional(
      Type.Array(Type.String(), {
        description: "measurement names to drop (glob patterns), applied after include",
      }),
    ),
  },
  {
    description:
      "keeps or drops events by measurement name; dropped events are counted as filtered",
  },
);

export const Interceptor = Type.Union([
  HostInterceptor,
  TimestampInterceptor,
  StaticInterceptor,
  FilterInterceptor,
]);

// ---------------------------------------------------------------- selectors

export const ReplicatingSelector = Strict(
  { type: Type.Literal("replicating") },
  { description: "every event goes to every channel of the source" },
);

export const MultiplexingSelector = Strict(
  {
    type: Type.Literal("multiplexing"),
    header: Type.String({
      description: "the event header whose value picks the channels",
      examples: ["name"],
    }),
    mapping: Type.Record(Type.String(), NameList("channels for this header value"), {
      description: "header value → channels",
      examples: [{ cpu: ["fast"], disk: ["durable"] }],
    }),
    default: Type.Optional(
      NameList("channels for values not in mapping; absent: such events are dropped and counted"),
    ),
  },
  { description: "routes each event by a header value" },
);

export const Selector = Type.Union([ReplicatingSelector, MultiplexingSelector], {
  description: "how events are spread over the source's channels; absent: replicating",
});

// ---------------------------------------------------------------- sources

const sourceCommon = {
  channels: NameList("channels this source puts into"),
  selector: Type.Optional(Selector),
  interceptors: Type.Array(Interceptor, {
    default: [],
    description: "applied in order before the selector",
  }),
};

const schedule = {
  interval: Duration({
    default: "10s",
    description: "time between sample cycles",
    examples: ["10s", "1m"],
  }),
  jitter: Duration({
    default: "0s",
    description:
      "random delay up to this added to each cycle after the first (which runs at start), to spread a fleet's load",
  }),
  cron: Type.Optional(
    Type.String({
      description: "a node-cron schedule (with seconds) instead of interval",
      examples: ["*/10 * * * * *"],
    }),
  ),
};

export const SYSINFO_MEASUREMENTS = [
  "cpu",
  "mem",
  "swap",
  "system",
  "disk",
  "diskio",
  "net",
  "processes",
] as const;

/** Pseudo and read-only image file systems, which Telegraf's disk input also leaves out. */
export const DEFAULT_IGNORE_FS = [
  "tmpfs",
  "devtmpfs",
  "devfs",
  "iso9660",
  "overlay",
  "aufs",
  "squashfs",
  "proc",
  "sysfs",
  "cgroup",
  "cgroup2",
] as const;

export const SysinfoSource = Strict(
  {
    type: Type.Literal("sysinfo"),
    ...sourceCommon,
    ...schedule,
    measurements: Type.Array(Type.Union(SYSINFO_MEASUREMENTS.map((m) => Type.Literal(m))), {
      default: [...SYSINFO_MEASUREMENTS],
      uniqueItems: true,
      description: "which measurements to sample (Telegraf's names)",
    }),
    percpu: Type.Boolean({
      default: false,
      description: "also one cpu sample per core (cpu=cpu0 …)",
    }),
    totalcpu: Type.Boolean({
      default: true,
      description: "a cpu sample for all cores (cpu=cpu-total)",
    }),
    mounts: Type.Optional(IncludeExclude("mount points", ["/", "/var*"])),
    ignore_fs: Type.Array(Type.String(), {
      default: [...DEFAULT_IGNORE_FS],
      description: "file system types never sampled by disk",
    }),
    devices: Type.Optional(IncludeExclude("block devices (diskio)", ["sd*", "nvme*"])),
    interfaces: Type.Optional(IncludeExclude("network interfaces", ["eth*", "en*"])),
  },
  { description: "samples this host from /proc, /sys and statfs, as Telegraf's inputs do" },
);

export const SyntheticSource = Strict(
  {
    type: Type.Literal("synthetic"),
    ...sourceCommon,
    hosts: Type.Integer({ minimum: 1, default: 50, description: "simulated hosts" }),
    host_prefix: Type.String({
      default: "sim-",
      description: "simulated host names are <prefix><nnn>",
    }),
    interval: Duration({
      default: "10s",
      description: "simulated time between two samples of one host",
    }),
    rate: Type.Optional(
      Type.Number({
        exclusiveMinimum: 0,
        description: "events per second in all; absent: real time (one cycle per interval)",
      }),
    ),
    backfill: Duration({
      default: "0s",
      description: "first emit this much history, as fast as the channel takes it",
    }),
    total: Type.Optional(Type.Integer({ minimum: 1, description: "stop after this many events" })),
    batch_size: Type.Integer({
      minimum: 1,
      default: 500,
      description: "events per put transaction",
    }),
    seed: Type.Integer({ default: 1, description: "random seed, so runs are repeatable" }),
    unhealthy: Strict(
      {
        cpu_hog: Type.Integer({
          minimum: 0,
          default: 0,
          description: "hosts with a CPU near 100%",
        }),
        disk_filling: Type.Integer({
          minimum: 0,
          default: 0,
          description: "hosts whose root disk fills up",
        }),
        silent: Type.Integer({
          minimum: 0,
          default: 0,
          description: "hosts that stop reporting after a while",
        }),
        lossy: Type.Integer({
          minimum: 0,
          default: 0,
          description: "hosts whose events are lost now and then (sequence gaps)",
        }),
      },
      { default: {}, description: "how many simulated hosts are unhealthy, and how" },
    ),
  },
  {
    description:
      "a fleet simulator: realistic host metrics for N hosts, for load tests, benchmarks and the demo",
  },
);

export const SequenceSource = Strict(
  {
    type: Type.Literal("sequence"),
    ...sourceCommon,
    rate: Type.Optional(
      Type.Number({
        exclusiveMinimum: 0,
        description: "events per second; absent: as fast as the channel takes them",
      }),
    ),
    total: Type.Optional(Type.Integer({ minimum: 1, description: "stop after this many events" })),
    batch_size: Type.Integer({
      minimum: 1,
      default: 100,
      description: "events per put transaction",
    }),
  },
  {
    description:
      "Flume's seq source: events numbered 0, 1, 2 … (measurement `sequence`, field `value`), for pipeline tests",
  },
);

export const Source = Type.Union([SysinfoSource, SyntheticSource, SequenceSource]);

// ---------------------------------------------------------------- channels

const whenFull = Type.Union([Type.Literal("block"), Type.Literal("drop_oldest")], {
  default: "block",
  description:
    "full channel: block (back-pressure to the source) or drop_oldest (evict, counted and logged)",
});
const transactionCapacity = Type.Integer({
  minimum: 1,
  default: 1000,
  description: "most events in one put or take",
});

export const MemoryChannel = Strict(
  {
    type: Type.Literal("memory"),
    capacity: Type.Integer({ minimum: 1, default: 10000, description: "most events held" }),
    transaction_capacity: transactionCapacity,
    when_full: whenFull,
  },
  { description: "events in memory: fast, lost on restart" },
);

export const FileChannel = Strict(
  {
    type: Type.Literal("file"),
    dir: Type.Optional(
      Type.String({ description: "its folder; default <agent.data_dir>/channels/<name>" }),
    ),
    max_bytes: Size({
      default: "256MiB",
      description: "most bytes on disk (log segments and checkpoint)",
      examples: ["1GiB"],
    }),
    capacity: Type.Integer({ minimum: 1, default: 1000000, description: "most events held" }),
    transaction_capacity: transactionCapacity,
    when_full: whenFull,
    segment_bytes: Size({
      default: "16MiB",
      description: "size at which the log rolls to a new segment",
    }),
    fsync: Type.Union(
      [Type.Literal("every_commit"), Type.Literal("interval"), Type.Literal("never")],
      {
        default: "every_commit",
        description:
          "every_commit: a put returns once on disk; interval: synced every fsync_interval (a crash of the OS may lose that much); never: the OS decides",
      },
    ),
    fsync_interval: Duration({
      default: "1s",
      description: "with fsync: interval, how long after a write it is synced at the latest",
    }),
    checkpoint_interval: Duration({
      default: "30s",
      description:
        "how long after the first log write since the last checkpoint the next one is written (replay after a crash starts there; an idle channel writes none)",
    }),
  },
  { description: "a checksummed write-ahead log on disk: survives kill -9 and reboot" },
);

export const Channel = Type.Union([MemoryChannel, FileChannel]);

// ---------------------------------------------------------------- sinks

const sinkCommon = {
  channel: ComponentRef("the channel this sink drains"),
  batch_size: Type.Integer({ minimum: 1, default: 500, description: "most events per write" }),
  linger: Duration({
    default: "50ms",
    description: "how long to wait for a batch to fill before writing what there is",
  }),
  retry: Strict(
    {
      initial: Duration({ default: "100ms", description: "first pause after a failed write" }),
      max: Duration({ default: "30s", description: "longest pause" }),
      multiplier: Type.Number({ minimum: 1, default: 2, description: "pause growth per failure" }),
      jitter: Type.Number({
        minimum: 0,
        maximum: 1,
        default: 0.2,
        description: "random share of each pause",
      }),
    },
    {
      default: {},
      description: "backoff between retries of a failed batch (the batch stays in the channel)",
    },
  ),
};

export const KafkaSink = Strict(
  {
    type: Type.Literal("kafka"),
    ...sinkCommon,
    ...kafkaConnection("hostflow-agent"),
    topic: Type.String({
      default: "hostflow.metrics",
      description: "the topic; %{header} is replaced by that event header",
      examples: ["metrics.%{name}"],
    }),
    key_header: Type.String({
      default: "host",
      description:
        "the header whose value is the record key (keeps a host's samples in one partition, in order)",
    }),
    acks: Type.Union([Type.Literal("all"), Type.Literal("leader"), Type.Literal("none")], {
      default: "all",
      description: "acknowledgement awaited per batch",
    }),
    compression: Type.Union([Type.Literal("none"), Type.Literal("gzip")], {
      default: "none",
      description: "record batch compression",
    }),
  },
  { description: "produces each event as one record (see docs/wire-format.md)" },
);

export const LoggerSink = Strict(
  { type: Type.Literal("logger"), ...sinkCommon },
  { description: "prints each event as one JSON line on stdout (what --dry-run uses)" },
);

export const FileRollSink = Strict(
  {
    type: Type.Literal("file_roll"),
    ...sinkCommon,
    dir: Type.String({ description: "folder of the JSON-lines files" }),
    roll_interval: Duration({ default: "1h", description: "start a new file this often" }),
    roll_size: Size({ default: "64MiB", description: "start a new file at this size" }),
  },
  { description: "appends events as JSON lines to local files, rolled by time and size" },
);

export const NullSink = Strict(
  { type: Type.Literal("null"), ...sinkCommon },
  { description: "discards events (and commits them)" },
);

export const Sink = Type.Union([KafkaSink, LoggerSink, FileRollSink, NullSink]);

// ---------------------------------------------------------------- sink groups

export const FailoverProcessor = Strict(
  {
    type: Type.Literal("failover"),
    priorities: Type.Record(ComponentName, Type.Integer(), {
      additionalProperties: false,
      default: {},
      description: "higher first; default: the order of sinks",
    }),
    max_penalty: Duration({
      default: "30s",
      description: "longest time a failed sink is set aside",
    }),
  },
  { description: "one sink takes all batches; on failure the next by priority takes over" },
);

export const LoadBalanceProcessor = Strict(
  {
    type: Type.Literal("load_balance"),
    selector: Type.Union([Type.Literal("round_robin"), Type.Literal("random")], {
      default: "round_robin",
      description: "the order in which sinks get batches",
    }),
    backoff: Type.Boolean({
      default: true,
      description: "set a failed sink aside for a growing time",
    }),
    max_penalty: Duration({
      default: "30s",
      description: "longest time a failed sink is set aside",
    }),
  },
  { description: "batches spread over the sinks" },
);

export const SinkGroup = Strict({
  sinks: Type.Array(ComponentName, {
    minItems: 2,
    description: "sinks of the group; they must drain the same channel",
  }),
  processor: Type.Union([FailoverProcessor, LoadBalanceProcessor], {
    description: "how the group's sinks share the channel's batches",
  }),
});

// ---------------------------------------------------------------- the file

export const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const;

export const AgentSettings = Strict(
  {
    id: Type.Optional(
      Type.String({
        minLength: 1,
        description: "this agent's id (hf-agent-id); default: the host name",
      }),
    ),
    data_dir: Type.String({
      default: "/var/lib/hostflow",
      description: "state: file channels, sequence epochs",
    }),
    log_level: Type.Union(
      LOG_LEVELS.map((l) => Type.Literal(l)),
      { default: "info", description: "the least severe log messages written (pino levels)" },
    ),
    http: Type.Optional(
      Strict(
        {
          listen: Type.String({
            default: "127.0.0.1:9200",
            pattern: "^[^\\s]+:\\d+$",
            description: "host:port of /metrics and /health",
          }),
        },
        { description: "self-monitoring endpoint" },
      ),
    ),
    shutdown_timeout: Duration({
      default: "10s",
      description: "on SIGTERM, how long sinks may flush before the agent exits",
    }),
  },
  { default: {}, description: "the agent process" },
);

export const AgentConfig = Strict(
  {
    agent: AgentSettings,
    // additionalProperties: a name that does not match ComponentName is an error, not ignored.
    sources: Type.Record(ComponentName, Source, {
      additionalProperties: false,
      description: "named sources",
      minProperties: 1,
      examples: [{ host: { type: "sysinfo", channels: ["events"] } }],
    }),
    channels: Type.Record(ComponentName, Channel, {
      additionalProperties: false,
      description: "named channels",
      minProperties: 1,
      examples: [{ events: { type: "file" } }],
    }),
    sinks: Type.Record(ComponentName, Sink, {
      additionalProperties: false,
      description: "named sinks",
      minProperties: 1,
      examples: [{ kafka: { type: "kafka", channel: "events", brokers: ["127.0.0.1:9092"] } }],
    }),
    sink_groups: Type.Record(ComponentName, SinkGroup, {
      additionalProperties: false,
      default: {},
      description: "named sink groups",
    }),
  },
  { title: "hostflow agent flow config" },
);

export type AgentConfig = Static<typeof AgentConfig>;
export type SourceConfig = Static<typeof Source>;
export type SysinfoSourceConfig = Static<typeof SysinfoSource>;
export type SyntheticSourceConfig = Static<typeof SyntheticSource>;
export type SequenceSourceConfig = Static<typeof SequenceSource>;
export type InterceptorConfig = Static<typeof Interceptor>;
export type SelectorConfig = Static<typeof Selector>;
export type ChannelConfig = Static<typeof Channel>;
export type MemoryChannelConfig = Static<typeof MemoryChannel>;
export type FileChannelConfig = Static<typeof FileChannel>;
export type SinkConfig = Static<typeof Sink>;
export type KafkaSinkConfig = Static<typeof KafkaSink>;
export type LoggerSinkConfig = Static<typeof LoggerSink>;
export type FileRollSinkConfig = Static<typeof FileRollSink>;
export type NullSinkConfig = Static<typeof NullSink>;
export type SinkGroupConfig = Static<typeof SinkGroup>;
