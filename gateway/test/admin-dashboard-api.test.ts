import { afterAll, beforeAll, expect, test } from "bun:test";
import { treaty } from "@elysiajs/eden";
import { PERMISSIONS } from "@omni/contracts";
import { createRepositories, createTestDatabase, type DbHandle, DEMO_ORG_ID, DEMO_USER_ID } from "@omni/db";
import { type RunningServer, serve } from "@omni/kit";
import { dashboardCsp } from "../src/admin/static.ts";
import { createGateway, type GatewayApp } from "../src/app.ts";
import { createAuthModule, readAuthEnv } from "../src/auth/index.ts";
import { createConfigService } from "../src/config/index.ts";
import { defaultClientFactory, Registry } from "../src/registry/index.ts";
import { createLogger } from "../src/security/log.ts";
import { demoAndOtherKeys } from "./fixtures/auth-fixtures.ts";
import { registerBuiltInServers } from "./fixtures/catalogue.ts";
import { alphaServer } from "./fixtures/test-servers.ts";

/**
 * The admin API routes the dashboard and the CLI use (me, servers, sessions, usage, settings, audit search,
 * dev sign-in, OpenAPI, /admin static files) through Eden, on Postgres, with real API keys of two orgs.
 */
let db: DbHandle;
let alpha: RunningServer;
let gateway: GatewayApp;
let url: string;
const keys: Record<"owner" | "reader" | "other", string> = { owner: "", reader: "", other: "" };
let stopAll: () => Promise<void>;
const dist = `${import.meta.dir}/fixtures/admin-dist`;

beforeAll(async () => {
  const handle = await createTestDatabase("postgres", { seed: true });
  if (!handle) throw new Error("Postgres at 127.0.0.1:5432 is required");
  db = handle;
  // The built-in servers in the catalogue (as a gateway that once discovered them left it), none running.
  await registerBuiltInServers(db.db);
  const repos = createRepositories(db.db);
  const original = console.log;
  console.log = () => {};
  alpha = serve(alphaServer, { port: 0, hostname: "127.0.0.1", mcp: false });
  console.log = original;
  const row = await repos.servers.upsert({ name: "alpha", title: "Alpha (test)" });
  await repos.services.upsert(DEMO_ORG_ID, row.id, { enabled: true });
  Object.assign(keys, await demoAndOtherKeys(repos));
  const config = createConfigService({ db: db.db });
  await config.ready;
  const silent = createLogger({ level: "silent" });
  const auth = createAuthModule({
    db: db.db,
    env: readAuthEnv({ RATE_LIMIT_PER_KEY: "0", RATE_LIMIT_PER_ORG: "0" }),
    logger: silent,
  });
  const registry = new Registry({
    instances: [{ server: "alpha", url: alpha.url }],
    clientFactory: defaultClientFactory,
    healthIntervalMs: 60_000,
    logger: silent,
  });
  await registry.start();
  gateway = createGateway({
    config,
    authenticator: auth.authenticator,
    registry,
    logger: silent,
    security: { ...auth.security, accessLog: false },
    mcpAccess: auth.mcpAccess,
    admin: { db: db.db, config, resolveOrg: auth.resolveOrg, audit: auth.audit, auth, adminDist: dist },
  }).listen({ port: 0, hostname: "127.0.0.1" });
  url = `http://127.0.0.1:${gateway.server?.port}`;
  await Bun.write(`${dist}/index.html`, "<!doctype html><title>x</title>");
  await Bun.write(`${dist}/assets/app-abc123.js`, "console.log(1)");
  stopAll = async () => {
    await gateway.stop(true);
    registry.stop();
    await config.close();
    await alpha.stop();
    await db.close();
  };
}, 60_000);
afterAll(async () => {
  await stopAll?.();
  await Bun.$`rm -rf ${dist}`.quiet();
});

/** The admin API through Eden, typed by the gateway. */
const client = () => treaty<GatewayApp>(url).api;
const as = (key: string) => ({ headers: { authorization: `Bearer ${key}` } });

test("GET /api/me names the org, role, permissions and key; without credentials it is a 401", async () => {
  const api = client();
  const me = await api.me.get(as(keys.owner));
  expect(me.data?.org).toEqual({ id: DEMO_ORG_ID, slug: "demo", name: "Demo Organization" });
  expect(me.data?.via).toBe("api_key");
  expect(me.data?.key?.name).toBe("owner");
  expect(me.data?.permissions).toEqual([...PERMISSIONS]);
  expect(me.data?.memberships.map((m) => m.org.id)).toEqual([DEMO_ORG_ID]);
  const anonymous = await api.me.get();
  expect(anonymous.error?.status).toBe(401);
  const config = await api["auth-config"].get();
  expect(config.data).toEqual({ devMode: false, clerkPublishableKey: null });
  // Not in development mode: no dev sign-in.
  expect((await api.dev["sign-in"].post()).error?.status).toBe(404);
});

