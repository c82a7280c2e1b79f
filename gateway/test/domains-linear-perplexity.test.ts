import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { treaty } from "@elysiajs/eden";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { createLinearServer } from "@omni/server-linear";
import { createPerplexityServer } from "@omni/server-perplexity";
import { type LinearStandIn, startLinearStandIn } from "../../servers/linear/test/fixtures/linear-standin.ts";
import { LINEAR_TOOLS } from "../../servers/linear/test/fixtures/tool-names.ts";
import {
  type PerplexityStandIn,
  startPerplexityStandIn,
} from "../../servers/perplexity/test/fixtures/perplexity-standin.ts";
import { PERPLEXITY_TOOLS } from "../../servers/perplexity/test/fixtures/tool-names.ts";
import type { GatewayApp } from "../src/app.ts";
import { type Stack, startStack } from "./fixtures/stack.ts";

/**
 * The real Linear and Perplexity servers behind the real gateway, each pointed at its local API stand-in;
 * the demo org's API keys are set through the gateway's admin API (Eden), and every tool of both servers
 * is called through `/mcp` with the MCP SDK v1 Client.
 */
let stack: Stack;
let linear: LinearStandIn;
let perplexity: PerplexityStandIn;
let client: Client;

beforeAll(async () => {
  linear = startLinearStandIn();
  perplexity = startPerplexityStandIn();
  stack = await startStack({
    servers: [
      createLinearServer({ apiUrl: linear.url, timeoutMs: 5_000, maxRetryAfterMs: 1_000 }),
      createPerplexityServer({
        baseURL: perplexity.url,
        timeoutMs: 5_000,
        maxRetryAfterMs: 1_000,
        pollIntervalMs: 5,
        researchTimeoutMs: 10_000,
      }),
    ],
  });
  client = new Client({ name: "domains-e2e", version: "1.0.0" });
  await client.connect(new StreamableHTTPClientTransport(new URL(`${stack.url}/mcp`)));
}, 180_000);

afterAll(async () => {
  await client?.close();
  await stack?.stop();
  await linear?.stop();
  await perplexity?.stop();
});

const api = () => treaty<GatewayApp>(stack.url).api;

async function call(name: string, args: Record<string, unknown>): Promise<CallToolResult> {
  return (await client.callTool({ name, arguments: args })) as CallToolResult;
}

function textOf(result: CallToolResult): string {
  return result.content.map((c) => (c.type === "text" ? c.text : "")).join("\n");
}

/** A successful result's structured content (fails with the tool's message otherwise). */
function ok(result: CallToolResult): Record<string, unknown> {
  if (result.isError) throw new Error(`expected success, got: ${textOf(result)}`);
  expect(result.structuredContent).toBeDefined();
  return result.structuredContent ?? {};
}

describe("org API keys through the admin API", () => {
  test("without a key the tools fail with a message naming the missing key", async () => {
    const result = await call("linear_get_teams", {});
    expect(result.isError).toBe(true);
    expect(textOf(result).toLowerCase()).toContain("key");
    expect(linear.requests.length).toBe(0);
  });

  test("the keys are set as org secrets (write-only) through Eden", setKeys);
});

/** Sets both org API keys through the admin API (idempotent). */
async function setKeys(): Promise<void> {
  for (const [server, value] of [
    ["linear", linear.apiKey],
    ["perplexity", perplexity.apiKey],
  ] as const) {
    const res = await api().services({ server }).secrets({ name: "apiKey" }).put({ value });
    expect(res.error).toBeNull();
    expect(Object.keys(res.data?.secrets ?? {})).toContain("apiKey");
    expect(JSON.stringify(res.data)).not.toContain(value);
  }
}

