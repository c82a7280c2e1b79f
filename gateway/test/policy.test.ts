import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import {
  Client as ModernClient,
  StreamableHTTPClientTransport as ModernTransport,
} from "@modelcontextprotocol/client";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { ToolListChangedNotificationSchema } from "@modelcontextprotocol/sdk/types.js";
import type { Permission } from "@omni/contracts";
import { createRepositories, createTestDatabase, type DbHandle } from "@omni/db";
import { defineTool, type RunningServer, type ServerDefinition } from "@omni/kit";
import * as v from "valibot";
import { createGateway } from "../src/app.ts";
import { createApiKey } from "../src/auth/api-keys.ts";
import { createAuthModule, readAuthEnv } from "../src/auth/index.ts";
import { createConfigService } from "../src/config/index.ts";
import { createClientFactory, Registry } from "../src/registry/index.ts";
import { openRedis } from "./config-fixtures.ts";
import { modernInit, serveQuietly, TEST_INTERNAL_TOKEN } from "./fixtures/replicas.ts";
import { alphaServer, betaServer } from "./fixtures/test-servers.ts";

/**
 * Tool policy and bundles through two real gateway replicas (shared Postgres and Redis, real API keys):
 * per-org and per-role filtering with the SDK clients of both eras, renames and overrides, bundles at
 * /mcp/b/<slug> (HTTP, WebSocket, tasks), discovery mode, live changes on the other replica, tenancy, and
 * the admin API's bad input.
 */
const quiet = { info: () => {}, warn: () => {}, error: () => {}, debug: () => {} };
const TASKS = "io.modelcontextprotocol/tasks";

const gammaServer: ServerDefinition = {
  name: "gamma",
  version: "1.0.0",
  tools: [
    defineTool({
      name: "gamma_job",
      description: "A background job that reports its input",
      input: v.object({ n: v.number() }),
      taskSupport: "optional",
      handler: ({ n }) => `job ${n} done`,
    }),
  ],
};

let db: DbHandle;
let servers: RunningServer[] = [];
let redis: ReturnType<typeof openRedis>;
const replicas: { url: string; stop: () => Promise<void> }[] = [];
let keys: { aMember: string; aAdmin: string; bAdmin: string; bMember: string };
let orgA: string;

const MCP_SCOPES: Permission[] = ["tools:call", "prompts:read", "resources:read"];
const ADMIN_SCOPES: Permission[] = [...MCP_SCOPES, "admin:read", "admin:write", "audit:read"];

async function startGateway(prefix: string) {
  const config = createConfigService({ db: db.db, redis: redis.redis, cache: { prefix }, logger: quiet });
  await config.ready;
  const registry = new Registry({
    instances: servers.map((s, i) => ({ server: ["alpha", "beta", "gamma"][i]!, url: s.url })),
    clientFactory: createClientFactory(TEST_INTERNAL_TOKEN),
    healthIntervalMs: 600_000,
    logger: quiet,
  });
  await registry.start();
  const auth = createAuthModule({ db: db.db, env: readAuthEnv({}) });
  const app = createGateway({
    config,
    authenticator: auth.authenticator,
    registry,
    logger: quiet,
    mcpAccess: auth.mcpAccess,
    admin: { db: db.db, config, resolveOrg: auth.resolveOrg, audit: auth.audit, auth },
  }).listen({ port: 0, hostname: "127.0.0.1" });
  return {
    url: `http://127.0.0.1:${app.server?.port}`,
    async stop() {
      await app.stop(true);
      registry.stop();
      await auth.audit.drain();
      await config.close();
    },
  };
}

