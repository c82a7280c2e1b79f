import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import {
  CreateMessageRequestSchema,
  ElicitRequestSchema,
  ListRootsRequestSchema,
  LoggingMessageNotificationSchema,
  type McpError,
} from "@modelcontextprotocol/sdk/types.js";
import * as v from "valibot";
import { createServerApp, defineTool } from "../src/index.ts";
import { createTestServer, type Observed } from "./fixtures/test-server.ts";

let app: ReturnType<typeof createServerApp>;
let base: string;
let observed: Observed;
const clients: Client[] = [];

beforeAll(() => {
  const server = createTestServer();
  observed = server.observed;
  app = createServerApp(server.def).listen({ port: 0, hostname: "127.0.0.1", idleTimeout: 0 });
  base = `http://127.0.0.1:${app.server?.port}`;
});

afterAll(async () => {
  for (const client of clients) await client.close().catch(() => {});
  await app.stop(true);
});

async function connect(): Promise<Client> {
  const client = new Client(
    { name: "kit-test-client", version: "1.0.0" },
    { capabilities: { elicitation: {}, sampling: {}, roots: {} } },
  );
  client.setRequestHandler(ElicitRequestSchema, (request) => ({
    action: "accept",
    content: { name: `Ada (asked: ${request.params.message})` },
  }));
  client.setRequestHandler(CreateMessageRequestSchema, (request) => {
    const content = request.params.messages[0]?.content;
    const first = Array.isArray(content) ? content[0] : content;
    const prompt = first?.type === "text" ? first.text : "";
    return { role: "assistant", model: "test-model", content: { type: "text", text: `echo ${prompt}` } };
  });
  client.setRequestHandler(ListRootsRequestSchema, () => ({
    roots: [{ uri: "file:///work", name: "work" }],
  }));
  await client.connect(new StreamableHTTPClientTransport(new URL(`${base}/mcp`)));
  clients.push(client);
  return client;
}

function firstText(result: unknown): string {
  const content = (result as { content?: { type: string; text?: string }[] }).content ?? [];
  return content[0]?.text ?? "";
}

