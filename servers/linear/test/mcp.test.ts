import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { type ConnectedServer, serveWithClient } from "@omni/kit/testing";
import { createLinearServer } from "../src/server.ts";
import { type LinearStandIn, startLinearStandIn } from "./fixtures/linear-standin.ts";

let standIn: LinearStandIn;
let mcp: ConnectedServer;
let client: ConnectedServer["client"];

beforeAll(async () => {
  standIn = startLinearStandIn();
  // Standalone: the key comes from the server's own config (LINEAR_API_KEY), not from a gateway.
  mcp = await serveWithClient(
    createLinearServer({ apiUrl: standIn.url, standaloneApiKey: standIn.apiKey }),
    "linear-test",
  );
  client = mcp.client;
});

afterAll(async () => {
  await mcp.close();
  await standIn.stop();
});

describe("standalone /mcp with the MCP SDK client", () => {
  test("lists tools with annotations and output schemas", async () => {
    const { tools } = await client.listTools();
    expect(tools.length).toBe(10);
    const update = tools.find((t) => t.name === "linear_update_issue");
    expect(update?.annotations).toMatchObject({
      readOnlyHint: false,
      destructiveHint: true,
      idempotentHint: true,
    });
    expect(update?.outputSchema?.properties).toHaveProperty("issue");
    expect(update?.inputSchema.required).toEqual(["id"]);
  });

  test("calls a tool with the standalone key and gets structured content", async () => {
    const result = await client.callTool({
      name: "linear_search_issues",
      arguments: { team: "ENG", state: "started" },
    });
    expect(result.isError).toBeFalsy();
    expect(result.structuredContent).toMatchObject({ issues: [{ identifier: "ENG-1" }] });
    expect(standIn.requests.at(-1)?.authorization).toBe(standIn.apiKey);
  });

  test("reads the dynamic resources", async () => {
    const { resourceTemplates } = await client.listResourceTemplates();
    expect(resourceTemplates.map((t) => t.uriTemplate)).toContain("linear://issues/{identifier}");
    const read = await client.readResource({ uri: "linear://issues/ENG-2" });
    const first = read.contents[0];
    expect(first && "text" in first ? JSON.parse(first.text).title : "").toBe("Add rate limiting");
  });

  test("an unknown linear:// issue is the MCP resource-not-found error -32002", async () => {
    const error = await client.readResource({ uri: "linear://issues/ENG-999" }).catch((e: unknown) => e);
    expect((error as { code?: number }).code).toBe(-32002);
    expect(String(error)).toContain("linear://issues/ENG-999");
  });
});
