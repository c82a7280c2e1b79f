import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { oauthConnectUrl, protectedResourceMetadataUrl } from "@omni/contracts";
import { createRepositories } from "@omni/db";
import type { AuthOutcome, AuthRemote } from "../src/ports.ts";
import {
  type AuthWorld,
  AZP,
  call,
  errorCode,
  field,
  rsaKey,
  sessionClaims,
  signJwt,
  useAuthWorld,
} from "./fixtures/auth-fixtures.ts";
import { type StandInAuthServer, startAuthServer } from "./fixtures/oauth-server.ts";

/**
 * OAuth access tokens at the authenticator and the discovery routes: what is accepted (a Clerk-shaped
 * `at+jwt` for this MCP endpoint, opaque `oat_` through the Backend API stand-in), what is refused with
 * which reason, and which organization and permissions an accepted token acts with.
 */
let world: AuthWorld;
useAuthWorld((created) => {
  world = created;
});

let as: StandInAuthServer;
/** Member of org A and org B. */
let multi: { clerkId: string };
/** A user Omni knows, with no membership. */
let loner: { clerkId: string };

beforeAll(async () => {
  as = await startAuthServer({ privateKey: world.key.privateKey });
  const repos = createRepositories(world.db.db);
  const suffix = crypto.randomUUID().slice(0, 8);
  const m = await repos.users.create({ email: "multi@x.test", clerkId: `user_multi_${suffix}` });
  await repos.memberships.add(world.a.id, { userId: m.id, role: "member" });
  await repos.memberships.add(world.b.id, { userId: m.id, role: "admin" });
  multi = { clerkId: m.clerkId! };
  const l = await repos.users.create({ email: "loner@x.test", clerkId: `user_loner_${suffix}` });
  loner = { clerkId: l.clerkId! };
}, 60_000);

afterAll(async () => {
  await as?.stop();
});

const ORIGIN = "http://gateway.test";
const MCP = `${ORIGIN}/mcp`;
const onMcp: AuthRemote = { loopback: false, mcp: { origin: ORIGIN } };
const onOrg = (slug: string): AuthRemote => ({ loopback: false, mcp: { origin: ORIGIN, orgSlug: slug } });
const bearer = (token: string) => new Headers({ authorization: `Bearer ${token}` });

function replica(env: Record<string, string> = {}) {
  return world.replica({ CLERK_ISSUER: as.issuer, ...env });
}

function failure(outcome: AuthOutcome) {
  if (outcome.ok) throw new Error(`expected a failure, got org ${outcome.org.orgId}`);
  return { status: outcome.status, reason: outcome.reason };
}

async function slugOf(orgId: string): Promise<string> {
  const org = await createRepositories(world.db.db).organizations.get(orgId);
  return org!.slug;
}

