import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createTestDatabase, type DbHandle, DEMO_ORG_ID } from "@omni/db";
import { Elysia } from "elysia";
import { createGateway } from "../src/app.ts";
import { createConfigService } from "../src/config/index.ts";
import { createDevAuthenticator } from "../src/mcp/dev-auth.ts";
import { defaultClientFactory, Registry } from "../src/registry/index.ts";
import { createLogger } from "../src/security/log.ts";

/**
 * The listener serves `/mcp`, `/mcp/o/<slug>` and `/mcp/b/<bundle>` without Elysia's lifecycle (the lean
 * routes): every security answer there is the one the security plugin gives `app.handle` for the same
 * request (a 403 for a foreign Host or Origin, CORS preflights, the JSON-RPC 413, security headers and the
 * request id on an MCP answer, one access-log line), and Elysia never sees those requests.
 */
const quiet = { info: () => {}, warn: () => {}, error: () => {}, debug: () => {} };
const APP_ORIGIN = "https://app.example.test";
const MAX_BODY = 2048;
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
const mcpHeaders = { "content-type": "application/json", accept: "application/json, text/event-stream" };
const initialize = JSON.stringify({
  jsonrpc: "2.0",
  id: 1,
  method: "initialize",
  params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "lean", version: "1" } },
});

let db: DbHandle;
let registry: Registry;
let config: ReturnType<typeof createConfigService>;
let gateway: ReturnType<typeof createGateway>;
let url: string;
const lines: Record<string, unknown>[] = [];
/** The paths of the requests Elysia's lifecycle handled (seen by a mounted plugin's `wrap`). */
const elysiaSaw: string[] = [];

beforeAll(async () => {
  const handle = await createTestDatabase("postgres", { seed: true });
  if (!handle) throw new Error("Postgres at 127.0.0.1:5432 is required");
  db = handle;
  config = createConfigService({ db: db.db, logger: quiet });
  registry = new Registry({
    instances: [],
    clientFactory: defaultClientFactory,
    healthIntervalMs: 600_000,
    logger: quiet,
  });
  await registry.start();
  // Around Elysia's whole fetch (as the security plugin's request-id scope is), early answers included.
  const probe = new Elysia({ name: "lean-probe" }).wrap((fetch, request) => (...args: unknown[]) => {
    elysiaSaw.push(new URL(request.url).pathname);
    return fetch(...args);
  });
  gateway = createGateway({
    config,
    authenticator: createDevAuthenticator(DEMO_ORG_ID),
    registry,
    logger: quiet,
    security: {
      corsOrigins: [APP_ORIGIN],
      logger: createLogger({ level: "info", sink: (line) => lines.push(JSON.parse(line)) }),
    },
    plugins: [probe],
    options: { maxBodyBytes: MAX_BODY },
  }).listen({ port: 0, hostname: "127.0.0.1" });
  url = `http://127.0.0.1:${gateway.server?.port}`;
}, 60_000);

afterAll(async () => {
  await gateway?.stop(true);
  registry?.stop();
  await config?.close();
  await db?.close();
}, 60_000);

/** The access-log line of a request id (polled briefly: the plugin writes it after the response). */
async function logLine(requestId: string): Promise<Record<string, unknown>> {
  for (let i = 0; i < 100; i++) {
    const found = lines.find((l) => l.msg === "request" && l.requestId === requestId);
    if (found) return found;
    await Bun.sleep(10);
  }
  throw new Error(`no access-log line for ${requestId}`);
}

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
  init: RequestInit & { headers: Record<string, string> };
  status: number;
  /** Compare bodies too (an MCP success carries a fresh session id). */
  body: boolean;
  check: (res: Response, json: unknown) => void;
}

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
    init: {
      method: "OPTIONS",
      headers: { origin: APP_ORIGIN, "access-control-request-method": "POST" },
    },
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
    init: {
      method: "OPTIONS",
      headers: { origin: "http://localhost:5173", "access-control-request-method": "POST" },
    },
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
    status: 200,
    body: false,
    check: (res) => expect(res.headers.get("access-control-allow-origin")).toBeNull(),
  },
];

describe("the lean MCP routes of a listening gateway", () => {
  for (const c of cases) {
    test(`${c.label}: ${c.status}, as the security plugin answers it, with its request id and log line`, async () => {
      const requestId = `lean-${crypto.randomUUID()}`;
      const init = { ...c.init, headers: { ...c.init.headers, "x-request-id": requestId } };
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
      headers: { ...mcpHeaders, "x-request-id": "a b<script>" },
      body: initialize,
    });
    expect(res.status).toBe(200);
    expect(res.headers.get("x-request-id")).toMatch(/^[0-9a-f-]{36}$/);
  });

  test("other routes still go through Elysia (the control of the probe above)", async () => {
    const seen = elysiaSaw.length;
    const res = await fetch(`${url}/health`);
    expect(res.status).toBe(200);
    expect(elysiaSaw.slice(seen)).toEqual(["/health"]);
  });
});
