// bench footprint's ceiling: node and kafkajs alone, no hostflow code. Connects a producer and
// sends one record every INTERVAL_MS (acks=all) until SIGTERM.
//   node scripts/bench/kafkajs-producer.mjs BROKERS TOPIC INTERVAL_MS
import { hostname } from "node:os";
import kafkajs from "kafkajs";

const [brokers = "127.0.0.1:9092", topic = "hf_footprint_kafkajs", every = "10000"] =
  process.argv.slice(2);
const kafka = new kafkajs.Kafka({
  clientId: "hf-footprint-kafkajs",
  brokers: brokers.split(","),
  logLevel: kafkajs.logLevel.NOTHING,
});
const producer = kafka.producer();
await producer.connect();
const send = () =>
  producer.send({
    topic,
    acks: -1,
    messages: [{ key: hostname(), value: JSON.stringify({ name: "ping", timestamp: Date.now() }) }],
  });
await send();
const timer = setInterval(send, Number(every));
process.once("SIGTERM", () => {
  clearInterval(timer);
  producer.disconnect().then(() => process.exit(0));
});
