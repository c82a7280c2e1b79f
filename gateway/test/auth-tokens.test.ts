import { describe, expect, test } from "bun:test";
import { createRepositories, schema } from "@omni/db";
import { eq } from "drizzle-orm";
import { createDevAuthenticator } from "../src/mcp/dev-auth.ts";
import type { AuthOutcome } from "../src/ports.ts";
import {
  type AuthWorld,
  call,
  errorCode,
  field,
  rsaKey,
  sessionClaims,
  signJwt,
  useAuthWorld,
} from "./fixtures/auth-fixtures.ts";

let world: AuthWorld;
useAuthWorld((created) => {
  world = created;
});

const bearer = (token: string) => new Headers({ authorization: `Bearer ${token}` });
const remote = { loopback: false };

function failure(outcome: AuthOutcome) {
  if (outcome.ok) throw new Error(`expected a failure, got org ${outcome.org.orgId}`);
  return { status: outcome.status, reason: outcome.reason };
}

describe("Clerk session tokens", () => {
  test("a member's v1 token maps to our org, user and role", async () => {
    const { module } = world.replica();
    const outcome = await module.authenticator.authenticate(
      bearer(world.token(world.a, world.a.member)),
      remote,
    );
    expect(outcome.ok).toBe(true);
    if (!outcome.ok) return;
    expect(outcome.org.orgId).toBe(world.a.id);
    expect(outcome.org.userId).toBe(world.a.member.userId);
    expect(outcome.org.role).toBe("member");
    expect(outcome.org.via).toBe("clerk");
    expect(outcome.org.permissions).toEqual(["tools:call", "prompts:read", "resources:read"]);
    expect(outcome.credentialId).toBe(world.a.member.membershipId);
    expect(outcome.expiresAt).toBeGreaterThan(Date.now());
  });

  test("v2 `o` claim: org id, and Clerk custom permissions via fea/fpm map to ours", async () => {
    const { module } = world.replica();
    const claims = sessionClaims(world.a.member.clerkId, null, {
      v: 2,
      fea: "o:admin,o:keys",
      o: { id: world.a.clerkId, rol: "member", slg: "a", per: "write,read", fpm: "1,2" },
    });
    const outcome = await module.authenticator.authenticate(
      bearer(signJwt(world.key.privateKey, claims)),
      remote,
    );
    expect(outcome.ok).toBe(true);
    if (!outcome.ok) return;
    expect(outcome.org.orgId).toBe(world.a.id);
    // fpm "1" over [write, read] → admin:write; "2" → keys:read.
    expect(outcome.org.permissions).toContain("admin:write");
    expect(outcome.org.permissions).toContain("keys:read");
    expect(outcome.org.permissions).not.toContain("keys:write");
  });

  const now = () => Math.floor(Date.now() / 1000);
  const cases: [string, () => string, 401 | 403, string][] = [
    [
      "expired",
      () =>
        signJwt(
          world.key.privateKey,
          sessionClaims(world.a.member.clerkId, world.a.clerkId, { exp: now() - 120 }),
        ),
      401,
      "token_expired",
    ],
    [
      "not yet valid",
      () =>
        signJwt(
          world.key.privateKey,
          sessionClaims(world.a.member.clerkId, world.a.clerkId, { nbf: now() + 300 }),
        ),
      401,
      "token_not_active",
    ],
    [
      "signed by another key",
      () => signJwt(rsaKey().privateKey, sessionClaims(world.a.member.clerkId, world.a.clerkId)),
      401,
      "invalid_signature",
    ],
    [
      "wrong authorized party",
      () =>
        signJwt(
          world.key.privateKey,
          sessionClaims(world.a.member.clerkId, world.a.clerkId, { azp: "https://evil.test" }),
        ),
      401,
      "invalid_authorized_party",
    ],
    [
      "wrong issuer",
      () =>
        signJwt(
          world.key.privateKey,
          sessionClaims(world.a.member.clerkId, world.a.clerkId, { iss: "https://other.clerk.test" }),
        ),
      401,
      "invalid_issuer",
    ],
    [
      "unsupported algorithm",
      () =>
        signJwt(world.key.privateKey, sessionClaims(world.a.member.clerkId, world.a.clerkId), {
          alg: "HS256",
        }),
      401,
      "invalid_algorithm",
    ],
    ["malformed", () => "not-a-jwt", 401, "malformed_token"],
    ["garbage segments", () => "aaa.bbb.ccc", 401, "malformed_token"],
    [
      "no active organization",
      () => signJwt(world.key.privateKey, sessionClaims(world.a.member.clerkId, null)),
      403,
      "no_active_organization",
    ],
    [
      "unknown Clerk organization",
      () => signJwt(world.key.privateKey, sessionClaims(world.a.member.clerkId, "org_clerk_unknown")),
      403,
      "org_not_provisioned",
    ],
    [
      "a user of org B claiming org A",
      () => signJwt(world.key.privateKey, sessionClaims(world.b.owner.clerkId, world.a.clerkId)),
      403,
      "not_a_member",
    ],
  ];
  for (const [name, make, status, reason] of cases) {
    test(`${name} → ${status} ${reason}`, async () => {
      const { module, app } = world.replica();
      const token = make();
      expect(failure(await module.authenticator.authenticate(bearer(token), remote))).toEqual({
        status,
        reason,
      });
      const res = await call(app, "GET", "/api/keys", { token });
      expect(res.status).toBe(status);
      expect(errorCode(res.body)).toBe(reason);
      if (status === 401) {
        expect(res.headers.get("www-authenticate")).toContain(
          'resource_metadata="http://gateway.test/.well-known/oauth-protected-resource"',
        );
      }
    });
  }

  test("no credentials / wrong scheme → 401 with the discovery challenge", async () => {
    const { module, app } = world.replica();
    expect(failure(await module.authenticator.authenticate(new Headers(), remote))).toEqual({
      status: 401,
      reason: "missing_credentials",
    });
    expect(
      failure(
        await module.authenticator.authenticate(new Headers({ authorization: "Basic Zm9vOmJhcg==" }), remote),
      ),
    ).toEqual({ status: 401, reason: "invalid_authorization_header" });
    const res = await call(app, "GET", "/api/members");
    expect(res.status).toBe(401);
    expect(res.headers.get("www-authenticate")).toBe(
      'Bearer resource_metadata="http://gateway.test/.well-known/oauth-protected-resource"',
    );
  });

  test("protected-resource metadata (RFC 9728) names the Clerk issuer", async () => {
    const { app } = world.replica();
    const root = await call(app, "GET", "/.well-known/oauth-protected-resource");
    expect(root.status).toBe(200);
    expect(field(root.body, "resource")).toBe("http://gateway.test");
    expect(field(root.body, "authorization_servers")).toEqual(["https://clerk.example.test"]);
    const mcp = await call(app, "GET", "/.well-known/oauth-protected-resource/mcp");
    expect(field(mcp.body, "resource")).toBe("http://gateway.test/mcp");
  });

  test("a token expiring mid-session is no longer valid for the session", async () => {
    const { module } = world.replica();
    const outcome = await module.authenticator.authenticate(
      bearer(world.token(world.a, world.a.admin)),
      remote,
    );
    if (!outcome.ok) throw new Error(outcome.reason);
    expect(await module.authenticator.stillValid(outcome.credentialId, outcome.expiresAt)).toBe(true);
    // The same session later, past the token's `exp`:
    expect(await module.authenticator.stillValid(outcome.credentialId, Date.now() - 1)).toBe(false);
  });

  test("composed with dev mode: no credentials on loopback → demo org; credentials → this authenticator", async () => {
    const { module } = world.replica();
    const dev = createDevAuthenticator("org_demo", module.authenticator);
    const demo = await dev.authenticate(new Headers(), { loopback: true });
    expect(demo.ok && demo.org.via).toBe("dev");
    expect(failure(await dev.authenticate(new Headers(), remote)).status).toBe(401);
    const real = await dev.authenticate(bearer(world.token(world.a, world.a.admin)), remote);
    expect(real.ok && real.org.orgId).toBe(world.a.id);
    const expired = signJwt(
      world.key.privateKey,
      sessionClaims(world.a.admin.clerkId, world.a.clerkId, { exp: Math.floor(Date.now() / 1000) - 60 }),
    );
    expect(failure(await dev.authenticate(bearer(expired), { loopback: true })).reason).toBe("token_expired");
  });

  test("without CLERK_JWT_KEY or CLERK_SECRET_KEY session tokens are refused, not crashed on", async () => {
    const { module } = world.replica({ CLERK_JWT_KEY: "" });
    expect(
      failure(await module.authenticator.authenticate(bearer(world.token(world.a, world.a.owner)), remote)),
    ).toEqual({
      status: 401,
      reason: "clerk_not_configured",
    });
  });
});

