import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { PERMISSIONS } from "@omni/contracts";
import { createRepositories, createTestDatabase, type DbHandle } from "@omni/db";
import { type RunningServer, serve } from "@omni/kit";
import { Elysia } from "elysia";
import { createGateway, type GatewayApp } from "../src/app.ts";
import { createApiKey } from "../src/auth/api-keys.ts";
import { createAuthModule, readAuthEnv } from "../src/auth/index.ts";
import { createConfigService } from "../src/config/index.ts";
import { defaultClientFactory, Registry } from "../src/registry/index.ts";
import { createLogger } from "../src/security/log.ts";
import { startStack } from "./fixtures/stack.ts";
import { alphaServer } from "./fixtures/test-servers.ts";

/**
 * The security plugin as production mounts it (`createGateway({ security: auth.security })`, first): every
 * response of every route — health, MCP, admin API, 404, the DNS-rebinding guard's 403, a 401 — carries a
 * request id and the security headers and is logged with it; CORS answers preflights for CORS_ORIGINS only;
 * bodies over `maxBodyBytes` are a 413 before authentication (a JSON-RPC error on `/mcp`). The listener
 * serves the MCP endpoint without Elysia's lifecycle (the lean routes) with the same answers.
 */
const quiet = { info: () => {}, warn: () => {}, error: () => {}, debug: () => {} };
const APP_ORIGIN = "https://app.example.test";
const MAX_BODY = 4096;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
let db: DbHandle;
let server: RunningServer;
let registry: Registry;
let config: ReturnType<typeof createConfigService>;
let gateway: GatewayApp;
let url: string;
let ownerKey: string;
const lines: Record<string, unknown>[] = [];
/** The paths of the requests Elysia's lifecycle handled (seen by a mounted plugin's `wrap`). */
const elysiaSaw: string[] = [];

beforeAll(async () => {
  const handle = await createTestDatabase("postgres");
  if (!handle) throw new Error("Postgres at 127.0.0.1:5432 is required");
  db = handle;
  const repos = createRepositories(db.db);
  const log = console.log;
  console.log = () => {};
  try {
    server = serve(alphaServer, { port: 0, hostname: "127.0.0.1", mcp: false });
  } finally {
    console.log = log;
  }
  const alpha = await repos.servers.upsert({ name: "alpha", title: "Alpha" });
  const org = await repos.organizations.create({ slug: `sec-${crypto.randomUUID().slice(0, 8)}`, name: "S" });
  await repos.services.upsert(org.id, alpha.id, { enabled: true });
  ownerKey = (await createApiKey(repos, org.id, null, { name: "owner", scopes: [...PERMISSIONS] })).secret;

  config = createConfigService({ db: db.db, logger: quiet });
  registry = new Registry({
    instances: [{ server: "alpha", url: server.url }],
    clientFactory: defaultClientFactory,
    healthIntervalMs: 600_000,
    logger: quiet,
  });
  await registry.start();
  const logger = createLogger({ level: "info", sink: (line) => lines.push(JSON.parse(line)) });
  const auth = createAuthModule({ db: db.db, env: readAuthEnv({ CORS_ORIGINS: APP_ORIGIN }), logger });
  // Around Elysia's whole fetch (as the security plugin's request-id scope is), early answers included.
  const probe = new Elysia({ name: "lean-probe" }).wrap((fetch, request) => (...args: unknown[]) => {
    elysiaSaw.push(new URL(request.url).pathname);
    return fetch(...args);
  });
  gateway = createGateway({
    config,
    authenticator: auth.authenticator,
    registry,
    logger: quiet,
    security: auth.security,
    plugins: [auth.routes, probe],
    mcpAccess: auth.mcpAccess,
    admin: { db: db.db, config, resolveOrg: auth.resolveOrg, audit: auth.audit, auth },
    options: { maxBodyBytes: MAX_BODY },
  }).listen({ port: 0, hostname: "127.0.0.1" });
  url = `http://127.0.0.1:${gateway.server?.port}`;
}, 60_000);

afterAll(async () => {
  await gateway?.stop(true);
  registry?.stop();
  await server?.stop().catch(() => {});
  await config?.close();
  await db?.close();
}, 60_000);

const mcpHeaders = { "content-type": "application/json", accept: "application/json, text/event-stream" };
const initialize = JSON.stringify({
  jsonrpc: "2.0",
  id: 1,
  method: "initialize",
  params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "sec", version: "1" } },
});

