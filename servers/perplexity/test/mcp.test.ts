import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { type ConnectedServer, serveWithClient } from "@omni/kit/testing";
import { createPerplexityServer } from "../src/server.ts";
import { type PerplexityStandIn, startPerplexityStandIn } from "./fixtures/perplexity-standin.ts";
import { PERPLEXITY_TOOLS } from "./fixtures/tool-names.ts";

let standIn: PerplexityStandIn;
let mcp: ConnectedServer;
let client: ConnectedServer["client"];

beforeAll(async () => {
  standIn = startPerplexityStandIn();
  mcp = await serveWithClient(
    createPerplexityServer({ baseURL: standIn.url, standaloneApiKey: standIn.apiKey, pollIntervalMs: 5 }),
    "perplexity-test",
  );
  client = mcp.client;
});

afterAll(async () => {
  await mcp.close();
  await standIn.stop();
});

describe("standalone /mcp with the MCP SDK client", () => {
  test("lists the tools with annotations and output schemas", async () => {
    const { tools } = await client.listTools();
    expect(tools.map((t) => t.name).sort()).toEqual(PERPLEXITY_TOOLS);
    for (const tool of tools) {
      expect(tool.annotations?.readOnlyHint).toBe(true);
      expect(tool.outputSchema?.type).toBe("object");
    }
  });

  test("perplexity_ask answers with citations", async () => {
    const result = await client.callTool({ name: "perplexity_ask", arguments: { question: "What is MCP?" } });
    expect(result.isError).toBeFalsy();
    expect((result.structuredContent as { citations: string[] }).citations.length).toBe(3);
  });

  test("perplexity_research reports progress to a client that asked for it", async () => {
    const progress: string[] = [];
    const result = await client.callTool(
      { name: "perplexity_research", arguments: { topic: "MCP" } },
      undefined,
      {
        onprogress: (p) => {
          progress.push(p.message ?? "");
        },
      },
    );
    expect(result.isError).toBeFalsy();
    expect((result.structuredContent as { answer: string }).answer).toContain("sonar-deep-research");
    expect(progress[0]).toMatch(/^Research request .+ submitted$/);
    expect(progress.at(-1)).toMatch(/^Research completed/);

    // The request can be read back as a resource, e.g. after a cancelled call.
    const requestId = (result.structuredContent as { requestId: string }).requestId;
    const read = await client.readResource({ uri: `perplexity://research/${requestId}` });
    const first = read.contents[0];
    const report = JSON.parse(first && "text" in first ? first.text : "{}");
    expect(report).toMatchObject({
      requestId,
      status: "COMPLETED",
      reasoning: "Weighing the sources about MCP.",
    });
    expect(report.citations.length).toBe(3);
  });

  test("reading an unknown research request is an error, not a crash", async () => {
    await expect(client.readResource({ uri: "perplexity://research/nope" })).rejects.toThrow("HTTP 404");
  });
});
