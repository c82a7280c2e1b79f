import { describe, expect, test } from "bun:test";
import { createRepositories, schema } from "@omni/db";
import { and, eq } from "drizzle-orm";
import { createAuditLog, verifyAuditChain } from "../src/audit/index.ts";
import { type AuthWorld, call, field, useAuthWorld } from "./fixtures/auth-fixtures.ts";

let world: AuthWorld;
useAuthWorld((created) => {
  world = created;
});

async function freshOrg(tag: string) {
  const repos = createRepositories(world.db.db);
  return repos.organizations.create({ slug: `${tag}-${crypto.randomUUID().slice(0, 8)}`, name: tag });
}

const actor = { type: "user" as const, id: "usr_test" };

describe("audit log", () => {
  test("rows chain per org; concurrent appends never fork the chain", async () => {
    const audit = createAuditLog({ db: world.db.db });
    const org = await freshOrg("chain");
    await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        audit.record({
          orgId: org.id,
          actor,
          action: "prompt.update",
          target: { type: "prompt", id: `p${i}` },
        }),
      ),
    );
    const rows = await audit.list(org.id, { limit: 100 });
    expect(rows.map((r) => r.seq).sort((x, y) => x - y)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    expect(rows.at(-1)?.prevHash).toBeNull();
    expect(rows[0]?.prevHash).toBe(rows[1]!.hash);
    expect(await verifyAuditChain(world.db.db, org.id)).toMatchObject({
      ok: true,
      checked: 20,
      firstBadSeq: null,
      reason: null,
      breaks: [],
      totalBreaks: 0,
      legacyRows: 0,
    });
  });

  test("concurrent records of one org are written in batches: one transaction, not one per row", async () => {
    const audit = createAuditLog({ db: world.db.db });
    const org = await freshOrg("batch");
    const entries = await Promise.all(
      Array.from({ length: 30 }, (_, i) =>
        audit.record({ orgId: org.id, actor, action: "tool.call", target: { type: "tool", id: `t${i}` } }),
      ),
    );
    // Each record resolves with its own row, in the order they were made.
    expect(entries.map((e) => e.seq)).toEqual(Array.from({ length: 30 }, (_, i) => i + 1));
    const rows = await world.db.db
      .select({ createdAt: schema.auditLogs.createdAt })
      .from(schema.auditLogs)
      .where(eq(schema.auditLogs.organizationId, org.id));
    // A transaction's rows share its time: the first record went alone, the 29 that queued behind it together.
    expect(new Set(rows.map((r) => r.createdAt.getTime())).size).toBeLessThanOrEqual(2);
    expect(await audit.verify(org.id)).toMatchObject({ ok: true, checked: 30 });
  });

  test("an edited row is caught at its sequence number", async () => {
    const audit = createAuditLog({ db: world.db.db });
    const org = await freshOrg("edit");
    for (let i = 0; i < 5; i++) {
      await audit.record({ orgId: org.id, actor, action: "service.update", after: { enabled: i % 2 === 0 } });
    }
    await world.db.db
      .update(schema.auditLogs)
      .set({ actor: "usr_someone_else" })
      .where(and(eq(schema.auditLogs.organizationId, org.id), eq(schema.auditLogs.seq, 3)));
    expect(await audit.verify(org.id)).toMatchObject({
      ok: false,
      checked: 5,
      firstBadSeq: 3,
      reason: "hash_mismatch",
      breaks: [{ seq: 3, reason: "hash_mismatch" }],
    });
  });

  test("a deleted row is caught where the chain breaks", async () => {
    const audit = createAuditLog({ db: world.db.db });
    const org = await freshOrg("delete");
    for (let i = 0; i < 5; i++) await audit.record({ orgId: org.id, actor, action: "prompt.delete" });
    await world.db.db
      .delete(schema.auditLogs)
      .where(and(eq(schema.auditLogs.organizationId, org.id), eq(schema.auditLogs.seq, 2)));
    expect(await audit.verify(org.id)).toMatchObject({
      ok: false,
      checked: 4,
      firstBadSeq: 2,
      reason: "seq_gap",
      breaks: [{ seq: 2, reason: "seq_gap" }],
    });
  });

  test("a row re-numbered to hide a deletion is caught by its prev_hash", async () => {
    const audit = createAuditLog({ db: world.db.db });
    const org = await freshOrg("renumber");
    for (let i = 0; i < 4; i++) await audit.record({ orgId: org.id, actor, action: "prompt.delete" });
    const where = (seq: number) =>
      and(eq(schema.auditLogs.organizationId, org.id), eq(schema.auditLogs.seq, seq));
    await world.db.db.delete(schema.auditLogs).where(where(2));
    await world.db.db.update(schema.auditLogs).set({ seq: 2 }).where(where(3));
    const result = await audit.verify(org.id);
    expect(result.ok).toBe(false);
    expect(result.firstBadSeq).toBe(2);
  });

  test("writes store the before/after diff with secrets redacted", async () => {
    const audit = createAuditLog({ db: world.db.db });
    const org = await freshOrg("diff");
    const entry = await audit.record({
      orgId: org.id,
      actor,
      action: "service.update",
      target: { type: "service", id: "linear" },
      before: { enabled: true, settings: { team: "ENG" }, apiKey: "lin_old" },
      after: { enabled: false, settings: { team: "ENG" }, apiKey: "lin_new" },
    });
    expect(entry.before).toEqual({ enabled: true, apiKey: "[redacted]" });
    expect(entry.after).toEqual({ enabled: false, apiKey: "[redacted]" });
    expect(entry.metadata.changed).toEqual(["apiKey", "enabled"]);
    expect(JSON.stringify(entry)).not.toContain("lin_new");
  });

  test("tool calls: who, tool, duration, outcome; arguments only when the org opted in, redacted", async () => {
    const audit = createAuditLog({ db: world.db.db });
    const quiet = await freshOrg("quiet");
    const call1 = await audit.recordToolCall({
      org: { orgId: quiet.id, userId: "usr_1", via: "clerk", requestId: "req-1" },
      tool: "linear_search_issues",
      server: "linear",
      durationMs: 12.4,
      outcome: "ok",
      arguments: { query: "bug", token: "secret-token" },
    });
    expect(call1).toMatchObject({
      action: "tool.call",
      actor: "usr_1",
      actorType: "user",
      targetId: "linear_search_issues",
    });
    expect(call1.metadata).toEqual({
      tool: "linear_search_issues",
      server: "linear",
      durationMs: 12,
      outcome: "ok",
      requestId: "req-1",
    });

    const repos = createRepositories(world.db.db);
    const open = await repos.organizations.create({
      slug: `open-${crypto.randomUUID().slice(0, 8)}`,
      name: "open",
      settings: { auditArguments: true },
    });
    const call2 = await audit.recordToolCall({
      org: { orgId: open.id, userId: null, via: "api_key" },
      credentialId: "key_123",
      tool: "perplexity_search",
      durationMs: 3,
      outcome: "error",
      error: "upstream timeout",
      arguments: { query: "bun", headers: { Authorization: "Bearer x" }, password: "p" },
    });
    expect(call2).toMatchObject({ actor: "key_123", actorType: "api_key" });
    expect(call2.metadata.arguments).toEqual({
      query: "bun",
      headers: { Authorization: "[redacted]" },
      password: "[redacted]",
    });
    expect(call2.metadata.error).toBe("upstream timeout");
    expect((await audit.verify(open.id)).ok).toBe(true);
  });

  test("admin writes through the API are audited and verifiable over GET /api/audit/verify", async () => {
    const { app } = world.replica();
    const owner = world.token(world.a, world.a.owner);
    const created = await call(app, "POST", "/api/keys", {
      token: owner,
      body: { name: "audited", scopes: ["tools:call"] },
    });
    const keyId = String(field(field(created.body, "key"), "id"));
    await call(app, "DELETE", `/api/keys/${keyId}`, { token: owner });
    const list = await call(app, "GET", "/api/audit?limit=10", { token: owner });
    expect(list.status).toBe(200);
    const rows = list.body as {
      action: string;
      targetId: string;
      actor: string;
      after: Record<string, unknown>;
    }[];
    const revoke = rows.find((r) => r.action === "api_key.revoke" && r.targetId === keyId);
    expect(revoke?.actor).toBe(world.a.owner.userId);
    expect(revoke?.after.revokedAt).toEqual(expect.any(String));
    expect(rows.find((r) => r.action === "api_key.create" && r.targetId === keyId)).toBeDefined();
    const filtered = await call(app, "GET", "/api/audit?action=api_key.create", { token: owner });
    expect((filtered.body as { action: string }[]).every((r) => r.action === "api_key.create")).toBe(true);
    const bad = await call(app, "GET", "/api/audit?limit=abc", { token: owner });
    expect(bad.status).toBe(400);
    expect(JSON.stringify(bad.body)).toContain("limit");

    const verified = await call(app, "GET", "/api/audit/verify", { token: owner });
    expect(verified.body).toMatchObject({ ok: true, firstBadSeq: null });
    // Members cannot read the audit log.
    const member = await call(app, "GET", "/api/audit/verify", {
      token: world.token(world.a, world.a.member),
    });
    expect(member.status).toBe(403);
  });
});