describe("OAuth access tokens (Clerk-shaped at+jwt)", () => {
  test("a single-org member's token for this MCP endpoint acts in that org with the MCP permissions", async () => {
    const { module } = replica();
    const token = await as.mint({ sub: world.a.member.clerkId, aud: MCP, scope: ["profile", "email"] });
    const outcome = await module.authenticator.authenticate(bearer(token), onMcp);
    if (!outcome.ok) throw new Error(`${outcome.reason}: ${outcome.message}`);
    expect(outcome.org).toMatchObject({
      orgId: world.a.id,
      userId: world.a.member.userId,
      via: "oauth",
      role: "member",
      permissions: ["tools:call", "prompts:read", "resources:read"],
    });
    expect(outcome.credentialId).toBe(world.a.member.membershipId);
    expect(outcome.expiresAt).toBeGreaterThan(Date.now());
  });

  test("scopes narrow the member's permissions and never widen them", async () => {
    const { module } = replica();
    // An admin asking for prompts:read only gets prompts:read.
    const narrow = await as.mint({ sub: world.a.admin.clerkId, aud: MCP, scope: ["prompts:read"] });
    const n = await module.authenticator.authenticate(bearer(narrow), onMcp);
    if (!n.ok) throw new Error(n.reason);
    expect(n.org.permissions).toEqual(["prompts:read"]);
    expect(n.oauth).toEqual({
      granted: ["prompts:read"],
      memberPermissions: expect.arrayContaining(["tools:call", "admin:write", "keys:write"]),
    });
    // A member whose token names admin:write still has no admin:write.
    const wide = await as.mint({
      sub: world.a.member.clerkId,
      aud: MCP,
      scope: ["tools:call", "admin:write", "keys:write"],
    });
    const w = await module.authenticator.authenticate(bearer(wide), onMcp);
    if (!w.ok) throw new Error(w.reason);
    expect(w.org.permissions).toEqual(["tools:call"]);
    // Without any Omni scope (Clerk's standard scopes only) even an owner gets MCP's permissions only.
    const plain = await as.mint({ sub: world.a.owner.clerkId, aud: MCP, scope: ["email"] });
    const p = await module.authenticator.authenticate(bearer(plain), onMcp);
    if (!p.ok) throw new Error(p.reason);
    expect(p.org.permissions).toEqual(["tools:call", "prompts:read", "resources:read"]);
  });

  test("`scope` as a space-separated string (RFC 9068) is read like Clerk's `scp`", async () => {
    const { module } = replica();
    const token = await as.mint({
      sub: world.a.admin.clerkId,
      aud: MCP,
      claims: { scp: undefined, scope: "resources:read tools:call" },
    });
    const outcome = await module.authenticator.authenticate(bearer(token), onMcp);
    if (!outcome.ok) throw new Error(outcome.reason);
    expect(outcome.org.permissions).toEqual(["tools:call", "resources:read"]);
  });

  const now = () => Math.floor(Date.now() / 1000);
  const negative: [string, () => Promise<string>, AuthRemote, 401 | 403, string][] = [
    [
      "minted for another resource (aud)",
      () => as.mint({ sub: world.a.member.clerkId, aud: "https://other.example/mcp" }),
      onMcp,
      401,
      "invalid_audience",
    ],
    [
      "minted for the gateway origin, not its MCP endpoint",
      () => as.mint({ sub: world.a.member.clerkId, aud: ORIGIN }),
      onMcp,
      401,
      "invalid_audience",
    ],
    ["without aud", () => as.mint({ sub: world.a.member.clerkId, aud: [] }), onMcp, 401, "invalid_audience"],
    [
      "from another issuer",
      () => as.mint({ sub: world.a.member.clerkId, aud: MCP, claims: { iss: "https://evil.example" } }),
      onMcp,
      401,
      "invalid_issuer",
    ],
    [
      "expired (beyond the 5 s skew)",
      () => as.mint({ sub: world.a.member.clerkId, aud: MCP, claims: { exp: now() - 30 } }),
      onMcp,
      401,
      "token_expired",
    ],
    [
      "not yet valid (nbf)",
      () => as.mint({ sub: world.a.member.clerkId, aud: MCP, claims: { nbf: now() + 120 } }),
      onMcp,
      401,
      "token_not_active",
    ],
    [
      "signed by another key",
      () => as.mint({ sub: world.a.member.clerkId, aud: MCP, key: rsaKey().privateKey }),
      onMcp,
      401,
      "invalid_signature",
    ],
    [
      "alg none (unsigned)",
      async () => {
        const signed = await as.mint({ sub: world.a.member.clerkId, aud: MCP });
        const [, payload] = signed.split(".");
        const head = Buffer.from(JSON.stringify({ alg: "none", typ: "at+jwt" })).toString("base64url");
        return `${head}.${payload}.`;
      },
      onMcp,
      401,
      "invalid_algorithm",
    ],
    [
      "HS256 with the public key as secret (algorithm confusion)",
      async () => {
        const { createHmac } = await import("node:crypto");
        const signed = await as.mint({ sub: world.a.member.clerkId, aud: MCP });
        const [, payload] = signed.split(".");
        const head = Buffer.from(JSON.stringify({ alg: "HS256", typ: "at+jwt" })).toString("base64url");
        const mac = createHmac("sha256", as.publicPem).update(`${head}.${payload}`).digest("base64url");
        return `${head}.${payload}.${mac}`;
      },
      onMcp,
      401,
      "invalid_algorithm",
    ],
    [
      "a session token on the OAuth path (/mcp/o/<slug>)",
      async () => world.token(world.a, world.a.member, { iss: as.issuer }),
      onOrg("a"),
      401,
      "session_token_not_accepted",
    ],
    [
      "an ID token (typ JWT, aud = a client id, no sid) on /mcp",
      async () =>
        signJwt(world.key.privateKey, {
          iss: as.issuer,
          sub: world.a.member.clerkId,
          aud: "client_standin",
          azp: AZP,
          iat: now(),
          exp: now() + 60,
          email: "m@a.test",
        }),
      onMcp,
      401,
      "not_a_session_token",
    ],
    [
      "a user without any membership",
      () => as.mint({ sub: loner.clerkId, aud: MCP }),
      onMcp,
      403,
      "no_membership",
    ],
    [
      "a Clerk user Omni has never seen",
      () => as.mint({ sub: "user_never_synced", aud: MCP }),
      onMcp,
      403,
      "no_membership",
    ],
    [
      "a member of several organizations without an org path",
      () => as.mint({ sub: multi.clerkId, aud: MCP }),
      onMcp,
      403,
      "organization_required",
    ],
  ];
  for (const [name, make, remote, status, reason] of negative) {
    test(`${name} → ${status} ${reason}`, async () => {
      const { module } = replica();
      const outcome = await module.authenticator.authenticate(bearer(await make()), remote);
      expect(failure(outcome)).toEqual({ status, reason });
    });
  }

  test("the multi-org 403 says how to pick an organization; the org path picks it", async () => {
    const { module } = replica();
    const [slugA, slugB] = [await slugOf(world.a.id), await slugOf(world.b.id)];
    const outcome = await module.authenticator.authenticate(
      bearer(await as.mint({ sub: multi.clerkId, aud: MCP })),
      onMcp,
    );
    if (outcome.ok) throw new Error("expected 403");
    expect(outcome.message).toContain(`${ORIGIN}/mcp/o/<slug>`);
    expect(outcome.message).toContain(slugA);
    expect(outcome.message).toContain(slugB);
    // On B's path with a token for B's path: B, as admin (narrowed to MCP's permissions).
    const forB = await as.mint({ sub: multi.clerkId, aud: `${MCP}/o/${slugB}` });
    const b = await module.authenticator.authenticate(bearer(forB), onOrg(slugB));
    if (!b.ok) throw new Error(b.reason);
    expect(b.org.orgId).toBe(world.b.id);
    expect(b.org.orgSlug).toBe(slugB);
    // A token for /mcp is also good on an org path (the path only picks the organization) ...
    const forMcp = await as.mint({ sub: multi.clerkId, aud: MCP });
    const a = await module.authenticator.authenticate(bearer(forMcp), onOrg(slugA));
    if (!a.ok) throw new Error(a.reason);
    expect(a.org.orgId).toBe(world.a.id);
    // ... but one for B's path is not good on A's path, nor is an org the user is not in.
    expect(failure(await module.authenticator.authenticate(bearer(forB), onOrg(slugA)))).toEqual({
      status: 401,
      reason: "invalid_audience",
    });
    const single = await as.mint({ sub: world.a.member.clerkId, aud: MCP });
    expect(failure(await module.authenticator.authenticate(bearer(single), onOrg(slugB)))).toEqual({
      status: 403,
      reason: "not_a_member",
    });
  });

  test("OAuth tokens are for the MCP endpoint only: the admin API refuses them", async () => {
    const { module, app } = replica();
    const token = await as.mint({ sub: world.a.owner.clerkId, aud: MCP, scope: ["keys:read"] });
    expect(failure(await module.authenticator.authenticate(bearer(token), { loopback: false }))).toEqual({
      status: 401,
      reason: "wrong_resource",
    });
    const res = await call(app, "GET", "/api/keys", { token });
    expect(res.status).toBe(401);
    expect(errorCode(res.body)).toBe("wrong_resource");
  });

  test("API keys work beside OAuth; on an org path only for their own organization", async () => {
    const { module, app } = replica();
    const owner = world.token(world.a, world.a.owner, { iss: as.issuer });
    const created = await call(app, "POST", "/api/keys", {
      token: owner,
      body: { name: "beside-oauth", scopes: ["tools:call"] },
    });
    expect(created.status).toBe(201);
    const secret = String(field(created.body, "secret"));
    const onA = await module.authenticator.authenticate(bearer(secret), onOrg(await slugOf(world.a.id)));
    expect(onA.ok).toBe(true);
    expect(failure(await module.authenticator.authenticate(bearer(secret), onOrg("someone-else")))).toEqual({
      status: 403,
      reason: "org_mismatch",
    });
    expect((await module.authenticator.authenticate(bearer(secret), onMcp)).ok).toBe(true);
  });

  test("without an issuer OAuth tokens are refused, not crashed on", async () => {
    const { module } = world.replica({ CLERK_ISSUER: "" });
    const token = await as.mint({ sub: world.a.member.clerkId, aud: MCP });
    expect(failure(await module.authenticator.authenticate(bearer(token), onMcp))).toEqual({
      status: 401,
      reason: "oauth_not_configured",
    });
  });

  test("without CLERK_JWT_KEY the keys come from the issuer's JWKS (the stand-in's, on loopback)", async () => {
    const { module } = replica({ CLERK_JWT_KEY: "" });
    const token = await as.mint({ sub: world.a.member.clerkId, aud: MCP });
    const outcome = await module.authenticator.authenticate(bearer(token), onMcp);
    if (!outcome.ok) throw new Error(`${outcome.reason}: ${outcome.message}`);
    expect(outcome.org.orgId).toBe(world.a.id);
    const other = await as.mint({ sub: world.a.member.clerkId, aud: MCP, key: rsaKey().privateKey });
    expect(failure(await module.authenticator.authenticate(bearer(other), onMcp)).reason).toBe(
      "invalid_signature",
    );
  });

  test("the issuer can come from the publishable key", async () => {
    const host = "clerk.pk-derived.test";
    const pk = `pk_test_${Buffer.from(`${host}$`).toString("base64")}`;
    const { module } = world.replica({ CLERK_ISSUER: "", CLERK_PUBLISHABLE_KEY: pk });
    const good = await as.mint({
      sub: world.a.member.clerkId,
      aud: MCP,
      claims: { iss: `https://${host}` },
    });
    expect((await module.authenticator.authenticate(bearer(good), onMcp)).ok).toBe(true);
    const bad = await as.mint({ sub: world.a.member.clerkId, aud: MCP });
    expect(failure(await module.authenticator.authenticate(bearer(bad), onMcp)).reason).toBe(
      "invalid_issuer",
    );
  });
});

