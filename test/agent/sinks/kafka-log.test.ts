import test from "ava";
import { pino } from "pino";
import { KAFKAJS_LOG_EVERY_MS, kafkajsLogRoute } from "../../../agent/sinks/kafka-log.js";

function capture() {
  const lines: { level: number; msg: string; heldBack?: number; kafkajs?: string }[] = [];
  const logger = pino({ level: "debug" }, { write: (l: string) => void lines.push(JSON.parse(l)) });
  return { logger, lines, above: (level: number) => lines.filter((l) => l.level >= level) };
}
const WARN = 40;
const ERROR = 50;

test("issue 13: a failover's kafkajs errors come out at most once per 5 s, at warn while recovering, with the count held back", (t) => {
  const { logger, lines, above } = capture();
  let now = 1_000_000;
  const route = kafkajsLogRoute(
    logger,
    () => true,
    () => now,
  );
  // 60 s of an outage: kafkajs logs a connection error and a failed send every 500 ms.
  for (let i = 0; i < 120; i++) {
    route("error", { kafkajs: "Connection" }, "Connection error: connect ECONNREFUSED");
    now += 500;
  }
  const shown = above(WARN);
  t.is(shown.length, 120 / (KAFKAJS_LOG_EVERY_MS / 500));
  t.true(shown.every((l) => l.level === WARN));
  t.is(shown[0]?.heldBack, undefined);
  t.is(shown[1]?.heldBack, KAFKAJS_LOG_EVERY_MS / 500 - 1);
  t.is(lines.length, 120, "the rest at debug");
});

test("kafkajs errors keep their level while the sink is healthy; its info lines go to debug", (t) => {
  const { logger, lines, above } = capture();
  const route = kafkajsLogRoute(
    logger,
    () => false,
    () => 0,
  );
  route("info", { kafkajs: "Producer" }, "Starting");
  route("error", { kafkajs: "Connection" }, "Connection error");
  t.deepEqual(
    above(WARN).map((l) => l.level),
    [ERROR],
  );
  t.is(lines[0]?.level, 20);
});
