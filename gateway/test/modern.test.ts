import { afterAll, beforeAll, expect, test } from "bun:test";
import { Client, StreamableHTTPClientTransport } from "@modelcontextprotocol/client";
import { Client as V1Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport as V1Transport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { ElicitRequestSchema, ToolListChangedNotificationSchema } from "@modelcontextprotocol/sdk/types.js";
import { DEMO_ORG_ID } from "@omni/db";
import { modernServer } from "./fixtures/modern-server.ts";
import { type Stack, startStack } from "./fixtures/stack.ts";

const MODERN_HEADERS = { "content-type": "application/json", accept: "application/json, text/event-stream" };
const META = {
  "io.modelcontextprotocol/protocolVersion": "2026-07-28",
  "io.modelcontextprotocol/clientCapabilities": { elicitation: {} },
  "io.modelcontextprotocol/clientInfo": { name: "raw", version: "1" },
};

let stack: Stack;
let rpcId = 1;

/** One raw modern POST with correct standard headers (unless overridden). */
async function post(
  method: string,
  params: Record<string, unknown>,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: Record<string, unknown>; frames: Record<string, unknown>[] }> {
  const name =
    typeof params.name === "string" ? params.name : typeof params.uri === "string" ? params.uri : undefined;
  const res = await fetch(`${stack.url}/mcp`, {
    method: "POST",
    headers: {
      ...MODERN_HEADERS,
      "mcp-protocol-version": "2026-07-28",
      "mcp-method": method,
      ...(name ? { "mcp-name": name } : {}),
      ...headers,
    },
    body: JSON.stringify({ jsonrpc: "2.0", id: rpcId++, method, params: { _meta: META, ...params } }),
  });
  const text = await res.text();
  if (res.headers.get("content-type")?.includes("text/event-stream")) {
    const frames = text
      .split("\n")
      .filter((line) => line.startsWith("data: "))
      .map((line) => JSON.parse(line.slice(6)) as Record<string, unknown>);
    return { status: res.status, body: frames.at(-1) ?? {}, frames };
  }
  return { status: res.status, body: JSON.parse(text) as Record<string, unknown>, frames: [] };
}

function result(response: { body: Record<string, unknown> }): Record<string, unknown> {
  if (response.body.error) throw new Error(`unexpected error ${JSON.stringify(response.body.error)}`);
  return response.body.result as Record<string, unknown>;
}

async function until(check: () => Promise<boolean> | boolean, what: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (await check()) return;
    await Bun.sleep(25);
  }
  throw new Error(`timed out waiting for ${what}`);
}

async function modernClient(answers: Record<string, unknown>[] = []): Promise<Client> {
  const client = new Client(
    { name: "modern-test", version: "1.0.0" },
    { capabilities: { elicitation: {} }, versionNegotiation: { mode: "auto" } },
  );
  client.setRequestHandler("elicitation/create", async () => {
    const next = answers.shift();
    if (!next) throw new Error("no more answers");
    return { action: "accept", content: next } as never;
  });
  await client.connect(new StreamableHTTPClientTransport(new URL(`${stack.url}/mcp`)));
  return client;
}

beforeAll(async () => {
  stack = await startStack({ servers: [modernServer], keys: { OMNI_STATE_KEY: "ab".repeat(32) } });
}, 60_000);
afterAll(async () => {
  await stack?.stop();
});

test("server/discover lists every served version, capabilities and the server's identity", async () => {
  const discover = await post("server/discover", {});
  expect(discover.status).toBe(200);
  const body = result(discover);
  expect(body.supportedVersions).toEqual(["2026-07-28", "2025-11-25", "2025-06-18", "2025-03-26"]);
  expect(body).toMatchObject({
    resultType: "complete",
    cacheScope: "public",
    capabilities: { tools: { listChanged: true }, prompts: { listChanged: true } },
    _meta: { "io.modelcontextprotocol/serverInfo": { name: "omni-mcp" } },
  });
});

