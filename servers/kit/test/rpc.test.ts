import { afterAll, describe, expect, test } from "bun:test";
import { treaty } from "@elysiajs/eden";
import { ErrorCode, type ToolCallEvent } from "@omni/contracts";
import * as v from "valibot";
import {
  createServerApp,
  createServerClient,
  defineTool,
  KitRpcError,
  type ToolCallStreamEvent,
} from "../src/index.ts";
import { testScope } from "./fixtures/scope.ts";
import { createTestServer } from "./fixtures/test-server.ts";

/** The deployment token these apps are built with (the gateway's `OMNI_INTERNAL_TOKEN`). */
const TOKEN = `test-internal-${crypto.randomUUID()}`;
const AUTH = { authorization: `Bearer ${TOKEN}` };

function setup() {
  const { def, observed } = createTestServer();
  const app = createServerApp(def, { internalToken: TOKEN });
  const client = createServerClient("http://kit.local", {
    fetch: (request) => app.handle(request),
    internalToken: TOKEN,
  });
  return { app, client, observed, api: treaty(app, { headers: AUTH }) };
}

/**
 * The tool-call tests run over both transports of `createServerClient`: the HTTP route
 * (`POST /rpc/tools/call`, in process) and the call socket (a real port; the HTTP route refuses tool calls
 * there, so every call of those runs provably goes over the socket).
 */
const TRANSPORTS = ["http", "call socket"] as const;
type Transport = (typeof TRANSPORTS)[number];
const opened: (() => void)[] = [];
afterAll(() => {
  for (const close of opened.splice(0)) close();
});

async function setupOver(transport: Transport) {
  if (transport === "http") return setup();
  const { def, observed } = createTestServer();
  const app = createServerApp(def, { internalToken: TOKEN })
    .onRequest(({ request, status }) =>
      new URL(request.url).pathname === "/rpc/tools/call"
        ? status(418, { error: "tool calls must use the call socket in this test" })
        : undefined,
    )
    .listen({ port: 0, hostname: "127.0.0.1" });
  const client = createServerClient(`http://127.0.0.1:${app.server?.port}`, { internalToken: TOKEN });
  opened.push(() => {
    client.close();
    void app.stop(true);
  });
  expect(await client.callSocketReady()).toBe(true);
  return { app, client, observed, api: treaty(app, { headers: AUTH }) };
}

const scope = testScope();

function text(event: ToolCallEvent): string {
  if (event.type !== "result") throw new Error(`expected a result, got ${JSON.stringify(event)}`);
  const first = event.result.content[0];
  return first?.type === "text" ? String(first.text) : "";
}

describe("capabilities", () => {
  test("lists tools with JSON Schema, output schema, annotations, prompts and resources", async () => {
    const { api } = setup();
    const { data, error } = await api.rpc.capabilities.get();
    expect(error).toBeNull();
    expect(data?.server).toEqual({ name: "kit-test", version: "1.2.3", title: "Kit test server" });
    expect(data?.instructions).toBe("Tools for testing the server kit.");
    const echo = data?.tools.find((t) => t.name === "test_echo");
    expect(echo?.inputSchema.properties).toEqual({
      text: { type: "string", minLength: 1 },
      times: { type: "number", default: 1 },
    });
    expect(echo?.inputSchema.required).toEqual(["text"]);
    expect(echo?.annotations).toEqual({ readOnlyHint: true, idempotentHint: true });
    const add = data?.tools.find((t) => t.name === "test_add");
    expect(add?.outputSchema?.properties).toEqual({ sum: { type: "number" } });
    expect(data?.prompts.map((p) => p.name)).toEqual(["greeting"]);
    expect(data?.resources).toEqual([{ uri: "test://static", name: "static", mimeType: "text/plain" }]);
    expect(data?.resourceTemplates.map((t) => t.uriTemplate)).toEqual([
      "test://items/{id}/notes/{note}",
      "test://items/{id}",
    ]);
  });

  test("rejects a definition with duplicate tool names", () => {
    const { def } = createTestServer();
    expect(() => createServerApp({ ...def, tools: [...def.tools, ...def.tools.slice(0, 1)] })).toThrow(
      "Duplicate tool name: test_echo",
    );
  });
});

