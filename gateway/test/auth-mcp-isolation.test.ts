import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { PERMISSIONS } from "@omni/contracts";
import { createRepositories, createTestDatabase, type DbHandle, schema } from "@omni/db";
import { type RunningServer, serve } from "@omni/kit";
import { asc, eq } from "drizzle-orm";
import { createGateway, type GatewayApp } from "../src/app.ts";
import { createApiKey } from "../src/auth/api-keys.ts";
import { createAuthModule, readAuthEnv } from "../src/auth/index.ts";
import { createConfigService } from "../src/config/index.ts";
import { defaultClientFactory, Registry } from "../src/registry/index.ts";
import { AZP, ISSUER, oauthClaims, rsaKey, sessionClaims, signJwt } from "./fixtures/auth-fixtures.ts";
import { alphaServer, betaServer } from "./fixtures/test-servers.ts";

/**
 * The real gateway (`createGateway`) with the real authenticator on Postgres: org A has the alpha server,
 * an own prompt and resource; org B has beta, its own prompt and resource. Every MCP method tried with A's
 * credentials (API key and Clerk token) against B's tools, prompts and resources reaches nothing of B's.
 */
const quiet = { info: () => {}, warn: () => {}, error: () => {}, debug: () => {} };
const key = rsaKey();
let db: DbHandle;
let servers: RunningServer[] = [];
let registry: Registry;
let config: ReturnType<typeof createConfigService>;
let gateway: GatewayApp;
let url: string;
let aKey: string;
let aToken: string;
let bKey: string;
let aAdminKey: string;
let aSessionKey: { id: string; secret: string };
let aOwnerKey: string;
let aToolsOnlyKey: string;
let aPromptsOnlyKey: string;
let auth: ReturnType<typeof createAuthModule>;
let limited: ReturnType<typeof createGateway>;
let limitedUrl: string;
let ids: {
  orgA: string;
  orgB: string;
  bPrompt: string;
  bResource: string;
  bKey: string;
  bMember: string;
  alpha: string;
  beta: string;
};
/** One person: owner of A, member of B (their personal credentials exist in both orgs). */
let both: { userId: string; clerkId: string; aToken: string; bToken: string };
let slugs: { a: string; b: string };
let bOwnerKey: string;
let userClerkId: string;
let orgAClerkId: string;

