import { afterEach, describe, expect, test } from "bun:test";
import type { ToolDefinition } from "@omni/kit";
import { okResult, testScope, testToolContext, toolErrorText } from "@omni/kit/testing";
import { createLinearServer } from "../src/server.ts";
import { startLinearStandIn } from "./fixtures/linear-standin.ts";
import { linearHarness } from "./harness.ts";

let h: ReturnType<typeof linearHarness> | undefined;
afterEach(async () => {
  await h?.stop();
  h = undefined;
});

const ops = (harness: ReturnType<typeof linearHarness>) =>
  harness.standIn.requests.map((r) => r.operationName);

describe("credentials", () => {
  test("no key: an isError result that says where to set it, and no request to Linear", async () => {
    h = linearHarness();
    const message = toolErrorText(await h.call("linear_get_teams", {}, null));
    expect(message).toContain("No Linear API key is configured");
    expect(message).toContain("organization admin");
    expect(message).toContain("LINEAR_API_KEY");
    expect(h.standIn.requests.length).toBe(0);
  });

  test("a key Linear rejects (401) is reported as a bad key", async () => {
    h = linearHarness();
    const message = toolErrorText(await h.call("linear_get_teams", {}, "lin_api_wrong"));
    expect(message).toContain("Linear rejected the API key (HTTP 401");
    expect(message).toContain("LINEAR_API_KEY");
    expect(h.standIn.requests[0]?.authorization).toBe("lin_api_wrong");
  });

  test("403 says the key lacks permission", async () => {
    h = linearHarness();
    h.standIn.fail({ status: 403 });
    expect(toolErrorText(await h.call("linear_get_issue", { id: "ENG-1" }))).toContain(
      "Linear refused the request (HTTP 403",
    );
  });
});

describe("rate limits", () => {
  test("a read honours Retry-After once and then succeeds", async () => {
    h = linearHarness();
    h.standIn.fail({ status: 429, retryAfter: "0" });
    const r = okResult(await h.call("linear_get_teams", {}));
    expect((r.structuredContent.teams as unknown[]).length).toBe(2);
    expect(ops(h)).toEqual(["omniTeams", "omniTeams"]);
  });

  test("a second 429 on the retry is an error", async () => {
    h = linearHarness();
    h.standIn.fail({ status: 429, retryAfter: "0" }, { status: 429, retryAfter: "7" });
    expect(toolErrorText(await h.call("linear_search_issues", { team: "ENG" }))).toContain(
      "Linear's rate limit was reached (HTTP 429). Try again after 7 s.",
    );
    expect(h.standIn.requests.length).toBe(2);
  });

  test("a Retry-After longer than the configured maximum is not waited for", async () => {
    h = linearHarness({ maxRetryAfterMs: 1_000 });
    h.standIn.fail({ status: 429, retryAfter: "3600" });
    expect(toolErrorText(await h.call("linear_get_users", {}))).toContain("after 3600 s");
    expect(h.standIn.requests.length).toBe(1);
  });

  test("Linear's 400 RATELIMITED answer waits until X-RateLimit-Requests-Reset, once", async () => {
    h = linearHarness();
    h.standIn.fail({ rateLimited400: true, resetInMs: 0 });
    okResult(await h.call("linear_get_teams", {}));
    expect(h.standIn.requests.length).toBe(2);
    h.standIn.fail({ rateLimited400: true, resetInMs: 0 }, { rateLimited400: true, resetInMs: 3_600_000 });
    expect(toolErrorText(await h.call("linear_get_teams", {}))).toContain(
      "Linear's rate limit was reached (HTTP 400)",
    );
    expect(h.standIn.requests.length).toBe(4);
  });

  test("writes are never retried", async () => {
    h = linearHarness();
    // Faults answer requests in order: the issue lookup passes (no delay), the mutation gets the 429.
    h.standIn.fail({ delayMs: 0 }, { status: 429, retryAfter: "0" });
    expect(toolErrorText(await h.call("linear_add_comment", { id: "ENG-1", body: "hello" }))).toContain(
      "HTTP 429",
    );
    expect(ops(h)).toEqual(["omniIssueRef", "createComment"]);
    expect(h.standIn.data.comments.length).toBe(1);
  });
});

describe("upstream failures", () => {
  test("500 and 502 are reported as Linear having trouble", async () => {
    h = linearHarness();
    h.standIn.fail({ status: 500 });
    expect(toolErrorText(await h.call("linear_get_teams", {}))).toContain(
      "Linear is having trouble (HTTP 500",
    );
    h.standIn.fail({ status: 502 });
    expect(toolErrorText(await h.call("linear_get_projects", {}))).toContain(
      "Linear is having trouble (HTTP 502",
    );
  });

  test("a slow answer ends with a timeout error naming LINEAR_TIMEOUT_MS", async () => {
    h = linearHarness({ timeoutMs: 200 });
    h.standIn.fail({ delayMs: 1_500 });
    expect(toolErrorText(await h.call("linear_get_cycles", {}))).toContain(
      "Linear did not answer within 200 ms (LINEAR_TIMEOUT_MS)",
    );
  });

  test("a non-JSON body and a wrong-shaped result are malformed responses", async () => {
    h = linearHarness();
    h.standIn.fail({ malformed: "html" });
    expect(toolErrorText(await h.call("linear_get_teams", {}))).toContain(
      "Linear returned a malformed response (HTTP 200",
    );
    h.standIn.fail({ malformed: "wrong-shape" });
    expect(toolErrorText(await h.call("linear_get_workflow_states", {}))).toContain(
      "Linear returned a malformed response (workflowStates:",
    );
  });

  test("an unreachable endpoint is reported, not thrown", async () => {
    h = linearHarness({ apiUrl: "http://127.0.0.1:9/graphql" });
    expect(toolErrorText(await h.call("linear_get_teams", {}))).toContain(
      "Could not reach Linear at http://127.0.0.1:9/graphql",
    );
  });
});

describe("cancellation", () => {
  test("aborting ctx.signal ends a slow call with a cancellation error, without waiting for Linear", async () => {
    const standIn = startLinearStandIn();
    try {
      const def = createLinearServer({ apiUrl: standIn.url, timeoutMs: 60_000 });
      const tool = def.tools.find((t) => t.name === "linear_get_teams") as ToolDefinition;
      const controller = new AbortController();
      standIn.fail({ delayMs: 30_000 });
      const ctx = testToolContext(testScope({ apiKey: standIn.apiKey }, "s"), controller.signal);
      const run = Promise.resolve(tool.handler({ limit: 10 }, ctx));
      // Abort once the request has reached the stand-in.
      while (standIn.requests.length === 0) await Bun.sleep(5);
      controller.abort();
      await expect(run).rejects.toThrow("The call was cancelled before Linear answered.");
    } finally {
      await standIn.stop();
    }
  });
});