for (const transport of TRANSPORTS) {
  describe(`tools/call (${transport})`, () => {
    test("a cheap tool answers with one JSON terminal event (fast path)", async () => {
      const { app } = setup();
      const response = await app.handle(
        new Request("http://kit.local/rpc/tools/call", {
          method: "POST",
          headers: { "content-type": "application/json", ...AUTH },
          body: JSON.stringify({ name: "test_echo", arguments: { text: "ab", times: 2 }, scope, live: true }),
        }),
      );
      expect(response.headers.get("content-type")).toStartWith("application/json");
      expect(await response.json()).toEqual({
        type: "result",
        result: { content: [{ type: "text", text: "abab" }] },
      });
    });

    test("the route's body is typed by the contract for Eden callers", async () => {
      const { api } = setup();
      const { data, status } = await api.rpc.tools.call.post({
        name: "test_echo",
        arguments: { text: "typed" },
        scope,
        live: false,
      });
      expect(status).toBe(200);
      // The route answers a raw Response (JSON or NDJSON), so Eden types `data` as Response; at run time
      // Eden has parsed the JSON fast path.
      const parsed: unknown = data;
      expect(parsed).toEqual({ type: "result", result: { content: [{ type: "text", text: "typed" }] } });
    });

    test("the tool sees the org, session key and config from the scope", async () => {
      const { client } = await setupOver(transport);
      const event = await client.callTool({ name: "test_whoami", arguments: {}, scope, live: false });
      expect(text(event)).toBe("org_1/session-1/org-token/dev");
    });

    test("invalid arguments are an isError result naming the failing field paths", async () => {
      const { client } = await setupOver(transport);
      const event = await client.callTool({
        name: "test_echo",
        arguments: { text: "", times: "x" },
        scope,
        live: false,
      });
      expect(event.type).toBe("result");
      if (event.type !== "result") return;
      expect(event.result.isError).toBe(true);
      expect(text(event)).toContain("Invalid arguments for tool test_echo");
      expect(text(event)).toContain("text: ");
      expect(text(event)).toContain("times: ");
    });

    test("an unknown tool is -32602 in the MCP wording", async () => {
      const { client } = await setupOver(transport);
      const event = await client.callTool({ name: "nope", arguments: {}, scope, live: false });
      expect(event).toEqual({
        type: "error",
        error: { code: ErrorCode.InvalidParams, message: "Unknown tool: nope", data: { name: "nope" } },
      });
    });

    test("a malformed RPC body is rejected before any tool runs", async () => {
      const { app } = setup();
      const response = await app.handle(
        new Request("http://kit.local/rpc/tools/call", {
          method: "POST",
          headers: { "content-type": "application/json", ...AUTH },
          body: JSON.stringify({ name: "test_echo", arguments: {}, live: "yes" }),
        }),
      );
      expect(response.status).toBe(422);
    });

    test("ToolError and other failures become isError results without stacks", async () => {
      const { client } = await setupOver(transport);
      const tool = await client.callTool({
        name: "test_fail",
        arguments: { kind: "tool" },
        scope,
        live: false,
      });
      expect(tool).toEqual({
        type: "result",
        result: {
          content: [{ type: "text", text: "Pick a team first with linear_list_teams." }],
          isError: true,
        },
      });
      const error = await client.callTool({
        name: "test_fail",
        arguments: { kind: "error" },
        scope,
        live: false,
      });
      expect(error.type === "result" && error.result.isError).toBe(true);
      expect(text(error)).toBe("boom");
      const bare = await client.callTool({
        name: "test_fail",
        arguments: { kind: "throw-string" },
        scope,
        live: false,
      });
      expect(text(bare)).toBe("The tool failed: a bare string");
    });

    test("structured output is checked against the output schema", async () => {
      const { client } = await setupOver(transport);
      const ok = await client.callTool({ name: "test_add", arguments: { a: 2, b: 3 }, scope, live: false });
      expect(ok).toEqual({
        type: "result",
        result: { content: [{ type: "text", text: '{"sum":5}' }], structuredContent: { sum: 5 } },
      });
      const lie = await client.callTool({
        name: "test_add",
        arguments: { a: 2, b: 3, lie: true },
        scope,
        live: false,
      });
      expect(lie.type === "result" && lie.result.isError).toBe(true);
      expect(text(lie)).toContain("does not match its output schema (sum:");
    });

    test("progress and logs stream as NDJSON events before the result, filtered by request", async () => {
      const { client } = await setupOver(transport);
      const events: ToolCallStreamEvent[] = [];
      const terminal = await client.callTool(
        {
          name: "test_progress",
          arguments: { steps: 2 },
          scope,
          live: true,
          progress: true,
          logLevel: "info",
        },
        { onEvent: (event) => events.push(event) },
      );
      expect(text(terminal)).toBe("did 2 steps");
      expect(events[0]?.type).toBe("accepted");
      expect(events.slice(1)).toEqual([
        { type: "progress", progress: 1, total: 2, message: "step 1" },
        { type: "progress", progress: 2, total: 2, message: "step 2" },
        { type: "log", level: "info", logger: "test", data: { done: 2 } },
      ]);

      // closeStream: an event for a live call (the gateway ends the client's stream); nothing otherwise.
      const paused: ToolCallStreamEvent[] = [];
      await client.callTool(
        { name: "test_progress", arguments: { steps: 1, pause: 25 }, scope, live: true, progress: true },
        { onEvent: (event) => paused.push(event) },
      );
      expect(paused[1]).toEqual({ type: "close_stream", retryMs: 25 });
      expect(paused).toContainEqual({ type: "progress", progress: 1, total: 1, message: "step 1" });
      const stateless: ToolCallStreamEvent[] = [];
      await client.callTool(
        { name: "test_progress", arguments: { steps: 1, pause: 25 }, scope, live: false, progress: true },
        { onEvent: (event) => stateless.push(event) },
      );
      expect(stateless.some((event) => event.type === "close_stream")).toBe(false);

      const quiet: ToolCallStreamEvent[] = [];
      await client.callTool(
        { name: "test_progress", arguments: { steps: 2 }, scope, live: true, logLevel: "error" },
        { onEvent: (event) => quiet.push(event) },
      );
      expect(quiet).toEqual([]);

      const all: ToolCallStreamEvent[] = [];
      await client.callTool(
        { name: "test_progress", arguments: { steps: 1 }, scope, live: true },
        { onEvent: (event) => all.push(event) },
      );
      expect(all.filter((e) => e.type === "log").map((e) => e.type === "log" && e.level)).toEqual([
        "debug",
        "info",
      ]);
    });
  });

  describe(`live client requests (${transport})`, () => {
    test("elicitation is a request event answered on /rpc/callback", async () => {
      const { client } = await setupOver(transport);
      let callId = "";
      const answered: Promise<boolean>[] = [];
      const terminal = await client.callTool(
        { name: "test_elicit", arguments: {}, scope, live: true, clientCapabilities: { elicitation: {} } },
        {
          onEvent: (event) => {
            if (event.type === "accepted") callId = event.callId;
            if (event.type === "request") {
              expect(event.request.method).toBe("elicitation/create");
              expect(event.request.params.message).toBe("What is your name?");
              answered.push(
                client.callback({
                  callId,
                  id: event.id,
                  result: { action: "accept", content: { name: "Ada" } },
                }),
              );
            }
          },
        },
      );
      expect(text(terminal)).toBe("Hello, Ada");
      expect(await Promise.all(answered)).toEqual([true]);
      expect(await client.callback({ callId, id: "0", result: {} })).toBe(false);
    });

    test("an error answer rejects the tool's request", async () => {
      const { client } = await setupOver(transport);
      let callId = "";
      const terminal = await client.callTool(
        {
          name: "test_sample",
          arguments: { prompt: "hi" },
          scope,
          live: true,
          clientCapabilities: { sampling: {} },
        },
        {
          onEvent: (event) => {
            if (event.type === "accepted") callId = event.callId;
            if (event.type === "request") {
              void client.callback({
                callId,
                id: event.id,
                error: { code: -1, message: "User rejected sampling" },
              });
            }
          },
        },
      );
      expect(terminal.type === "result" && terminal.result.isError).toBe(true);
      expect(text(terminal)).toBe(
        "The client answered sampling/createMessage with an error: User rejected sampling",
      );
    });

    test("a client without the capability gets -32005", async () => {
      const { client } = await setupOver(transport);
      const terminal = await client.callTool({
        name: "test_elicit",
        arguments: {},
        scope,
        live: true,
        clientCapabilities: { sampling: {} },
      });
      expect(terminal).toEqual({
        type: "error",
        error: {
          code: ErrorCode.MissingClientCapability,
          message: "The client does not support elicitation (needed for elicitation/create)",
          data: { requiredCapabilities: { elicitation: {} } },
        },
      });
    });

    test("callbacks for unknown calls are 404", async () => {
      const { api } = setup();
      const { error, status } = await api.rpc.callback.post({ callId: "nope", id: "0", result: {} });
      expect(status).toBe(404);
      expect(error?.value).toEqual({
        error: "No pending request 0 for call nope (the call ended or the id is wrong)",
      });
    });
  });

  describe(`non-live calls (multi round trip) (${transport})`, () => {
    const caps = { elicitation: {}, sampling: {}, roots: {} };

    test("each missing answer ends the call with input_required; the retry resumes in order", async () => {
      const { client, observed } = await setupOver(transport);
      const base = { name: "test_multi", arguments: {}, scope, live: false, clientCapabilities: caps };
      const first = await client.callTool(base);
      expect(first).toEqual({
        type: "input_required",
        inputRequests: {
          "elicit:0": {
            method: "elicitation/create",
            params: {
              message: "Who?",
              requestedSchema: { type: "object", properties: { name: { type: "string" } } },
            },
          },
        },
      });
      const responses: Record<string, unknown> = {
        "elicit:0": { action: "accept", content: { name: "Grace" } },
      };
      const second = await client.callTool({ ...base, inputResponses: responses });
      expect(second.type === "input_required" && Object.keys(second.inputRequests)).toEqual(["sample:1"]);
      responses["sample:1"] = { role: "assistant", content: { type: "text", text: "hi" }, model: "m1" };
      const third = await client.callTool({ ...base, inputResponses: responses });
      expect(third).toEqual({
        type: "input_required",
        inputRequests: { "roots:2": { method: "roots/list", params: {} } },
      });
      expect(observed.sideEffects).toBe(0);
      responses["roots:2"] = { roots: [{ uri: "file:///a" }, { uri: "file:///b", name: "b" }] };
      const done = await client.callTool({ ...base, inputResponses: responses });
      expect(text(done)).toBe("Grace|hi|file:///a,file:///b");
      expect(observed.sideEffects).toBe(1);
    });

    test("requests made together are all returned at once", async () => {
      const { client } = await setupOver(transport);
      const base = { name: "test_parallel", arguments: {}, scope, live: false, clientCapabilities: caps };
      const first = await client.callTool(base);
      expect(first.type === "input_required" && Object.keys(first.inputRequests)).toEqual([
        "elicit:0",
        "elicit:1",
      ]);
      const done = await client.callTool({
        ...base,
        inputResponses: {
          "elicit:0": { action: "accept", content: { value: "x" } },
          "elicit:1": { action: "accept", content: { value: "y" } },
        },
      });
      expect(text(done)).toBe("x+y");
    });

    test("an invalid input response is -32602 naming the key", async () => {
      const { client } = await setupOver(transport);
      const event = await client.callTool({
        name: "test_elicit",
        arguments: {},
        scope,
        live: false,
        clientCapabilities: caps,
        inputResponses: { "elicit:0": { action: "maybe" } },
      });
      expect(event.type).toBe("error");
      if (event.type !== "error") return;
      expect(event.error.code).toBe(ErrorCode.InvalidParams);
      expect(event.error.message).toStartWith(
        'inputResponses["elicit:0"] is not a valid elicitation/create result',
      );
      expect((event.error.data as { path: string }[])[0]?.path).toBe("inputResponses.elicit:0.action");
    });

    test("a client without the capability gets -32005 instead of input_required", async () => {
      const { client } = await setupOver(transport);
      const event = await client.callTool({
        name: "test_sample",
        arguments: { prompt: "x" },
        scope,
        live: false,
      });
      expect(event.type === "error" && event.error.code).toBe(ErrorCode.MissingClientCapability);
    });
  });
}