function expectSecured(res: Response, label: string): void {
  expect(`${label}: ${res.headers.get("x-content-type-options")}`).toBe(`${label}: nosniff`);
  expect(`${label}: ${res.headers.get("x-frame-options")}`).toBe(`${label}: DENY`);
  expect(`${label}: ${res.headers.get("referrer-policy")}`).toBe(`${label}: no-referrer`);
  expect(res.headers.get("content-security-policy")).toBe("frame-ancestors 'none'");
}

/** The access-log line of a request id (written after the response: polled briefly). */
async function logLine(requestId: string): Promise<Record<string, unknown>> {
  for (let i = 0; i < 100; i++) {
    const found = lines.find((l) => l.msg === "request" && l.requestId === requestId);
    if (found) return found;
    await Bun.sleep(10);
  }
  throw new Error(`no access-log line for ${requestId}`);
}

describe("the security plugin on the real gateway", () => {
  const cases: { label: string; path: string; init?: RequestInit; status: number }[] = [
    { label: "health", path: "/health", status: 200 },
    { label: "mcp initialize", path: "/mcp", status: 200, init: { method: "POST", body: initialize } },
    {
      label: "mcp without credentials",
      path: "/mcp",
      status: 401,
      init: { method: "POST", body: initialize },
    },
    { label: "admin api", path: "/api/prompts", status: 200 },
    { label: "admin api without credentials", path: "/api/prompts", status: 401 },
    { label: "auth api without credentials", path: "/api/keys", status: 401 },
    { label: "unknown route", path: "/nope", status: 404 },
    {
      label: "rebinding guard (Origin)",
      path: "/health",
      status: 403,
      init: { headers: { origin: "https://evil.example" } },
    },
  ];
  for (const { label, path, init, status } of cases) {
    test(`${label}: ${status} with a request id (fresh, or the caller's), security headers, logged`, async () => {
      const withKey = status !== 401 && (path === "/mcp" || path.startsWith("/api"));
      const headers = {
        ...(path === "/mcp" ? mcpHeaders : {}),
        ...(withKey ? { authorization: `Bearer ${ownerKey}` } : {}),
        ...((init?.headers as Record<string, string> | undefined) ?? {}),
      };
      const fresh = await fetch(`${url}${path}`, { ...init, headers });
      expect(`${label} → ${fresh.status}`).toBe(`${label} → ${status}`);
      expectSecured(fresh, label);
      const id = fresh.headers.get("x-request-id") ?? "";
      expect(id).toMatch(UUID);
      expect(await logLine(id)).toMatchObject({ method: init?.method ?? "GET", path, status });

      const mine = `trace-${crypto.randomUUID()}`;
      const echoed = await fetch(`${url}${path}`, { ...init, headers: { ...headers, "x-request-id": mine } });
      expect(echoed.status).toBe(status);
      expect(echoed.headers.get("x-request-id")).toBe(mine);
      expectSecured(echoed, label);
      expect(await logLine(mine)).toMatchObject({ path, status });
    });
  }

  test("an unsafe incoming request id is replaced, never echoed", async () => {
    const res = await fetch(`${url}/health`, { headers: { "x-request-id": "a b<script>" } });
    expect(res.headers.get("x-request-id")).toMatch(UUID);
  });

  test("the rebinding guard refuses a foreign Host with its 403, request id and headers", async () => {
    const res = await fetch(`${url}/mcp`, {
      method: "POST",
      headers: { ...mcpHeaders, host: "rebound.example", "x-request-id": "rebind-1" },
      body: initialize,
    });
    expect(res.status).toBe(403);
    expect(res.headers.get("x-request-id")).toBe("rebind-1");
    expectSecured(res, "host");
    expect(await res.json()).toMatchObject({
      error: { code: "forbidden", message: expect.stringContaining("Host") },
    });
  });

  test("CORS: a preflight from CORS_ORIGINS succeeds; from an admitted other origin or a foreign one it is refused", async () => {
    const preflight = (origin: string) =>
      fetch(`${url}/mcp`, {
        method: "OPTIONS",
        headers: {
          origin,
          "access-control-request-method": "POST",
          "access-control-request-headers": "authorization, content-type, mcp-session-id",
        },
      });
    const ok = await preflight(APP_ORIGIN);
    expect(ok.status).toBe(204);
    expect(ok.headers.get("access-control-allow-origin")).toBe(APP_ORIGIN);
    expect(ok.headers.get("access-control-allow-headers")).toContain("mcp-session-id");
    expect(ok.headers.get("access-control-allow-methods")).toContain("POST");
    expect(await logLine(ok.headers.get("x-request-id") ?? "")).toMatchObject({
      method: "OPTIONS",
      status: 204,
    });
    // The allowed origin's real request may read the response (and its request id).
    const read = await fetch(`${url}/health`, { headers: { origin: APP_ORIGIN } });
    expect(read.status).toBe(200);
    expect(read.headers.get("access-control-allow-origin")).toBe(APP_ORIGIN);
    expect(read.headers.get("access-control-expose-headers")).toContain("x-request-id");

    // A loopback dev tool reaches the gateway (guard) but is not a CORS reader.
    const loopback = await preflight("http://localhost:5173");
    expect(loopback.status).toBe(403);
    expect(loopback.headers.get("access-control-allow-origin")).toBeNull();
    expect(await loopback.json()).toMatchObject({ error: { code: "origin_not_allowed" } });
    // A foreign origin does not even reach it.
    const foreign = await preflight("https://evil.example");
    expect(foreign.status).toBe(403);
    expect(foreign.headers.get("access-control-allow-origin")).toBeNull();
    expect(await foreign.json()).toMatchObject({ error: { code: "forbidden" } });
  });

  test("a body over maxBodyBytes is a 413 before authentication: JSON-RPC on /mcp, {error} elsewhere", async () => {
    const big = JSON.stringify({
      jsonrpc: "2.0",
      id: 7,
      method: "tools/call",
      params: { name: "alpha_echo", arguments: { text: "x".repeat(MAX_BODY) } },
    });
    for (const authorization of [`Bearer ${ownerKey}`, null]) {
      const res = await fetch(`${url}/mcp`, {
        method: "POST",
        headers: { ...mcpHeaders, ...(authorization ? { authorization } : {}) },
        body: big,
      });
      expect(res.status).toBe(413);
      expect(await logLine(res.headers.get("x-request-id") ?? "")).toMatchObject({
        path: "/mcp",
        status: 413,
      });
      expectSecured(res, "413 mcp");
      expect(await res.json()).toEqual({
        jsonrpc: "2.0",
        id: null,
        error: {
          code: -32600,
          message: `Payload too large: the body exceeds ${MAX_BODY} bytes (MAX_BODY_BYTES)`,
        },
      });
    }
    // Streamed without a Content-Length: the same answer.
    const chunks = new ReadableStream<Uint8Array>({
      start(controller) {
        for (let i = 0; i < 8; i++) controller.enqueue(new TextEncoder().encode(" ".repeat(1024)));
        controller.close();
      },
    });
    const streamed = await fetch(`${url}/mcp`, {
      method: "POST",
      headers: { ...mcpHeaders, authorization: `Bearer ${ownerKey}` },
      body: chunks,
    });
    expect(streamed.status).toBe(413);
    expect(await streamed.json()).toMatchObject({ jsonrpc: "2.0", error: { code: -32600 } });

    const admin = await fetch(`${url}/api/prompts`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${ownerKey}` },
      body: JSON.stringify({ name: "big", messages: [{ role: "user", text: "x".repeat(MAX_BODY) }] }),
    });
    expect(admin.status).toBe(413);
    expect(await admin.json()).toEqual({
      error: {
        code: "payload_too_large",
        message: `The request body is larger than ${MAX_BODY} bytes (MAX_BODY_BYTES).`,
        details: { maxBodyBytes: MAX_BODY },
      },
    });
    // Just under the limit still reaches the endpoint (and its validation).
    const small = await fetch(`${url}/api/prompts`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${ownerKey}` },
      body: JSON.stringify({ name: "small_one", messages: [{ role: "user", text: "x".repeat(1000) }] }),
    });
    expect(small.status).toBe(201);
  });

  test("a gateway built by the test stack has the plugin too (request ids, headers, the guard's 403)", async () => {
    const stack = await startStack({ servers: [alphaServer] });
    try {
      const health = await fetch(`${stack.url}/health`, { headers: { "x-request-id": "stack-1" } });
      expect(health.status).toBe(200);
      expect(health.headers.get("x-request-id")).toBe("stack-1");
      expectSecured(health, "stack health");
      const rebound = await fetch(`${stack.url}/mcp`, {
        method: "POST",
        headers: { ...mcpHeaders, origin: "https://evil.example" },
        body: initialize,
      });
      expect(rebound.status).toBe(403);
      expect(rebound.headers.get("x-request-id")).toMatch(UUID);
    } finally {
      await stack.stop();
    }
  }, 60_000);
});

