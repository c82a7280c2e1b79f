import { afterAll, beforeAll, expect, test } from "bun:test";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import {
  CreateMessageRequestSchema,
  ElicitRequestSchema,
  LoggingMessageNotificationSchema,
  ToolListChangedNotificationSchema,
} from "@modelcontextprotocol/sdk/types.js";
import { DEMO_ORG_ID } from "@omni/db";
import { defineTool } from "@omni/kit";
import * as v from "valibot";
import { type Stack, startStack } from "./fixtures/stack.ts";
import { alphaServer, betaServer, observed } from "./fixtures/test-servers.ts";

let stack: Stack;

beforeAll(async () => {
  stack = await startStack({ servers: [alphaServer, betaServer], healthIntervalMs: 100 });
}, 180_000);
afterAll(async () => {
  await stack?.stop();
});

async function connect(): Promise<Client> {
  const client = new Client({ name: "e2e", version: "1.0.0" });
  await client.connect(new StreamableHTTPClientTransport(new URL(`${stack.url}/mcp`)));
  return client;
}

async function until(condition: () => boolean | Promise<boolean>, what: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (await condition()) return;
    await Bun.sleep(25);
  }
  throw new Error(`timed out waiting for ${what}`);
}

test("lists and calls tools across two domain servers", async () => {
  const client = await connect();
  const { tools } = await client.listTools();
  const names = tools.map((t) => t.name);
  expect(names).toContain("alpha_echo");
  expect(names).toContain("beta_add");
  const echo = await client.callTool({ name: "alpha_echo", arguments: { text: "hi" } });
  expect(echo.content).toEqual([{ type: "text", text: `alpha says hi to ${DEMO_ORG_ID}` }]);
  const sum = await client.callTool({ name: "beta_add", arguments: { a: 2, b: 40 } });
  expect(sum.structuredContent).toEqual({ sum: 42 });
  await client.close();
});

test("invalid tool arguments are an isError result naming the field (2025-11-25); unknown tools are -32602", async () => {
  const client = await connect();
  const bad = await client.callTool({ name: "beta_add", arguments: { a: "two", b: 1 } });
  expect(bad.isError).toBe(true);
  expect(JSON.stringify(bad.content)).toMatch(/Invalid arguments for tool beta_add: a: /);
  await expect(client.callTool({ name: "nope_tool", arguments: {} })).rejects.toThrow(
    /Unknown tool: nope_tool/,
  );
  await client.close();
});

test("gets a prompt with arguments and completes its argument", async () => {
  const client = await connect();
  const { prompts } = await client.listPrompts();
  expect(prompts.map((p) => p.name)).toContain("alpha_greet");
  const prompt = await client.getPrompt({ name: "alpha_greet", arguments: { who: "team" } });
  expect(prompt.messages).toEqual([{ role: "user", content: { type: "text", text: "Say hello to team." } }]);
  await expect(client.getPrompt({ name: "alpha_greet", arguments: {} })).rejects.toThrow(/-32602.*who/);
  const completion = await client.complete({
    ref: { type: "ref/prompt", name: "alpha_greet" },
    argument: { name: "who", value: "w" },
  });
  expect(completion.completion.values).toEqual(["world"]);
  await client.close();
});

test("reads static and templated resources from the servers", async () => {
  const client = await connect();
  const { resources } = await client.listResources();
  expect(resources.map((r) => r.uri)).toContain("alpha://info");
  const { resourceTemplates } = await client.listResourceTemplates();
  expect(resourceTemplates.map((t) => t.uriTemplate)).toContain("beta://items/{id}");
  const info = await client.readResource({ uri: "alpha://info" });
  expect(info.contents).toEqual([{ uri: "alpha://info", mimeType: "text/plain", text: "alpha info" }]);
  const item = await client.readResource({ uri: "beta://items/7" });
  expect(item.contents[0]).toMatchObject({ uri: "beta://items/7", text: '{"id":"7"}' });
  await expect(client.readResource({ uri: "nowhere://x" })).rejects.toThrow(/-32002/);
  await client.close();
});

test("cancelling a slow call aborts the tool on the domain server", async () => {
  const client = await connect();
  const before = observed.slowAborted;
  const controller = new AbortController();
  const progress: number[] = [];
  const call = client.callTool({ name: "alpha_slow", arguments: {} }, undefined, {
    signal: controller.signal,
    onprogress: (p) => progress.push(p.progress),
  });
  await until(() => progress.length > 0, "the slow tool to report progress");
  controller.abort("user cancelled");
  await expect(call).rejects.toThrow();
  await until(() => observed.slowAborted > before, "the tool's signal to abort");
  expect(observed.slowAborted).toBe(before + 1);
  // The session keeps working after a cancellation.
  const echo = await client.callTool({ name: "alpha_echo", arguments: { text: "after" } });
  expect(echo.isError).toBeFalsy();
  await client.close();
});

test("a config change sends tools/list_changed and hides a disabled server's tools", async () => {
  const client = await connect();
  let changed = 0;
  client.setNotificationHandler(ToolListChangedNotificationSchema, () => {
    changed++;
  });
  const beta = await stack.repos.servers.getByName("beta");
  await stack.repos.services.update(DEMO_ORG_ID, beta!.id, { enabled: false });
  // The SDK opens its GET stream asynchronously after initialization: repeat the change event until
  // the notification arrives on it.
  await until(async () => {
    await stack.config.invalidate({ orgId: DEMO_ORG_ID, kinds: ["tools"] });
    return changed > 0;
  }, "tools/list_changed");
  const { tools } = await client.listTools();
  expect(tools.map((t) => t.name)).not.toContain("beta_add");
  await expect(client.callTool({ name: "beta_add", arguments: { a: 1, b: 1 } })).rejects.toThrow(
    /Unknown tool/,
  );
  await stack.repos.services.update(DEMO_ORG_ID, beta!.id, { enabled: true });
  await stack.config.invalidate({ orgId: DEMO_ORG_ID, kinds: ["tools"] });
  await until(async () => (await client.listTools()).tools.some((t) => t.name === "beta_add"), "beta back");
  await client.close();
});