beforeAll(async () => {
  const handle = await createTestDatabase("postgres");
  if (!handle) throw new Error("Postgres at 127.0.0.1:5432 is required");
  db = handle;
  const repos = createRepositories(db.db);
  const silence = console.log;
  console.log = () => {};
  try {
    servers = [alphaServer, betaServer].map((def) =>
      serve(def, { port: 0, hostname: "127.0.0.1", mcp: false }),
    );
  } finally {
    console.log = silence;
  }
  const alpha = await repos.servers.upsert({ name: "alpha", title: "Alpha" });
  const beta = await repos.servers.upsert({ name: "beta", title: "Beta" });
  const suffix = crypto.randomUUID().slice(0, 8);
  const orgA = await repos.organizations.create({
    slug: `mcp-a-${suffix}`,
    name: "A",
    clerkId: `org_mcp_a_${suffix}`,
  });
  const orgB = await repos.organizations.create({
    slug: `mcp-b-${suffix}`,
    name: "B",
    clerkId: `org_mcp_b_${suffix}`,
  });
  await repos.services.upsert(orgA.id, alpha.id, { enabled: true });
  await repos.services.upsert(orgA.id, beta.id, { enabled: false });
  await repos.services.upsert(orgB.id, beta.id, { enabled: true });
  await repos.services.upsert(orgB.id, alpha.id, { enabled: false });
  const created: Record<string, { prompt: string; resource: string }> = {};
  for (const [org, tag] of [
    [orgA, "a"],
    [orgB, "b"],
  ] as const) {
    const prompt = await repos.prompts.create(org.id, {
      serverId: null,
      name: `${tag}_private_prompt`,
      description: `${tag}'s own prompt`,
      messages: [{ role: "user", text: `secret of ${tag}` }],
    });
    const resource = await repos.resources.create(org.id, {
      serverId: null,
      uri: `org-${tag}://private/notes`,
      name: `${tag}-notes`,
      mimeType: "text/plain",
      text: `notes of ${tag}`,
    });
    created[tag] = { prompt: prompt.id, resource: resource.id };
  }
  // A default resource of alpha, and B's own overrides of alpha's defaults (rows, though B has alpha off):
  // A's owner acts on the same server, prompt name and URI below.
  await repos.resources.createDefault({
    serverId: alpha.id,
    uri: "alpha://defaults/guide",
    name: "guide",
    mimeType: "text/plain",
    text: "the guide",
  });
  await repos.prompts.create(orgB.id, { serverId: alpha.id, name: "alpha_greet", description: "b's greet" });
  await repos.resources.create(orgB.id, {
    serverId: alpha.id,
    uri: "alpha://defaults/guide",
    name: "b-guide",
  });
  const bothUser = await repos.users.create({ email: "both@a.test", clerkId: `user_mcp_both_${suffix}` });
  await repos.memberships.add(orgA.id, { userId: bothUser.id, role: "owner" });
  await repos.memberships.add(orgB.id, { userId: bothUser.id, role: "member" });
  slugs = { a: orgA.slug, b: orgB.slug };
  both = {
    userId: bothUser.id,
    clerkId: bothUser.clerkId!,
    aToken: signJwt(key.privateKey, sessionClaims(bothUser.clerkId!, orgA.clerkId)),
    bToken: signJwt(key.privateKey, sessionClaims(bothUser.clerkId!, orgB.clerkId)),
  };
  bOwnerKey = (await createApiKey(repos, orgB.id, null, { name: "b-owner", scopes: [...PERMISSIONS] }))
    .secret;
  // B opted in to tool-call arguments in its audit log; A did not.
  await handle.db
    .update(schema.organizations)
    .set({ settings: { auditArguments: true } })
    .where(eq(schema.organizations.id, orgB.id));
  const bUser = await repos.users.create({ email: "m@b.test", clerkId: `user_mcp_b_${suffix}` });
  const bMember = await repos.memberships.add(orgB.id, { userId: bUser.id, role: "member" });
  const user = await repos.users.create({ email: "m@a.test", clerkId: `user_mcp_a_${suffix}` });
  await repos.memberships.add(orgA.id, { userId: user.id, role: "member" });
  aToken = signJwt(key.privateKey, sessionClaims(user.clerkId!, orgA.clerkId));
  userClerkId = user.clerkId!;
  orgAClerkId = orgA.clerkId!;
  aKey = (
    await createApiKey(repos, orgA.id, null, {
      name: "a",
      scopes: ["tools:call", "prompts:read", "resources:read"],
    })
  ).secret;
  const bCreated = await createApiKey(repos, orgB.id, null, {
    name: "b",
    scopes: ["tools:call", "prompts:read", "resources:read"],
  });
  bKey = bCreated.secret;
  ids = {
    orgA: orgA.id,
    orgB: orgB.id,
    bPrompt: created.b!.prompt,
    bResource: created.b!.resource,
    bKey: bCreated.row.id,
    bMember: bMember.id,
    alpha: alpha.id,
    beta: beta.id,
  };
  aOwnerKey = (
    await createApiKey(repos, orgA.id, null, {
      name: "a-owner",
      scopes: [...PERMISSIONS],
    })
  ).secret;
  aToolsOnlyKey = (await createApiKey(repos, orgA.id, null, { name: "a-tools", scopes: ["tools:call"] }))
    .secret;
  aPromptsOnlyKey = (
    await createApiKey(repos, orgA.id, null, { name: "a-prompts", scopes: ["prompts:read"] })
  ).secret;

  aAdminKey = (await createApiKey(repos, orgA.id, null, { name: "a-admin", scopes: ["keys:write"] })).secret;
  const session = await createApiKey(repos, orgA.id, null, { name: "a-session", scopes: ["tools:call"] });
  aSessionKey = { id: session.row.id, secret: session.secret };

  config = createConfigService({ db: db.db, logger: quiet });
  registry = new Registry({
    instances: servers.map((running, i) => ({ server: i === 0 ? "alpha" : "beta", url: running.url })),
    clientFactory: defaultClientFactory,
    healthIntervalMs: 600_000,
    logger: quiet,
  });
  await registry.start();
  const authEnv = { CLERK_JWT_KEY: key.publicPem, CLERK_AUTHORIZED_PARTIES: AZP, CLERK_ISSUER: ISSUER };
  auth = createAuthModule({ db: db.db, env: readAuthEnv(authEnv) });
  gateway = createGateway({
    config,
    authenticator: auth.authenticator,
    registry,
    logger: quiet,
    plugins: [auth.routes],
    mcpAccess: auth.mcpAccess,
    admin: { db: db.db, config, resolveOrg: auth.resolveOrg, audit: auth.audit, auth },
    options: { credentialCheckMs: 100 },
  }).listen({
    port: 0,
    hostname: "127.0.0.1",
  });
  url = `http://127.0.0.1:${gateway.server?.port}`;
  // A second gateway with a tight per-key limit (3 per minute), in memory.
  const tight = createAuthModule({ db: db.db, env: readAuthEnv({ ...authEnv, RATE_LIMIT_PER_KEY: "3" }) });
  limited = createGateway({
    config,
    authenticator: tight.authenticator,
    registry,
    logger: quiet,
    mcpAccess: tight.mcpAccess,
  }).listen({ port: 0, hostname: "127.0.0.1" });
  limitedUrl = `http://127.0.0.1:${limited.server?.port}`;
}, 60_000);

afterAll(async () => {
  await gateway?.stop(true);
  await limited?.stop(true);
  registry?.stop();
  await Promise.all(servers.map((s) => s.stop().catch(() => {})));
  await config?.close();
  await db?.close();
}, 60_000);