test("the v2 client in auto mode goes modern: list, call, prompt, an elicitation round trip", async () => {
  const client = await modernClient([{ name: "Ada" }, { colour: "teal" }]);
  expect(client.getProtocolEra()).toBe("modern");
  expect(client.getNegotiatedProtocolVersion()).toBe("2026-07-28");
  const { tools } = await client.listTools();
  expect(tools.map((t) => t.name)).toContain("modern_echo");
  const echo = await client.callTool({ name: "modern_echo", arguments: { text: "hi" } });
  expect(echo.content).toEqual([{ type: "text", text: "echo: hi" }]);
  const greet = await client.callTool({ name: "modern_greet", arguments: { greeting: "Hi" } });
  expect(greet.content).toEqual([{ type: "text", text: "Hi, Ada (teal)!" }]);
  const prompt = await client.getPrompt({ name: "modern_hello", arguments: { who: "Bob" } });
  expect(prompt.messages[0]?.content).toEqual({ type: "text", text: "Say hello to Bob." });
  await client.close();
});

test("the v1 client (2025 session) gets the same tools and the same elicitation over its session", async () => {
  const client = new V1Client({ name: "v1", version: "1" }, { capabilities: { elicitation: {} } });
  const answers = [{ name: "Ada" }, { colour: "teal" }];
  client.setRequestHandler(ElicitRequestSchema, async () => ({ action: "accept", content: answers.shift() }));
  await client.connect(new V1Transport(new URL(`${stack.url}/mcp`)));
  const { tools } = await client.listTools();
  expect(tools.map((t) => t.name)).toContain("modern_greet");
  const greet = await client.callTool({ name: "modern_greet", arguments: { greeting: "Hi" } });
  expect(greet.content).toEqual([{ type: "text", text: "Hi, Ada (teal)!" }]);
  const prompt = await client.getPrompt({ name: "modern_hello", arguments: { who: "Bob" } });
  expect(prompt.messages[0]?.content).toEqual({ type: "text", text: "Say hello to Bob." });
  await client.close();
});

test("input_required round trips over raw HTTP: state accumulates, tampered state and changed arguments are rejected", async () => {
  const first = result(await post("tools/call", { name: "modern_greet", arguments: {} }));
  expect(first.resultType).toBe("input_required");
  const [key1] = Object.keys(first.inputRequests as object);
  expect((first.inputRequests as Record<string, { method: string }>)[key1!]?.method).toBe(
    "elicitation/create",
  );
  expect(typeof first.requestState).toBe("string");

  const second = result(
    await post("tools/call", {
      name: "modern_greet",
      arguments: {},
      inputResponses: { [key1!]: { action: "accept", content: { name: "Eve" } } },
      requestState: first.requestState,
    }),
  );
  expect(second.resultType).toBe("input_required");
  expect(second.requestState).not.toBe(first.requestState);
  const [key2] = Object.keys(second.inputRequests as object);
  expect([key1, key2]).toEqual(["elicit:0", "colour"]);

  const tampered = await post("tools/call", {
    name: "modern_greet",
    arguments: {},
    inputResponses: { [key2!]: { action: "accept", content: { colour: "red" } } },
    requestState: `${String(second.requestState)}-TAMPERED`,
  });
  expect(tampered.body.error).toMatchObject({ code: -32602 });
  expect(JSON.stringify(tampered.body.error)).toContain("requestState");

  const otherArgs = await post("tools/call", {
    name: "modern_greet",
    arguments: { greeting: "Yo" },
    inputResponses: { [key2!]: { action: "accept", content: { colour: "red" } } },
    requestState: second.requestState,
  });
  expect((otherArgs.body.error as { message: string }).message).toContain("different arguments");

  const done = result(
    await post("tools/call", {
      name: "modern_greet",
      arguments: {},
      inputResponses: { [key2!]: { action: "accept", content: { colour: "red" } } },
      requestState: second.requestState,
    }),
  );
  expect(done).toMatchObject({
    resultType: "complete",
    content: [{ type: "text", text: "Hello, Eve (red)!" }],
  });
});

