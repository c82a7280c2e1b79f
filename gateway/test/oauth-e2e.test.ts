import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { type OAuthClientProvider, UnauthorizedError } from "@modelcontextprotocol/sdk/client/auth.js";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import type {
  OAuthClientInformationMixed,
  OAuthClientMetadata,
  OAuthTokens,
} from "@modelcontextprotocol/sdk/shared/auth.js";
import { createRepositories, createTestDatabase, type DbHandle } from "@omni/db";
import { type RunningServer, serve } from "@omni/kit";
import { createGateway } from "../src/app.ts";
import { createAuthModule, readAuthEnv } from "../src/auth/index.ts";
import { createConfigService } from "../src/config/index.ts";
import { defaultClientFactory, Registry } from "../src/registry/index.ts";
import { AZP, sessionClaims, signJwt } from "./fixtures/auth-fixtures.ts";
import { type StandInAuthServer, startAuthServer } from "./fixtures/oauth-server.ts";
import { alphaServer, betaServer } from "./fixtures/test-servers.ts";

/**
 * The MCP authorization flow end to end, with the MCP SDK's own OAuth client (`OAuthClientProvider` +
 * `StreamableHTTPClientTransport`, v1) against the real gateway and a stand-in for Clerk as authorization
 * server (gateway/test/fixtures/oauth-server.ts, loopback): 401 → protected-resource metadata → issuer
 * metadata → dynamic client registration → authorization code + PKCE (sign-in auto-approved) → token with
 * `aud` = the `resource` asked for → tools/list, tools/call → refresh → step-up on a narrow scope; org
 * paths for members of several organizations; the refusals as HTTP answers.
 */
const quiet = { info: () => {}, warn: () => {}, error: () => {}, debug: () => {} };
let db: DbHandle;
let as: StandInAuthServer;
let servers: RunningServer[] = [];
let registry: Registry;
let config: ReturnType<typeof createConfigService>;
let gateway: ReturnType<typeof createGateway>;
let url: string;
const people = { alice: "", bob: "", carol: "" };
const orgs = { a: { id: "", slug: "", clerkId: "" }, b: { id: "", slug: "", clerkId: "" } };

beforeAll(async () => {
  const handle = await createTestDatabase("postgres");
  if (!handle) throw new Error("Postgres at 127.0.0.1:5432 is required");
  db = handle;
  as = await startAuthServer();
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
  for (const [tag, enabled] of [
    ["a", alpha.id],
    ["b", beta.id],
  ] as const) {
    const org = await repos.organizations.create({
      slug: `oauth-${tag}-${suffix}`,
      name: tag,
      clerkId: `org_oauth_${tag}_${suffix}`,
    });
    await repos.services.upsert(org.id, enabled, { enabled: true });
    orgs[tag] = { id: org.id, slug: org.slug, clerkId: org.clerkId! };
  }
  const user = async (name: string, memberships: [string, "owner" | "admin" | "member"][]) => {
    const row = await repos.users.create({ email: `${name}@x.test`, clerkId: `user_${name}_${suffix}` });
    for (const [orgId, role] of memberships) await repos.memberships.add(orgId, { userId: row.id, role });
    return row.clerkId!;
  };
  people.alice = await user("alice", [[orgs.a.id, "member"]]);
  people.bob = await user("bob", [
    [orgs.a.id, "member"],
    [orgs.b.id, "admin"],
  ]);
  people.carol = await user("carol", []);

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
    env: readAuthEnv({ CLERK_JWT_KEY: as.publicPem, CLERK_ISSUER: as.issuer, CLERK_AUTHORIZED_PARTIES: AZP }),
    logger: quiet as never,
  });
  gateway = createGateway({
    config,
    authenticator: auth.authenticator,
    registry,
    logger: quiet,
    plugins: [auth.routes],
    mcpAccess: auth.mcpAccess,
  }).listen({ port: 0, hostname: "127.0.0.1" });
  url = `http://127.0.0.1:${gateway.server?.port}`;
}, 60_000);

afterAll(async () => {
  await gateway?.stop(true);
  registry?.stop();
  await Promise.all(servers.map((s) => s.stop().catch(() => {})));
  await config?.close();
  await as?.stop();
  await db?.close();
}, 60_000);

