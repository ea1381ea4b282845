import test from "ava";
import type { Admin } from "kafkajs";
import { isHostflowError } from "../../lib/errors.js";
import { createTopicsAndWait } from "../../lib/kafka.js";

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