describe("resources, sessions, health", () => {
  test("static and template resources; unknown is -32002", async () => {
    const { client } = setup();
    expect(await client.readResource({ uri: "test://static", scope })).toEqual({
      ok: true,
      result: { contents: [{ uri: "test://static", mimeType: "text/plain", text: "static text" }] },
    });
    expect(await client.readResource({ uri: "test://items/a%20b/notes/7", scope })).toEqual({
      ok: true,
      result: { contents: [{ uri: "test://items/a%20b/notes/7", text: "note 7 of item a b for org_1" }] },
    });
    expect(await client.readResource({ uri: "test://items/42", scope })).toEqual({
      ok: true,
      result: { contents: [{ uri: "test://items/42", text: "item 42" }] },
    });
    expect(await client.readResource({ uri: "test://items/42/other", scope })).toEqual({
      ok: false,
      error: {
        code: ErrorCode.ResourceNotFound,
        message: "Resource not found: test://items/42/other",
        data: { uri: "test://items/42/other" },
      },
    });
    expect(await client.readResource({ uri: "test://items/gone", scope })).toEqual({
      ok: false,
      error: {
        code: ErrorCode.ResourceNotFound,
        message: "Item gone was deleted: test://items/gone",
        data: { uri: "test://items/gone" },
      },
    });
    const failed = await client.readResource({ uri: "test://items/missing", scope });
    expect(failed).toEqual({
      ok: false,
      error: { code: ErrorCode.InternalError, message: "Reading test://items/missing failed: no such item" },
    });
  });

  test("ending a session reaches onSessionEnd", async () => {
    const { client, observed } = setup();
    await client.endSession({ sessionKey: "s-9", orgId: "org_9" });
    expect(observed.endedSessions).toEqual([{ sessionKey: "s-9", orgId: "org_9" }]);
  });

  test("health reports the probe, version and in-flight calls", async () => {
    const { client } = setup();
    const health = await client.health();
    expect(health).toMatchObject({
      status: "degraded",
      server: "kit-test",
      version: "1.2.3",
      inflight: 0,
      details: { upstream: "slow" },
    });
    expect(health.uptimeMs).toBeGreaterThanOrEqual(0);
  });
});

