import { describe, expect, test } from "bun:test";
import { callUpstream, type Deadline, deadline, retryAfterMs, sleep } from "./upstream.ts";

describe("deadline", () => {
  test("tells a timeout from a cancellation", async () => {
    const parent = new AbortController();
    const timedOut = deadline(parent.signal, 5);
    await new Promise((resolve) => timedOut.signal.addEventListener("abort", resolve, { once: true }));
    expect(timedOut.timedOut()).toBe(true);
    expect(timedOut.cancelled()).toBe(false);

    const cancelled = deadline(parent.signal, 60_000);
    expect(cancelled.signal.aborted).toBe(false);
    parent.abort(new Error("stop"));
    expect(cancelled.signal.aborted).toBe(true);
    expect(cancelled.cancelled()).toBe(true);
    expect(cancelled.timedOut()).toBe(false);
  });
});

describe("sleep", () => {
  test("resolves after the wait", async () => {
    await expect(sleep(1, new AbortController().signal)).resolves.toBeUndefined();
  });

  test("rejects with the abort reason when aborted during the wait", async () => {
    const controller = new AbortController();
    const waiting = sleep(60_000, controller.signal);
    const reason = new Error("cancelled");
    controller.abort(reason);
    await expect(waiting).rejects.toBe(reason);
  });

  test("rejects at once when already aborted", async () => {
    const reason = new Error("already");
    await expect(sleep(60_000, AbortSignal.abort(reason))).rejects.toBe(reason);
  });
});

describe("retryAfterMs", () => {
  const now = Date.parse("2026-01-01T00:00:00Z");

  test("reads delta-seconds as a number or a string", () => {
    expect(retryAfterMs(3)).toBe(3000);
    expect(retryAfterMs("2")).toBe(2000);
    expect(retryAfterMs("0.5")).toBe(500);
    expect(retryAfterMs(0)).toBe(0);
  });

  test("reads an HTTP date relative to now, never negative", () => {
    expect(retryAfterMs("Thu, 01 Jan 2026 00:00:07 GMT", now)).toBe(7000);
    expect(retryAfterMs("Wed, 31 Dec 2025 23:59:00 GMT", now)).toBe(0);
  });

  test("is undefined when absent, negative or unreadable", () => {
    expect(retryAfterMs(null)).toBeUndefined();
    expect(retryAfterMs(undefined)).toBeUndefined();
    expect(retryAfterMs("")).toBeUndefined();
    expect(retryAfterMs(-1)).toBeUndefined();
    expect(retryAfterMs("-5")).toBeUndefined();
    expect(retryAfterMs(Number.NaN)).toBeUndefined();
    expect(retryAfterMs("soon")).toBeUndefined();
  });
});

describe("callUpstream", () => {
  class Mapped extends Error {
    constructor(
      readonly original: unknown,
      readonly deadline: Deadline,
    ) {
      super("mapped");
    }
  }
  const base = (signal: AbortSignal) => ({
    signal,
    timeoutMs: 60_000,
    maxRetryAfterMs: 50,
    failure: (error: unknown, d: Deadline) => new Mapped(error, d),
  });

  test("returns the attempt's value", async () => {
    await expect(callUpstream(base(new AbortController().signal), async () => 42)).resolves.toBe(42);
  });

  test("retries once after a short enough wait, then maps the second failure", async () => {
    const errors = [new Error("first"), new Error("second")];
    let attempts = 0;
    const call = callUpstream({ ...base(new AbortController().signal), retryAfter: () => 1 }, async () => {
      throw errors[attempts++];
    });
    const thrown = await call.catch((error: unknown) => error);
    expect(attempts).toBe(2);
    expect(thrown).toBeInstanceOf(Mapped);
    expect((thrown as Mapped).original).toBe(errors[1]);
  });

  test("succeeds on the retry", async () => {
    let attempts = 0;
    const value = await callUpstream(
      { ...base(new AbortController().signal), retryAfter: () => 0 },
      async () => {
        attempts++;
        if (attempts === 1) throw new Error("rate limited");
        return "ok";
      },
    );
    expect(value).toBe("ok");
    expect(attempts).toBe(2);
  });

  test("does not retry without a wait, or when the wait is too long", async () => {
    for (const retryAfter of [undefined, () => undefined, () => 51]) {
      let attempts = 0;
      const options = retryAfter
        ? { ...base(new AbortController().signal), retryAfter }
        : base(new AbortController().signal);
      const thrown = await callUpstream(options, async () => {
        attempts++;
        throw new Error("no");
      }).catch((error: unknown) => error);
      expect(attempts).toBe(1);
      expect(thrown).toBeInstanceOf(Mapped);
    }
  });

  test("each attempt gets a fresh deadline that reports a timeout", async () => {
    const seen: Deadline[] = [];
    const thrown = await callUpstream(
      { ...base(new AbortController().signal), timeoutMs: 5, retryAfter: () => 0 },
      (d) => {
        seen.push(d);
        return new Promise((_, reject) => d.signal.addEventListener("abort", () => reject(d.signal.reason)));
      },
    ).catch((error: unknown) => error);
    expect(seen.length).toBe(2);
    expect(seen[0]).not.toBe(seen[1]);
    expect((thrown as Mapped).deadline).toBe(seen[1] as Deadline);
    expect((thrown as Mapped).deadline.timedOut()).toBe(true);
  });

  test("a cancelled call is not retried", async () => {
    const controller = new AbortController();
    let attempts = 0;
    const thrown = await callUpstream({ ...base(controller.signal), retryAfter: () => 0 }, async () => {
      attempts++;
      controller.abort(new Error("cancel"));
      throw new Error("aborted");
    }).catch((error: unknown) => error);
    expect(attempts).toBe(1);
    expect((thrown as Mapped).deadline.cancelled()).toBe(true);
  });

  test("cancellation during the wait ends the call without a retry", async () => {
    const controller = new AbortController();
    let attempts = 0;
    const thrown = await callUpstream(
      { ...base(controller.signal), maxRetryAfterMs: 60_000, retryAfter: () => 60_000 },
      async () => {
        attempts++;
        queueMicrotask(() => controller.abort(new Error("cancel")));
        throw new Error("rate limited");
      },
    ).catch((error: unknown) => error);
    expect(attempts).toBe(1);
    expect((thrown as Mapped).original).toEqual(new Error("rate limited"));
  });
});
