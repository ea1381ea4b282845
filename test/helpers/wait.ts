/**
 * Waiting for a condition, never for a time: `check` is polled every `everyMs` until it gives a
 * value; after `timeoutMs` the wait fails with `what` (and the last error `check` threw).
 */
export async function waitFor<T>(
  what: string,
  check: () => Promise<T | undefined>,
  timeoutMs = 60_000,
  everyMs = 100,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline)
      throw new Error(
        `${what}: not within ${timeoutMs / 1000} s${last ? ` (last error: ${String(last)})` : ""}`,
      );
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}
