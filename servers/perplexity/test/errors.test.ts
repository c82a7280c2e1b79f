import { afterEach, describe, expect, test } from "bun:test";
import { okResult, toolErrorText } from "@omni/kit/testing";
import { perplexityHarness } from "./harness.ts";

let h: ReturnType<typeof perplexityHarness> | undefined;
afterEach(async () => {
  await h?.stop();
  h = undefined;
});

const ask = { question: "What is MCP?" };

describe("credentials", () => {
  test("no key: an isError result that says where to set it, and no request", async () => {
    h = perplexityHarness();
    for (const tool of ["perplexity_search", "perplexity_ask", "perplexity_research"]) {
      const message = toolErrorText(
        await h.call(tool, tool === "perplexity_search" ? { query: "x" } : { ...ask, topic: "x" }, null),
      );
      expect(message).toContain("No Perplexity API key is configured");
      expect(message).toContain("organization admin");
      expect(message).toContain("PERPLEXITY_API_KEY");
    }
    expect(h.standIn.requests.length).toBe(0);
  });

  test("a key Perplexity rejects (401) is reported as a bad key", async () => {
    h = perplexityHarness();
    const message = toolErrorText(await h.call("perplexity_search", { query: "x" }, "pplx-wrong"));
    expect(message).toContain("Perplexity rejected the API key (HTTP 401: Invalid API key provided)");
    expect(message).toContain("PERPLEXITY_API_KEY");
    expect(h.standIn.requests[0]?.authorization).toBe("Bearer pplx-wrong");
  });

  test("403 says the plan or permissions do not allow it", async () => {
    h = perplexityHarness();
    h.standIn.fail({ status: 403 });
    expect(toolErrorText(await h.call("perplexity_reason", ask))).toContain(
      "Perplexity refused the request (HTTP 403: Your plan does not include this model)",
    );
  });

  test("400 passes Perplexity's explanation on", async () => {
    h = perplexityHarness();
    h.standIn.fail({ status: 400 });
    expect(toolErrorText(await h.call("perplexity_ask", ask))).toContain(
      "Perplexity rejected the request (HTTP 400: Invalid model)",
    );
  });
});

describe("rate limits", () => {
  test("honours Retry-After once, then succeeds", async () => {
    h = perplexityHarness();
    h.standIn.fail({ status: 429, retryAfter: "0" });
    const r = okResult(await h.call("perplexity_search", { query: "x" }));
    expect((r.structuredContent.results as unknown[]).length).toBe(5);
    expect(h.standIn.requests.length).toBe(2);
  });

  test("a second 429 is an error saying when to retry", async () => {
    h = perplexityHarness();
    h.standIn.fail({ status: 429, retryAfter: "0" }, { status: 429, retryAfter: "30" });
    expect(toolErrorText(await h.call("perplexity_ask", ask))).toContain(
      "Perplexity's rate limit was reached (HTTP 429: Rate limit exceeded). Try again after 30 s.",
    );
    expect(h.standIn.requests.length).toBe(2);
  });

  test("a Retry-After beyond the configured maximum is not waited for", async () => {
    h = perplexityHarness({ maxRetryAfterMs: 500 });
    h.standIn.fail({ status: 429, retryAfter: "120" });
    expect(toolErrorText(await h.call("perplexity_summarize", { text: "t" }))).toContain(
      "Try again after 120 s",
    );
    expect(h.standIn.requests.length).toBe(1);
  });
});

describe("upstream failures", () => {
  test("5xx (JSON or HTML) is reported as Perplexity having trouble", async () => {
    h = perplexityHarness();
    h.standIn.fail({ status: 500 });
    expect(toolErrorText(await h.call("perplexity_search", { query: "x" }))).toContain(
      "Perplexity is having trouble (HTTP 500: Internal server error)",
    );
    h.standIn.fail({ status: 503 });
    expect(toolErrorText(await h.call("perplexity_ask", ask))).toContain(
      "Perplexity is having trouble (HTTP 503",
    );
  });

  test("a slow answer times out with a message naming PERPLEXITY_TIMEOUT_MS", async () => {
    h = perplexityHarness({ timeoutMs: 200 });
    h.standIn.fail({ delayMs: 1_500 });
    expect(toolErrorText(await h.call("perplexity_search", { query: "x" }))).toContain(
      "Perplexity did not answer within 200 ms (PERPLEXITY_TIMEOUT_MS)",
    );
  });

  test("a stream that stalls mid-answer times out too (the deadline covers the whole stream)", async () => {
    h = perplexityHarness({ timeoutMs: 300 });
    h.standIn.fail({ stallStreamMs: 2_000 });
    expect(toolErrorText(await h.call("perplexity_ask", ask))).toContain(
      "Perplexity did not answer within 300 ms",
    );
  });

  test("malformed answers: HTML, wrong JSON shape, broken SSE, non-JSON comparison", async () => {
    h = perplexityHarness();
    h.standIn.fail({ malformed: "html" });
    expect(toolErrorText(await h.call("perplexity_search", { query: "x" }))).toContain(
      "Perplexity returned a malformed response",
    );
    h.standIn.fail({ malformed: "wrong-shape" });
    expect(toolErrorText(await h.call("perplexity_summarize", { text: "t" }))).toContain(
      "Perplexity returned a malformed response (model: Invalid key",
    );
    h.standIn.fail({ malformed: "bad-sse" });
    expect(toolErrorText(await h.call("perplexity_ask", ask))).toContain(
      "Perplexity returned a malformed response",
    );
    h.standIn.nextContent.push("I think Bun is better.");
    expect(
      toolErrorText(await h.call("perplexity_compare", { options: ["a", "b"], criteria: ["c"] })),
    ).toContain("malformed comparison (not JSON)");
    h.standIn.nextContent.push(JSON.stringify({ options: [], recommendation: 3 }));
    expect(
      toolErrorText(await h.call("perplexity_compare", { options: ["a", "b"], criteria: ["c"] })),
    ).toContain("malformed comparison (recommendation:");
  });

  test("an unreachable endpoint is reported, not thrown", async () => {
    h = perplexityHarness({ baseURL: "http://127.0.0.1:9" });
    expect(toolErrorText(await h.call("perplexity_search", { query: "x" }))).toContain(
      "Could not reach Perplexity at http://127.0.0.1:9",
    );
  });
});