test("GET /api/servers reports enablement, instance health and tool counts", async () => {
  const { data } = await client().servers.get(as(keys.reader));
  const alphaRow = data?.servers.find((s) => s.name === "alpha");
  expect(alphaRow?.enabled).toBe(true);
  expect(alphaRow?.health).toBe("healthy");
  expect(alphaRow?.instances).toHaveLength(1);
  expect(alphaRow?.tools).toBeGreaterThan(0);
  const linear = data?.servers.find((s) => s.name === "linear");
  expect(linear?.health).toBe("unconfigured");
});

test("sessions: listed per org, ended by an admin (404 for another org's), and the client's id stops working", async () => {
  const init = await fetch(`${url}/mcp`, {
    method: "POST",
    headers: {
      ...as(keys.owner).headers,
      "content-type": "application/json",
      accept: "application/json, text/event-stream",
    },
    body: JSON.stringify({
      jsonrpc: "2.0",
      id: 1,
      method: "initialize",
      params: {
        protocolVersion: "2025-11-25",
        capabilities: {},
        clientInfo: { name: "probe", version: "1.2.3" },
      },
    }),
  });
  const token = init.headers.get("mcp-session-id") ?? "";
  expect(token).not.toBe("");
  // The admin API names a session by its sid: the clear part of the sealed `s1.<sid>.<sealed>` id.
  const sessionId = token.split(".")[1] ?? "";
  expect(sessionId).toHaveLength(22);
  const api = client();
  const listed = await api.sessions.get(as(keys.reader));
  const mine = listed.data?.sessions.find((s) => s.id === sessionId);
  expect(mine?.clientName).toBe("probe");
  expect(mine?.clientVersion).toBe("1.2.3");
  expect(mine?.credential.type).toBe("api_key");
  expect((await api.sessions.get(as(keys.other))).data?.sessions.some((s) => s.id === sessionId)).toBe(false);
  expect((await api.sessions({ id: sessionId }).delete(undefined, as(keys.reader))).error?.status).toBe(403);
  expect((await api.sessions({ id: sessionId }).delete(undefined, as(keys.other))).error?.status).toBe(404);
  expect((await api.sessions({ id: sessionId }).delete(undefined, as(keys.owner))).data).toEqual({
    ok: true,
  });
  const after = await fetch(`${url}/mcp`, {
    method: "POST",
    headers: {
      ...as(keys.owner).headers,
      "content-type": "application/json",
      accept: "application/json, text/event-stream",
      "mcp-session-id": token,
      "mcp-protocol-version": "2025-11-25",
    },
    body: JSON.stringify({ jsonrpc: "2.0", id: 2, method: "tools/list" }),
  });
  expect(after.status).toBe(404);
  const audit = await api.audit.search.get({ query: { action: "mcp_session.end" }, ...as(keys.owner) });
  expect(audit.data?.entries[0]?.targetId).toBe(sessionId);
});

test("usage aggregates tool.call audit rows per tool and server; bad ranges are refused naming the field", async () => {
  const repos = createRepositories(db.db);
  const auth = createAuthModule({
    db: db.db,
    env: readAuthEnv({}),
    logger: createLogger({ level: "silent" }),
  });
  for (const [ms, outcome] of [
    [10, "ok"],
    [20, "ok"],
    [30, "ok"],
    [400, "error"],
  ] as const) {
    await auth.audit.recordToolCall({
      org: { orgId: DEMO_ORG_ID, userId: DEMO_USER_ID, via: "clerk" },
      tool: "alpha_echo",
      server: "alpha",
      durationMs: ms,
      outcome,
      ...(outcome === "error" ? { error: "boom" } : {}),
    });
  }
  expect((await repos.audit.list(DEMO_ORG_ID, { action: "tool.call" })).length).toBeGreaterThanOrEqual(4);
  const api = client();
  const usage = await api.usage.get(as(keys.owner));
  const echo = usage.data?.byTool.find((t) => t.tool === "alpha_echo");
  expect(echo).toMatchObject({ server: "alpha", calls: 4, errors: 1, p50: 25 });
  expect(echo?.p95).toBeCloseTo(344.5, 1);
  expect(usage.data?.byServer.find((s) => s.server === "alpha")?.calls).toBe(4);
  expect(usage.data?.recentErrors[0]).toMatchObject({ tool: "alpha_echo", error: "boom" });
  expect(usage.data?.series.reduce((n, p) => n + p.calls, 0)).toBe(usage.data?.totals.calls);
  // Another org sees none of it.
  expect((await api.usage.get(as(keys.other))).data?.totals.calls).toBe(0);
  const reversed = await api.usage.get({
    query: { from: "2030-01-02T00:00:00Z", to: "2030-01-01T00:00:00Z" },
    ...as(keys.owner),
  });
  expect(reversed.error?.status).toBe(422);
  expect(JSON.stringify(reversed.error?.value)).toContain("from");
  // A bad query parameter is a 400 (the one API error shape), naming the field.
  const garbage = await fetch(`${url}/api/usage?from=yesterday`, as(keys.owner));
  expect(garbage.status).toBe(400);
  expect(await garbage.text()).toContain("from");
});

