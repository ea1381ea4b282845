/**
 * kafkajs 2.2.4 keeps every broker connection's event loop busy while idle: its RequestQueue
 * re-arms `setTimeout(check, throttledUntil - Date.now())` after each check, and with no client
 * throttle that delay is hugely negative, which Node runs after 1 ms — ~1,000 wake-ups a second
 * per connection, forever (tulios/kafkajs#1556, #1704; unfixed upstream). The agent idles 99 %
 * of its life, so this was most of its CPU.
 *
 * The replacement below schedules a check only when one can do something: a request waits in
 * `pending` (then at the end of a client-side throttle, or after kafkajs's own 10 ms when not
 * throttled). With nothing pending no timer is needed: push() sends at once or enqueues and
 * schedules, and a fulfilled request checks the queue again.
 *
 * This changes one method of a dependency's class, which is otherwise avoided: it is applied
 * only to the exact version it was written against (the method's source is compared too), and
 * test/lib/kafkajs-idle.integration.test.ts counts the timers of an idle producer.
 */
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);

/** kafkajs's interval for a pending request when not throttled (requestQueue/index.js). */
const CHECK_PENDING_MS = 10;

interface RequestQueueLike {
  pending: unknown[];
  throttledUntil: number;
  throttleCheckTimeoutId: NodeJS.Timeout | null;
  checkPendingRequests(): void;
}

/** The method as kafkajs 2.2.4 ships it, whitespace removed (to recognise it, not to run it). */
const SHIPPED =
  "scheduleCheckPendingRequests(){letscheduleAt=this.throttledUntil-Date.now()if(!this.throttleCheckTimeoutId){if(this.pending.length>0){scheduleAt=scheduleAt>0?scheduleAt:CHECK_PENDING_REQUESTS_INTERVAL}this.throttleCheckTimeoutId=setTimeout(()=>{this.throttleCheckTimeoutId=nullthis.checkPendingRequests()},scheduleAt)}}";

function scheduleCheckPendingRequests(this: RequestQueueLike): void {
  if (this.throttleCheckTimeoutId || this.pending.length === 0) return;
  const throttled = this.throttledUntil - Date.now();
  this.throttleCheckTimeoutId = setTimeout(
    () => {
      this.throttleCheckTimeoutId = null;
      this.checkPendingRequests();
    },
    throttled > 0 ? throttled : CHECK_PENDING_MS,
  );
}

export type IdleFix = "applied" | "already" | "not-needed";

let state: IdleFix | undefined;

/**
 * Replaces RequestQueue.scheduleCheckPendingRequests when kafkajs is the version whose method is
 * known to spin; any other version is left as it is ("not-needed").
 */
export function fixKafkajsIdleLoop(): IdleFix {
  if (state !== undefined) return state === "applied" ? "already" : state;
  const version = (require("kafkajs/package.json") as { version: string }).version;
  const RequestQueue = require("kafkajs/src/network/requestQueue/index.js") as {
    prototype: RequestQueueLike & { scheduleCheckPendingRequests: () => void };
  };
  const proto = RequestQueue.prototype;
  const shipped = proto.scheduleCheckPendingRequests
    .toString()
    .replace(/\/\/[^\n]*/g, "")
    .replace(/\s+/g, "");
  if (version !== "2.2.4" || shipped !== SHIPPED) {
    state = "not-needed";
    return state;
  }
  proto.scheduleCheckPendingRequests = scheduleCheckPendingRequests;
  state = "applied";
  return state;
}