test("survives a domain server restart: fails cleanly while down, works after", async () => {
  const client = await connect();
  await stack.stopServer("beta");
  const down = await client.callTool({ name: "beta_add", arguments: { a: 1, b: 2 } }).then(
    () => null,
    (error: Error) => error,
  );
  expect(down?.message).toMatch(/-32003/);
  expect(down?.message).toMatch(/beta/);
  await until(
    () => stack.registry.health().find((s) => s.name === "beta")?.healthy === 0,
    "beta marked down",
  );
  const health = (await (await fetch(`${stack.url}/health`)).json()) as { status: string };
  expect(health.status).toBe("degraded");
  expect((await fetch(`${stack.url}/ready`)).status).toBe(503);
  // Other servers keep working.
  const echo = await client.callTool({ name: "alpha_echo", arguments: { text: "still" } });
  expect(echo.isError).toBeFalsy();
  await stack.restartServer("beta");
  await until(() => stack.registry.health().find((s) => s.name === "beta")?.healthy === 1, "beta healthy");
  const sum = await client.callTool({ name: "beta_add", arguments: { a: 1, b: 2 } });
  expect(sum.structuredContent).toEqual({ sum: 3 });
  expect((await fetch(`${stack.url}/ready`)).status).toBe(200);
  await client.close();
});

test("a server that comes back with a new tool set is re-discovered and clients get list_changed", async () => {
  const client = await connect();
  let changed = 0;
  client.setNotificationHandler(ToolListChangedNotificationSchema, () => {
    changed++;
  });
  // Wait until the client's GET stream is open (a config event reaches it), then watch for the registry's.
  await until(async () => {
    await stack.config.invalidate({ orgId: DEMO_ORG_ID, kinds: ["tools"] });
    return changed > 0;
  }, "the GET stream");
  await Bun.sleep(50);
  const before = changed;
  await stack.stopServer("beta");
  await until(() => stack.registry.health().find((s) => s.name === "beta")?.healthy === 0, "beta down");
  const betaV2 = {
    ...betaServer,
    version: "2.0.0",
    tools: [
      ...betaServer.tools,
      defineTool({
        name: "beta_negate",
        description: "Negates",
        input: v.object({ n: v.number() }),
        handler: ({ n }) => String(-n),
      }),
    ],
  };
  await stack.restartServer("beta", betaV2);
  await until(() => changed > before, "tools/list_changed after re-discovery");
  const { tools } = await client.listTools();
  expect(tools.map((t) => t.name)).toContain("beta_negate");
  const negated = await client.callTool({ name: "beta_negate", arguments: { n: 5 } });
  expect(negated.content).toEqual([{ type: "text", text: "-5" }]);
  await stack.stopServer("beta");
  await stack.restartServer("beta", betaServer);
  await until(
    async () => !(await client.listTools()).tools.some((t) => t.name === "beta_negate"),
    "beta v1 back",
  );
  await client.close();
}, 30_000);

test("server-to-client requests (elicitation, sampling) and logs are relayed end to end", async () => {
  const client = new Client(
    { name: "e2e", version: "1.0.0" },
    { capabilities: { elicitation: {}, sampling: {} } },
  );
  await client.connect(new StreamableHTTPClientTransport(new URL(`${stack.url}/mcp`)));
  const asked: string[] = [];
  client.setRequestHandler(ElicitRequestSchema, async (request) => {
    asked.push(request.params.message);
    return { action: "accept", content: { name: "Ada" } };
  });
  client.setRequestHandler(CreateMessageRequestSchema, async (request) => {
    const first = request.params.messages[0]?.content;
    asked.push(first && "text" in first ? String(first.text) : "?");
    return { role: "assistant", content: { type: "text", text: "Hello, Ada!" }, model: "test-model" };
  });
  const logs: unknown[] = [];
  client.setNotificationHandler(LoggingMessageNotificationSchema, (n) => {
    logs.push(n.params.data);
  });
  const result = await client.callTool({ name: "alpha_ask", arguments: {} });
  expect(result.content).toEqual([{ type: "text", text: "accept: Hello, Ada!" }]);
  expect(asked).toEqual(["Your name?", "Greet Ada"]);
  expect(logs).toContain("asking");
  await client.close();
  // A client without the capabilities gets a clear -32005 naming the capability, not a hang.
  const plain = await connect();
  await expect(plain.callTool({ name: "alpha_ask", arguments: {} })).rejects.toThrow(/-32005.*elicitation/);
  await plain.close();
});

test("DELETE ends the session: its id is then unknown (404)", async () => {
  const transport = new StreamableHTTPClientTransport(new URL(`${stack.url}/mcp`));
  const client = new Client({ name: "e2e", version: "1.0.0" });
  await client.connect(transport);
  const sessionId = transport.sessionId!;
  await transport.terminateSession();
  const response = await fetch(`${stack.url}/mcp`, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      accept: "application/json, text/event-stream",
      "mcp-session-id": sessionId,
    },
    body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "ping" }),
  });
  expect(response.status).toBe(404);
  await client.close();
});
