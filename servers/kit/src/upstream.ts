/** Deadlines, cancellation and Retry-After handling for domain servers calling a SaaS API. */

/** A signal that fires when the caller cancels or the per-call timeout passes; tells the two apart. */
export interface Deadline {
  readonly signal: AbortSignal;
  timedOut(): boolean;
  cancelled(): boolean;
}

export function deadline(parent: AbortSignal, timeoutMs: number): Deadline {
  const timeout = AbortSignal.timeout(timeoutMs);
  const signal = AbortSignal.any([parent, timeout]);
  return {
    signal,
    timedOut: () => timeout.aborted && !parent.aborted,
    cancelled: () => parent.aborted,
  };
}

/** Waits `ms`, or rejects as soon as `signal` aborts. */
export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) {
      reject(signal.reason);
      return;
    }
    const timer = setTimeout(() => {
      signal.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    signal.addEventListener("abort", onAbort, { once: true });
  });
}

/** `Retry-After` as milliseconds: delta-seconds or an HTTP date; undefined when absent or unreadable. */
export function retryAfterMs(
  value: string | number | null | undefined,
  now = Date.now(),
): number | undefined {
  if (value === null || value === undefined || value === "") return undefined;
  if (typeof value === "number") return Number.isFinite(value) && value >= 0 ? value * 1000 : undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return seconds >= 0 ? seconds * 1000 : undefined;
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

export interface UpstreamCallOptions {
  /** The tool call's signal (caller cancellation). */
  signal: AbortSignal;
  /** Per-attempt timeout. */
  timeoutMs: number;
  /** Longest wait before the single retry; a longer one fails the call instead. */
  maxRetryAfterMs: number;
  /** How long to wait before retrying after `error`; undefined when it must not be retried. */
  retryAfter?: (error: unknown) => number | undefined;
  /** Maps a failure of the last attempt to the error thrown to the caller. */
  failure: (error: unknown, deadline: Deadline) => Error;
}

/**
 * Runs `attempt` under a fresh deadline. A failure the caller did not cancel, whose `retryAfter` wait is
 * at most `maxRetryAfterMs`, is retried once after that wait (cut short by cancellation); any other
 * failure is thrown as `failure(error, deadline)`.
 */
export async function callUpstream<T>(
  options: UpstreamCallOptions,
  attempt: (deadline: Deadline) => Promise<T>,
): Promise<T> {
  let retried = false;
  for (;;) {
    const d = deadline(options.signal, options.timeoutMs);
    try {
      return await attempt(d);
    } catch (error) {
      if (!retried && !d.cancelled()) {
        const wait = options.retryAfter?.(error);
        if (wait !== undefined && wait <= options.maxRetryAfterMs) {
          retried = true;
          await sleep(wait, options.signal).catch(() => undefined);
          if (!options.signal.aborted) continue;
        }
      }
      throw options.failure(error, d);
    }
  }
}