const SECURITY = ["x-content-type-options", "x-frame-options", "referrer-policy", "content-security-policy"];
const CORS = [
  "access-control-allow-origin",
  "access-control-allow-credentials",
  "access-control-expose-headers",
  "access-control-allow-methods",
  "access-control-allow-headers",
  "access-control-max-age",
  "vary",
];
/** What a security answer is made of: status, security and CORS headers, request id, JSON body. */
async function shape(res: Response, body: boolean) {
  const headers: Record<string, string | null> = {};
  for (const name of [...SECURITY, ...CORS, "x-request-id", "content-type"])
    headers[name] = res.headers.get(name);
  const text = await res.text();
  return { status: res.status, headers, body: body ? JSON.parse(text) : null };
}

interface Case {
  label: string;
  path: string;
  init: Omit<RequestInit, "headers"> & { headers: Record<string, string> };
  status: number;
  /** Compare bodies too (an MCP success carries a fresh session id). */
  body: boolean;
  /** Send the owner's API key. */
  key?: true;
  check: (res: Response, json: unknown) => void;
}

/** The request of a CORS preflight of a POST from `origin`. */
const preflightInit = (origin: string) => ({
  method: "OPTIONS",
  headers: { origin, "access-control-request-method": "POST" },
});
const big = JSON.stringify({ jsonrpc: "2.0", id: 7, method: "ping", params: { pad: "x".repeat(MAX_BODY) } });
const cases: Case[] = [
  {
    label: "a foreign Host",
    path: "/mcp",
    init: { method: "POST", headers: { ...mcpHeaders, host: "rebound.example" }, body: initialize },
    status: 403,
    body: true,
    check: (_, json) =>
      expect(json).toMatchObject({ error: { code: "forbidden", message: expect.stringContaining("Host") } }),
  },
  {
    label: "a foreign Origin",
    path: "/mcp/o/demo",
    init: { method: "POST", headers: { ...mcpHeaders, origin: "https://evil.example" }, body: initialize },
    status: 403,
    body: true,
    check: (_, json) => expect(json).toMatchObject({ error: { code: "forbidden" } }),
  },
  {
    label: "a preflight from CORS_ORIGINS",
    path: "/mcp",
    init: preflightInit(APP_ORIGIN),
    status: 204,
    body: false,
    check: (res) => {
      expect(res.headers.get("access-control-allow-origin")).toBe(APP_ORIGIN);
      expect(res.headers.get("access-control-allow-headers")).toContain("mcp-session-id");
      expect(res.headers.get("access-control-allow-methods")).toContain("POST");
    },
  },
  {
    label: "a preflight from an admitted origin that may not read",
    path: "/mcp/b/some-bundle",
    init: preflightInit("http://localhost:5173"),
    status: 403,
    body: true,
    check: (res, json) => {
      expect(res.headers.get("access-control-allow-origin")).toBeNull();
      expect(json).toMatchObject({ error: { code: "origin_not_allowed" } });
    },
  },
  {
    label: "a body over MAX_BODY_BYTES",
    path: "/mcp",
    init: { method: "POST", headers: mcpHeaders, body: big },
    status: 413,
    body: true,
    check: (_, json) =>
      expect(json).toEqual({
        jsonrpc: "2.0",
        id: null,
        error: {
          code: -32600,
          message: `Payload too large: the body exceeds ${MAX_BODY} bytes (MAX_BODY_BYTES)`,
        },
      }),
  },
  {
    label: "a NUL in the organization slug",
    path: "/mcp/o/de%00mo",
    init: { method: "POST", headers: mcpHeaders, body: initialize },
    status: 400,
    body: true,
    check: (_, json) =>
      expect(json).toMatchObject({ error: { code: "bad_request", details: { field: "params.slug" } } }),
  },
  {
    label: "an MCP answer to a CORS reader",
    path: "/mcp",
    init: { method: "POST", headers: { ...mcpHeaders, origin: APP_ORIGIN }, body: initialize },
    key: true,
    status: 200,
    body: false,
    check: (res) => {
      expect(res.headers.get("mcp-session-id")).toBeTruthy();
      expect(res.headers.get("access-control-allow-origin")).toBe(APP_ORIGIN);
      expect(res.headers.get("access-control-expose-headers")).toContain("mcp-session-id");
    },
  },
  {
    label: "an MCP answer",
    path: "/mcp",
    init: { method: "POST", headers: mcpHeaders, body: initialize },
    key: true,
    status: 200,
    body: false,
    check: (res) => expect(res.headers.get("access-control-allow-origin")).toBeNull(),
  },
];