beforeAll(async () => {
  const handle = await createTestDatabase("postgres");
  if (!handle) throw new Error("Postgres at 127.0.0.1:5432 is required");
  db = handle;
  redis = openRedis();
  servers = [alphaServer, betaServer, gammaServer].map((def) => serveQuietly(def, { mcp: false }));
  const repos = createRepositories(db.db);
  const ids = [];
  for (const name of ["alpha", "beta", "gamma"])
    ids.push((await repos.servers.upsert({ name, title: name })).id);
  const suffix = crypto.randomUUID().slice(0, 8);
  const a = await repos.organizations.create({ slug: `pol-a-${suffix}`, name: "A" });
  const b = await repos.organizations.create({ slug: `pol-b-${suffix}`, name: "B" });
  orgA = a.id;
  for (const id of ids) await repos.services.upsert(a.id, id, { enabled: true });
  await repos.services.upsert(b.id, ids[0]!, { enabled: true });
  await repos.prompts.create(a.id, {
    serverId: null,
    name: "a_notes_prompt",
    messages: [{ role: "user", text: "notes" }],
  });
  const key = async (org: string, scopes: Permission[]) =>
    (await createApiKey(repos, org, null, { name: scopes.join(","), scopes })).secret;
  keys = {
    aMember: await key(a.id, MCP_SCOPES),
    aAdmin: await key(a.id, ADMIN_SCOPES),
    bAdmin: await key(b.id, ADMIN_SCOPES),
    bMember: await key(b.id, MCP_SCOPES),
  };
  // Two replicas over one Redis prefix: a change made through one goes live on the other.
  replicas.push(await startGateway(redis.prefix), await startGateway(redis.prefix));
}, 60_000);

afterAll(async () => {
  for (const r of replicas) await r.stop();
  await Promise.all(servers.map((s) => s.stop().catch(() => {})));
  await redis?.cleanup();
  await db?.close();
}, 60_000);

const url = (i = 0) => replicas[i]!.url;

async function api(key: string, method: string, path: string, body?: unknown, i = 0) {
  const res = await fetch(`${url(i)}/api${path}`, {
    method,
    headers: {
      authorization: `Bearer ${key}`,
      ...(body === undefined ? {} : { "content-type": "application/json" }),
    },
    ...(body === undefined ? {} : { body: typeof body === "string" ? body : JSON.stringify(body) }),
  });
  return {
    status: res.status,
    body: (await res.json()) as Record<string, unknown> & { error?: { code: string; message: string } },
  };
}

async function session(key: string, path = "/mcp", i = 0): Promise<Client> {
  const client = new Client({ name: "policy-test", version: "1.0.0" });
  await client.connect(
    new StreamableHTTPClientTransport(new URL(`${url(i)}${path}`), {
      requestInit: { headers: { authorization: `Bearer ${key}` } },
    }),
  );
  return client;
}

async function modern(key: string, path = "/mcp"): Promise<ModernClient> {
  const client = new ModernClient(
    { name: "policy-modern", version: "1.0.0" },
    { versionNegotiation: { mode: "auto" } },
  );
  await client.connect(
    new ModernTransport(new URL(`${url()}${path}`), {
      requestInit: { headers: { authorization: `Bearer ${key}` } },
    }),
  );
  return client;
}

const names = (tools: { name: string }[]) => tools.map((t) => t.name).sort();

/** The JSON-RPC error a call gets (or null when it succeeded). */
async function callError(client: Client, name: string, args: Record<string, unknown> = {}) {
  try {
    await client.callTool({ name, arguments: args });
    return null;
  } catch (error) {
    return String(error instanceof Error ? error.message : error);
  }
}

async function reset() {
  for (const scope of ["org", "member", "admin", "owner"])
    await api(keys.aAdmin, "DELETE", `/tool-policies/${scope}`);
  const list = await api(keys.aAdmin, "GET", "/bundles");
  for (const b of (list.body.bundles as { slug: string }[]) ?? [])
    await api(keys.aAdmin, "DELETE", `/bundles/${b.slug}`);
}

