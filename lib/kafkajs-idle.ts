/**
 * kafkajs 2.2.4 keeps every broker connection's event loop busy while idle, in two ways:
 * - its RequestQueue re-arms `setTimeout(check, throttledUntil - Date.now())` after each check,
 *   and with no client throttle that delay is hugely negative, which Node runs after 1 ms:
 *   ~1,000 wake-ups a second per connection, forever (tulios/kafkajs#1556, #1704; unfixed
 *   upstream). The agent idles 99 % of its life, so this was most of its CPU.
 * - with enforceRequestTimeout (our default) each connection runs a 100 ms interval that looks
 *   for timed-out requests, also when none is in flight: 10 wake-ups a second per connection.
 *
 * The replacements below keep what the timers are for and drop them when nothing is due: the
 * pending-request check is scheduled only while a request waits in `pending` (at the end of a
 * client-side throttle, or after kafkajs's own 10 ms); the timeout check runs every 100 ms (as
 * before) only while a request is in flight: armed by the send that puts one there, disarmed
 * by the answer that leaves none.
 *
 * This changes methods of a dependency's class, which is otherwise avoided: it is applied only
 * to the exact version it was written against, when each method's source is still the one read
 * here, and test/agent/idle.integration.test.ts counts the timer callbacks of an idle agent.
 */
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);

/** kafkajs's interval for a pending request when not throttled (requestQueue/index.js). */
const CHECK_PENDING_MS = 10;

/** kafkajs's cadence of the request timeout check (requestQueue/index.js). */
const TIMEOUT_CHECK_MS = 100;

interface InflightRequest {
  sentAt: number;
  requestTimeout: number;
  timeoutRequest(): void;
}

interface RequestQueueLike {
  pending: unknown[];
  inflight: Map<number, InflightRequest>;
  enforceRequestTimeout: boolean;
  requestTimeout: number;
  requestTimeoutIntervalId: NodeJS.Timeout | null | undefined;
  throttledUntil: number;
  throttleCheckTimeoutId: NodeJS.Timeout | null;
  isConnected(): boolean;
  checkPendingRequests(): void;
  scheduleCheckPendingRequests(): void;
  scheduleRequestTimeoutCheck(): void;
  sendSocketRequest(request: unknown): void;
  fulfillRequest(response: unknown): void;
  destroy(): void;
}

/** The methods as kafkajs 2.2.4 ships them, whitespace removed (to recognise them). */
const SHIPPED: Record<string, string> = {
  scheduleCheckPendingRequests:
    "scheduleCheckPendingRequests(){letscheduleAt=this.throttledUntil-Date.now()if(!this.throttleCheckTimeoutId){if(this.pending.length>0){scheduleAt=scheduleAt>0?scheduleAt:CHECK_PENDING_REQUESTS_INTERVAL}this.throttleCheckTimeoutId=setTimeout(()=>{this.throttleCheckTimeoutId=nullthis.checkPendingRequests()},scheduleAt)}}",
  scheduleRequestTimeoutCheck:
    "scheduleRequestTimeoutCheck(){if(this.enforceRequestTimeout){this.destroy()this.requestTimeoutIntervalId=setInterval(()=>{this.inflight.forEach(request=>{if(Date.now()-request.sentAt>request.requestTimeout){request.timeoutRequest()}})if(!this.isConnected()){this.destroy()}},Math.min(this.requestTimeout,100))}}",
  sendSocketRequest:
    "sendSocketRequest(socketRequest){socketRequest.send()if(!socketRequest.expectResponse){this.logger.debug(`Requestdoesnotexpectaresponse,resolvingimmediately`,{clientId:this.clientId,broker:this.broker,correlationId:socketRequest.correlationId,})this.inflight.delete(socketRequest.correlationId)socketRequest.completed({size:0,payload:null})}}",
  fulfillRequest:
    "fulfillRequest({correlationId,payload,size}){constsocketRequest=this.inflight.get(correlationId)this.inflight.delete(correlationId)this.checkPendingRequests()if(socketRequest){socketRequest.completed({size,payload})}else{this.logger.warn(`Responsewithoutmatch`,{clientId:this.clientId,broker:this.broker,correlationId,})}this[PRIVATE.EMIT_REQUEST_QUEUE_EMPTY]()}",
  destroy:
    "destroy(){clearInterval(this.requestTimeoutIntervalId)clearTimeout(this.throttleCheckTimeoutId)this.throttleCheckTimeoutId=null}",
};

/** Arms the timeout check while a request is in flight on a connected queue. */
function armTimeoutCheck(queue: RequestQueueLike): void {
  if (!queue.enforceRequestTimeout || queue.requestTimeoutIntervalId) return;
  if (queue.inflight.size === 0 || !queue.isConnected()) return;
  queue.requestTimeoutIntervalId = setTimeout(
    () => {
      queue.requestTimeoutIntervalId = null;
      const now = Date.now();
      for (const request of queue.inflight.values()) {
        if (now - request.sentAt > request.requestTimeout) request.timeoutRequest();
      }
      if (!queue.isConnected()) {
        queue.destroy();
        return;
      }
      armTimeoutCheck(queue);
    },
    Math.min(queue.requestTimeout, TIMEOUT_CHECK_MS),
  );
}

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

/**
 * A method's source without what a bundler's printer changes (the agent's bundle, esbuild):
 * whitespace, semicolons, a comma before a closing bracket.
 */
function normalized(text: string): string {
  return text.replace(/[\s;]+/g, "").replace(/,([)}\]])/g, "$1");
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
    prototype: RequestQueueLike;
  };
  const proto = RequestQueue.prototype;
  const source = (name: string) =>
    normalized(
      String((proto as unknown as Record<string, unknown>)[name]).replace(/\/\/[^\n]*/g, ""),
    );
  if (
    version !== "2.2.4" ||
    Object.entries(SHIPPED).some(([m, text]) => source(m) !== normalized(text))
  ) {
    state = "not-needed";
    return state;
  }
  const { sendSocketRequest, fulfillRequest, destroy } = proto;
  proto.scheduleCheckPendingRequests = scheduleCheckPendingRequests;
  proto.scheduleRequestTimeoutCheck = function (this: RequestQueueLike) {
    // On (re)connect: start clean; the next send arms the check.
    if (this.enforceRequestTimeout) this.destroy();
  };
  proto.sendSocketRequest = function (this: RequestQueueLike, request: unknown) {
    sendSocketRequest.call(this, request);
    armTimeoutCheck(this);
  };
  proto.fulfillRequest = function (this: RequestQueueLike, response: unknown) {
    fulfillRequest.call(this, response);
    // The last answer disarms the check: nothing is left to time out.
    if (this.inflight.size === 0 && this.requestTimeoutIntervalId) {
      clearTimeout(this.requestTimeoutIntervalId);
      this.requestTimeoutIntervalId = null;
    }
  };
  proto.destroy = function (this: RequestQueueLike) {
    destroy.call(this);
    this.requestTimeoutIntervalId = null;
  };
  state = "applied";
  return state;
}