async function connect(headers: Record<string, string>, base = url, path = "/mcp"): Promise<Client> {
  const client = new Client({ name: "isolation", version: "1.0.0" });
  await client.connect(
    new StreamableHTTPClientTransport(new URL(`${base}${path}`), { requestInit: { headers } }),
  );
  return client;
}

/** An OAuth access token (Clerk-shaped `at+jwt`) for a Clerk user, minted for `resource` on this gateway. */
function oauthToken(userClerkId: string, resource = "/mcp", scope?: string[]): string {
  return signJwt(key.privateKey, oauthClaims(userClerkId, `${url}${resource}`, scope), { typ: "at+jwt" });
}

/** A raw MCP WebSocket on `/ws` (or `path`): messages are collected, `close` resolves with the close code. */
function openSocket(headers: Record<string, string>, base = url, path = "/ws") {
  const ws = new WebSocket(`${base.replace("http", "ws")}${path}`, { headers, protocols: ["mcp"] } as never);
  const messages: unknown[] = [];
  const waiters: (() => void)[] = [];
  ws.onmessage = (event) => {
    messages.push(JSON.parse(String(event.data)));
    for (const w of waiters.splice(0)) w();
  };
  const closed = new Promise<{ code: number; reason: string }>((resolve) => {
    ws.onclose = (event) => resolve({ code: event.code, reason: event.reason });
  });
  const opened = new Promise<void>((resolve, reject) => {
    ws.onopen = () => resolve();
    ws.onerror = () => reject(new Error("websocket failed"));
  });
  /** Sends a request and resolves with the message answering its id. */
  const request = async (id: number, method: string, params: Record<string, unknown> = {}) => {
    ws.send(JSON.stringify({ jsonrpc: "2.0", id, method, params }));
    for (;;) {
      const found = messages.find((m) => (m as { id?: unknown }).id === id);
      if (found)
        return found as { result?: Record<string, unknown>; error?: { code: number; message: string } };
      await new Promise<void>((resolve) => waiters.push(resolve));
    }
  };
  const initialize = () =>
    request(0, "initialize", {
      protocolVersion: "2025-06-18",
      capabilities: {},
      clientInfo: { name: "ws-test", version: "1" },
    });
  return { ws, opened, closed, request, initialize };
}

async function rpc(
  base: string,
  headers: Record<string, string>,
  body: unknown,
  path = "/mcp",
): Promise<{ status: number; headers: Headers; body: Record<string, unknown> }> {
  const res = await fetch(`${base}${path}`, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      accept: "application/json, text/event-stream",
      ...headers,
    },
    body: JSON.stringify(body),
  });
  return { status: res.status, headers: res.headers, body: (await res.json()) as Record<string, unknown> };
}