describe("the lean MCP routes of a listening gateway", () => {
  for (const c of cases) {
    test(`${c.label}: ${c.status}, as the security plugin answers it, with its request id and log line`, async () => {
      const requestId = `lean-${crypto.randomUUID()}`;
      const headers: Record<string, string> = { ...c.init.headers, "x-request-id": requestId };
      if (c.key) headers.authorization = `Bearer ${ownerKey}`;
      const init = { ...c.init, headers };
      const seen = elysiaSaw.length;
      const lean = await fetch(`${url}${c.path}`, init);
      // The listener answered without Elysia.
      expect(elysiaSaw.slice(seen)).toEqual([]);
      expect(lean.status).toBe(c.status);
      for (const name of SECURITY) expect(`${name}: ${lean.headers.get(name)}`).not.toBe(`${name}: null`);
      expect(lean.headers.get("x-request-id")).toBe(requestId);
      c.check(lean.clone(), c.body ? await lean.clone().json() : null);
      expect(await logLine(requestId)).toMatchObject({
        method: c.init.method,
        path: c.path,
        status: c.status,
      });

      // The same request through Elysia's lifecycle (`app.handle`, the security plugin): the same answer.
      // (A `Request` built here has no Host header unless told: the one the listener saw.)
      const handled = await gateway.handle(
        new Request(`${url}${c.path}`, { ...init, headers: { host: new URL(url).host, ...init.headers } }),
      );
      expect(elysiaSaw.slice(seen)).toEqual([new URL(`${url}${c.path}`).pathname]);
      expect(await shape(lean, c.body)).toEqual(await shape(handled, c.body));
    });
  }

  test("a request id that is not safe to echo is replaced on the lean route too", async () => {
    const res = await fetch(`${url}/mcp`, {
      method: "POST",
      headers: { ...mcpHeaders, authorization: `Bearer ${ownerKey}`, "x-request-id": "a b<script>" },
      body: initialize,
    });
    expect(res.status).toBe(200);
    expect(res.headers.get("x-request-id")).toMatch(UUID);
  });

  test("other routes still go through Elysia (the control of the probe above)", async () => {
    const seen = elysiaSaw.length;
    const res = await fetch(`${url}/health`);
    expect(res.status).toBe(200);
    expect(elysiaSaw.slice(seen)).toEqual(["/health"]);
  });
});

