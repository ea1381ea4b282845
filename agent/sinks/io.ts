import { HostflowError } from "../../lib/errors.js";

/**
 * Errors of the local sinks' output (stdout, files). These need an operator to change the setup
 * (permissions, a read-only file system, a path that is not a folder, a closed stdout), so a retry
 * of the same batch would fail the same way; anything else (ENOSPC, EIO, EMFILE, EAGAIN …) may
 * pass once the disk has room or the device recovers.
 */
const PERMANENT = new Set([
  "EACCES",
  "EPERM",
  "EROFS",
  "ENOTDIR",
  "EISDIR",
  "ENAMETOOLONG",
  "ELOOP",
  "EPIPE",
  "EEXIST",
  "ERR_STREAM_DESTROYED",
  "ERR_STREAM_WRITE_AFTER_END",
]);

export function sinkWriteError(
  cause: unknown,
  what: string,
  context: Record<string, unknown> = {},
): HostflowError {
  if (cause instanceof HostflowError) return cause;
  const code = (cause as NodeJS.ErrnoException | undefined)?.code;
  const reason = cause instanceof Error ? cause.message : String(cause);
  return new HostflowError("HF_SINK_WRITE", `${what}: ${reason}`, {
    cause,
    retriable: code === undefined || !PERMANENT.has(code),
    context: { ...context, ...(code === undefined ? {} : { errno: code }) },
  });
}
