import type { Writable } from "node:stream";
import type { HostflowError } from "../../lib/errors.js";
import type { LoggerSinkConfig } from "../config/schema.js";
import type { ComponentContext, Sink } from "../core/types.js";
import { sinkWriteError } from "./io.js";
import { createRecordBuilder, DEFAULT_ROUTING, type Routing, recordLine } from "./record.js";

export interface LoggerSinkDeps {
  /** Where the lines go; stdout, since the agent's own logs go to stderr. */
  out?: Writable;
  /**
   * The topic pattern and key header to show; `--dry-run` passes the kafka sink's, so each line
   * is the record that sink would produce. Default: the kafka sink's defaults.
   */
  routing?: Routing;
}

/**
 * Prints each event as one JSON line (record.ts: topic, key, headers, value). A batch is one
 * write to the stream, and the write resolves once the stream took it and, if its buffer was
 * over the high-water mark, once it drained: a slow reader of stdout slows the runner down
 * instead of the agent buffering without limit.
 */
export function createLoggerSink(
  name: string,
  _options: LoggerSinkConfig,
  ctx: ComponentContext,
  deps: LoggerSinkDeps = {},
): Sink {
  const out = deps.out ?? process.stdout;
  const build = createRecordBuilder(name, deps.routing ?? DEFAULT_ROUTING, ctx);
  let lastError: HostflowError | undefined;
  // A stream's 'error' event with no listener kills the process (stdout closed by `| head`):
  // while started, it is a failed write instead, reported by the write it belongs to.
  const onStreamError = (error: unknown) => {
    ctx.logger.debug({ sink: name, err: error }, "logger sink: stdout error");
  };

  return {
    name,
    type: "logger",
    async start() {
      out.on("error", onStreamError);
    },
    async stop() {
      out.off("error", onStreamError);
    },
    health: () => (lastError ? { ok: false, detail: lastError.message } : { ok: true }),
    async write(events, channel) {
      if (events.length === 0) return;
      const text = build(events, channel).map(recordLine).join("");
      try {
        await writeAll(out, text);
      } catch (cause) {
        lastError = sinkWriteError(cause, "cannot write to stdout", { sink: name });
        ctx.metrics.sinkErrors.inc({ sink: name, code: lastError.code });
        throw lastError;
      }
      lastError = undefined;
      ctx.metrics.count(name, "sink", "written", events.length);
    },
  };
}

function writeAll(out: Writable, text: string): Promise<void> {
  return new Promise((resolve, reject) => {
    let flushed = false;
    let drained = true;
    const settle = () => {
      if (flushed && drained) {
        out.off("error", reject);
        resolve();
      }
    };
    // A stream that fails without calling the write callback (a destroyed pipe) still rejects.
    out.once("error", reject);
    drained = out.write(text, (error) => {
      if (error) {
        out.off("error", reject);
        out.off("drain", onDrain);
        reject(error);
        return;
      }
      flushed = true;
      settle();
    });
    function onDrain() {
      drained = true;
      settle();
    }
    if (!drained) out.once("drain", onDrain);
  });
}