test("a missing client capability is -32021 with HTTP 400 and requiredCapabilities", async () => {
  const response = await post("tools/call", {
    name: "modern_greet",
    arguments: {},
    _meta: { ...META, "io.modelcontextprotocol/clientCapabilities": {} },
  });
  expect(response.status).toBe(400);
  expect(response.body.error).toMatchObject({
    code: -32021,
    data: { requiredCapabilities: { elicitation: {} } },
  });
});

test("envelope and header errors carry the revision's codes and the request id", async () => {
  const noMeta = await fetch(`${stack.url}/mcp`, {
    method: "POST",
    headers: { ...MODERN_HEADERS, "mcp-protocol-version": "2026-07-28", "mcp-method": "tools/list" },
    body: JSON.stringify({ jsonrpc: "2.0", id: 77, method: "tools/list", params: {} }),
  });
  expect(noMeta.status).toBe(400);
  expect(await noMeta.json()).toMatchObject({ id: 77, error: { code: -32602 } });
  const mismatch = await post("tools/list", {}, { "mcp-method": "prompts/list" });
  expect(mismatch.status).toBe(400);
  expect(mismatch.body.error).toMatchObject({ code: -32020 });
  const removed = await post("ping", {});
  expect(removed.status).toBe(404);
  expect(removed.body.error).toMatchObject({ code: -32601 });
  const unknown = await post("tools/call", { name: "no_such_tool", arguments: {} });
  expect(unknown.body.error).toMatchObject({ code: -32602 });
});

test("lists carry resultType and the config cache's ttl; progress and logs follow the request's _meta", async () => {
  const ttl = (await stack.config.catalog(DEMO_ORG_ID, stack.registry.capabilities.codePrompts)).ttlMs;
  for (const method of ["tools/list", "prompts/list", "resources/list", "resources/templates/list"]) {
    expect(result(await post(method, {}))).toMatchObject({
      resultType: "complete",
      ttlMs: ttl,
      cacheScope: "private",
    });
  }
  const quiet = await post("tools/call", { name: "modern_progress", arguments: {} });
  expect(quiet.frames).toEqual([]);
  expect(result(quiet)).toMatchObject({ resultType: "complete" });
  const loud = await post("tools/call", {
    name: "modern_progress",
    arguments: {},
    _meta: { ...META, progressToken: "p1", "io.modelcontextprotocol/logLevel": "info" },
  });
  const methods = loud.frames.map((f) => f.method ?? "result");
  expect(methods).toEqual([
    "notifications/progress",
    "notifications/message",
    "notifications/progress",
    "result",
  ]);
  expect(loud.frames[0]).toMatchObject({ params: { progressToken: "p1", progress: 1, total: 2 } });
});

test("prompts/get asks for missing required arguments through an elicitation round", async () => {
  const first = result(await post("prompts/get", { name: "modern_hello" }));
  expect(first.resultType).toBe("input_required");
  const [key] = Object.keys(first.inputRequests as object);
  const done = result(
    await post("prompts/get", {
      name: "modern_hello",
      inputResponses: { [key!]: { action: "accept", content: { who: "Zoe" } } },
      requestState: first.requestState,
    }),
  );
  expect(done).toMatchObject({
    resultType: "complete",
    messages: [{ role: "user", content: { type: "text", text: "Say hello to Zoe." } }],
  });
});

test("a config change reaches a subscriptions/listen stream and a 2025 session's list_changed", async () => {
  const modern = await modernClient();
  const seen: string[] = [];
  modern.setNotificationHandler("notifications/tools/list_changed", () => {
    seen.push("modern");
  });
  const subscription = await modern.listen({ toolsListChanged: true });
  const legacy = new V1Client({ name: "v1", version: "1" });
  legacy.setNotificationHandler(ToolListChangedNotificationSchema, () => {
    seen.push("legacy");
  });
  await legacy.connect(new V1Transport(new URL(`${stack.url}/mcp`)));
  await until(async () => {
    await stack.config.invalidate({ orgId: DEMO_ORG_ID, kinds: ["tools"] });
    return seen.includes("modern") && seen.includes("legacy");
  }, "list_changed in both eras");
  await subscription.close();
  await modern.close();
  await legacy.close();
});