describe("opaque OAuth tokens (oat_...) through Clerk's Backend API (a loopback stand-in)", () => {
  test("verified with CLERK_SECRET_KEY at CLERK_API_URL: audience, revocation and unknown tokens", async () => {
    const { module } = replica({ CLERK_SECRET_KEY: as.secretKey, CLERK_API_URL: as.issuer });
    const good = as.mintOpaque({ sub: world.a.member.clerkId, aud: MCP, scope: ["tools:call"] });
    const outcome = await module.authenticator.authenticate(bearer(good), onMcp);
    if (!outcome.ok) throw new Error(`${outcome.reason}: ${outcome.message}`);
    expect(outcome.org).toMatchObject({ orgId: world.a.id, via: "oauth", permissions: ["tools:call"] });
    const elsewhere = as.mintOpaque({ sub: world.a.member.clerkId, aud: "https://other.example/mcp" });
    expect(failure(await module.authenticator.authenticate(bearer(elsewhere), onMcp)).reason).toBe(
      "invalid_audience",
    );
    const revoked = as.mintOpaque({ sub: world.a.member.clerkId, aud: MCP, revoked: true });
    expect(failure(await module.authenticator.authenticate(bearer(revoked), onMcp)).reason).toBe(
      "token_revoked",
    );
    expect(failure(await module.authenticator.authenticate(bearer("oat_unknown"), onMcp)).reason).toBe(
      "invalid_token",
    );
  });

  test("without CLERK_SECRET_KEY an opaque token is refused with what to configure", async () => {
    const { module } = replica();
    const outcome = await module.authenticator.authenticate(bearer("oat_whatever"), onMcp);
    expect(failure(outcome).reason).toBe("opaque_token_unsupported");
  });
});