describe("tool policy", () => {
  beforeAll(reset);

  test("an org deny-list hides tools from tools/list and tools/call, with a nonexistent tool's error", async () => {
    const put = await api(keys.aAdmin, "PUT", "/tool-policies/org", { mode: "deny", tools: ["beta_*"] });
    expect(put.status).toBe(200);
    const client = await session(keys.aMember);
    const { tools } = await client.listTools();
    expect(names(tools)).toEqual(["alpha_ask", "alpha_echo", "alpha_slow", "gamma_job"]);
    const hidden = await callError(client, "beta_add", { a: 1, b: 2 });
    const missing = await callError(client, "beta_nonexistent", { a: 1, b: 2 });
    expect(hidden).toContain("Unknown tool: beta_add");
    expect(hidden?.replace("beta_add", "X")).toBe(missing!.replace("beta_nonexistent", "X"));
    await client.close();
    await reset();
  });

  test("a role's allow-list narrows members only; admins keep the org's view", async () => {
    await api(keys.aAdmin, "PUT", "/tool-policies/member", {
      mode: "allow",
      tools: ["alpha_echo", "gamma_*"],
    });
    const member = await session(keys.aMember);
    const admin = await session(keys.aAdmin);
    expect(names((await member.listTools()).tools)).toEqual(["alpha_echo", "gamma_job"]);
    expect(names((await admin.listTools()).tools)).toContain("beta_add");
    expect(await callError(member, "beta_add", { a: 1, b: 2 })).toContain("Unknown tool: beta_add");
    const added = await admin.callTool({ name: "beta_add", arguments: { a: 1, b: 2 } });
    expect(added.structuredContent).toEqual({ sum: 3 });
    const listed = await api(keys.aAdmin, "GET", "/tool-policies");
    const beta = (listed.body.tools as { tool: string; visibleTo: string[] }[]).find(
      (t) => t.tool === "beta_add",
    );
    expect(beta?.visibleTo.sort()).toEqual(["admin", "owner"]);
    await member.close();
    await admin.close();
    await reset();
  });

  test("rename, description and annotations: listed as overridden, called by the new name only", async () => {
    await api(keys.aAdmin, "PUT", "/tool-policies/org", {
      mode: "deny",
      tools: [],
      overrides: [
        {
          tool: "alpha_echo",
          name: "echo",
          description: "Says it back",
          annotations: { title: "Echo", readOnlyHint: false },
        },
      ],
    });
    // A role's override adds to the org's, field by field.
    await api(keys.aAdmin, "PUT", "/tool-policies/member", {
      mode: "deny",
      tools: [],
      overrides: [{ tool: "alpha_echo", description: "Says it back to members" }],
    });
    const admin = await session(keys.aAdmin);
    const echo = (await admin.listTools()).tools.find((t) => t.name === "echo");
    expect(echo?.description).toBe("Says it back");
    expect(echo?.annotations).toMatchObject({ title: "Echo", readOnlyHint: false, idempotentHint: true });
    expect((await admin.listTools()).tools.some((t) => t.name === "alpha_echo")).toBe(false);
    const result = await admin.callTool({ name: "echo", arguments: { text: "hi" } });
    expect(result.content).toEqual([{ type: "text", text: `alpha says hi to ${orgA}` }]);
    expect(await callError(admin, "alpha_echo", { text: "hi" })).toContain("Unknown tool: alpha_echo");
    const member = await session(keys.aMember);
    expect((await member.listTools()).tools.find((t) => t.name === "echo")?.description).toBe(
      "Says it back to members",
    );
    // The audit names the tool that ran (rows land just after the answer: wait for them).
    let audited: string[] = [];
    for (let i = 0; i < 100 && !audited.includes("alpha_echo"); i++) {
      const audit = await api(keys.aAdmin, "GET", "/audit?action=tool.call&limit=5");
      audited = (audit.body as unknown as { targetId: string | null }[]).map((e) => e.targetId ?? "");
      if (!audited.includes("alpha_echo")) await Bun.sleep(20);
    }
    expect(audited).toContain("alpha_echo");
    expect(audited).not.toContain("echo");
    await admin.close();
    await member.close();
    await reset();
  });

  test("2026-07-28 (v2 SDK client): the same filtering and renames, tasks included", async () => {
    await api(keys.aAdmin, "PUT", "/tool-policies/member", {
      mode: "allow",
      tools: ["alpha_echo"],
      overrides: [{ tool: "alpha_echo", name: "say" }],
    });
    const client = await modern(keys.aMember);
    expect(names((await client.listTools()).tools)).toEqual(["say"]);
    const said = await client.callTool({ name: "say", arguments: { text: "yo" } });
    expect(JSON.stringify(said.content)).toContain("alpha says yo");
    await expect(client.callTool({ name: "alpha_echo", arguments: { text: "yo" } })).rejects.toThrow(
      "Unknown tool: alpha_echo",
    );
    await client.close();
    // A hidden task tool: the same -32602 as a nonexistent one, never a task handle.
    const asTask = async (name: string) => {
      const init = modernInit(
        "tools/call",
        { name, arguments: { n: 1 } },
        {
          bearer: keys.aMember,
          meta: {
            "io.modelcontextprotocol/protocolVersion": "2026-07-28",
            "io.modelcontextprotocol/clientCapabilities": { extensions: { [TASKS]: {} } },
          },
        },
      );
      const text = await (await fetch(`${url()}/mcp`, init)).text();
      const line = text.split("\n").findLast((l) => l.startsWith("data: "));
      return JSON.parse(line ? line.slice(6) : text) as {
        result?: { resultType?: string };
        error?: { message: string };
      };
    };
    const hidden = await asTask("gamma_job");
    const none = await asTask("gamma_none");
    expect(hidden.result).toBeUndefined();
    expect(hidden.error?.message.replace("gamma_job", "X")).toBe(
      none.error!.message.replace("gamma_none", "X"),
    );
    // The admin (no member policy) gets a task for it.
    await api(keys.aAdmin, "PUT", "/tool-policies/member", { mode: "allow", tools: ["gamma_job"] });
    expect((await asTask("gamma_job")).result?.resultType).toBe("task");
    await reset();
  });

  test("a change goes live on the other replica: list_changed on its open session, then the new list", async () => {
    const client = await session(keys.aMember, "/mcp", 1);
    expect(names((await client.listTools()).tools)).toContain("beta_add");
    const changed = new Promise<void>((resolve) =>
      client.setNotificationHandler(ToolListChangedNotificationSchema, () => resolve()),
    );
    // The client opens its GET stream on its own time: repeat the (idempotent) change until it hears one.
    let heard = false;
    void changed.then(() => {
      heard = true;
    });
    for (let i = 0; i < 100 && !heard; i++) {
      await api(keys.aAdmin, "PUT", "/tool-policies/org", { mode: "deny", tools: ["beta_add"] }, 0);
      await Promise.race([changed, Bun.sleep(100)]);
    }
    expect(heard).toBe(true);
    expect(names((await client.listTools()).tools)).not.toContain("beta_add");
    await client.close();
    await reset();
  });
});

