import { describe, expect, test } from "bun:test";
import { treaty } from "@elysiajs/eden";
import { ErrorCode, type ToolCallEvent } from "@omni/contracts";
import { createServerApp, createServerClient, type ToolCallStreamEvent } from "../src/index.ts";
import { testScope } from "./fixtures/scope.ts";
import { createTestServer } from "./fixtures/test-server.ts";

function setup() {
  const { def, observed } = createTestServer();
  const app = createServerApp(def);
  const client = createServerClient("http://kit.local", { fetch: (request) => app.handle(request) });
  return { app, client, observed, api: treaty(app) };
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

describe("tools/call", () => {
  test("a cheap tool answers with one JSON terminal event (fast path)", async () => {
    const { app } = setup();
    const response = await app.handle(
      new Request("http://kit.local/rpc/tools/call", {
        method: "POST",
        headers: { "content-type": "application/json" },
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
    const { client } = setup();
    const event = await client.callTool({ name: "test_whoami", arguments: {}, scope, live: false });
    expect(text(event)).toBe("org_1/session-1/org-token/dev");
  });

  test("invalid arguments are -32602 with the failing field paths", async () => {
    const { client } = setup();
    const event = await client.callTool({
      name: "test_echo",
      arguments: { text: "", times: "x" },
      scope,
      live: false,
    });
    expect(event.type).toBe("error");
    if (event.type !== "error") return;
    expect(event.error.code).toBe(ErrorCode.InvalidParams);
    expect(event.error.message).toContain("Invalid arguments for tool test_echo");
    const data = event.error.data as { path: string; message: string }[];
    expect(data.map((d) => d.path).sort()).toEqual(["text", "times"]);
  });

  test("an unknown tool is -32602 in the MCP wording", async () => {
    const { client } = setup();
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
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ name: "test_echo", arguments: {}, live: "yes" }),
      }),
    );
    expect(response.status).toBe(422);
  });

  test("ToolError and other failures become isError results without stacks", async () => {
    const { client } = setup();
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
    const { client } = setup();
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
    const { client } = setup();
    const events: ToolCallStreamEvent[] = [];
    const terminal = await client.callTool(
      { name: "test_progress", arguments: { steps: 2 }, scope, live: true, progress: true, logLevel: "info" },
      { onEvent: (event) => events.push(event) },
    );
    expect(text(terminal)).toBe("did 2 steps");
    expect(events[0]?.type).toBe("accepted");
    expect(events.slice(1)).toEqual([
      { type: "progress", progress: 1, total: 2, message: "step 1" },
      { type: "progress", progress: 2, total: 2, message: "step 2" },
      { type: "log", level: "info", logger: "test", data: { done: 2 } },
    ]);

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

describe("live client requests", () => {
  test("elicitation is a request event answered on /rpc/callback", async () => {
    const { client } = setup();
    let callId = "";
    const answered: boolean[] = [];
    const terminal = await client.callTool(
      { name: "test_elicit", arguments: {}, scope, live: true, clientCapabilities: { elicitation: {} } },
      {
        onEvent: (event) => {
          if (event.type === "accepted") callId = event.callId;
          if (event.type === "request") {
            expect(event.request.method).toBe("elicitation/create");
            expect(event.request.params.message).toBe("What is your name?");
            void client
              .callback({ callId, id: event.id, result: { action: "accept", content: { name: "Ada" } } })
              .then((ok) => answered.push(ok));
          }
        },
      },
    );
    expect(text(terminal)).toBe("Hello, Ada");
    expect(answered).toEqual([true]);
    expect(await client.callback({ callId, id: "0", result: {} })).toBe(false);
  });

  test("an error answer rejects the tool's request", async () => {
    const { client } = setup();
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
    const { client } = setup();
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

describe("non-live calls (multi round trip)", () => {
  const caps = { elicitation: {}, sampling: {}, roots: {} };

  test("each missing answer ends the call with input_required; the retry resumes in order", async () => {
    const { client, observed } = setup();
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
    const { client } = setup();
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
    const { client } = setup();
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
    const { client } = setup();
    const event = await client.callTool({
      name: "test_sample",
      arguments: { prompt: "x" },
      scope,
      live: false,
    });
    expect(event.type === "error" && event.error.code).toBe(ErrorCode.MissingClientCapability);
  });
});

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
