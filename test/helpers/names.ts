import { randomBytes } from "node:crypto";

/** A name no other test run uses: `prefix_<time>_<random>` (valid as a Kafka topic and a Hive table). */
export function uniqueName(prefix: string): string {
  return `${prefix}_${Date.now().toString(36)}_${randomBytes(4).toString("hex")}`;
}