test("settings: read with admin:read, changed with org:settings (audited), refused without", async () => {
  const api = client();
  expect((await api.settings.get(as(keys.reader))).data).toEqual({
    name: "Demo Organization",
    slug: "demo",
    auditArguments: false,
  });
  expect((await api.settings.patch({ auditArguments: true }, as(keys.reader))).error?.status).toBe(403);
  const changed = await api.settings.patch({ auditArguments: true, name: "  Demo Two  " }, as(keys.owner));
  expect(changed.data).toEqual({ name: "Demo Two", slug: "demo", auditArguments: true });
  expect((await api.settings.patch({ name: "" }, as(keys.owner))).error?.status).toBe(422);
  const audit = await api.audit.search.get({
    query: { action: "org.", target: `organization:${DEMO_ORG_ID}` },
    ...as(keys.owner),
  });
  expect(audit.data?.entries[0]?.action).toBe("org.settings.update");
  expect(audit.data?.entries[0]?.after).toMatchObject({ name: "Demo Two", auditArguments: true });
  await api.settings.patch({ auditArguments: false, name: "Demo Organization" }, as(keys.owner));
});

test("audit search filters by actor, action prefix, target and date, scoped to the org", async () => {
  const api = client();
  const all = await api.audit.search.get({ query: { action: "tool." }, ...as(keys.owner) });
  expect(all.data?.entries.length).toBeGreaterThan(0);
  expect(all.data?.entries.every((e) => e.action.startsWith("tool."))).toBe(true);
  const future = await api.audit.search.get({ query: { from: "2100-01-01T00:00:00Z" }, ...as(keys.owner) });
  expect(future.data?.entries).toEqual([]);
  const byActor = await api.audit.search.get({
    query: { actor: DEMO_USER_ID, limit: 2 },
    ...as(keys.owner),
  });
  expect(byActor.data?.entries.length).toBeLessThanOrEqual(2);
  expect(byActor.data?.entries.every((e) => e.actor === DEMO_USER_ID)).toBe(true);
  expect(
    (await api.audit.search.get({ query: { action: "tool." }, ...as(keys.other) })).data?.entries,
  ).toEqual([]);
  const bad = await fetch(`${url}/api/audit/search?limit=x`, as(keys.owner));
  expect(bad.status).toBe(400);
  expect(await bad.text()).toContain("limit");
});

test("/api/openapi.json documents the whole admin API", async () => {
  const spec = (await (await fetch(`${url}/api/openapi.json`)).json()) as { paths: Record<string, unknown> };
  for (const path of [
    "/api/prompts",
    "/api/keys",
    "/api/audit",
    "/api/me",
    "/api/sessions/{id}",
    "/api/usage",
    "/api/settings",
  ]) {
    expect(Object.keys(spec.paths)).toContain(path);
  }
  expect(Object.keys(spec.paths).some((p) => !p.startsWith("/api/"))).toBe(false);
});

test("/admin serves the build: hashed assets cached for a year, SPA routes get index.html, no escape from dist", async () => {
  const asset = await fetch(`${url}/admin/assets/app-abc123.js`);
  expect(asset.status).toBe(200);
  expect(asset.headers.get("content-type")).toContain("javascript");
  expect(asset.headers.get("cache-control")).toBe("public, max-age=31536000, immutable");
  const route = await fetch(`${url}/admin/prompts`);
  expect(route.headers.get("content-type")).toBe("text/html; charset=utf-8");
  expect(route.headers.get("cache-control")).toBe("no-cache");
  expect(route.headers.get("content-security-policy")).toBe(dashboardCsp(null));
  expect(await route.text()).toContain("<title>x</title>");
  expect((await fetch(`${url}/admin/assets/missing.js`)).status).toBe(404);
  expect((await fetch(`${url}/admin/..%2f..%2fpackage.json`)).status).toBe(404);
  expect((await fetch(`${url}/admin/%2e%2e/%2e%2e/package.json`)).status).toBe(404);
});
