import type { KafkaLogRoute } from "../../lib/kafka.js";
import type { Logger } from "../../lib/log.js";

/** As the sink runner's failure lines: at most one a sink per this many ms. */
export const KAFKAJS_LOG_EVERY_MS = 5_000;

/**
 * kafkajs's own log lines as the kafka sink lets them through. In a broker failover kafkajs
 * logs a line per connection attempt and failed request (`Connection error`, `Failed to send
 * messages`), while the runner already logs the sink's failure once per 5 s and counts every
 * one in its metrics. So: errors and warnings at most one per KAFKAJS_LOG_EVERY_MS, saying how
 * many were held back since the last one (those go to debug), and at warn while the sink is
 * recovering (not connected, or failing); kafkajs's info lines at debug.
 */
export function kafkajsLogRoute(
  logger: Logger,
  recovering: () => boolean,
  now: () => number = Date.now,
): KafkaLogRoute {
  let lastAt = Number.NEGATIVE_INFINITY;
  let heldBack = 0;
  return (level, fields, message) => {
    if (level === "info" || level === "debug") {
      logger.debug(fields, message);
      return;
    }
    const at = now();
    if (at - lastAt < KAFKAJS_LOG_EVERY_MS) {
      heldBack++;
      logger.debug(fields, message);
      return;
    }
    lastAt = at;
    const line = heldBack > 0 ? { ...fields, heldBack } : fields;
    heldBack = 0;
    logger[recovering() ? "warn" : level](line, message);
  };
}