describe("request ids on log lines", () => {
  test("a tools/call that fails upstream logs only lines carrying its x-request-id", async () => {
    const captured: Record<string, unknown>[] = [];
    const logger = createLogger({ level: "debug", sink: (line) => captured.push(JSON.parse(line)) });
    const log = console.log;
    console.log = () => {};
    let doomed: RunningServer;
    try {
      doomed = serve(alphaServer, { port: 0, hostname: "127.0.0.1", mcp: false });
    } finally {
      console.log = log;
    }
    const ownConfig = createConfigService({ db: db.db, logger });
    const ownRegistry = new Registry({
      instances: [{ server: "alpha", url: doomed.url }],
      clientFactory: defaultClientFactory,
      healthIntervalMs: 600_000,
      logger,
    });
    await ownRegistry.start();
    const auth = createAuthModule({ db: db.db, env: readAuthEnv({ CORS_ORIGINS: APP_ORIGIN }), logger });
    const app = createGateway({
      config: ownConfig,
      authenticator: auth.authenticator,
      registry: ownRegistry,
      logger,
      security: auth.security,
      mcpAccess: auth.mcpAccess,
    }).listen({ port: 0, hostname: "127.0.0.1" });
    try {
      const base = `http://127.0.0.1:${app.server?.port}/mcp`;
      const headers = { ...mcpHeaders, authorization: `Bearer ${ownerKey}` };
      const init = await fetch(base, {
        method: "POST",
        headers: { ...headers, "x-request-id": "initialize-1" },
        body: initialize,
      });
      expect(init.status).toBe(200);
      await init.text();
      const session = { ...headers, "mcp-session-id": init.headers.get("mcp-session-id") ?? "" };
      await fetch(base, {
        method: "POST",
        headers: { ...session, "x-request-id": "initialized-1" },
        body: JSON.stringify({ jsonrpc: "2.0", method: "notifications/initialized" }),
      }).then((res) => res.text());
      await doomed.stop();
      // The access lines of the earlier requests are written after their responses: wait for them, so the window
      // below holds only what the failing call logged.
      await logLineIn(captured, "initialize-1");
      await logLineIn(captured, "initialized-1");

      const from = captured.length;
      const call = await fetch(base, {
        method: "POST",
        headers: { ...session, "mcp-protocol-version": "2025-06-18", "x-request-id": "call-fails-1" },
        body: JSON.stringify({
          jsonrpc: "2.0",
          id: 2,
          method: "tools/call",
          params: { name: "alpha_echo", arguments: { text: "hi" } },
        }),
      });
      expect(call.headers.get("x-request-id")).toBe("call-fails-1");
      expect(await call.text()).toContain("error");
      const access = await logLineIn(captured, "call-fails-1");
      const during = captured.slice(from, captured.indexOf(access) + 1);
      // The registry noticed the dead instance, and said so under the request's id, as did every other line.
      expect(during.some((l) => String(l.msg).startsWith("[registry]"))).toBe(true);
      expect(during.map((l) => `${l.requestId} ${l.msg}`)).toEqual(
        during.map((l) => `call-fails-1 ${l.msg}`),
      );
    } finally {
      await app.stop(true);
      ownRegistry.stop();
      await doomed.stop().catch(() => {});
      await ownConfig.close();
    }
  }, 60_000);
});