describe("every tool through the gateway", () => {
  const called = new Set<string>();
  beforeAll(setKeys);

  test("tools/list has exactly both servers' tools", async () => {
    const { tools } = await client.listTools();
    expect(tools.map((t) => t.name).sort()).toEqual([...LINEAR_TOOLS, ...PERPLEXITY_TOOLS].sort());
  });

  test("linear reads", async () => {
    const teams = ok(await call("linear_get_teams", {}));
    expect((teams.teams as { key: string }[]).map((t) => t.key)).toEqual(["ENG", "DES"]);
    expect(linear.requests.at(-1)?.authorization).toBe(linear.apiKey);
    called.add("linear_get_teams");

    const users = ok(await call("linear_get_users", { query: "bo" }));
    expect((users.users as { name: string }[]).map((u) => u.name).sort()).toEqual(["Bo Chen", "Bob Stone"]);
    called.add("linear_get_users");

    const projects = ok(await call("linear_get_projects", { query: "gateway", team: "ENG" }));
    expect(projects.projects).toMatchObject([{ name: "MCP Gateway", lead: { name: "Ana Lima" } }]);
    called.add("linear_get_projects");

    const cycles = ok(await call("linear_get_cycles", { team: "ENG", active: true }));
    expect((cycles.cycles as { number: number }[]).map((c) => c.number)).toEqual([2]);
    called.add("linear_get_cycles");

    const states = ok(await call("linear_get_workflow_states", { team: "ENG" }));
    expect((states.states as { name: string }[]).map((s) => s.name)).toEqual([
      "Backlog",
      "Todo",
      "In Progress",
      "Done",
      "Canceled",
    ]);
    called.add("linear_get_workflow_states");

    const search = ok(await call("linear_search_issues", { team: "ENG", label: "bug" }));
    expect((search.issues as { identifier: string }[]).map((i) => i.identifier)).toEqual(["ENG-1"]);
    called.add("linear_search_issues");

    const issue = ok(await call("linear_get_issue", { id: "ENG-1" }));
    expect(issue.issue).toMatchObject({ identifier: "ENG-1", title: "Login fails with SSO" });
    expect(textOf(await call("linear_get_issue", { id: "ENG-999" }))).toContain("Entity not found");
    called.add("linear_get_issue");
  });

  test("linear writes reach the stand-in", async () => {
    const created = ok(
      await call("linear_create_issue", {
        team: "ENG",
        title: "Through the gateway",
        assignee: "bo@example.com",
        labels: ["feature"],
      }),
    );
    expect(created.issue).toMatchObject({
      identifier: "ENG-4",
      title: "Through the gateway",
      assignee: { name: "Bo Chen" },
    });
    expect(linear.data.issues.some((i) => i.title === "Through the gateway")).toBe(true);
    called.add("linear_create_issue");

    const updated = ok(await call("linear_update_issue", { id: "ENG-4", state: "Done", priority: 1 }));
    expect(updated.issue).toMatchObject({ state: { name: "Done" }, priority: 1 });
    called.add("linear_update_issue");

    const comment = ok(await call("linear_add_comment", { id: "ENG-4", body: "Sent via Omni." }));
    expect(comment).toMatchObject({ comment: { body: "Sent via Omni." }, issue: { identifier: "ENG-4" } });
    expect(linear.data.comments.map((c) => c.body)).toContain("Sent via Omni.");
    called.add("linear_add_comment");
  });

  test("linear argument errors are tool errors naming the field (so a model can correct itself)", async () => {
    const result = await call("linear_search_issues", { priority: 7 });
    expect(result.isError).toBe(true);
    expect(JSON.stringify(result.content)).toContain("priority");
  });

  test("perplexity search, answers and research", async () => {
    const search = ok(await call("perplexity_search", { query: "bun release", maxResults: 3 }));
    expect((search.results as { rank: number }[]).map((r) => r.rank)).toEqual([1, 2, 3]);
    expect(search.results).toMatchObject([{ title: "Bun 1.4 release notes" }, {}, {}]);
    expect(perplexity.requests.at(-1)?.authorization).toContain(perplexity.apiKey);
    called.add("perplexity_search");

    const ask = ok(await call("perplexity_ask", { question: "What is new in Bun?" }));
    expect(ask.answer).toBe("Answer (sonar) to: What is new in Bun? [1][2][3]");
    expect((ask.citations as string[]).length).toBe(3);
    called.add("perplexity_ask");

    const reason = ok(await call("perplexity_reason", { question: "Why?" }));
    expect(reason.reasoning).toBe("Weighing the sources about Why?.");
    expect(reason.answer).toStartWith("Answer (sonar-reasoning-pro) to:");
    called.add("perplexity_reason");

    const compare = ok(await call("perplexity_compare", { options: ["Bun", "Node"], criteria: ["speed"] }));
    expect(compare.recommendation).toBe("recommendation (stand-in)");
    expect(compare.model).toBe("sonar-pro");
    called.add("perplexity_compare");

    const summary = ok(await call("perplexity_summarize", { text: "A memo about partitions." }));
    expect(summary).toMatchObject({ source: "text", citations: [] });
    expect(perplexity.requests.at(-1)?.body?.disable_search).toBe(true);
    called.add("perplexity_summarize");

    const research = ok(await call("perplexity_research", { topic: "MCP gateways" }));
    expect(research.answer).toBe("Answer (sonar-deep-research) to: MCP gateways [1][2][3]");
    expect(perplexity.jobs.has(String(research.requestId))).toBe(true);
    called.add("perplexity_research");
  });

  test("every tool of both servers passed", () => {
    console.log(
      `linear+perplexity through the gateway: ${called.size}/${LINEAR_TOOLS.length + PERPLEXITY_TOOLS.length} tools pass`,
    );
    expect([...called].sort()).toEqual([...LINEAR_TOOLS, ...PERPLEXITY_TOOLS].sort());
  });
});
