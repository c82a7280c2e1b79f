import { afterAll, beforeAll, expect, test } from "bun:test";
import { type Stack, startStack } from "./fixtures/stack.ts";
import { alphaServer } from "./fixtures/test-servers.ts";

let stack: Stack;
let sessionId: string;
const MAX_BODY = 64 * 1024;

const headers = (extra: Record<string, string> = {}) => ({
  "content-type": "application/json",
  accept: "application/json, text/event-stream",
  ...extra,
});

async function post(
  body: string,
  extra: Record<string, string> = {},
): Promise<{ status: number; json: unknown }> {
  const response = await fetch(`${stack.url}/mcp`, { method: "POST", headers: headers(extra), body });
  const text = await response.text();
  let json: unknown = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    json = text;
  }
  return { status: response.status, json };
}

const session = () => ({ "mcp-session-id": sessionId, "mcp-protocol-version": "2025-11-25" });
const rpc = (id: number | string, method: string, params?: unknown) =>
  JSON.stringify({ jsonrpc: "2.0", id, method, ...(params === undefined ? {} : { params }) });

beforeAll(async () => {
  stack = await startStack({ servers: [alphaServer], gateway: { maxBodyBytes: MAX_BODY } });
  const init = await fetch(`${stack.url}/mcp`, {
    method: "POST",
    headers: headers(),
    body: rpc(0, "initialize", {
      protocolVersion: "2025-11-25",
      capabilities: {},
      clientInfo: { name: "bad-input", version: "1" },
    }),
  });
  expect(init.status).toBe(200);
  sessionId = init.headers.get("mcp-session-id")!;
}, 180_000);
afterAll(async () => {
  await stack?.stop();
});

/** Each case: a request, the HTTP status and the JSON-RPC error code it must get. */
const cases: {
  name: string;
  body: () => string;
  headers?: () => Record<string, string>;
  status: number;
  code: number;
}[] = [
  { name: "malformed JSON", body: () => "{not json", headers: session, status: 400, code: -32700 },
  {
    name: "truncated JSON",
    body: () => '{"jsonrpc":"2.0","id":1,',
    headers: session,
    status: 400,
    code: -32700,
  },
  { name: "a JSON string", body: () => '"hello"', headers: session, status: 400, code: -32600 },
  { name: "a number", body: () => "42", headers: session, status: 400, code: -32600 },
  {
    name: "wrong jsonrpc",
    body: () => '{"jsonrpc":"1.0","id":1,"method":"ping"}',
    headers: session,
    status: 400,
    code: -32600,
  },
  {
    name: "method not a string",
    body: () => '{"jsonrpc":"2.0","id":1,"method":7}',
    headers: session,
    status: 400,
    code: -32600,
  },
  {
    name: "params an array",
    body: () => '{"jsonrpc":"2.0","id":1,"method":"ping","params":[1]}',
    headers: session,
    status: 400,
    code: -32600,
  },
  {
    name: "id an object",
    body: () => '{"jsonrpc":"2.0","id":{},"method":"ping"}',
    headers: session,
    status: 400,
    code: -32600,
  },
  {
    name: "neither method nor result",
    body: () => '{"jsonrpc":"2.0","id":1}',
    headers: session,
    status: 400,
    code: -32600,
  },
  {
    name: "batch (not in 2025-11-25)",
    body: () => `[${rpc(1, "ping")},${rpc(2, "ping")}]`,
    headers: session,
    status: 400,
    code: -32600,
  },
  { name: "empty batch", body: () => "[]", headers: session, status: 400, code: -32600 },
  {
    name: "unknown method",
    body: () => rpc(1, "tools/explode"),
    headers: session,
    status: 200,
    code: -32601,
  },
  {
    name: "unknown tool",
    body: () => rpc(1, "tools/call", { name: "no_such_tool" }),
    headers: session,
    status: 200,
    code: -32602,
  },
  {
    name: "tool name missing",
    body: () => rpc(1, "tools/call", {}),
    headers: session,
    status: 200,
    code: -32602,
  },
  {
    name: "bad cursor",
    body: () => rpc(1, "tools/list", { cursor: "garbage" }),
    headers: session,
    status: 200,
    code: -32602,
  },
  {
    name: "bad log level",
    body: () => rpc(1, "logging/setLevel", { level: "loud" }),
    headers: session,
    status: 200,
    code: -32602,
  },
  {
    name: "unknown prompt",
    body: () => rpc(1, "prompts/get", { name: "nope" }),
    headers: session,
    status: 200,
    code: -32602,
  },
  {
    name: "unknown resource",
    body: () => rpc(1, "resources/read", { uri: "x://nope" }),
    headers: session,
    status: 200,
    code: -32002,
  },
  {
    name: "second initialize",
    body: () => rpc(1, "initialize", { protocolVersion: "2025-11-25" }),
    headers: session,
    status: 400,
    code: -32600,
  },
  { name: "missing session id", body: () => rpc(1, "tools/list"), status: 400, code: -32000 },
  {
    name: "unknown session id",
    body: () => rpc(1, "tools/list"),
    headers: () => ({ "mcp-session-id": "nope" }),
    status: 404,
    code: -32001,
  },
  {
    name: "unsupported protocol version header",
    body: () => rpc(1, "tools/list"),
    headers: () => ({ "mcp-session-id": sessionId, "mcp-protocol-version": "1999-01-01" }),
    status: 400,
    code: -32000,
  },
  {
    name: "oversized body",
    body: () => rpc(1, "tools/call", { name: "alpha_echo", arguments: { text: "x".repeat(MAX_BODY) } }),
    headers: session,
    status: 413,
    code: -32600,
  },
];