/** An MCP client's OAuth state, in memory: what Claude Desktop or Claude Code keep in their stores. */
class MemoryProvider implements OAuthClientProvider {
  info: OAuthClientInformationMixed | undefined;
  saved: OAuthTokens | undefined;
  verifier = "";
  authorizationUrl: URL | undefined;
  constructor(private readonly grantTypes: string[] = ["authorization_code", "refresh_token"]) {}
  get redirectUrl() {
    return "http://127.0.0.1:1/oauth/callback";
  }
  get clientMetadata(): OAuthClientMetadata {
    return {
      client_name: "omni e2e",
      redirect_uris: [this.redirectUrl],
      grant_types: this.grantTypes,
      response_types: ["code"],
      token_endpoint_auth_method: "none",
    };
  }
  clientInformation() {
    return this.info;
  }
  saveClientInformation(info: OAuthClientInformationMixed) {
    this.info = info;
  }
  tokens() {
    return this.saved;
  }
  saveTokens(tokens: OAuthTokens) {
    this.saved = tokens;
  }
  redirectToAuthorization(authorizationUrl: URL) {
    this.authorizationUrl = authorizationUrl;
  }
  saveCodeVerifier(verifier: string) {
    this.verifier = verifier;
  }
  codeVerifier() {
    return this.verifier;
  }
}

/** The user's browser: opens the authorization URL (signed in, auto-approved) and returns the code. */
async function signIn(provider: MemoryProvider): Promise<string> {
  if (!provider.authorizationUrl) throw new Error("the client never asked to authorize");
  const res = await fetch(provider.authorizationUrl, { redirect: "manual" });
  expect(res.status).toBe(302);
  const back = new URL(res.headers.get("location")!);
  expect(back.origin + back.pathname).toBe(provider.redirectUrl);
  const code = back.searchParams.get("code");
  if (!code) throw new Error(`authorization failed: ${back.search}`);
  provider.authorizationUrl = undefined;
  return code;
}

/** Connects like a desktop client: a 401 starts the flow, the user signs in, the client connects again. */
async function connectWithOAuth(path: string, provider: MemoryProvider): Promise<Client> {
  const first = new StreamableHTTPClientTransport(new URL(`${url}${path}`), { authProvider: provider });
  const failing = new Client({ name: "oauth-e2e", version: "1.0.0" });
  await expect(failing.connect(first)).rejects.toBeInstanceOf(UnauthorizedError);
  await first.finishAuth(await signIn(provider));
  await first.close();
  const client = new Client({ name: "oauth-e2e", version: "1.0.0" });
  await client.connect(
    new StreamableHTTPClientTransport(new URL(`${url}${path}`), { authProvider: provider }),
  );
  return client;
}

const textOf = (result: unknown) =>
  ((result as { content?: { type: string; text?: string }[] }).content ?? []).map((c) => c.text).join("");

async function post(path: string, token: string, body: unknown) {
  const res = await fetch(`${url}${path}`, {
    method: "POST",
    headers: {
      authorization: `Bearer ${token}`,
      "content-type": "application/json",
      accept: "application/json, text/event-stream",
    },
    body: JSON.stringify(body),
  });
  return { status: res.status, challenge: res.headers.get("www-authenticate") ?? "", body: await res.json() };
}

const initialize = {
  jsonrpc: "2.0",
  id: 1,
  method: "initialize",
  params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "raw", version: "1" } },
};

