import { beforeAll, describe, expect, test } from "bun:test";
import { createRepositories } from "@omni/db";
import { type AuthWorld, call, errorCode, errorText, field, useAuthWorld } from "./fixtures/auth-fixtures.ts";

/**
 * Org A's credentials (owner token and an all-scopes API key) against org B's keys, members and audit log
 * through every route of the auth admin API: nothing of B's is read, listed or changed. Plus the role
 * table on the same routes: members cannot do admin writes; only owners manage members.
 */
let world: AuthWorld;
let app: ReturnType<AuthWorld["replica"]>["app"];
let bKeyId: string;
let bKeySecret: string;
let aKeySecret: string;

useAuthWorld((created) => {
  world = created;
});
beforeAll(async () => {
  app = world.replica().app;
  const b = await call(app, "POST", "/api/keys", {
    token: world.token(world.b, world.b.owner),
    body: { name: "b-secret-key", scopes: ["tools:call", "keys:read"] },
  });
  bKeyId = String(field(field(b.body, "key"), "id"));
  bKeySecret = String(field(b.body, "secret"));
  const a = await call(app, "POST", "/api/keys", {
    token: world.token(world.a, world.a.owner),
    body: {
      name: "a-everything",
      scopes: ["keys:read", "keys:write", "members:read", "members:write", "audit:read"],
    },
  });
  aKeySecret = String(field(a.body, "secret"));
}, 60_000);

describe("isolation: org A's credentials against org B", () => {
  const credentials = () => [
    { name: "A owner token", opts: { token: world.token(world.a, world.a.owner) } },
    { name: "A all-scopes key", opts: { apiKey: aKeySecret } },
  ];

  test("lists show only A's keys, members and audit rows", async () => {
    for (const { opts } of credentials()) {
      const keys = await call(app, "GET", "/api/keys", opts);
      expect(keys.status).toBe(200);
      expect(JSON.stringify(keys.body)).not.toContain(bKeyId);
      expect(JSON.stringify(keys.body)).not.toContain("b-secret-key");
      const members = await call(app, "GET", "/api/members", opts);
      expect(members.status).toBe(200);
      const ids = (members.body as { id: string; userId: string }[]).map((m) => m.userId);
      for (const p of [world.a.owner, world.a.admin, world.a.member]) expect(ids).toContain(p.userId);
      for (const p of [world.b.owner, world.b.admin, world.b.member]) expect(ids).not.toContain(p.userId);
      const audit = await call(app, "GET", "/api/audit?limit=500", opts);
      expect(audit.status).toBe(200);
      expect(JSON.stringify(audit.body)).not.toContain(bKeyId);
      expect((audit.body as unknown[]).length).toBeGreaterThan(0);
    }
  });

  test("B's key cannot be revoked by A; it keeps working", async () => {
    for (const { opts } of credentials()) {
      const res = await call(app, "DELETE", `/api/keys/${bKeyId}`, opts);
      expect(res.status).toBe(404);
      expect(errorCode(res.body)).toBe("not_found");
    }
    const stored = await createRepositories(world.db.db).apiKeys.get(world.b.id, bKeyId);
    expect(stored?.revokedAt).toBeNull();
    const stillWorks = await call(app, "GET", "/api/keys", { apiKey: bKeySecret });
    expect(stillWorks.status).toBe(200);
    expect(JSON.stringify(stillWorks.body)).toContain(bKeyId);
  });

  test("B's members cannot be changed or removed by A", async () => {
    for (const { opts } of credentials()) {
      for (const target of [world.b.member, world.b.owner]) {
        const patch = await call(app, "PATCH", `/api/members/${target.membershipId}`, {
          ...opts,
          body: { role: "admin" },
        });
        expect(patch.status).toBe(404);
        const del = await call(app, "DELETE", `/api/members/${target.membershipId}`, opts);
        expect(del.status).toBe(404);
      }
    }
    const members = await createRepositories(world.db.db).memberships.list(world.b.id);
    expect(members.map((m) => [m.userId, m.role]).sort()).toEqual(
      [
        [world.b.owner.userId, "owner"],
        [world.b.admin.userId, "admin"],
        [world.b.member.userId, "member"],
      ].sort(),
    );
  });

  test("A's audit verification covers only A's chain; B's chain is untouched", async () => {
    const before = await createRepositories(world.db.db).audit.list(world.b.id, { limit: 1000 });
    const verify = await call(app, "GET", "/api/audit/verify", {
      token: world.token(world.a, world.a.owner),
    });
    expect(verify.body).toMatchObject({ ok: true });
    const aRows = await createRepositories(world.db.db).audit.list(world.a.id, { limit: 1000 });
    expect(field(verify.body, "checked")).toBe(aRows.length);
    const after = await createRepositories(world.db.db).audit.list(world.b.id, { limit: 1000 });
    expect(after).toEqual(before);
  });
});