describe("MCP isolation through the gateway", () => {
  test("without credentials: 401 with the discovery challenge", async () => {
    const res = await fetch(`${url}/mcp`, {
      method: "POST",
      headers: { "content-type": "application/json", accept: "application/json, text/event-stream" },
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "ping" }),
    });
    expect(res.status).toBe(401);
    // The MCP endpoint's own (path-suffixed, RFC 9728) metadata, and the scopes MCP needs (SEP-835).
    expect(res.headers.get("www-authenticate")).toBe(
      `Bearer resource_metadata="${url}/.well-known/oauth-protected-resource/mcp", scope="tools:call prompts:read resources:read"`,
    );
    expect(await res.json()).toMatchObject({
      error: { code: -32001, data: { reason: "missing_credentials" } },
    });
    const ws = await fetch(`${url}/ws`, {
      headers: {
        upgrade: "websocket",
        "sec-websocket-protocol": "mcp",
        authorization: "Bearer omni_sk_nope",
      },
    });
    expect(ws.status).toBe(401);
    expect(ws.headers.get("www-authenticate")).toContain("resource_metadata=");
  });

  for (const { name, headers, path } of [
    { name: "org A API key", headers: () => ({ authorization: `Bearer ${aKey}` }) },
    { name: "org A member's Clerk token", headers: () => ({ authorization: `Bearer ${aToken}` }) },
    {
      name: "org A member's OAuth access token",
      headers: () => ({ authorization: `Bearer ${oauthToken(userClerkId)}` }),
    },
    {
      name: "a member of A and B with an OAuth token on A's org path",
      headers: () => ({ authorization: `Bearer ${oauthToken(both.clerkId, `/mcp/o/${slugs.a}`)}` }),
      path: () => `/mcp/o/${slugs.a}`,
    },
  ]) {
    test(`${name}: lists show only A's; B's tools, prompts and resources are unreachable`, async () => {
      const client = await connect(headers(), url, path?.() ?? "/mcp");
      try {
        const tools = (await client.listTools()).tools.map((t) => t.name);
        expect(tools).toContain("alpha_echo");
        expect(tools.some((t) => t.startsWith("beta_"))).toBe(false);
        const called = await client
          .callTool({ name: "beta_add", arguments: { a: 1, b: 2 } })
          .then((r) => (r.isError ? "isError" : "ok"))
          .catch(() => "error");
        expect(called).not.toBe("ok");

        const prompts = (await client.listPrompts()).prompts.map((p) => p.name);
        expect(prompts).toContain("a_private_prompt");
        expect(prompts).not.toContain("b_private_prompt");
        expect(
          await client.getPrompt({ name: "b_private_prompt" }).then(
            () => "ok",
            () => "error",
          ),
        ).toBe("error");

        const resources = (await client.listResources()).resources.map((r) => r.uri);
        expect(resources).toContain("org-a://private/notes");
        expect(resources).not.toContain("org-b://private/notes");
        expect(
          await client.readResource({ uri: "org-b://private/notes" }).then(
            () => "ok",
            () => "error",
          ),
        ).toBe("error");
        expect(
          await client.readResource({ uri: "beta://items/1" }).then(
            () => "ok",
            () => "error",
          ),
        ).toBe("error");
        const templates = (await client.listResourceTemplates()).resourceTemplates.map((t) => t.uriTemplate);
        expect(templates).not.toContain("beta://items/{id}");
      } finally {
        await client.close();
      }
    });
  }

  test("OAuth callers of A cannot reach B: not by B's org path, not by B's audience, not over WebSocket", async () => {
    // A member of A only, on B's path (with a token minted for it): not a member there.
    const onB = await rpc(
      url,
      { authorization: `Bearer ${oauthToken(userClerkId, `/mcp/o/${slugs.b}`)}` },
      {
        jsonrpc: "2.0",
        id: 1,
        method: "ping",
      },
      `/mcp/o/${slugs.b}`,
    );
    expect(onB.status).toBe(403);
    expect(onB.body).toMatchObject({ error: { data: { reason: "not_a_member" } } });
    // The member of both, with a token for B's path, on A's path: that token is not for A's path.
    const res = await fetch(`${url}/mcp/o/${slugs.a}`, {
      method: "POST",
      headers: {
        authorization: `Bearer ${oauthToken(both.clerkId, `/mcp/o/${slugs.b}`)}`,
        "content-type": "application/json",
        accept: "application/json, text/event-stream",
      },
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "ping" }),
    });
    expect(res.status).toBe(401);
    expect(res.headers.get("www-authenticate")).toContain('error_description="invalid_audience"');
    // A session made on A's path is not B's: the same id on B's path is "not found".
    const a = await connect(
      { authorization: `Bearer ${oauthToken(both.clerkId, `/mcp/o/${slugs.a}`)}` },
      url,
      `/mcp/o/${slugs.a}`,
    );
    try {
      const sessionId = (a.transport as StreamableHTTPClientTransport).sessionId!;
      const stolen = await fetch(`${url}/mcp/o/${slugs.b}`, {
        method: "POST",
        headers: {
          authorization: `Bearer ${oauthToken(both.clerkId, `/mcp/o/${slugs.b}`)}`,
          "content-type": "application/json",
          accept: "application/json, text/event-stream",
          "mcp-session-id": sessionId,
          "mcp-protocol-version": "2025-06-18",
        },
        body: JSON.stringify({ jsonrpc: "2.0", id: 2, method: "tools/list" }),
      });
      expect(stolen.status).toBe(404);
    } finally {
      await a.close();
    }
    // WebSocket on A's org path: A's tools only; B's tool, prompt and resource are unknown.
    const socket = openSocket(
      { authorization: `Bearer ${oauthToken(both.clerkId, `/mcp/o/${slugs.a}`)}` },
      url,
      `/ws/o/${slugs.a}`,
    );
    await socket.opened;
    try {
      expect((await socket.initialize()).result).toBeDefined();
      const tools = await socket.request(1, "tools/list");
      const names = ((tools.result?.tools ?? []) as { name: string }[]).map((t) => t.name);
      expect(names).toContain("alpha_echo");
      expect(names.some((n) => n.startsWith("beta_"))).toBe(false);
      const call = await socket.request(2, "tools/call", { name: "beta_add", arguments: { a: 1, b: 2 } });
      expect(call.error ?? (call.result as { isError?: boolean }).isError).toBeTruthy();
      expect((await socket.request(3, "prompts/get", { name: "b_private_prompt" })).error).toBeDefined();
      expect(
        (await socket.request(4, "resources/read", { uri: "org-b://private/notes" })).error,
      ).toBeDefined();
    } finally {
      socket.ws.close();
      await socket.closed;
    }
    // And a WebSocket to B's path with A's only member's token is refused at the upgrade.
    const refused = await fetch(`${url}/ws/o/${slugs.b}`, {
      headers: {
        upgrade: "websocket",
        "sec-websocket-protocol": "mcp",
        authorization: `Bearer ${oauthToken(userClerkId, `/mcp/o/${slugs.b}`)}`,
      },
    });
    expect(refused.status).toBe(403);
  });

  test("org B's own key still reaches B's objects (the refusals above are isolation, not breakage)", async () => {
    const client = await connect({ authorization: `Bearer ${bKey}` });
    try {
      const add = await client.callTool({ name: "beta_add", arguments: { a: 1, b: 2 } });
      expect(add.isError).toBeFalsy();
      const read = await client.readResource({ uri: "org-b://private/notes" });
      expect(JSON.stringify(read.contents)).toContain("notes of b");
    } finally {
      await client.close();
    }
  });

  test("a key revoked mid-session is refused on the session's next request", async () => {
    const client = await connect({ authorization: `Bearer ${aSessionKey.secret}` });
    try {
      expect((await client.callTool({ name: "alpha_echo", arguments: { text: "hi" } })).isError).toBeFalsy();
      const revoked = await fetch(`${url}/api/keys/${aSessionKey.id}`, {
        method: "DELETE",
        headers: { authorization: `Bearer ${aAdminKey}` },
      });
      expect(revoked.status).toBe(200);
      const after = await client.callTool({ name: "alpha_echo", arguments: { text: "again" } }).then(
        () => "ok",
        (error: unknown) => String(error),
      );
      expect(after).not.toBe("ok");
      expect(after).toContain("key_revoked");
    } finally {
      await client.close().catch(() => {});
    }
  });

  test("the auth admin routes are served by the gateway too", async () => {
    const res = await fetch(`${url}/api/keys`, { headers: { authorization: `Bearer ${aToken}` } });
    // A member holds no keys:read.
    expect(res.status).toBe(403);
    const meta = await fetch(`${url}/.well-known/oauth-protected-resource`);
    expect(((await meta.json()) as { authorization_servers: string[] }).authorization_servers).toEqual([
      ISSUER,
    ]);
  });

  test("per-method permissions: lists a key may not use come back empty; calls are refused naming the permission", async () => {
    const promptsOnly = await connect({ authorization: `Bearer ${aPromptsOnlyKey}` });
    try {
      expect((await promptsOnly.listTools()).tools).toEqual([]);
      expect((await promptsOnly.listResources()).resources).toEqual([]);
      expect((await promptsOnly.listPrompts()).prompts.map((p) => p.name)).toContain("a_private_prompt");
      const call = await promptsOnly.callTool({ name: "alpha_echo", arguments: { text: "x" } }).then(
        () => null,
        (error: { code?: number; message?: string }) => error,
      );
      expect(call?.code).toBe(-32001);
      expect(call?.message).toContain("tools:call");
      const read = await promptsOnly.readResource({ uri: "org-a://private/notes" }).then(
        () => null,
        (error: { code?: number; message?: string }) => error,
      );
      expect(read?.code).toBe(-32001);
      expect(read?.message).toContain("resources:read");
    } finally {
      await promptsOnly.close();
    }
    const toolsOnly = await connect({ authorization: `Bearer ${aToolsOnlyKey}` });
    try {
      expect((await toolsOnly.listPrompts()).prompts).toEqual([]);
      const got = await toolsOnly.getPrompt({ name: "a_private_prompt" }).then(
        () => null,
        (error: { code?: number; message?: string }) => error,
      );
      expect(got?.code).toBe(-32001);
      expect(got?.message).toContain("prompts:read");
      const complete = await toolsOnly
        .complete({
          ref: { type: "ref/prompt", name: "a_private_prompt" },
          argument: { name: "x", value: "" },
        })
        .then(
          () => null,
          (error: { code?: number }) => error,
        );
      expect(complete?.code).toBe(-32001);
      expect(
        (await toolsOnly.callTool({ name: "alpha_echo", arguments: { text: "ok" } })).isError,
      ).toBeFalsy();
    } finally {
      await toolsOnly.close();
    }
  });

  test("completion of B's prompt by name reveals nothing to A", async () => {
    const client = await connect({ authorization: `Bearer ${aKey}` });
    try {
      const outcome = await client
        .complete({
          ref: { type: "ref/prompt", name: "b_private_prompt" },
          argument: { name: "x", value: "" },
        })
        .then(
          (r) => r.completion.values,
          () => "error",
        );
      expect(outcome === "error" || (Array.isArray(outcome) && outcome.length === 0)).toBe(true);
    } finally {
      await client.close();
    }
  });

  test("admin API: org A's owner key against B's ids changes and reads nothing of B's", async () => {
    const h = { authorization: `Bearer ${aOwnerKey}`, "content-type": "application/json" };
    const attempts: [string, string, unknown?][] = [
      ["PATCH", `/api/prompts/${ids.bPrompt}`, { description: "pwned" }],
      ["DELETE", `/api/prompts/${ids.bPrompt}`],
      ["PATCH", `/api/resources/${ids.bResource}`, { name: "pwned" }],
      ["DELETE", `/api/resources/${ids.bResource}`],
      ["DELETE", `/api/keys/${ids.bKey}`],
      ["PATCH", `/api/members/${ids.bMember}`, { role: "admin" }],
      ["DELETE", `/api/members/${ids.bMember}`],
    ];
    for (const [method, path, body] of attempts) {
      const res = await fetch(`${url}${path}`, {
        method,
        headers: h,
        ...(body ? { body: JSON.stringify(body) } : {}),
      });
      expect(`${method} ${path} → ${res.status}`).toBe(`${method} ${path} → 404`);
    }
    const lists = await Promise.all(
      ["/api/prompts", "/api/resources", "/api/keys", "/api/members", "/api/audit", "/api/services"].map(
        async (path) => {
          const res = await fetch(`${url}${path}`, { headers: h });
          expect(`${path} → ${res.status}`).toBe(`${path} → 200`);
          return res.text();
        },
      ),
    );
    for (const text of lists) {
      for (const secret of [
        ids.orgB,
        ids.bPrompt,
        ids.bResource,
        ids.bKey,
        ids.bMember,
        "b_private_prompt",
      ]) {
        expect(text).not.toContain(secret);
      }
    }
    // B's objects are untouched and B's key still works.
    const repos = createRepositories(db.db);
    expect((await repos.prompts.list(ids.orgB)).find((p) => p.id === ids.bPrompt)?.description).toBe(
      "b's own prompt",
    );
    expect((await repos.memberships.list(ids.orgB)).find((m) => m.id === ids.bMember)?.role).toBe("member");
    const b = await connect({ authorization: `Bearer ${bKey}` });
    await b.close();
  });

  test("admin API by server, prompt name or URI: org A's owner changes only A's rows, B's stay as they were", async () => {
    /** Every org-scoped config row of an organization, as stored. */
    const rowsOf = async (orgId: string) => ({
      prompts: await db.db
        .select()
        .from(schema.organizationPrompts)
        .where(eq(schema.organizationPrompts.organizationId, orgId))
        .orderBy(asc(schema.organizationPrompts.id)),
      resources: await db.db
        .select()
        .from(schema.organizationResources)
        .where(eq(schema.organizationResources.organizationId, orgId))
        .orderBy(asc(schema.organizationResources.id)),
      services: await db.db
        .select()
        .from(schema.organizationServices)
        .where(eq(schema.organizationServices.organizationId, orgId))
        .orderBy(asc(schema.organizationServices.id)),
      credentials: await db.db
        .select()
        .from(schema.userServiceCredentials)
        .where(eq(schema.userServiceCredentials.organizationId, orgId))
        .orderBy(asc(schema.userServiceCredentials.id)),
    });
    const call = async (token: string, method: string, path: string, body?: unknown) => {
      const res = await fetch(`${url}${path}`, {
        method,
        headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      return `${method} ${path} → ${res.status}`;
    };
    // B's own secrets and the shared person's personal credentials in B, set through the API by B.
    for (const [token, method, path, body] of [
      [bOwnerKey, "PUT", "/api/services/alpha/secrets/API_TOKEN", { value: "b-alpha-token" }],
      [bOwnerKey, "PUT", "/api/services/alpha/secrets/B_ONLY", { value: "b-only" }],
      [bOwnerKey, "PUT", "/api/services/beta/secrets/API_TOKEN", { value: "b-beta-token" }],
      [both.bToken, "PUT", "/api/services/alpha/credentials/PAT", { value: "b-pat" }],
      [both.bToken, "PUT", "/api/services/alpha/credentials/B_PAT", { value: "b-pat-2" }],
    ] as const) {
      expect(await call(token, method, path, body)).toBe(`${method} ${path} → 200`);
    }
    const bBefore = await rowsOf(ids.orgB);
    expect(bBefore.prompts.some((p) => p.name === "alpha_greet")).toBe(true);
    expect(bBefore.resources.some((r) => r.uri === "alpha://defaults/guide")).toBe(true);
    expect(bBefore.credentials.filter((c) => c.userId === both.userId)).toHaveLength(1);

    // A's owner (a Clerk session: personal credentials need a user) on the same names, servers and URIs.
    const guide = "alpha://defaults/guide";
    const steps: [string, string, unknown, number][] = [
      ["PUT", "/api/prompts/defaults/alpha/alpha_greet", { description: "a's greet" }, 200],
      ["POST", "/api/prompts/defaults/alpha/alpha_greet/disable", undefined, 200],
      ["POST", "/api/prompts/defaults/alpha/alpha_greet/enable", undefined, 200],
      ["DELETE", "/api/prompts/defaults/alpha/alpha_greet", undefined, 200],
      ["PUT", "/api/prompts/defaults/alpha/alpha_greet", { description: "a's greet" }, 200],
      ["PUT", "/api/resources/override", { uri: guide, name: "a-guide" }, 200],
      ["POST", "/api/resources/disable", { uri: guide }, 200],
      ["POST", "/api/resources/enable", { uri: guide }, 200],
      // B's own resource's URI is no default of A's: nothing to override or hide.
      ["PUT", "/api/resources/override", { uri: "org-b://private/notes", name: "pwned" }, 404],
      ["POST", "/api/resources/disable", { uri: "org-b://private/notes" }, 404],
      ["PUT", "/api/services/alpha/secrets/API_TOKEN", { value: "a-alpha-token" }, 200],
      ["DELETE", "/api/services/alpha/secrets/B_ONLY", undefined, 404],
      ["PUT", "/api/services/beta/secrets/API_TOKEN", { value: "a-beta-token" }, 200],
      ["DELETE", "/api/services/beta/secrets/API_TOKEN", undefined, 200],
      ["PUT", "/api/services/alpha/credentials/PAT", { value: "a-pat" }, 200],
      ["DELETE", "/api/services/alpha/credentials/B_PAT", undefined, 404],
      ["DELETE", "/api/services/alpha/credentials/PAT", undefined, 200],
      ["PUT", "/api/services/alpha/credentials/PAT", { value: "a-pat" }, 200],
    ];
    for (const [method, path, body, status] of steps) {
      expect(await call(both.aToken, method, path, body)).toBe(`${method} ${path} → ${status}`);
    }

    // B: every row exactly as before (values, ciphertexts, timestamps).
    expect(await rowsOf(ids.orgB)).toEqual(bBefore);
    // A: the changes landed in A's rows.
    const a = await rowsOf(ids.orgA);
    expect(a.prompts.find((p) => p.name === "alpha_greet")).toMatchObject({
      description: "a's greet",
      disabled: false,
    });
    expect(a.resources.find((r) => r.uri === guide)).toMatchObject({ name: "a-guide", disabled: false });
    const service = (name: string) => {
      const serverId = name === "alpha" ? ids.alpha : ids.beta;
      return a.services.find((s) => s.serverId === serverId);
    };
    expect(Object.keys(service("alpha")?.secrets ?? {})).toEqual(["API_TOKEN"]);
    expect(service("beta")?.secrets).toEqual({});
    const mine = a.credentials.filter((c) => c.userId === both.userId);
    expect(mine.map((c) => Object.keys(c.secrets))).toEqual([["PAT"]]);
    // The secrets really are per org: the same name decrypts to each org's own value.
    const aToken = service("alpha")?.secrets.API_TOKEN;
    const bToken = bBefore.services.find((s) => s.serverId === ids.alpha)?.secrets.API_TOKEN;
    if (!aToken || !bToken) throw new Error("API_TOKEN missing");
    const scope = { server: "alpha", name: "API_TOKEN" };
    expect(config.secrets.decrypt(aToken, { ...scope, orgId: ids.orgA })).toBe("a-alpha-token");
    expect(config.secrets.decrypt(bToken, { ...scope, orgId: ids.orgB })).toBe("b-alpha-token");
  });

  test("members cannot do admin writes", async () => {
    const h = { authorization: `Bearer ${aToken}`, "content-type": "application/json" };
    for (const [method, path, body] of [
      ["POST", "/api/prompts", { name: "m_prompt", messages: [{ role: "user", text: "x" }] }],
      ["POST", "/api/keys", { name: "m", scopes: ["tools:call"] }],
      ["PATCH", "/api/services/alpha", { enabled: false }],
      ["DELETE", `/api/members/${ids.bMember}`],
    ] as const) {
      const res = await fetch(`${url}${path}`, { method, headers: h, body: JSON.stringify(body ?? {}) });
      expect(`${method} ${path} → ${res.status}`).toBe(`${method} ${path} → 403`);
    }
  });

  test("every tool call is audited in the caller's org; arguments only where the org opted in, secrets redacted", async () => {
    const a = await connect({ authorization: `Bearer ${aKey}` });
    const b = await connect({ authorization: `Bearer ${bKey}` });
    try {
      await a.callTool({ name: "alpha_echo", arguments: { text: "audit-a", apiToken: "tok-a" } });
      await b.callTool({ name: "beta_add", arguments: { a: 40, b: 2, password: "hunter2" } });
    } finally {
      await a.close();
      await b.close();
    }
    /** The org's tool.call row whose metadata contains `needle` (written asynchronously: polled). */
    const find = async (orgId: string, needle: string) => {
      for (let i = 0; i < 100; i++) {
        const rows = await auth.audit.list(orgId, { action: "tool.call", limit: 500 });
        const row = rows.find((r) => JSON.stringify(r.metadata).includes(needle));
        if (row) return { row, rows };
        await Bun.sleep(50);
      }
      throw new Error(`no tool.call row with ${needle} in ${orgId}`);
    };
    const { row: aRow, rows: aRows } = await find(ids.orgA, "alpha_echo");
    expect(aRow.metadata).toMatchObject({ tool: "alpha_echo", server: "alpha", outcome: "ok" });
    expect(typeof (aRow.metadata as { durationMs?: unknown }).durationMs).toBe("number");
    expect((aRow.metadata as Record<string, unknown>).arguments).toBeUndefined();
    expect(JSON.stringify(aRows)).not.toContain("audit-a");
    // A's refused attempts on B's tool (earlier tests) are A's own rows: outcome error, never ok.
    const aOnBeta = aRows.filter((r) => (r.metadata as { tool?: string }).tool === "beta_add");
    expect(aOnBeta.every((r) => (r.metadata as { outcome?: string }).outcome === "error")).toBe(true);
    expect(JSON.stringify(aRows)).not.toContain("hunter2");
    const { row: bRow, rows: bRows } = await find(ids.orgB, '"a":40');
    expect((bRow.metadata as { arguments?: unknown }).arguments).toEqual({
      a: 40,
      b: 2,
      password: "[redacted]",
    });
    expect(JSON.stringify(bRows)).not.toContain("hunter2");
    expect(JSON.stringify(bRows)).not.toContain("alpha_echo");
    expect((await auth.audit.verify(ids.orgA)).ok).toBe(true);
  });

  test("rate limits on /mcp: 429 with Retry-After and JSON-RPC -32029; other keys keep working", async () => {
    const init = {
      jsonrpc: "2.0",
      id: 1,
      method: "initialize",
      params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "rl", version: "1" } },
    };
    const statuses: number[] = [];
    let refused: Awaited<ReturnType<typeof rpc>> | undefined;
    for (let i = 0; i < 6; i++) {
      const res = await rpc(limitedUrl, { authorization: `Bearer ${aToolsOnlyKey}` }, init);
      statuses.push(res.status);
      if (res.status === 429) refused = res;
    }
    expect(statuses).toEqual([200, 200, 200, 429, 429, 429]);
    expect(Number(refused?.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
    expect(refused?.body).toMatchObject({ jsonrpc: "2.0", error: { code: -32029 } });
    const other = await rpc(limitedUrl, { authorization: `Bearer ${aPromptsOnlyKey}` }, init);
    expect(other.status).toBe(200);
  });

  test("rate limits on WebSocket messages: -32029 answers the request; the socket stays usable", async () => {
    const socket = openSocket({ authorization: `Bearer ${bKey}` }, limitedUrl);
    await socket.opened;
    try {
      expect((await socket.initialize()).result?.protocolVersion).toBe("2025-06-18");
      expect((await socket.request(1, "ping")).result).toEqual({});
      expect((await socket.request(2, "ping")).result).toEqual({});
      const refused = await socket.request(3, "ping");
      expect(refused.error?.code).toBe(-32029);
      expect(refused.error?.message).toContain("retry in");
      expect(socket.ws.readyState).toBe(WebSocket.OPEN);
    } finally {
      socket.ws.close();
    }
  });

  test("a key revoked mid-session on a WebSocket closes it", async () => {
    const repos = createRepositories(db.db);
    const created = await createApiKey(repos, ids.orgA, null, { name: "a-ws", scopes: ["tools:call"] });
    const socket = openSocket({ authorization: `Bearer ${created.secret}` });
    await socket.opened;
    expect((await socket.initialize()).result).toBeDefined();
    const call = await socket.request(1, "tools/call", { name: "alpha_echo", arguments: { text: "ws" } });
    expect(JSON.stringify(call.result)).toContain("alpha says ws");
    const revoked = await fetch(`${url}/api/keys/${created.row.id}`, {
      method: "DELETE",
      headers: { authorization: `Bearer ${aAdminKey}` },
    });
    expect(revoked.status).toBe(200);
    expect((await socket.closed).code).toBe(4001);
  });

  test("a token expiring mid-session: the WebSocket is closed, the HTTP session refused", async () => {
    const now = Math.floor(Date.now() / 1000);
    const token = signJwt(key.privateKey, sessionClaims(userClerkId, orgAClerkId, { exp: now + 2 }));
    const socket = openSocket({ authorization: `Bearer ${token}` });
    await socket.opened;
    expect((await socket.initialize()).result).toBeDefined();
    const init = await rpc(
      url,
      { authorization: `Bearer ${token}` },
      {
        jsonrpc: "2.0",
        id: 1,
        method: "initialize",
        params: {
          protocolVersion: "2025-06-18",
          capabilities: {},
          clientInfo: { name: "exp", version: "1" },
        },
      },
    );
    expect(init.status).toBe(200);
    const sessionId = init.headers.get("mcp-session-id") ?? "";
    expect((await socket.closed).code).toBe(4001);
    // Past `exp` and Clerk's clock-skew allowance (5 s): the same session's next request is refused.
    await Bun.sleep(Math.max(0, (now + 2) * 1000 + 5_500 - Date.now()));
    const after = await rpc(
      url,
      { authorization: `Bearer ${token}`, "mcp-session-id": sessionId },
      {
        jsonrpc: "2.0",
        id: 2,
        method: "tools/list",
        params: {},
      },
    );
    expect(after.status).toBe(401);
    expect(after.body).toMatchObject({ error: { code: -32001, data: { reason: "token_expired" } } });
  }, 20_000);
});
