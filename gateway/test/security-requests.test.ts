import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import {
  type GatewayProcess,
  type ProcessWorld,
  startGatewayProcess,
  startProcessWorld,
} from "./fixtures/process.ts";
import { alphaServer } from "./fixtures/test-servers.ts";

/**
 * Hardening (issue 11, items 1-3) against real gateway processes on Postgres: no request stops a process,
 * every `/api` and `/mcp` request is authenticated before its body is parsed, JSON depth is bounded, a NUL
 * anywhere is a 400 naming the field, error bodies never echo input nor depend on NODE_ENV, and nothing
 * internal (SQL, paths, stack frames, runtime hints) reaches a client.
 */

let world: ProcessWorld;
let gateway: GatewayProcess;
let production: GatewayProcess;

beforeAll(async () => {
  world = await startProcessWorld(alphaServer);
  [gateway, production] = await Promise.all([
    startGatewayProcess({ ...world.env, NODE_ENV: "development" }),
    startGatewayProcess({ ...world.env, NODE_ENV: "production" }),
  ]);
}, 90_000);

afterAll(async () => {
  await gateway?.stop();
  await production?.stop();
  await world?.close();
}, 30_000);

const deep = (levels: number) => `${"[".repeat(levels)}${"]".repeat(levels)}`;
const LEAK =
  /\bSELECT\b|\bINSERT\b|\bUPDATE\b.+\bSET\b|\$\d|\/work\/|node_modules|\.ts:\d+|\bat .+\(|verbose/i;

function api(
  target: GatewayProcess,
  method: string,
  path: string,
  opts: { body?: string; key?: string | null } = {},
): Promise<Response> {
  const key = opts.key === undefined ? world.ownerKey : opts.key;
  return fetch(`${target.url}${path}`, {
    method,
    headers: {
      ...(opts.body === undefined ? {} : { "content-type": "application/json" }),
      ...(key ? { authorization: `Bearer ${key}` } : {}),
    },
    ...(opts.body === undefined ? {} : { body: opts.body }),
  });
}

function mcp(
  target: GatewayProcess,
  body: string,
  key: string | null = world.ownerKey,
  names: { method?: string; name?: string } = {},
): Promise<Response> {
  return fetch(`${target.url}/mcp`, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      accept: "application/json, text/event-stream",
      "mcp-protocol-version": "2026-07-28",
      ...(names.method ? { "mcp-method": names.method } : {}),
      ...(names.name ? { "mcp-name": names.name } : {}),
      ...(key ? { authorization: `Bearer ${key}` } : {}),
    },
    body,
  });
}

const META = {
  "io.modelcontextprotocol/protocolVersion": "2026-07-28",
  "io.modelcontextprotocol/clientCapabilities": {},
};

async function rpc(target: GatewayProcess, method: string, params: Record<string, unknown>) {
  const res = await mcp(
    target,
    JSON.stringify({ jsonrpc: "2.0", id: 1, method, params: { _meta: META, ...params } }),
    world.ownerKey,
    { method, ...(typeof params.name === "string" ? { name: params.name } : {}) },
  );
  const text = await res.text();
  const data = text.split("\n").findLast((line) => line.startsWith("data: "));
  return {
    status: res.status,
    text,
    body: JSON.parse(data ? data.slice(6) : text) as Record<string, unknown>,
  };
}

describe("item 1: no request kills a process", () => {
  for (const host of ["localhost:abc", "127.0.0.1:99999", "[::1].evil"]) {
    test(`Host: ${host} is answered and the process lives`, async () => {
      const res = await fetch(`${gateway.url}/health`, { headers: { host } });
      expect(res.status).toBe(403);
      expect(await res.json()).toMatchObject({ error: { code: "forbidden" } });
      await Bun.sleep(50);
      expect(gateway.alive()).toBe(true);
      expect((await fetch(`${gateway.url}/health`)).status).toBe(200);
    });
  }
});