describe("roles on the auth admin API", () => {
  test("members cannot do admin writes or read keys", async () => {
    const member = world.token(world.a, world.a.member);
    expect((await call(app, "GET", "/api/keys", { token: member })).status).toBe(403);
    expect(
      (await call(app, "POST", "/api/keys", { token: member, body: { name: "m", scopes: ["tools:call"] } }))
        .status,
    ).toBe(403);
    expect((await call(app, "GET", "/api/members", { token: member })).status).toBe(403);
    const res = await call(app, "PATCH", `/api/members/${world.a.member.membershipId}`, {
      token: member,
      body: { role: "owner" },
    });
    expect(res.status).toBe(403);
    expect(errorText(res.body)).toContain("members:write");
  });

  test("admins manage keys and read members, but only owners change members", async () => {
    const admin = world.token(world.a, world.a.admin);
    expect((await call(app, "GET", "/api/members", { token: admin })).status).toBe(200);
    const created = await call(app, "POST", "/api/keys", {
      token: admin,
      body: { name: "adm", scopes: ["tools:call"] },
    });
    expect(created.status).toBe(201);
    const patch = await call(app, "PATCH", `/api/members/${world.a.member.membershipId}`, {
      token: admin,
      body: { role: "admin" },
    });
    expect(patch.status).toBe(403);
  });

  test("an owner's role change and removal take effect at once on another replica", async () => {
    // A member of its own, so the other tests' people stay as they are.
    const repos = createRepositories(world.db.db);
    const clerkId = `user_clerk_extra_${crypto.randomUUID().slice(0, 8)}`;
    const user = await repos.users.create({ email: "extra@a.test", clerkId });
    const membership = await repos.memberships.add(world.a.id, { userId: user.id, role: "member" });
    const extra = { userId: user.id, clerkId, membershipId: membership.id };
    const owner = world.token(world.a, world.a.owner);
    const other = world.replica();
    const memberToken = world.token(world.a, extra);
    const headers = new Headers({ authorization: `Bearer ${memberToken}` });
    const first = await other.module.authenticator.authenticate(headers, { loopback: false });
    expect(first.ok && first.org.permissions.includes("admin:write")).toBe(false);

    const promoted = await call(app, "PATCH", `/api/members/${extra.membershipId}`, {
      token: owner,
      body: { role: "admin" },
    });
    expect(promoted.status).toBe(200);
    expect(field(promoted.body, "role")).toBe("admin");
    const second = await other.module.authenticator.authenticate(headers, { loopback: false });
    expect(second.ok && second.org.role).toBe("admin");
    expect(second.ok && second.org.permissions.includes("admin:write")).toBe(true);

    const invalid = await call(app, "PATCH", `/api/members/${extra.membershipId}`, {
      token: owner,
      body: { role: "superuser" },
    });
    expect(invalid.status).toBe(422);

    const lastOwner = await call(app, "PATCH", `/api/members/${world.a.owner.membershipId}`, {
      token: owner,
      body: { role: "member" },
    });
    expect(lastOwner.status).toBe(409);
    expect(errorCode(lastOwner.body)).toBe("last_owner");

    const removed = await call(app, "DELETE", `/api/members/${extra.membershipId}`, {
      token: owner,
    });
    expect(removed.status).toBe(200);
    const third = await other.module.authenticator.authenticate(headers, { loopback: false });
    expect(third.ok ? "ok" : third.reason).toBe("not_a_member");
    expect(await other.module.authenticator.stillValid(extra.membershipId, undefined)).toBe(false);

    const audit = await call(app, "GET", "/api/audit?action=member.update", { token: owner });
    const row = (audit.body as { before: { role: string }; after: { role: string } }[])[0];
    expect(row?.before.role).toBe("member");
    expect(row?.after.role).toBe("admin");
  });
});