describe("client request keys and raw input schemas", () => {
  const caps = { elicitation: {}, sampling: {}, roots: {} };
  const ask = { message: "Name?", requestedSchema: { type: "object" as const, properties: {} } };
  const keyed = createServerApp({
    name: "kit-keys",
    version: "1.0.0",
    tools: [
      defineTool({
        name: "test_keyed",
        description: "Asks three things at once, two under chosen keys",
        input: v.object({}),
        handler: async (_args, ctx) => {
          const [name, reply, roots] = await Promise.all([
            ctx.elicit(ask, { key: "user_name" }),
            ctx.sample({ messages: [{ role: "user", content: { type: "text", text: "hi" } }], maxTokens: 5 }),
            ctx.roots({ key: "workspace" }),
          ]);
          const said = reply.content.type === "text" ? reply.content.text : "";
          return `${String(name.content?.name)}|${said}|${roots.map((r) => r.uri).join(",")}`;
        },
      }),
      defineTool({
        name: "test_duplicate_key",
        description: "Uses one key twice",
        input: v.object({ key: v.string() }),
        handler: async ({ key }, ctx) => {
          await ctx.elicit(ask);
          await ctx.elicit(ask, { key });
          return "unreachable";
        },
      }),
      defineTool({
        name: "test_raw_schema",
        description: "Publishes a hand-written JSON Schema",
        input: v.strictObject({ email: v.pipe(v.string(), v.email()) }),
        inputJsonSchema: {
          $schema: "https://json-schema.org/draft/2020-12/schema",
          type: "object",
          $defs: { mail: { $anchor: "mail", type: "string", format: "email" } },
          properties: { email: { $ref: "#/$defs/mail" } },
          allOf: [{ required: ["email"] }],
          additionalProperties: false,
        },
        handler: ({ email }) => `to ${email}`,
      }),
    ],
  });
  const client = createServerClient("http://kit.local", { fetch: (request) => keyed.handle(request) });

  test("chosen keys name the input requests and their answers; the others keep the default numbering", async () => {
    const base = { name: "test_keyed", arguments: {}, scope, live: false, clientCapabilities: caps };
    const first = await client.callTool(base);
    expect(first).toEqual({
      type: "input_required",
      inputRequests: {
        user_name: { method: "elicitation/create", params: ask },
        "sample:1": {
          method: "sampling/createMessage",
          params: { messages: [{ role: "user", content: { type: "text", text: "hi" } }], maxTokens: 5 },
        },
        workspace: { method: "roots/list", params: {} },
      },
    });
    const done = await client.callTool({
      ...base,
      inputResponses: {
        user_name: { action: "accept", content: { name: "Alice" } },
        "sample:1": { role: "assistant", content: { type: "text", text: "hello" }, model: "m" },
        workspace: { roots: [{ uri: "file:///w" }] },
      },
    });
    expect(text(done)).toBe("Alice|hello|file:///w");
  });

  test("an answer under the default key does not answer a request with a chosen key", async () => {
    const event = await client.callTool({
      name: "test_keyed",
      arguments: {},
      scope,
      live: false,
      clientCapabilities: caps,
      inputResponses: { "elicit:0": { action: "accept", content: { name: "Mallory" } } },
    });
    expect(event.type === "input_required" && Object.keys(event.inputRequests)).toEqual([
      "user_name",
      "sample:1",
      "workspace",
    ]);
  });

  test("a key used twice in one call, or an empty key, rejects the request with a clear error", async () => {
    const call = (key: string) =>
      client.callTool({
        name: "test_duplicate_key",
        arguments: { key },
        scope,
        live: false,
        clientCapabilities: caps,
        inputResponses: { "elicit:0": { action: "accept", content: {} } },
      });
    const duplicate = await call("elicit:0");
    expect(duplicate.type === "result" && duplicate.result.isError).toBe(true);
    expect(text(duplicate)).toBe(
      'ctx.elicit(): the request key "elicit:0" is already used in this call (keys must be unique per call)',
    );
    const empty = await call("");
    expect(text(empty)).toBe("ctx.elicit(): options.key must be a non-empty string");
    const fresh = await call("second");
    expect(fresh.type === "input_required" && Object.keys(fresh.inputRequests)).toEqual(["second"]);
  });

  test("inputJsonSchema is published verbatim while `input` still validates the arguments", async () => {
    const caps2 = await client.capabilities();
    const tool = caps2.tools.find((t) => t.name === "test_raw_schema");
    expect(tool?.inputSchema).toEqual({
      $schema: "https://json-schema.org/draft/2020-12/schema",
      type: "object",
      $defs: { mail: { $anchor: "mail", type: "string", format: "email" } },
      properties: { email: { $ref: "#/$defs/mail" } },
      allOf: [{ required: ["email"] }],
      additionalProperties: false,
    });
    const ok = await client.callTool({
      name: "test_raw_schema",
      arguments: { email: "a@b.co" },
      scope,
      live: false,
    });
    expect(text(ok)).toBe("to a@b.co");
    const bad = await client.callTool({
      name: "test_raw_schema",
      arguments: { email: "nope" },
      scope,
      live: false,
    });
    expect(bad.type === "result" && bad.result.isError).toBe(true);
  });

  test("an inputJsonSchema that is not an object schema is refused at start-up", () => {
    expect(() =>
      createServerApp({
        name: "kit-bad",
        version: "1.0.0",
        tools: [
          defineTool({
            name: "test_bad_schema",
            description: "Bad",
            input: v.object({}),
            inputJsonSchema: { type: "object", required: "email" },
            handler: () => "unreachable",
          }),
        ],
      }),
    ).toThrow("Tool test_bad_schema: inputJsonSchema must be an object JSON Schema (required:");
  });
});

