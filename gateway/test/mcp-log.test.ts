import { afterAll, beforeAll, expect, test } from "bun:test";
import { Client, StreamableHTTPClientTransport } from "@modelcontextprotocol/client";
import { createTestDatabase, DEMO_ORG_ID } from "@omni/db";
import type { RunningServer } from "@omni/kit";
import { createLogger } from "../src/security/log.ts";
import { modernServer } from "./fixtures/modern-server.ts";
import {
  enableForDemoOrg,
  modernToolCall,
  type Replica,
  serveQuietly,
  startReplica,
} from "./fixtures/replicas.ts";

/**
 * The structured `mcp request` line: one per MCP request of either era, with the request id, session
 * id (2025), org id, method, tool, server, era, duration and outcome, as JSON; never the arguments.
 */

const lines: Record<string, unknown>[] = [];
let database: NonNullable<Awaited<ReturnType<typeof createTestDatabase>>>;
let domain: RunningServer;
let gateway: Replica;

beforeAll(async () => {
  const created =
    (await createTestDatabase("postgres", { seed: true })) ??
    (await createTestDatabase("pglite", { seed: true }));
  if (!created) throw new Error("no test database available");
  database = created;
  domain = serveQuietly(modernServer, { mcp: false });
  await enableForDemoOrg(database.db, modernServer.name);
  const logger = createLogger({
    level: "info",
    format: "json",
    sink: (line) => lines.push(JSON.parse(line)),
  });
  gateway = await startReplica({
    db: database.db,
    instances: [{ server: modernServer.name, url: domain.url }],
    logger,
  });
  for (let i = 0; i < 100 && !gateway.registry.ready(); i++) await Bun.sleep(20);
});

afterAll(async () => {
  await gateway?.stop();
  await domain?.stop();
  await database?.close();
});

const mcpLines = () => lines.filter((l) => l.msg === "mcp request");

test("each MCP request of a 2025 session is one line with its ids, method, tool, server, duration and outcome", async () => {
  const client = new Client({ name: "log-test", version: "1.0.0" });
  const transport = new StreamableHTTPClientTransport(new URL(`${gateway.url}/mcp`));
  await client.connect(transport);
  try {
    await client.callTool({ name: "modern_echo", arguments: { text: "secret-argument" } });
    await expect(client.callTool({ name: "nope_tool", arguments: {} })).rejects.toThrow();
  } finally {
    await client.close();
  }
  const ok = mcpLines().find((l) => l.method === "tools/call" && l.tool === "modern_echo");
  expect(ok).toMatchObject({
    level: "info",
    // The session by its short sid (`s1.<sid>.<sealed>`), never the sealed id a client presents.
    sessionId: transport.sessionId?.split(".")[1],
    orgId: DEMO_ORG_ID,
    method: "tools/call",
    tool: "modern_echo",
    server: "modern",
    era: "2025",
    outcome: "ok",
  });
  expect(ok?.requestId).toBeString();
  expect(ok?.durationMs).toBeNumber();
  const failed = mcpLines().find((l) => l.tool === "nope_tool");
  expect(failed).toMatchObject({ outcome: "error", errorCode: -32602, server: "none", era: "2025" });
  // The HTTP access line of the same request carries the same request id.
  expect(lines.some((l) => l.msg === "request" && l.requestId === ok?.requestId)).toBe(true);
  expect(JSON.stringify(lines)).not.toContain("secret-argument");
});

test("a stateless 2026-07-28 request's line has no session id and names its era", async () => {
  await modernToolCall(gateway.url, { name: "modern_echo", arguments: { text: "z" } });
  const line = mcpLines().findLast((l) => l.method === "tools/call" && l.era === "2026-07-28");
  expect(line).toMatchObject({ orgId: DEMO_ORG_ID, tool: "modern_echo", server: "modern", outcome: "ok" });
  expect(line?.sessionId).toBeUndefined();
  expect(line?.requestId).toBeString();
});