describe("bundles", () => {
  beforeAll(reset);

  test("/mcp/b/<slug> serves the bundle's tools, prompts and resources only; policy applies on top", async () => {
    const created = await api(keys.aAdmin, "POST", "/bundles", {
      slug: "support",
      title: "Support team",
      tools: ["alpha_*", "beta_add"],
      prompts: ["alpha_*"],
      resources: ["beta://items/*"],
    });
    expect(created.status).toBe(201);
    expect(created.body.path).toBe("/mcp/b/support");
    await api(keys.aAdmin, "PUT", "/tool-policies/member", { mode: "deny", tools: ["alpha_slow"] });
    const client = await session(keys.aMember, "/mcp/b/support");
    expect(names((await client.listTools()).tools)).toEqual(["alpha_ask", "alpha_echo", "beta_add"]);
    expect(await callError(client, "gamma_job", { n: 1 })).toContain("Unknown tool: gamma_job");
    expect(await callError(client, "alpha_slow")).toContain("Unknown tool: alpha_slow");
    const prompts = (await client.listPrompts()).prompts.map((p) => p.name);
    expect(prompts).toEqual(["alpha_greet"]);
    await expect(client.getPrompt({ name: "a_notes_prompt" })).rejects.toThrow(
      'unknown prompt "a_notes_prompt"',
    );
    expect((await client.listResources()).resources).toEqual([]);
    expect((await client.listResourceTemplates()).resourceTemplates.map((t) => t.uriTemplate)).toEqual([
      "beta://items/{id}",
    ]);
    const item = await client.readResource({ uri: "beta://items/7" });
    expect(JSON.stringify(item.contents)).toContain('\\"id\\":\\"7\\"');
    await expect(client.readResource({ uri: "alpha://info" })).rejects.toThrow("Resource not found");
    await client.close();
    // The full endpoint is unchanged.
    const full = await session(keys.aMember);
    expect(names((await full.listTools()).tools)).toContain("gamma_job");
    await full.close();
    await reset();
  });

  test("a session belongs to its endpoint; an unknown bundle is 404; a deleted one stops at once", async () => {
    await api(keys.aAdmin, "POST", "/bundles", { slug: "narrow", tools: ["alpha_echo"] });
    const init = {
      method: "POST",
      headers: {
        authorization: `Bearer ${keys.aMember}`,
        "content-type": "application/json",
        accept: "application/json, text/event-stream",
      },
      body: JSON.stringify({
        jsonrpc: "2.0",
        id: 1,
        method: "initialize",
        params: {
          protocolVersion: "2025-06-18",
          capabilities: {},
          clientInfo: { name: "raw", version: "1" },
        },
      }),
    };
    const opened = await fetch(`${url()}/mcp/b/narrow`, init);
    const sessionId = opened.headers.get("mcp-session-id")!;
    await opened.text();
    const list = (path: string) =>
      fetch(`${url()}${path}`, {
        ...init,
        headers: { ...init.headers, "mcp-session-id": sessionId, "mcp-protocol-version": "2025-06-18" },
        body: JSON.stringify({ jsonrpc: "2.0", id: 2, method: "tools/list", params: {} }),
      });
    expect((await list("/mcp/b/narrow")).status).toBe(200);
    // The bundle's session cannot be used on the full endpoint (it would widen its view).
    expect((await list("/mcp")).status).toBe(404);
    expect((await fetch(`${url()}/mcp/b/nope`, init)).status).toBe(404);
    await api(keys.aAdmin, "DELETE", "/bundles/narrow");
    expect((await list("/mcp/b/narrow")).status).toBe(404);
  });

  test("WebSocket /ws/b/<slug> serves the bundle", async () => {
    await api(keys.aAdmin, "POST", "/bundles", { slug: "ws-one", tools: ["beta_add"] });
    const socket = new WebSocket(`${url().replace("http", "ws")}/ws/b/ws-one`, {
      protocols: ["mcp"],
      headers: { authorization: `Bearer ${keys.aMember}` },
    } as unknown as string[]);
    const replies: Record<string, unknown>[] = [];
    const next = () =>
      new Promise<Record<string, unknown>>((resolve) => {
        const poll = () => (replies.length ? resolve(replies.shift()!) : setTimeout(poll, 10));
        poll();
      });
    socket.onmessage = (event) => replies.push(JSON.parse(String(event.data)) as Record<string, unknown>);
    await new Promise((resolve) => {
      socket.onopen = resolve;
    });
    socket.send(
      JSON.stringify({
        jsonrpc: "2.0",
        id: 1,
        method: "initialize",
        params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "ws", version: "1" } },
      }),
    );
    await next();
    socket.send(JSON.stringify({ jsonrpc: "2.0", id: 2, method: "tools/list", params: {} }));
    const listed = (await next()) as { result: { tools: { name: string }[] } };
    expect(names(listed.result.tools)).toEqual(["beta_add"]);
    socket.send(
      JSON.stringify({
        jsonrpc: "2.0",
        id: 3,
        method: "tools/call",
        params: { name: "alpha_echo", arguments: { text: "x" } },
      }),
    );
    const refused = (await next()) as { error: { message: string } };
    expect(refused.error.message).toContain("Unknown tool: alpha_echo");
    socket.close();
    await reset();
  });

  test("discovery: two tools listed; search_tools ranks, call_tool routes like a direct call", async () => {
    await api(keys.aAdmin, "POST", "/bundles", { slug: "discover", discovery: true });
    await api(keys.aAdmin, "PUT", "/tool-policies/member", {
      mode: "deny",
      tools: ["alpha_slow"],
      overrides: [{ tool: "beta_add", name: "sum_numbers" }],
    });
    const client = await session(keys.aMember, "/mcp/b/discover");
    expect(names((await client.listTools()).tools)).toEqual(["call_tool", "search_tools"]);
    const found = await client.callTool({
      name: "search_tools",
      arguments: { query: "add numbers", limit: 3 },
    });
    const hits = (found.structuredContent as { tools: { name: string; inputSchema: unknown }[] }).tools;
    expect(hits[0]?.name).toBe("sum_numbers");
    expect(hits[0]?.inputSchema).toMatchObject({ type: "object" });
    const slow = await client.callTool({ name: "search_tools", arguments: { query: "cancelled wait" } });
    expect(JSON.stringify(slow.structuredContent)).not.toContain("alpha_slow");
    const sum = await client.callTool({
      name: "call_tool",
      arguments: { name: "sum_numbers", arguments: { a: 2, b: 5 } },
    });
    expect(sum.structuredContent).toEqual({ sum: 7 });
    // The same validation as a direct call: the tool's own error naming the field.
    const bad = await client.callTool({
      name: "call_tool",
      arguments: { name: "sum_numbers", arguments: { a: "x" } },
    });
    const direct = await client.callTool({ name: "sum_numbers", arguments: { a: "x" } });
    expect(bad.isError).toBe(true);
    expect(bad.content).toEqual(direct.content);
    // Hidden and renamed-away tools are unknown through call_tool too, with a nonexistent tool's error.
    expect(await callError(client, "call_tool", { name: "alpha_slow" })).toContain(
      "Unknown tool: alpha_slow",
    );
    expect(await callError(client, "call_tool", { name: "beta_add", arguments: { a: 1, b: 1 } })).toContain(
      "Unknown tool: beta_add",
    );
    const selfCall = await client.callTool({ name: "call_tool", arguments: { name: "call_tool" } });
    expect(selfCall.isError).toBe(true);
    const noName = await client.callTool({ name: "call_tool", arguments: {} });
    expect(JSON.stringify(noName.content)).toContain("name");
    await client.close();
    await reset();
  });
});

