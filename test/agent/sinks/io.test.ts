import test from "ava";
import { sinkWriteError } from "../../../agent/sinks/io.js";
import { HostflowError } from "../../../lib/errors.js";

const errno = (code: string) => Object.assign(new Error(`${code}: boom`), { code });

test("a full or failing disk is retriable; a setup problem is not", (t) => {
  for (const code of ["ENOSPC", "EIO", "EDQUOT", "EMFILE", "EAGAIN"]) {
    const error = sinkWriteError(errno(code), "cannot append", { dir: "/x" });
    t.is(error.code, "HF_SINK_WRITE");
    t.true(error.retriable, code);
    t.deepEqual(error.context, { dir: "/x", errno: code });
  }
  for (const code of ["EACCES", "EPERM", "EROFS", "ENOTDIR", "EISDIR", "EPIPE"]) {
    t.false(sinkWriteError(errno(code), "cannot append").retriable, code);
  }
  t.regex(
    sinkWriteError(errno("ENOSPC"), "cannot append to a file in /x").message,
    /^cannot append to a file in \/x: ENOSPC/,
  );
});

test("a HostflowError passes through", (t) => {
  const error = new HostflowError("HF_SINK_WRITE", "x");
  t.is(sinkWriteError(error, "y"), error);
});
