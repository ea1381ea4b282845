import test from "ava";
import type { Admin } from "kafkajs";
import { isHostflowError } from "../../lib/errors.js";
import {
  createTopicsAndWait,
  groupMemberLogRoute,
  LEADER_MOVING,
  leaderMoving,
  ROUTINE_GROUP_ERRORS,
} from "../../lib/kafka.js";
import type { Logger } from "../../lib/log.js";

/** An admin whose new topic is unknown to the broker for the first `unknownFor` offset asks. */
function fakeAdmin(unknownFor: number, partitions = 3) {
  const calls = { create: [] as unknown[], offsets: 0 };
  const admin = {
    createTopics: async (request: unknown) => {
      calls.create.push(request);
      return true;
    },
    fetchTopicOffsets: async () => {
      calls.offsets++;
      if (calls.offsets <= unknownFor) {
        // What kafkajs's protocol layer throws for that error code.
        const unknown = Object.assign(new Error("This server does not host this topic-partition"), {
          type: "UNKNOWN_TOPIC_OR_PARTITION",
          code: 3,
          retriable: true,
        });
        throw unknown;
      }
      return Array.from({ length: partitions }, (_, partition) => ({ partition, offset: "0" }));
    },
  } as unknown as Admin;
  return { admin, calls };
}

test("a topic the broker does not know yet right after creation is waited for", async (t) => {
  const { admin, calls } = fakeAdmin(3);
  t.true(await createTopicsAndWait(admin, [{ topic: "t1", numPartitions: 3 }]));
  t.is(calls.offsets, 4);
  t.deepEqual(calls.create, [
    { topics: [{ topic: "t1", numPartitions: 3 }], waitForLeaders: false },
  ]);
});

test("partitions that never all answer end in HF_KAFKA_UNREACHABLE naming the topic", async (t) => {
  const { admin } = fakeAdmin(0, 2);
  const error = await t.throwsAsync(
    createTopicsAndWait(admin, [{ topic: "t2", numPartitions: 3 }], 600),
  );
  t.true(isHostflowError(error, "HF_KAFKA_UNREACHABLE"), String(error));
  t.regex(error?.message ?? "", /topic t2 .*2 of 3 partitions answer/);
});

test("a consumer group's routine rebalance and coordinator moves go to debug; other errors keep their level", async (t) => {
  const { createRequire } = await import("node:module");
  // The messages kafkajs itself logs for these codes: an upgrade that rewords them fails here.
  const { errorCodes } = createRequire(import.meta.url)("kafkajs/src/protocol/error.js") as {
    errorCodes: { type: string; message: string }[];
  };
  const routine = [
    "REBALANCE_IN_PROGRESS",
    "NOT_COORDINATOR_FOR_GROUP",
    "GROUP_COORDINATOR_NOT_AVAILABLE",
  ];
  t.deepEqual(
    new Set(routine.map((type) => errorCodes.find((e) => e.type === type)?.message)),
    ROUTINE_GROUP_ERRORS,
  );
  const lines: [string, Record<string, unknown>, string][] = [];
  const logger = Object.fromEntries(
    ["error", "warn", "info", "debug"].map((level) => [
      level,
      (fields: Record<string, unknown>, message: string) => lines.push([level, fields, message]),
    ]),
  ) as unknown as Logger;
  const route = groupMemberLogRoute(logger);
  const rebalancing = errorCodes.find((e) => e.type === "REBALANCE_IN_PROGRESS")?.message;
  route(
    "error",
    { kafkajs: "Connection", error: rebalancing },
    "Response Heartbeat(key: 12, version: 3)",
  );
  route("warn", { kafkajs: "Runner", error: rebalancing }, "The group is rebalancing, re-joining");
  const unknownMember = errorCodes.find((e) => e.type === "UNKNOWN_MEMBER_ID")?.message;
  route("error", { kafkajs: "Runner", error: unknownMember }, "re-joining the group");
  route("error", { kafkajs: "Connection", error: "Connection timeout" }, "Connection error");
  route("warn", { kafkajs: "Cluster" }, "no error field");
  t.deepEqual(
    lines.map(([level, , message]) => `${level}: ${message}`),
    [
      "debug: Response Heartbeat(key: 12, version: 3)",
      "debug: The group is rebalancing, re-joining",
      "error: re-joining the group",
      "error: Connection error",
      "warn: no error field",
    ],
  );
});

test("a moving partition leader is told from other Kafka errors, also wrapped by kafkajs's retrier", async (t) => {
  const { createRequire } = await import("node:module");
  const require = createRequire(import.meta.url);
  // kafkajs's own errors, as its clients throw them: a rename of a type fails here.
  const { createErrorFromCode, errorCodes } = require("kafkajs/src/protocol/error.js") as {
    createErrorFromCode: (code: number) => Error;
    errorCodes: { type: string; code: number }[];
  };
  const { KafkaJSNumberOfRetriesExceeded } = require("kafkajs/src/errors.js") as {
    KafkaJSNumberOfRetriesExceeded: new (e: Error, o: object) => Error;
  };
  const code = (type: string) => errorCodes.find((e) => e.type === type)?.code as number;
  for (const type of LEADER_MOVING) {
    t.true(leaderMoving(createErrorFromCode(code(type))), type);
    const wrapped = new KafkaJSNumberOfRetriesExceeded(createErrorFromCode(code(type)), {
      retryCount: 5,
      retryTime: 1000,
    });
    t.true(leaderMoving(wrapped), `${type}, wrapped`);
  }
  t.false(leaderMoving(createErrorFromCode(code("UNKNOWN_TOPIC_OR_PARTITION"))));
  t.false(leaderMoving(createErrorFromCode(code("TOPIC_AUTHORIZATION_FAILED"))));
  t.false(leaderMoving(new Error("connect ECONNREFUSED 127.0.0.1:9094")));
  t.false(leaderMoving(undefined));
});