describe("item 2: authentication before work; bounded JSON", () => {
  test("depth 10,000 to /api/keys without credentials is a 401, not a parse", async () => {
    const res = await api(gateway, "POST", "/api/keys", { body: deep(10_000), key: null });
    expect(res.status).toBe(401);
    expect(res.headers.get("www-authenticate")).toContain("resource_metadata");
    expect(await res.json()).toEqual({
      error: { code: "missing_credentials", message: expect.stringContaining("Authorization") },
    });
  });

  test("depth 10,000 to the config API and /mcp without credentials: 401 too", async () => {
    const prompts = await api(gateway, "POST", "/api/prompts", { body: deep(10_000), key: null });
    expect(prompts.status).toBe(401);
    expect(await prompts.json()).toMatchObject({ error: { code: "missing_credentials" } });
    const rpcRes = await mcp(gateway, deep(10_000), null);
    expect(rpcRes.status).toBe(401);
    expect(await rpcRes.json()).toMatchObject({ error: { code: -32001 } });
  });

  test("authenticated, a body nested deeper than 64 levels is a 400 (admin API) / -32700 (/mcp)", async () => {
    for (const path of ["/api/keys", "/api/prompts", "/api/members/x"]) {
      const res = await api(gateway, path.startsWith("/api/members") ? "PATCH" : "POST", path, {
        body: deep(10_000),
      });
      expect(`${path} ${res.status}`).toBe(`${path} 400`);
      expect(await res.json()).toEqual({
        error: { code: "bad_request", message: "The JSON body nests deeper than 64 levels." },
      });
    }
    const arg = JSON.stringify({
      jsonrpc: "2.0",
      id: 1,
      method: "tools/call",
      params: { _meta: META, name: "alpha_echo", arguments: { text: JSON.parse(deep(65)) } },
    });
    const res = await mcp(gateway, arg);
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({
      error: { code: -32700, message: expect.stringContaining("64") },
    });
    // 64 levels are fine: the tool's own validation answers.
    const ok = await rpc(gateway, "tools/call", { name: "alpha_echo", arguments: { text: "shallow" } });
    expect(JSON.stringify(ok.body)).toContain("alpha says shallow");
  });

  test("a 422 names the field, never echoes the input, is bounded, and is the same under NODE_ENV=production", async () => {
    const marker = "ECHO-ME-".repeat(500);
    const cases: [string, string, string][] = [
      ["POST", "/api/keys", JSON.stringify({ name: marker, scopes: ["tools:call"] })],
      ["POST", "/api/keys", JSON.stringify({ name: "k", scopes: [marker] })],
      ["POST", "/api/prompts", JSON.stringify({ name: marker, messages: [{ role: "user", text: "x" }] })],
      ["PUT", "/api/services/alpha/secrets/apiKey", JSON.stringify({ value: 42 })],
    ];
    for (const [method, path, body] of cases) {
      const dev = await api(gateway, method, path, { body });
      const prod = await api(production, method, path, { body });
      const devText = await dev.text();
      expect(`${path} ${dev.status}`).toBe(`${path} 422`);
      expect(devText).not.toContain("ECHO-ME");
      expect(devText.length).toBeLessThan(600);
      expect(JSON.parse(devText)).toMatchObject({
        error: { code: "invalid", details: { field: expect.any(String) } },
      });
      expect(await prod.text()).toBe(devText);
    }
  });
});