for (const c of cases) {
  test(`bad input: ${c.name} → HTTP ${c.status}, JSON-RPC ${c.code}`, async () => {
    const { status, json } = await post(c.body(), c.headers?.() ?? {});
    expect(status).toBe(c.status);
    expect((json as { error?: { code: number; message: string } }).error?.code).toBe(c.code);
    expect((json as { error: { message: string } }).error.message.length).toBeGreaterThan(5);
  });
}

test("invalid tool arguments are a tool execution error (isError: true) naming the field, not -32602", async () => {
  const { status, json } = await post(
    rpc(1, "tools/call", { name: "alpha_echo", arguments: { text: 5 } }),
    session(),
  );
  expect(status).toBe(200);
  const result = (json as { result: { isError?: boolean; content: { text: string }[] } }).result;
  expect(result.isError).toBe(true);
  expect(result.content[0]?.text).toContain("text: ");
});

test("initialize with an unknown version negotiates the latest; without protocolVersion it is -32602", async () => {
  const ok = await post(
    rpc(1, "initialize", { protocolVersion: "1999-01-01", capabilities: {}, clientInfo: {} }),
  );
  expect((ok.json as { result: { protocolVersion: string } }).result.protocolVersion).toBe("2025-11-25");
  const bad = await post(rpc(1, "initialize", { capabilities: {} }));
  expect((bad.json as { error: { code: number } }).error.code).toBe(-32602);
});

test("wrong Accept and Content-Type are 406 and 415; foreign Host is 403", async () => {
  const notAcceptable = await fetch(`${stack.url}/mcp`, {
    method: "POST",
    headers: { "content-type": "application/json", accept: "text/html", ...session() },
    body: rpc(1, "ping"),
  });
  expect(notAcceptable.status).toBe(406);
  const wrongType = await fetch(`${stack.url}/mcp`, {
    method: "POST",
    headers: { ...headers({ "content-type": "text/plain" }), ...session() },
    body: rpc(1, "ping"),
  });
  expect(wrongType.status).toBe(415);
  const foreign = await fetch(`${stack.url}/mcp`, {
    method: "POST",
    headers: { ...headers(), host: "evil.example.com", origin: "http://evil.example.com" },
    body: rpc(1, "ping"),
  });
  expect(foreign.status).toBe(403);
  const foreignOrigin = await fetch(`${stack.url}/health`, {
    headers: { origin: "http://evil.example.com" },
  });
  expect(foreignOrigin.status).toBe(403);
});

test("a few hundred bad requests, then a valid call still succeeds", async () => {
  for (let round = 0; round < 12; round++) {
    await Promise.all(cases.map((c) => post(c.body(), c.headers?.() ?? {})));
  }
  const { status, json } = await post(
    rpc(99, "tools/call", { name: "alpha_echo", arguments: { text: "ok" } }),
    session(),
  );
  expect(status).toBe(200);
  expect(json).toMatchObject({
    id: 99,
    result: { content: [{ type: "text", text: "alpha says ok to org_demo" }] },
  });
});