describe("API keys", () => {
  async function createKey(scopes: string[], expiresAt?: string) {
    const { app } = world.replica();
    const res = await call(app, "POST", "/api/keys", {
      token: world.token(world.a, world.a.owner),
      body: { name: "ci", scopes, ...(expiresAt ? { expiresAt } : {}) },
    });
    expect(res.status).toBe(201);
    const key = field(res.body, "key") as { id: string; prefix: string };
    return { id: key.id, prefix: key.prefix, secret: String(field(res.body, "secret")) };
  }

  test("created once (secret shown once), listed without the secret, used, last-used recorded", async () => {
    const key = await createKey(["tools:call", "keys:read"]);
    expect(key.secret).toMatch(/^omni_sk_[a-z0-9]{8}_[A-Za-z0-9_-]{43}$/);
    expect(key.secret.startsWith(`${key.prefix}_`)).toBe(true);
    const [row] = await world.db.db.select().from(schema.apiKeys).where(eq(schema.apiKeys.id, key.id));
    expect(row?.hash).toMatch(/^[0-9a-f]{64}$/);
    expect(row?.hash).not.toContain(key.secret);

    const { module, app } = world.replica();
    const outcome = await module.authenticator.authenticate(new Headers({ "x-api-key": key.secret }), remote);
    expect(outcome.ok).toBe(true);
    if (!outcome.ok) return;
    expect(outcome.org).toMatchObject({ orgId: world.a.id, via: "api_key", userId: null, role: "admin" });
    expect(outcome.org.permissions).toEqual(["tools:call", "keys:read"]);
    expect(outcome.credentialId).toBe(key.id);

    const list = await call(app, "GET", "/api/keys", { token: key.secret });
    expect(list.status).toBe(200);
    const listed = (list.body as Record<string, unknown>[]).find((k) => k.id === key.id);
    expect(listed?.prefix).toBe(key.prefix);
    expect(JSON.stringify(list.body)).not.toContain(key.secret);
    expect(JSON.stringify(list.body)).not.toContain(row!.hash);

    const used = await createRepositories(world.db.db).apiKeys.get(world.a.id, key.id);
    expect(used?.lastUsedAt).toBeInstanceOf(Date);
    // Throttled: a second use within the interval writes nothing.
    await module.authenticator.authenticate(new Headers({ "x-api-key": key.secret }), remote);
    const again = await createRepositories(world.db.db).apiKeys.get(world.a.id, key.id);
    expect(again?.lastUsedAt?.getTime()).toBe(used?.lastUsedAt?.getTime());
  });

  test("scopes are enforced: a tools-only key cannot manage keys", async () => {
    const key = await createKey(["tools:call"]);
    const { app } = world.replica();
    const res = await call(app, "POST", "/api/keys", {
      token: key.secret,
      body: { name: "x", scopes: ["tools:call"] },
    });
    expect(res.status).toBe(403);
    expect(errorCode(res.body)).toBe("forbidden");
  });

  test("a key cannot get scopes its creator lacks; bad bodies are 422 naming the field", async () => {
    const { app } = world.replica();
    const admin = world.token(world.a, world.a.admin);
    const res = await call(app, "POST", "/api/keys", {
      token: admin,
      body: { name: "x", scopes: ["members:write"] },
    });
    expect(res.status).toBe(403);
    expect(errorCode(res.body)).toBe("scope_not_held");
    const bad = await call(app, "POST", "/api/keys", {
      token: admin,
      body: { name: "x", scopes: ["root:all"] },
    });
    expect(bad.status).toBe(422);
    expect(JSON.stringify(bad.body)).toContain("scopes");
    const past = await call(app, "POST", "/api/keys", {
      token: admin,
      body: { name: "x", scopes: ["tools:call"], expiresAt: "2001-01-01T00:00:00Z" },
    });
    expect(past.status).toBe(422);
    expect(errorCode(past.body)).toBe("invalid_expiry");
  });

  test("a tampered or unknown key is refused", async () => {
    const key = await createKey(["tools:call"]);
    const { module } = world.replica();
    const tampered = `${key.secret.slice(0, -1)}${key.secret.endsWith("A") ? "B" : "A"}`;
    expect(failure(await module.authenticator.authenticate(bearer(tampered), remote))).toEqual({
      status: 401,
      reason: "invalid_api_key",
    });
    expect(failure(await module.authenticator.authenticate(bearer("omni_sk_short"), remote))).toEqual({
      status: 401,
      reason: "invalid_api_key",
    });
  });

  test("an expired key is refused", async () => {
    const key = await createKey(["tools:call"], new Date(Date.now() + 3_600_000).toISOString());
    const { module } = world.replica();
    expect((await module.authenticator.authenticate(bearer(key.secret), remote)).ok).toBe(true);
    await world.db.db
      .update(schema.apiKeys)
      .set({ expiresAt: new Date(Date.now() - 1000) })
      .where(eq(schema.apiKeys.id, key.id));
    const fresh = world.replica();
    expect(failure(await fresh.module.authenticator.authenticate(bearer(key.secret), remote))).toEqual({
      status: 401,
      reason: "key_expired",
    });
  });

  test("revocation is effective at once on another replica sharing Redis (and for its open sessions)", async () => {
    const key = await createKey(["tools:call", "keys:read"]);
    const one = world.replica();
    const two = world.replica();
    const before = await two.module.authenticator.authenticate(bearer(key.secret), remote);
    if (!before.ok) throw new Error(before.reason);
    expect(await two.module.authenticator.stillValid(before.credentialId, before.expiresAt)).toBe(true);

    const revoked = await call(one.app, "DELETE", `/api/keys/${key.id}`, {
      token: world.token(world.a, world.a.admin),
    });
    expect(revoked.status).toBe(200);
    expect(field(revoked.body, "revokedAt")).toEqual(expect.any(String));

    // Replica two cached the key a moment ago; the revocation reaches it with no wait.
    expect(failure(await two.module.authenticator.authenticate(bearer(key.secret), remote))).toEqual({
      status: 401,
      reason: "key_revoked",
    });
    expect(await two.module.authenticator.stillValid(before.credentialId, before.expiresAt)).toBe(false);
    const res = await call(two.app, "GET", "/api/keys", { token: key.secret });
    expect(res.status).toBe(401);
    expect(errorCode(res.body)).toBe("key_revoked");
  });
});