describe("internal token (OMNI_INTERNAL_TOKEN)", () => {
  const call = (app: ReturnType<typeof setup>["app"], path: string, init: RequestInit = {}) =>
    app.handle(new Request(`http://kit.local${path}`, init));
  const sideEffect = JSON.stringify({ sessionKey: "s-token", orgId: "org_token" });

  test("/rpc/* without the token, or with a wrong one, is a 401 with a JSON body; with it, 200", async () => {
    const { app } = setup();
    for (const authorization of [
      undefined,
      "",
      `Bearer ${TOKEN.slice(0, -1)}`,
      `Bearer ${TOKEN}x`,
      `bearer ${TOKEN}`,
      TOKEN,
      "Bearer ",
    ]) {
      const response = await call(app, "/rpc/capabilities", {
        headers: authorization === undefined ? {} : { authorization },
      });
      expect(response.status).toBe(401);
      expect(response.headers.get("content-type")).toStartWith("application/json");
      expect(response.headers.get("www-authenticate")).toBe('Bearer realm="omni-internal"');
      const body = (await response.json()) as { error: string };
      expect(body.error).toContain("OMNI_INTERNAL_TOKEN");
      expect(JSON.stringify(body)).not.toContain(TOKEN);
    }
    const ok = await call(app, "/rpc/capabilities", { headers: AUTH });
    expect(ok.status).toBe(200);
    expect(((await ok.json()) as { server: { name: string } }).server.name).toBe("kit-test");
  });

  test("a refused call runs nothing and its body is not even parsed; unknown paths are refused alike", async () => {
    const { app, observed } = setup();
    const refused = await call(app, "/rpc/sessions/end", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: sideEffect,
    });
    expect(refused.status).toBe(401);
    const malformed = await call(app, "/rpc/sessions/end", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: "{not json",
    });
    expect(malformed.status).toBe(401);
    expect(observed.endedSessions).toEqual([]);
    expect((await call(app, "/rpc/nothing-here")).status).toBe(401);
    expect((await call(app, "/elsewhere?x=/health")).status).toBe(401);
    const allowed = await call(app, "/rpc/sessions/end", {
      method: "POST",
      headers: { "content-type": "application/json", ...AUTH },
      body: sideEffect,
    });
    expect(allowed.status).toBe(200);
    expect(observed.endedSessions).toEqual([{ sessionKey: "s-token", orgId: "org_token" }]);
  });

  test("/health and the standalone /mcp stay open", async () => {
    const { app } = setup();
    const health = await call(app, "/health");
    expect(health.status).toBe(200);
    expect(((await health.json()) as { server: string }).server).toBe("kit-test");
    const mcp = await call(app, "/mcp", {
      method: "POST",
      headers: { "content-type": "application/json", accept: "application/json, text/event-stream" },
      body: JSON.stringify({
        jsonrpc: "2.0",
        id: 1,
        method: "initialize",
        params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "t", version: "1" } },
      }),
    });
    expect(mcp.status).toBe(200);
  });

  test("a client with another token gets a 401 error that is not a transport failure", async () => {
    const { app } = setup();
    const stranger = createServerClient("http://kit.local", {
      fetch: (request) => app.handle(request),
      internalToken: "another-deployment-token",
    });
    const failure = await stranger.capabilities().catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(KitRpcError);
    expect(failure).toMatchObject({ status: 401, transport: false });
    const call2 = await stranger
      .callTool({ name: "test_echo", arguments: { text: "a" }, scope, live: false })
      .catch((error: unknown) => error);
    expect(call2).toMatchObject({ status: 401, transport: false });
  });
});