describe("tenancy", () => {
  beforeAll(reset);

  test("org A's policies and bundles are invisible and unchangeable by org B; B cannot reach A's slugs", async () => {
    await api(keys.aAdmin, "PUT", "/tool-policies/org", { mode: "deny", tools: ["alpha_ask"] });
    await api(keys.aAdmin, "POST", "/bundles", { slug: "a-private", tools: ["alpha_echo"] });
    const bList = await api(keys.bAdmin, "GET", "/tool-policies");
    expect(bList.body.policies).toEqual([]);
    expect((await api(keys.bAdmin, "GET", "/bundles")).body.bundles).toEqual([]);
    expect((await api(keys.bAdmin, "GET", "/bundles/a-private")).status).toBe(404);
    expect((await api(keys.bAdmin, "PATCH", "/bundles/a-private", { discovery: true })).status).toBe(404);
    expect((await api(keys.bAdmin, "DELETE", "/bundles/a-private")).status).toBe(404);
    // B's own policy of the same scope changes nothing of A's.
    await api(keys.bAdmin, "PUT", "/tool-policies/org", { mode: "allow", tools: [] });
    const a = await session(keys.aMember);
    expect(names((await a.listTools()).tools)).toContain("alpha_echo");
    await a.close();
    // A's bundle slug is not found for B's callers (404, like any unknown slug), over HTTP and WebSocket.
    const bInit = (path: string) =>
      fetch(`${url()}${path}`, {
        method: "POST",
        headers: {
          authorization: `Bearer ${keys.bMember}`,
          "content-type": "application/json",
          accept: "application/json, text/event-stream",
        },
        body: JSON.stringify({
          jsonrpc: "2.0",
          id: 1,
          method: "initialize",
          params: {
            protocolVersion: "2025-06-18",
            capabilities: {},
            clientInfo: { name: "b", version: "1" },
          },
        }),
      });
    expect((await bInit("/mcp/b/a-private")).status).toBe(404);
    // The same slug in B is B's own bundle.
    await api(keys.bAdmin, "POST", "/bundles", { slug: "a-private", tools: ["alpha_slow"] });
    const b = await session(keys.bMember, "/mcp/b/a-private");
    expect(names((await b.listTools()).tools)).toEqual([]);
    await b.close();
    await api(keys.bAdmin, "DELETE", "/bundles/a-private");
    await api(keys.bAdmin, "DELETE", "/tool-policies/org");
    // Members may not change policy.
    expect((await api(keys.aMember, "PUT", "/tool-policies/org", { mode: "allow", tools: [] })).status).toBe(
      403,
    );
    expect((await api(keys.aMember, "POST", "/bundles", { slug: "mine" })).status).toBe(403);
    await reset();
  });
});