describe("item 3: a NUL is a 400 naming the field; nothing internal leaks", () => {
  const cases: [string, string, string | undefined, string][] = [
    ["DELETE", "/api/keys/key%00x", undefined, "params.id"],
    ["GET", "/api/audit?action=a%00b", undefined, "query.action"],
    ["POST", "/api/keys", JSON.stringify({ name: "a\u0000b", scopes: ["tools:call"] }), "body.name"],
    ["PUT", "/api/services/alpha/secrets/apiKey", JSON.stringify({ value: "sec\u0000ret" }), "body.value"],
    ["PUT", "/api/services/alpha/secrets/api%00Key", JSON.stringify({ value: "secret" }), "params.name"],
    [
      "PATCH",
      "/api/services/alpha",
      JSON.stringify({ settings: { "a\u0000": 1 } }),
      "body.settings.a\\u0000",
    ],
    ["PATCH", "/api/prompts/x%00", JSON.stringify({ title: "t" }), "params.id"],
  ];
  for (const [method, path, body, field] of cases) {
    test(`${method} ${path.replaceAll("%00", "%00")} → 400 naming ${field}`, async () => {
      const res = await api(gateway, method, path, body === undefined ? {} : { body });
      const text = await res.text();
      expect(`${res.status} ${text}`).toStartWith("400 ");
      expect(JSON.parse(text)).toMatchObject({ error: { code: "bad_request", details: { field } } });
      expect(text).not.toMatch(LEAK);
    });
  }

  test("a tool argument with NUL is served (no 5xx, no -32603), and the next call succeeds", async () => {
    const res = await rpc(gateway, "tools/call", {
      name: "alpha_echo",
      arguments: { text: "nul\u0000here" },
    });
    expect(res.status).toBeLessThan(500);
    expect(res.body.error).toBeUndefined();
    expect(res.text).not.toMatch(LEAK);
    const next = await rpc(gateway, "tools/call", { name: "alpha_echo", arguments: { text: "after" } });
    expect(JSON.stringify(next.body)).toContain("alpha says after");
  });

  test("an upstream that is down is a clear error without the runtime's hints or addresses", async () => {
    const [target] = await Promise.all([
      startGatewayProcess({ ...world.env, SERVERS: "alpha=http://127.0.0.1:9" }),
    ]);
    try {
      const res = await rpc(target, "tools/call", { name: "alpha_echo", arguments: { text: "x" } });
      expect(res.status).toBeLessThan(500);
      expect(res.text).not.toMatch(LEAK);
      expect(res.text).not.toContain("127.0.0.1:9");
    } finally {
      await target.stop();
    }
  });

  test("both processes are still alive", () => {
    expect(gateway.alive()).toBe(true);
    expect(production.alive()).toBe(true);
  });
});

describe("item 11: prototype names are not methods or settings", () => {
  const NAMES = ["constructor", "toString", "__proto__", "hasOwnProperty", "valueOf"];

  test("a 2025 session and a stateless request get -32601 for each", async () => {
    const init = await fetch(`${gateway.url}/mcp`, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        accept: "application/json, text/event-stream",
        authorization: `Bearer ${world.ownerKey}`,
      },
      body: JSON.stringify({
        jsonrpc: "2.0",
        id: 0,
        method: "initialize",
        params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "p", version: "1" } },
      }),
    });
    const session = init.headers.get("mcp-session-id") ?? "";
    expect(session).not.toBe("");
    for (const name of NAMES) {
      const res = await fetch(`${gateway.url}/mcp`, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          accept: "application/json, text/event-stream",
          authorization: `Bearer ${world.ownerKey}`,
          "mcp-session-id": session,
          "mcp-protocol-version": "2025-06-18",
        },
        body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: name, params: {} }),
      });
      const text = await res.text();
      const data = text.split("\n").findLast((line) => line.startsWith("data: "));
      const body = JSON.parse(data ? data.slice(6) : text) as { error?: { code: number } };
      expect(`${name}: ${body.error?.code}`).toBe(`${name}: -32601`);
      const modern = await rpc(gateway, name, {});
      expect(`${name} (stateless): ${(modern.body.error as { code?: number } | undefined)?.code}`).toBe(
        `${name} (stateless): -32601`,
      );
    }
  });

  test("secret and setting names follow the documented pattern: no __proto__", async () => {
    const secret = await api(gateway, "PUT", "/api/services/alpha/secrets/__proto__", {
      body: JSON.stringify({ value: "x" }),
    });
    expect(secret.status).toBe(400);
    expect(await secret.json()).toMatchObject({ error: { code: "bad_request", details: { field: "name" } } });
    const setting = await api(gateway, "PATCH", "/api/services/alpha", {
      body: '{"settings":{"__proto__":{"polluted":true}}}',
    });
    expect(setting.status).toBe(400);
    expect(await setting.json()).toMatchObject({
      error: { code: "bad_request", details: { field: "body.settings.__proto__" } },
    });
    const ok = await api(gateway, "PATCH", "/api/services/alpha", { body: '{"settings":{"teamId":"t1"}}' });
    expect(ok.status).toBe(200);
    expect(await ok.json()).toMatchObject({ settings: { teamId: "t1" } });
  });
});