async function logLineIn(
  sink: Record<string, unknown>[],
  requestId: string,
): Promise<Record<string, unknown>> {
  for (let i = 0; i < 100; i++) {
    const found = sink.find((l) => l.msg === "request" && l.requestId === requestId);
    if (found) return found;
    await Bun.sleep(10);
  }
  throw new Error(`no access-log line for ${requestId}`);
}

describe("every /api error has one shape: {error: {code, message, details?}}", () => {
  const json = { "content-type": "application/json" };
  const cases: { label: string; path: string; init?: RequestInit; key?: boolean; status: number }[] = [
    { label: "unknown /api path", path: "/api/does-not-exist", key: true, status: 404 },
    { label: "no credentials (config API)", path: "/api/prompts", status: 401 },
    { label: "no credentials (auth API)", path: "/api/keys", status: 401 },
    { label: "no credentials (policy API)", path: "/api/tool-policies", status: 401 },
    { label: "no credentials (federation API)", path: "/api/federation/servers", status: 401 },
    {
      label: "a wrong key",
      path: "/api/usage",
      status: 401,
      init: { headers: { authorization: "Bearer omni_nope" } },
    },
    {
      label: "malformed JSON",
      path: "/api/prompts",
      key: true,
      status: 400,
      init: { method: "POST", headers: json, body: '{"name": "x",' },
    },
    {
      label: "a body that fails its schema",
      path: "/api/prompts",
      key: true,
      status: 422,
      init: { method: "POST", headers: json, body: JSON.stringify({ name: 42 }) },
    },
    {
      label: "prototype keys",
      path: "/api/prompts",
      key: true,
      status: 400,
      init: { method: "POST", headers: json, body: '{"__proto__": {"admin": true}, "name": "x"}' },
    },
    { label: "a bad query", path: "/api/usage?from=not-a-date", key: true, status: 400 },
    {
      label: "a range the route refuses",
      path: "/api/usage?from=2026-01-02T00:00:00Z&to=2026-01-01T00:00:00Z",
      key: true,
      status: 422,
    },
    {
      label: "an id of nothing",
      path: "/api/prompts/prm_doesnotexist",
      key: true,
      status: 404,
      init: { method: "DELETE" },
    },
  ];
  for (const { label, path, init, key, status } of cases) {
    test(`${label}: ${status}`, async () => {
      const headers = {
        ...(key ? { authorization: `Bearer ${ownerKey}` } : {}),
        ...((init?.headers as Record<string, string> | undefined) ?? {}),
      };
      const res = await fetch(`${url}${path}`, { ...init, headers });
      expect(`${label} → ${res.status}`).toBe(`${label} → ${status}`);
      expect(res.headers.get("content-type")).toStartWith("application/json");
      const body = (await res.json()) as { error: { code: unknown; message: unknown; details?: unknown } };
      expect(Object.keys(body)).toEqual(["error"]);
      expect(typeof body.error.code).toBe("string");
      expect(typeof body.error.message).toBe("string");
      for (const extra of Object.keys(body.error)) expect(["code", "message", "details"]).toContain(extra);
      // Never internals: no stack frames, SQL or file paths.
      expect(JSON.stringify(body)).not.toMatch(
        /\bat \S+ \(|select |insert into|\/work\/|node_modules|\.ts:\d+/i,
      );
    });
  }
});
