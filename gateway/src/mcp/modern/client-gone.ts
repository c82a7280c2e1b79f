/**
 * Cancels a stateless call when its client goes away before the answer (the 2026-07-28 revision: closing
 * the request's stream is how a client cancels). Bun reports that on `request.signal`, but reading the
 * signal and listening on it costs about 3 µs of a call that is mostly answered within a millisecond.
 * So a request is only listened to once it has been running for one sweep of `periodMs`: a call that
 * ends before that was never worth cancelling, and a client gone earlier is found then
 * (`request.signal.aborted` stays true), so a cancellation is noticed at most two periods late.
 */
export class ClientGoneWatch {
  /** Requests in flight, not yet listened to: `true` once a sweep has seen them. */
  private readonly waiting = new Map<Request, Watched>();
  private timer: ReturnType<typeof setInterval> | undefined;

  constructor(private readonly periodMs = 50) {}

  /** Calls `onGone` once if the client of `request` goes away; the returned function stops watching. */
  watch(request: Request, onGone: () => void): () => void {
    const watched: Watched = { request, onGone, seen: false, listening: false };
    this.waiting.set(request, watched);
    if (this.timer === undefined) {
      this.timer = setInterval(() => this.sweep(), this.periodMs);
      this.timer.unref?.();
    }
    return () => {
      if (watched.listening) request.signal.removeEventListener("abort", onGone);
      else this.waiting.delete(request);
    };
  }

  /** How many requests are waiting for their first listener (for tests). */
  get size(): number {
    return this.waiting.size;
  }

  close(): void {
    clearInterval(this.timer);
    this.timer = undefined;
    this.waiting.clear();
  }

  private sweep(): void {
    for (const watched of this.waiting.values()) {
      if (!watched.seen) {
        watched.seen = true;
        continue;
      }
      this.waiting.delete(watched.request);
      const signal = watched.request.signal;
      if (signal.aborted) {
        watched.onGone();
        continue;
      }
      watched.listening = true;
      signal.addEventListener("abort", watched.onGone, { once: true });
    }
    if (this.waiting.size === 0) {
      clearInterval(this.timer);
      this.timer = undefined;
    }
  }
}

interface Watched {
  readonly request: Request;
  readonly onGone: () => void;
  seen: boolean;
  listening: boolean;
}