describe("MCP SDK OAuth client ↔ gateway ↔ Clerk stand-in", () => {
  test("discovery from the 401, registration, sign-in with PKCE, token for this resource, tools, refresh", async () => {
    as.signIn = { as: people.alice };
    const provider = new MemoryProvider();
    const client = await connectWithOAuth("/mcp", provider);
    try {
      // The authorization request the SDK built from our metadata: resource, scopes, PKCE.
      const asked = as.authorizeRequests.at(-1)!;
      expect(asked.resource).toBe(`${url}/mcp`);
      expect(asked.scope).toBe("tools:call prompts:read resources:read");
      expect(asked.code_challenge_method).toBe("S256");
      const exchange = as.tokenRequests.at(-1)!;
      expect(exchange).toMatchObject({ grant_type: "authorization_code", resource: `${url}/mcp` });
      expect(provider.info?.client_id).toStartWith("client_");

      const tools = (await client.listTools()).tools.map((t) => t.name);
      expect(tools).toContain("alpha_echo");
      expect(tools.some((t) => t.startsWith("beta_"))).toBe(false);
      const called = await client.callTool({ name: "alpha_echo", arguments: { text: "hi" } });
      expect(textOf(called)).toBe(`alpha says hi to ${orgs.a.id}`);

      // The access token runs out: the next request is a 401, the SDK refreshes (same resource) and retries.
      const before = as.tokenRequests.length;
      provider.saved = {
        ...provider.saved!,
        access_token: await as.mint({ sub: people.alice, aud: `${url}/mcp`, expiresIn: -60 }),
      };
      const again = await client.callTool({ name: "alpha_echo", arguments: { text: "again" } });
      expect(textOf(again)).toBe(`alpha says again to ${orgs.a.id}`);
      const refresh = as.tokenRequests.slice(before);
      expect(refresh).toHaveLength(1);
      expect(refresh[0]).toMatchObject({ grant_type: "refresh_token", resource: `${url}/mcp` });
    } finally {
      await client.close();
    }
  });

  test("scope step-up: a prompts-only token gets a 403 insufficient_scope on tools/call, re-authorizes, succeeds", async () => {
    as.signIn = { as: people.alice, approve: ["prompts:read"] };
    const provider = new MemoryProvider(["authorization_code"]);
    const client = await connectWithOAuth("/mcp", provider);
    try {
      expect(provider.saved?.scope).toBe("prompts:read");
      // Lists a token may not use answer empty (as for a narrow API key); a call needs the scope.
      expect((await client.listTools()).tools).toEqual([]);
      const refused = await client
        .callTool({ name: "alpha_echo", arguments: { text: "x" } })
        .then(() => null)
        .catch((error: unknown) => error);
      expect(refused).toBeInstanceOf(UnauthorizedError);
      // The SDK asked to authorize again, with the scope from the challenge (what it had, plus tools:call).
      expect(provider.authorizationUrl?.searchParams.get("scope")).toBe("prompts:read tools:call");
      as.signIn = { as: people.alice };
      const transport = client.transport as StreamableHTTPClientTransport;
      await transport.finishAuth(await signIn(provider));
      expect(provider.saved?.scope).toBe("prompts:read tools:call");
      const called = await client.callTool({ name: "alpha_echo", arguments: { text: "up" } });
      expect(textOf(called)).toBe(`alpha says up to ${orgs.a.id}`);
    } finally {
      await client.close();
    }
  });

  test("the raw step-up answer: HTTP 403, WWW-Authenticate insufficient_scope with the scope to ask for", async () => {
    const narrow = await as.mint({ sub: people.alice, aud: `${url}/mcp`, scope: ["prompts:read"] });
    const init = await fetch(`${url}/mcp`, {
      method: "POST",
      headers: {
        authorization: `Bearer ${narrow}`,
        "content-type": "application/json",
        accept: "application/json, text/event-stream",
      },
      body: JSON.stringify(initialize),
    });
    const session = init.headers.get("mcp-session-id")!;
    expect(session).toBeTruthy();
    const res = await fetch(`${url}/mcp`, {
      method: "POST",
      headers: {
        authorization: `Bearer ${narrow}`,
        "content-type": "application/json",
        accept: "application/json, text/event-stream",
        "mcp-session-id": session,
      },
      body: JSON.stringify({
        jsonrpc: "2.0",
        id: 7,
        method: "tools/call",
        params: { name: "alpha_echo", arguments: { text: "x" } },
      }),
    });
    expect(res.status).toBe(403);
    expect(res.headers.get("www-authenticate")).toBe(
      `Bearer resource_metadata="${url}/.well-known/oauth-protected-resource/mcp", error="insufficient_scope", scope="prompts:read tools:call", error_description="insufficient_scope"`,
    );
    expect(await res.json()).toMatchObject({
      id: 7,
      error: { code: -32001, data: { reason: "insufficient_scope" } },
    });
    // The same call from the 2026-07-28 (stateless) era is challenged alike.
    const modern = await post("/mcp", narrow, {
      jsonrpc: "2.0",
      id: 8,
      method: "tools/call",
      params: {
        name: "alpha_echo",
        arguments: { text: "x" },
        _meta: {
          "io.modelcontextprotocol/protocolVersion": "2026-07-28",
          "io.modelcontextprotocol/clientInfo": { name: "raw", version: "1" },
          "io.modelcontextprotocol/clientCapabilities": {},
        },
      },
    });
    expect(modern.status).toBe(403);
    expect(modern.challenge).toContain('error="insufficient_scope"');
  });

  test("a member of several organizations: /mcp says how to pick one; /mcp/o/<slug> signs in to that org", async () => {
    as.signIn = { as: people.bob };
    const provider = new MemoryProvider();
    const first = new StreamableHTTPClientTransport(new URL(`${url}/mcp`), { authProvider: provider });
    await expect(new Client({ name: "x", version: "1" }).connect(first)).rejects.toBeInstanceOf(
      UnauthorizedError,
    );
    await first.finishAuth(await signIn(provider));
    const refused = await new Client({ name: "x", version: "1" })
      .connect(new StreamableHTTPClientTransport(new URL(`${url}/mcp`), { authProvider: provider }))
      .then(() => "connected")
      .catch((error: unknown) => String(error));
    expect(refused).toContain("organization_required");
    expect(refused).toContain(`${url}/mcp/o/${orgs.a.slug}`);

    // The org path has its own metadata (resource), so its token is minted for it.
    const forB = new MemoryProvider();
    const client = await connectWithOAuth(`/mcp/o/${orgs.b.slug}`, forB);
    try {
      expect(as.authorizeRequests.at(-1)?.resource).toBe(`${url}/mcp/o/${orgs.b.slug}`);
      const tools = (await client.listTools()).tools.map((t) => t.name);
      expect(tools).toContain("beta_add");
      expect(tools.some((t) => t.startsWith("alpha_"))).toBe(false);
    } finally {
      await client.close();
    }
    // B's token does not open A's path (audience), nor does a path of an org bob is not in.
    const bToken = forB.saved!.access_token;
    const onA = await post(`/mcp/o/${orgs.a.slug}`, bToken, initialize);
    expect(onA.status).toBe(401);
    expect(onA.challenge).toContain('error_description="invalid_audience"');
    expect(onA.challenge).toContain(`oauth-protected-resource/mcp/o/${orgs.a.slug}"`);
  });

  test("a signed-in user without any membership gets a 403 saying so", async () => {
    as.signIn = { as: people.carol };
    const provider = new MemoryProvider();
    const first = new StreamableHTTPClientTransport(new URL(`${url}/mcp`), { authProvider: provider });
    await expect(new Client({ name: "x", version: "1" }).connect(first)).rejects.toBeInstanceOf(
      UnauthorizedError,
    );
    await first.finishAuth(await signIn(provider));
    const res = await post("/mcp", provider.saved!.access_token, initialize);
    expect(res.status).toBe(403);
    expect(res.body).toMatchObject({ error: { data: { reason: "no_membership" } } });
    expect(res.challenge).not.toContain("insufficient_scope");
  });

  test("HTTP refusals: wrong audience, wrong issuer, expired, alg none, a session token on the org path", async () => {
    const mcp = `${url}/mcp`;
    const signed = await as.mint({ sub: people.alice, aud: mcp });
    const unsigned = `${Buffer.from(JSON.stringify({ alg: "none", typ: "at+jwt" })).toString("base64url")}.${signed.split(".")[1]}.`;
    const session = signJwt(as.privateKey, sessionClaims(people.alice, orgs.a.clerkId, { iss: as.issuer }));
    const cases: [string, string, string][] = [
      [
        "/mcp",
        await as.mint({ sub: people.alice, aud: "https://elsewhere.example/mcp" }),
        "invalid_audience",
      ],
      [
        "/mcp",
        await as.mint({ sub: people.alice, aud: mcp, claims: { iss: "https://evil.example" } }),
        "invalid_issuer",
      ],
      ["/mcp", await as.mint({ sub: people.alice, aud: mcp, expiresIn: -60 }), "token_expired"],
      ["/mcp", unsigned, "invalid_algorithm"],
      [`/mcp/o/${orgs.a.slug}`, session, "session_token_not_accepted"],
    ];
    for (const [path, token, reason] of cases) {
      const res = await post(path, token, initialize);
      expect({ path, reason, status: res.status }).toEqual({ path, reason, status: 401 });
      expect(res.challenge).toContain('error="invalid_token"');
      expect(res.challenge).toContain(`error_description="${reason}"`);
      expect(res.body).toMatchObject({ error: { code: -32001, data: { reason } } });
    }
  });
});