describe("admin API input", () => {
  test("bad names, huge lists, unknown and prototype keys: 422 naming the field, nothing stored", async () => {
    const bad = [
      { mode: "deny", tools: ["bad name!"] },
      { mode: "block", tools: [] },
      { mode: "deny", tools: Array.from({ length: 1001 }, (_, i) => `t${i}`) },
      { mode: "deny", tools: ["x", "x"] },
      {
        mode: "deny",
        tools: [],
        overrides: [
          { tool: "a", name: "z" },
          { tool: "b", name: "z" },
        ],
      },
      { mode: "deny", tools: [], overrides: [{ tool: "a", description: "d".repeat(5000) }] },
      { mode: "deny", tools: [], overrides: [{ tool: "a", annotations: { evil: true } }] },
      '{"mode":"deny","tools":[],"__proto__":{"admin":true}}',
      '{"mode":"deny","tools":[],"constructor":{"prototype":{"x":1}}}',
      { mode: "deny", tools: ["a".repeat(129)] },
    ];
    for (const body of bad) {
      const res = await api(keys.aAdmin, "PUT", "/tool-policies/org", body);
      // A `__proto__` key is refused by the gateway's JSON reader (400 naming it); the rest by the schema.
      expect(res.status).toBe(typeof body === "string" && body.includes("__proto__") ? 400 : 422);
      expect(res.body.error?.message.length).toBeLessThan(400);
    }
    // A bad path parameter is a 400 naming it.
    expect(
      (await api(keys.aAdmin, "PUT", "/tool-policies/superuser", { mode: "deny", tools: [] })).status,
    ).toBe(400);
    expect((await api(keys.aAdmin, "GET", "/tool-policies")).body.policies).toEqual([]);
    for (const body of [
      { slug: "Bad Slug" },
      { slug: "-x" },
      { slug: "a".repeat(64) },
      { slug: "ok", extra: 1 },
    ]) {
      expect((await api(keys.aAdmin, "POST", "/bundles", body)).status).toBe(422);
    }
    expect((await api(keys.aAdmin, "GET", "/bundles/..%2F..%2Fetc")).status).toBe(400);
    // Prototype names as data are just names: stored, harmless, and they match nothing.
    const proto = await api(keys.aAdmin, "PUT", "/tool-policies/org", {
      mode: "deny",
      tools: ["__proto__", "constructor"],
      overrides: [{ tool: "__proto__", name: "toString" }],
    });
    expect(proto.status).toBe(200);
    const client = await session(keys.aMember);
    expect(names((await client.listTools()).tools)).toContain("alpha_echo");
    expect(await callError(client, "toString")).toContain("Unknown tool: toString");
    await client.close();
    // Documented in the OpenAPI document with the other admin routes.
    const openapi = (await (await fetch(`${url()}/api/openapi.json`)).json()) as {
      paths: Record<string, unknown>;
    };
    expect(Object.keys(openapi.paths)).toEqual(
      expect.arrayContaining([
        "/api/tool-policies",
        "/api/tool-policies/{scope}",
        "/api/bundles",
        "/api/bundles/{slug}",
      ]),
    );
    expect((await api(keys.aAdmin, "POST", "/bundles", { slug: "twice" })).status).toBe(201);
    const again = await api(keys.aAdmin, "POST", "/bundles", { slug: "twice" });
    expect(again.status).toBe(409);
    expect(again.body.error?.message).toContain("twice");
    await reset();
  });
});