describe("discovery for OAuth clients", () => {
  test("each MCP endpoint has its own protected-resource metadata naming Clerk's issuer", async () => {
    const { app } = replica();
    const mcp = await call(app, "GET", "/.well-known/oauth-protected-resource/mcp");
    expect(mcp.body).toMatchObject({ resource: MCP, authorization_servers: [as.issuer] });
    expect(field(mcp.body, "scopes_supported")).toContain("tools:call");
    const metadataPath = new URL(protectedResourceMetadataUrl(`${ORIGIN}/`, "acme")).pathname;
    expect(metadataPath).toBe("/.well-known/oauth-protected-resource/mcp/o/acme");
    const org = await call(app, "GET", metadataPath);
    expect(org.body).toMatchObject({ resource: `${MCP}/o/acme`, authorization_servers: [as.issuer] });
    expect(oauthConnectUrl(org.body)).toBe(`${MCP}/o/acme`);
    for (const path of [
      "/.well-known/oauth-protected-resource/api",
      "/.well-known/oauth-protected-resource/mcp/o/a/b",
    ]) {
      expect((await call(app, "GET", path)).status).toBe(404);
    }
    const noClerk = world.replica({ CLERK_ISSUER: "" });
    const plain = await call(noClerk.app, "GET", "/.well-known/oauth-protected-resource/mcp");
    expect(field(plain.body, "authorization_servers")).toEqual([]);
    expect(oauthConnectUrl(plain.body)).toBeNull();
  });

  test("session tokens keep working on /mcp (the admin dashboard's MCP calls)", async () => {
    const { module } = replica();
    const outcome = await module.authenticator.authenticate(
      bearer(
        signJwt(
          world.key.privateKey,
          sessionClaims(world.a.member.clerkId, world.a.clerkId, { iss: as.issuer }),
        ),
      ),
      onMcp,
    );
    expect(outcome.ok).toBe(true);
  });
});
