import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import type { ToolDefinition } from "@omni/kit";
import { okResult, resultText, testScope, testToolContext, toolErrorText } from "@omni/kit/testing";
import { createPerplexityServer, perplexityOptionsFromEnv } from "../src/server.ts";
import { startPerplexityStandIn } from "./fixtures/perplexity-standin.ts";
import { perplexityHarness } from "./harness.ts";

let h: ReturnType<typeof perplexityHarness>;
beforeEach(() => {
  h = perplexityHarness();
});
afterEach(() => h.stop());

describe("perplexity_research", () => {
  test("submits an async request, polls it with progress, and returns the cited report", async () => {
    h.standIn.researchPolls = 3;
    const progress: string[] = [];
    const r = okResult(
      await h.call(
        "perplexity_research",
        { topic: "MCP gateways", reasoningEffort: "high" },
        undefined,
        progress,
      ),
    );
    const sc = r.structuredContent as {
      answer: string;
      reasoning: string;
      requestId: string;
      citations: string[];
    };
    expect(sc.answer).toBe("Answer (sonar-deep-research) to: MCP gateways [1][2][3]");
    expect(sc.reasoning).toBe("Weighing the sources about MCP gateways.");
    expect(sc.citations.length).toBe(3);
    expect(resultText(r)).toContain("Sources:\n[1] Bun 1.4 release notes");

    const job = h.standIn.jobs.get(sc.requestId);
    expect(job?.body).toMatchObject({ model: "sonar-deep-research", reasoning_effort: "high" });
    expect(job?.idempotencyKey).toBeString();
    const calls = h.standIn.requests.map((q) => `${q.method} ${q.path}`);
    expect(calls[0]).toBe("POST /async/chat/completions");
    expect(calls.slice(1)).toEqual(Array(4).fill(`GET /async/chat/completions/${sc.requestId}`));
    expect(progress[0]).toBe(`Research request ${sc.requestId} submitted`);
    expect(progress.slice(1, 4).every((m) => m.startsWith("Research in progress"))).toBe(true);
    expect(progress.at(-1)).toStartWith("Research completed");
  });

  test("a failed request is an error with Perplexity's reason", async () => {
    h.standIn.researchOutcome = "fail";
    expect(toolErrorText(await h.call("perplexity_research", { topic: "x" }))).toMatch(
      /research request .+ failed: Research budget exceeded/,
    );
  });

  test("a poll that hits 429 is retried once; the submission is idempotent", async () => {
    h.standIn.fail({ delayMs: 0 }, { status: 429, retryAfter: "0" });
    const r = okResult(await h.call("perplexity_research", { topic: "x" }));
    expect(r.structuredContent.requestId).toBeString();
    expect(h.standIn.jobs.size).toBe(1);
  });

  test("gives up after PERPLEXITY_RESEARCH_TIMEOUT_MS, naming the request", async () => {
    const slow = perplexityHarness({ researchTimeoutMs: 50, pollIntervalMs: 10 });
    slow.standIn.researchPolls = 1_000_000;
    try {
      expect(toolErrorText(await slow.call("perplexity_research", { topic: "x" }))).toMatch(
        /research request .+ is still in_progress after \d+ s \(PERPLEXITY_RESEARCH_TIMEOUT_MS\)/,
      );
    } finally {
      await slow.stop();
    }
  });
});

describe("cancellation", () => {
  test("aborting ctx.signal stops polling and says the request may still complete", async () => {
    const standIn = startPerplexityStandIn();
    standIn.researchPolls = 1_000_000;
    try {
      const def = createPerplexityServer({
        baseURL: standIn.url,
        pollIntervalMs: 5,
        researchTimeoutMs: 60_000,
      });
      const tool = def.tools.find((t) => t.name === "perplexity_research") as ToolDefinition;
      const controller = new AbortController();
      let polls = 0;
      const ctx = testToolContext(testScope({ apiKey: standIn.apiKey }, "s"), controller.signal, {
        async progress() {
          // Cancel once the request is being polled.
          if (++polls === 3) controller.abort();
        },
      });
      const run = Promise.resolve(tool.handler({ topic: "x", reasoningEffort: "low" }, ctx));
      await expect(run).rejects.toThrow(/cancelled.*cannot be stopped/);
      const gets = standIn.requests.filter((r) => r.method === "GET").length;
      expect(gets).toBe(2);
    } finally {
      await standIn.stop();
    }
  });
});

describe("configuration", () => {
  test("env: base URL, timeouts, polling and the standalone key", () => {
    const options = perplexityOptionsFromEnv({
      PERPLEXITY_BASE_URL: "http://127.0.0.1:1",
      PERPLEXITY_TIMEOUT_MS: "1000",
      PERPLEXITY_MAX_RETRY_AFTER_MS: "2000",
      PERPLEXITY_POLL_INTERVAL_MS: "3000",
      PERPLEXITY_RESEARCH_TIMEOUT_MS: "4000",
      PERPLEXITY_API_KEY: "pplx-env",
    });
    expect(options).toEqual({
      baseURL: "http://127.0.0.1:1",
      timeoutMs: 1000,
      maxRetryAfterMs: 2000,
      pollIntervalMs: 3000,
      researchTimeoutMs: 4000,
      standaloneApiKey: "pplx-env",
    });
    expect(() => perplexityOptionsFromEnv({ PERPLEXITY_POLL_INTERVAL_MS: "-1" })).toThrow(
      "PERPLEXITY_POLL_INTERVAL_MS",
    );
    expect(createPerplexityServer(options).standaloneConfig?.()).toEqual({
      settings: {},
      credentials: { apiKey: "pplx-env" },
    });
  });

  test("health reports the configured endpoint", async () => {
    expect(await h.client.health()).toMatchObject({
      status: "ok",
      server: "perplexity",
      details: { baseURL: h.standIn.url },
    });
  });
});
