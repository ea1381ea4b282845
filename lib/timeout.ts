import { HostflowError } from "./errors.js";

/**
 * Settles with `work`, or rejects with HF_TIMEOUT after `ms`. `onTimeout` runs when the time is
 * up, so the caller can tear down what would otherwise hang (a socket, a server-side operation).
 */
export async function withTimeout<T>(
  work: Promise<T>,
  ms: number,
  what: string,
  onTimeout?: () => void,
): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      onTimeout?.();
      reject(
        new HostflowError("HF_TIMEOUT", `${what} did not finish within ${ms} ms`, {
          retriable: true,
        }),
      );
    }, ms);
  });
  try {
    return await Promise.race([work, expired]);
  } finally {
    clearTimeout(timer);
  }
}

export const sleep = (ms: number): Promise<void> =>
  new Promise((resolve) => setTimeout(resolve, ms));