describe("standalone /mcp with the SDK v1 client", () => {
  test("initialize, list tools and call one", async () => {
    const client = await connect();
    expect(client.getServerVersion()).toMatchObject({ name: "kit-test", version: "1.2.3" });
    expect(client.getInstructions()).toBe("Tools for testing the server kit.");
    const { tools } = await client.listTools();
    expect(tools.map((t) => t.name)).toContain("test_echo");
    expect(tools.find((t) => t.name === "test_add")?.outputSchema?.properties).toEqual({
      sum: { type: "number" },
    });
    const result = await client.callTool({ name: "test_echo", arguments: { text: "hi", times: 3 } });
    expect(firstText(result)).toBe("hihihi");
    const structured = await client.callTool({ name: "test_add", arguments: { a: 1, b: 2 } });
    expect(structured.structuredContent).toEqual({ sum: 3 });
  });

  test("standalone calls use the standalone config and the session id as session key", async () => {
    const client = await connect();
    const result = await client.callTool({ name: "test_whoami", arguments: {} });
    const [org, sessionKey, token, via] = firstText(result).split("/");
    expect(org).toBe("local");
    expect(sessionKey).toBeTruthy();
    expect(token).toBe("from-env");
    expect(via).toBe("local");
  });

  test("invalid arguments are a tool execution error (isError: true) with field paths", async () => {
    const client = await connect();
    const result = await client.callTool({ name: "test_echo", arguments: { text: 5 } });
    expect(result.isError).toBe(true);
    expect(firstText(result)).toContain("text: Invalid type: Expected string but received 5");
  });

  test("elicitation, sampling and roots are answered by the client", async () => {
    const client = await connect();
    expect(firstText(await client.callTool({ name: "test_elicit", arguments: {} }))).toBe(
      "Hello, Ada (asked: What is your name?)",
    );
    expect(firstText(await client.callTool({ name: "test_sample", arguments: { prompt: "ping" } }))).toBe(
      "test-model said: echo ping",
    );
    expect(firstText(await client.callTool({ name: "test_multi", arguments: {} }))).toBe(
      "Ada (asked: Who?)|echo Say hi|file:///work",
    );
  });

  test("progress notifications and log messages reach the client", async () => {
    const client = await connect();
    const logs: unknown[] = [];
    client.setNotificationHandler(LoggingMessageNotificationSchema, (n) => {
      logs.push(n.params);
    });
    await client.setLoggingLevel("info");
    const progress: { progress: number; total?: number; message?: string }[] = [];
    const result = await client.callTool({ name: "test_progress", arguments: { steps: 2 } }, undefined, {
      onprogress: (p) => progress.push(p),
    });
    expect(firstText(result)).toBe("did 2 steps");
    expect(progress).toEqual([
      { progress: 1, total: 2, message: "step 1" },
      { progress: 2, total: 2, message: "step 2" },
    ]);
    expect(logs).toEqual([{ level: "info", logger: "test", data: { done: 2 } }]);
  });

  test("prompts render with arguments and completion offers enum values", async () => {
    const client = await connect();
    const { prompts } = await client.listPrompts();
    expect(prompts).toEqual([
      {
        name: "greeting",
        description: "Greet someone",
        // The allowed values and the default are named in the description (not only by completion).
        arguments: [
          { name: "name", required: true },
          { name: "tone", description: "One of: warm, formal. Default: warm." },
        ],
      },
    ]);
    const prompt = await client.getPrompt({ name: "greeting", arguments: { name: "Lin" } });
    expect(prompt.messages).toEqual([
      { role: "user", content: { type: "text", text: "Greet Lin in a warm tone." } },
    ]);
    const missing = await client.getPrompt({ name: "greeting", arguments: {} }).catch((e: unknown) => e);
    expect((missing as McpError).code).toBe(-32602);
    expect((missing as McpError).message).toMatch(/"?name"?: required argument is missing/);
    const completion = await client.complete({
      ref: { type: "ref/prompt", name: "greeting" },
      argument: { name: "tone", value: "f" },
    });
    expect(completion.completion.values).toEqual(["formal"]);
    // Case-insensitive, as through the gateway (one completeArgument for both).
    const upper = await client.complete({
      ref: { type: "ref/prompt", name: "greeting" },
      argument: { name: "tone", value: "F" },
    });
    expect(upper.completion).toEqual({ values: ["formal"], total: 1, hasMore: false });
  });

  test("resources list and read; unknown is -32002", async () => {
    const client = await connect();
    const { resources } = await client.listResources();
    expect(resources.map((r) => r.uri)).toEqual(["test://static"]);
    const { resourceTemplates } = await client.listResourceTemplates();
    expect(resourceTemplates.map((t) => t.name)).toEqual(["note", "item"]);
    const read = await client.readResource({ uri: "test://items/7" });
    expect(read.contents).toEqual([{ uri: "test://items/7", text: "item 7" }]);
    const error = await client.readResource({ uri: "test://nothing" }).catch((e: unknown) => e);
    expect((error as McpError).code).toBe(-32002);
  });

  test("cancelling a call aborts the tool", async () => {
    const client = await connect();
    const controller = new AbortController();
    const started = observed.slowStarted;
    const aborted = observed.slowAborted;
    const call = client.callTool({ name: "test_slow", arguments: {} }, undefined, {
      signal: controller.signal,
    });
    await started;
    controller.abort("user pressed stop");
    await expect(call).rejects.toThrow();
    expect(await aborted).toBeTruthy();
  });

  test("closing the session ends it on the server", async () => {
    const client = await connect();
    const transport = client.transport as StreamableHTTPClientTransport;
    const sessionId = transport.sessionId;
    expect(sessionId).toBeTruthy();
    await transport.terminateSession();
    expect(observed.endedSessions).toContainEqual({ sessionKey: sessionId ?? "", orgId: "local" });
    const stale = await fetch(`${base}/mcp`, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        accept: "application/json, text/event-stream",
        "mcp-session-id": sessionId ?? "",
      },
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/list" }),
    });
    expect(stale.status).toBe(404);
  });

  test("a foreign Host or Origin is refused (DNS rebinding)", async () => {
    const body = JSON.stringify({ jsonrpc: "2.0", id: 1, method: "ping" });
    const headers = { "content-type": "application/json", accept: "application/json, text/event-stream" };
    const host = await app.handle(
      new Request("http://evil.example/mcp", {
        method: "POST",
        headers: { ...headers, host: "evil.example" },
        body,
      }),
    );
    expect(host.status).toBe(403);
    const origin = await fetch(`${base}/mcp`, {
      method: "POST",
      headers: { ...headers, origin: "http://evil.example" },
      body,
    });
    expect(origin.status).toBe(403);
    expect(await origin.json()).toMatchObject({
      error: { message: "Origin not allowed: http://evil.example" },
    });
  });
});

describe("standalone /mcp of a server with tools only", () => {
  test("initializes, calls a tool, and answers undeclared capabilities with method not found", async () => {
    const toolsOnly = createServerApp({
      name: "tools-only",
      version: "1.0.0",
      tools: [
        defineTool({
          name: "only_echo",
          description: "Echoes its text",
          input: v.object({ text: v.string() }),
          handler: ({ text }) => `echo: ${text}`,
        }),
      ],
    }).listen({ port: 0, hostname: "127.0.0.1", idleTimeout: 0 });
    const client = new Client({ name: "kit-test-client", version: "1.0.0" });
    try {
      await client.connect(
        new StreamableHTTPClientTransport(new URL(`http://127.0.0.1:${toolsOnly.server?.port}/mcp`)),
      );
      expect(client.getServerCapabilities()?.resources).toBeUndefined();
      expect(client.getServerCapabilities()?.prompts).toBeUndefined();
      const result = await client.callTool({ name: "only_echo", arguments: { text: "hi" } });
      expect(firstText(result)).toBe("echo: hi");
      const transport = client.transport as StreamableHTTPClientTransport;
      const raw = await fetch(`http://127.0.0.1:${toolsOnly.server?.port}/mcp`, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          accept: "application/json, text/event-stream",
          "mcp-session-id": transport.sessionId ?? "",
          "mcp-protocol-version": "2025-06-18",
        },
        body: JSON.stringify({ jsonrpc: "2.0", id: 7, method: "resources/list" }),
      });
      expect(await raw.text()).toContain('"code":-32601');
    } finally {
      await client.close().catch(() => {});
      await toolsOnly.stop(true);
    }
  });
});
