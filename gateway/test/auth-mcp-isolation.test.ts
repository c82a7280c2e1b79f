import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { createRepositories, createTestDatabase, type DbHandle } from "@omni/db";
import { type RunningServer, serve } from "@omni/kit";
import { createGateway } from "../src/app.ts";
import { createApiKey } from "../src/auth/api-keys.ts";
import { createAuthModule, readAuthEnv } from "../src/auth/index.ts";
import { createConfigService } from "../src/config/index.ts";
import { defaultClientFactory, Registry } from "../src/registry/index.ts";
import { AZP, ISSUER, rsaKey, sessionClaims, signJwt } from "./fixtures/auth-fixtures.ts";
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
let gateway: ReturnType<typeof createGateway>;
let url: string;
let aKey: string;
let aToken: string;
let bKey: string;
let aAdminKey: string;
let aSessionKey: { id: string; secret: string };

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
  for (const [org, tag] of [
    [orgA, "a"],
    [orgB, "b"],
  ] as const) {
    await repos.prompts.create(org.id, {
      serverId: null,
      name: `${tag}_private_prompt`,
      description: `${tag}'s own prompt`,
      messages: [{ role: "user", text: `secret of ${tag}` }],
    });
    await repos.resources.create(org.id, {
      serverId: null,
      uri: `org-${tag}://private/notes`,
      name: `${tag}-notes`,
      mimeType: "text/plain",
      text: `notes of ${tag}`,
    });
  }
  const user = await repos.users.create({ email: "m@a.test", clerkId: `user_mcp_a_${suffix}` });
  await repos.memberships.add(orgA.id, { userId: user.id, role: "member" });
  aToken = signJwt(key.privateKey, sessionClaims(user.clerkId!, orgA.clerkId));
  aKey = (
    await createApiKey(repos, orgA.id, null, {
      name: "a",
      scopes: ["tools:call", "prompts:read", "resources:read"],
    })
  ).secret;
  bKey = (
    await createApiKey(repos, orgB.id, null, {
      name: "b",
      scopes: ["tools:call", "prompts:read", "resources:read"],
    })
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
  const auth = createAuthModule({
    db: db.db,
    env: readAuthEnv({ CLERK_JWT_KEY: key.publicPem, CLERK_AUTHORIZED_PARTIES: AZP, CLERK_ISSUER: ISSUER }),
  });
  gateway = createGateway({
    config,
    authenticator: auth.authenticator,
    registry,
    logger: quiet,
    plugins: [auth.routes],
  }).listen({
    port: 0,
    hostname: "127.0.0.1",
  });
  url = `http://127.0.0.1:${gateway.server?.port}`;
}, 60_000);

afterAll(async () => {
  await gateway?.stop(true);
  registry?.stop();
  await Promise.all(servers.map((s) => s.stop().catch(() => {})));
  await config?.close();
  await db?.close();
}, 60_000);

async function connect(headers: Record<string, string>): Promise<Client> {
  const client = new Client({ name: "isolation", version: "1.0.0" });
  await client.connect(
    new StreamableHTTPClientTransport(new URL(`${url}/mcp`), { requestInit: { headers } }),
  );
  return client;
}

describe("MCP isolation through the gateway", () => {
  test("without credentials: 401 with the discovery challenge", async () => {
    const res = await fetch(`${url}/mcp`, {
      method: "POST",
      headers: { "content-type": "application/json", accept: "application/json, text/event-stream" },
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "ping" }),
    });
    expect(res.status).toBe(401);
    expect(res.headers.get("www-authenticate")).toContain("Bearer");
  });

  for (const { name, headers } of [
    { name: "org A API key", headers: () => ({ authorization: `Bearer ${aKey}` }) },
    { name: "org A member's Clerk token", headers: () => ({ authorization: `Bearer ${aToken}` }) },
  ]) {
    test(`${name}: lists show only A's; B's tools, prompts and resources are unreachable`, async () => {
      const client = await connect(headers());
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
});
