import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PERMISSIONS } from "@omni/contracts";
import { type AuditRow, createRepositories, createTestDatabase, type DbHandle, schema } from "@omni/db";
import { and, eq, gte } from "drizzle-orm";
import { createGateway } from "../src/app.ts";
import { auditRowHash, keyedRowHash } from "../src/audit/chain.ts";
import { signCheckpoint } from "../src/audit/checkpoint.ts";
import {
  auditKeys,
  type CheckpointStore,
  createAuditLog,
  fileCheckpoints,
  redisCheckpoints,
  verifyAuditChain,
} from "../src/audit/index.ts";
import { createApiKey } from "../src/auth/api-keys.ts";
import { createAuthModule } from "../src/auth/index.ts";
import { createConfigService } from "../src/config/index.ts";
import { createClientFactory, Registry } from "../src/registry/index.ts";
import { openRedis } from "./config-fixtures.ts";
import { modernRequest, serveQuietly, TEST_INTERNAL_TOKEN } from "./fixtures/replicas.ts";
import { alphaServer } from "./fixtures/test-servers.ts";

/**
 * Issue 11 item 9 on real Postgres: the audit chain is keyed (HMAC outside the database), so an attacker
 * with database access alone who rewrites rows and recomputes their hashes is detected; deleting the
 * newest rows is detected against the signed checkpoint kept outside the database (a file, or Redis);
 * verify reports every break; a call with NUL characters in its arguments is still audited; API-key
 * actors are the key id.
 */
const quiet = { info: () => {}, warn: () => {}, error: () => {}, debug: () => {} };
const keys = auditKeys(randomBytes(32));
let db: DbHandle;
let dataDir: string;
let checkpoints: CheckpointStore;
const actor = { type: "user" as const, id: "usr_auditor" };

beforeAll(async () => {
  const handle = await createTestDatabase("postgres");
  if (!handle) throw new Error("Postgres at 127.0.0.1:5432 is required");
  db = handle;
  dataDir = mkdtempSync(join(tmpdir(), "omni-audit-"));
  checkpoints = fileCheckpoints(dataDir);
}, 60_000);

afterAll(async () => {
  await db?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

async function orgWithRows(tag: string, count: number) {
  const repos = createRepositories(db.db);
  const org = await repos.organizations.create({
    slug: `${tag}-${crypto.randomUUID().slice(0, 8)}`,
    name: tag,
  });
  const audit = createAuditLog({ db: db.db, keys, checkpoints, logger: quiet });
  for (let i = 1; i <= count; i++) {
    await audit.record({
      orgId: org.id,
      actor,
      action: "prompt.update",
      target: { type: "prompt", id: `p${i}` },
    });
  }
  return { org, audit };
}

const rowsOf = async (orgId: string) =>
  (await createRepositories(db.db).audit.list(orgId, { order: "asc", limit: 1000 })) as AuditRow[];
const at = (orgId: string, seq: number) =>
  and(eq(schema.auditLogs.organizationId, orgId), eq(schema.auditLogs.seq, seq));

/** What a database-only attacker can do: change rows and recompute the plain SHA-256 chain from `from` on. */
async function rewritePlain(
  orgId: string,
  from: number,
  change: (row: AuditRow) => Partial<AuditRow>,
  to = Number.POSITIVE_INFINITY,
) {
  let prevHash: string | null = null;
  for (const row of await rowsOf(orgId)) {
    if (row.seq > to) break;
    if (row.seq < from) {
      prevHash = row.hash;
      continue;
    }
    const changed = { ...row, ...change(row), prevHash };
    const hash = auditRowHash(changed);
    await db.db
      .update(schema.auditLogs)
      .set({ ...change(row), prevHash, hash })
      .where(at(orgId, row.seq));
    prevHash = hash;
  }
}

describe("keyed chain", () => {
  test("rows carry HMAC-SHA256 hashes under the audit key id; an intact chain verifies against its checkpoint", async () => {
    const { org, audit } = await orgWithRows("intact", 4);
    const rows = await rowsOf(org.id);
    expect(rows.every((r) => r.hash.startsWith(`hmac-sha256:${keys.current.kid}:`))).toBe(true);
    expect(await audit.verify(org.id)).toEqual({
      ok: true,
      checked: 4,
      firstBadSeq: null,
      reason: null,
      breaks: [],
      totalBreaks: 0,
      checkpoint: { seq: 4, hash: rows[3]!.hash },
      legacyRows: 0,
    });
  });

  test("a row rewritten and the rest of the chain re-hashed with plain SHA-256 is detected", async () => {
    const { org, audit } = await orgWithRows("plain", 6);
    await rewritePlain(org.id, 3, () => ({ actor: "usr_innocent" }));
    const result = await audit.verify(org.id);
    expect(result.ok).toBe(false);
    expect(result.breaks).toEqual([
      ...[3, 4, 5, 6].map((seq) => ({ seq, reason: "unkeyed_hash" as const })),
      { seq: 6, reason: "checkpoint_mismatch" },
    ]);
    // The rows still chain (prev_hash links were recomputed too): only the key gives it away.
    expect(result.breaks.some((b) => b.reason === "prev_hash_mismatch")).toBe(false);
  });

  test("the whole chain re-hashed with plain SHA-256 (so it looks like legacy rows) is caught by the checkpoint", async () => {
    const { org, audit } = await orgWithRows("wholesale", 5);
    await rewritePlain(org.id, 1, () => ({ actor: "usr_innocent" }));
    expect(await audit.verify(org.id)).toMatchObject({
      ok: false,
      legacyRows: 5,
      breaks: [{ seq: 5, reason: "checkpoint_mismatch" }],
    });
  });

  test("a row re-signed with a key the attacker made up is a hash mismatch", async () => {
    const { org, audit } = await orgWithRows("forged", 3);
    const forger = auditKeys(randomBytes(32));
    const [, second] = await rowsOf(org.id);
    const forged = { ...second!, actor: "usr_innocent" };
    const hash = keyedRowHash(
      { current: { ...forger.current, kid: keys.current.kid }, byKid: forger.byKid },
      forged,
    );
    await db.db.update(schema.auditLogs).set({ actor: "usr_innocent", hash }).where(at(org.id, 2));
    const result = await audit.verify(org.id);
    expect(result.breaks).toEqual([
      { seq: 2, reason: "hash_mismatch" },
      { seq: 3, reason: "prev_hash_mismatch" },
    ]);
  });

  test("deleting the newest rows is detected against the checkpoint, also after new rows were appended", async () => {
    const { org, audit } = await orgWithRows("truncate", 6);
    await db.db
      .delete(schema.auditLogs)
      .where(and(eq(schema.auditLogs.organizationId, org.id), gte(schema.auditLogs.seq, 5)));
    expect(await audit.verify(org.id)).toMatchObject({
      ok: false,
      checked: 4,
      breaks: [{ seq: 5, reason: "truncated" }],
      checkpoint: { seq: 6 },
    });
    // Without the checkpoint the same chain looks intact: that is what the checkpoint is for.
    expect((await verifyAuditChain(db.db, org.id, { keys })).ok).toBe(true);
    // The gateway keeps writing (seq 5, 6 again): the checkpoint does not move back, the rewrite shows.
    for (let i = 0; i < 2; i++) await audit.record({ orgId: org.id, actor, action: "prompt.delete" });
    expect((await audit.verify(org.id)).breaks).toEqual([{ seq: 6, reason: "checkpoint_mismatch" }]);
  });

  test("verify reports every broken link, not only the first", async () => {
    const { org, audit } = await orgWithRows("many", 9);
    await db.db.update(schema.auditLogs).set({ action: "prompt.read" }).where(at(org.id, 2));
    await db.db.update(schema.auditLogs).set({ targetId: "elsewhere" }).where(at(org.id, 5));
    await db.db.delete(schema.auditLogs).where(at(org.id, 7));
    const result = await audit.verify(org.id);
    expect(result).toMatchObject({
      ok: false,
      checked: 8,
      firstBadSeq: 2,
      reason: "hash_mismatch",
      totalBreaks: 3,
    });
    expect(result.breaks).toEqual([
      { seq: 2, reason: "hash_mismatch" },
      { seq: 5, reason: "hash_mismatch" },
      { seq: 7, reason: "seq_gap" },
    ]);
  });

  test("a forged checkpoint is reported; a checkpoint never moves back (Redis store, shared by replicas)", async () => {
    const { redis, prefix, cleanup } = openRedis();
    try {
      const store = redisCheckpoints(redis, prefix);
      const repos = createRepositories(db.db);
      const org = await repos.organizations.create({
        slug: `redis-${crypto.randomUUID().slice(0, 8)}`,
        name: "r",
      });
      const audit = createAuditLog({ db: db.db, keys, checkpoints: store, logger: quiet });
      for (let i = 0; i < 3; i++) await audit.record({ orgId: org.id, actor, action: "service.update" });
      const head = await store.get(org.id);
      expect(head?.seq).toBe(3);
      await store.advance(org.id, signCheckpoint(keys, org.id, 2, "stale"));
      expect((await store.get(org.id))?.seq).toBe(3);
      expect((await audit.verify(org.id)).ok).toBe(true);
      await redis.set(`${prefix}audit:head:${org.id}`, JSON.stringify({ ...head, seq: 9 }));
      expect((await audit.verify(org.id)).breaks).toEqual([{ seq: 9, reason: "checkpoint_invalid" }]);
    } finally {
      await cleanup();
    }
  });

  test("rows from before keyed chains verify as the oldest rows, anchored by the first keyed row", async () => {
    const repos = createRepositories(db.db);
    const org = await repos.organizations.create({
      slug: `legacy-${crypto.randomUUID().slice(0, 8)}`,
      name: "l",
    });
    for (let i = 0; i < 3; i++) {
      await repos.audit.append(org.id, (last, createdAt) => {
        const row = {
          seq: (last?.seq ?? 0) + 1,
          actor: "usr_old",
          actorType: "user" as const,
          action: "prompt.update",
          targetType: null,
          targetId: null,
          before: null,
          after: null,
          metadata: {},
          createdAt,
          prevHash: last?.hash ?? null,
        };
        return { ...row, hash: auditRowHash({ ...row, organizationId: org.id }) };
      });
    }
    const audit = createAuditLog({ db: db.db, keys, checkpoints, logger: quiet });
    await audit.record({ orgId: org.id, actor, action: "prompt.update" });
    expect(await audit.verify(org.id)).toMatchObject({ ok: true, checked: 4, legacyRows: 3 });
    // Editing a legacy row and recomputing its plain hash breaks the link the first keyed row signed.
    await rewritePlain(org.id, 2, () => ({ actor: "usr_innocent" }), 3);
    const result = await audit.verify(org.id);
    expect(result.ok).toBe(false);
    expect(result.breaks).toEqual([{ seq: 4, reason: "prev_hash_mismatch" }]);
  });
});

describe("always audited, actors are key ids (through a real gateway with API keys)", () => {
  test("a tool call with NUL characters in its arguments is audited; API-key actors are the key id", async () => {
    const repos = createRepositories(db.db);
    const org = await repos.organizations.create({
      slug: `nul-${crypto.randomUUID().slice(0, 8)}`,
      name: "n",
      settings: { auditArguments: true },
    });
    const alphaRow = await repos.servers.upsert({ name: "alpha", title: "Alpha" });
    await repos.services.upsert(org.id, alphaRow.id, { enabled: true });
    const key = await createApiKey(repos, org.id, null, { name: "ci", scopes: [...PERMISSIONS] });
    const alpha = serveQuietly(alphaServer, { mcp: false });
    const config = createConfigService({ db: db.db, logger: quiet });
    const registry = new Registry({
      instances: [{ server: "alpha", url: alpha.url }],
      clientFactory: createClientFactory(TEST_INTERNAL_TOKEN),
      healthIntervalMs: 600_000,
      logger: quiet,
    });
    await registry.start();
    const auth = createAuthModule({ db: db.db, auditCheckpoints: checkpoints });
    const gateway = createGateway({
      config,
      authenticator: auth.authenticator,
      registry,
      logger: quiet,
      plugins: [auth.routes],
      mcpAccess: auth.mcpAccess,
      admin: { db: db.db, config, resolveOrg: auth.resolveOrg, audit: auth.audit, auth },
    }).listen({ port: 0, hostname: "127.0.0.1" });
    const url = `http://127.0.0.1:${gateway.server?.port}`;
    try {
      const { body } = await modernRequest(
        url,
        "tools/call",
        { name: "alpha_echo", arguments: { text: "a\u0000b", "k\u0000ey": "\ud800lone" } },
        { bearer: key.secret },
      );
      expect(body.result).toBeDefined();
      // The audit row is written after the answer: wait for it.
      let call: AuditRow | undefined;
      for (let i = 0; i < 100 && !call; i++) {
        call = (await rowsOf(org.id)).find((r) => r.action === "tool.call");
        if (!call) await Bun.sleep(20);
      }
      expect(call).toBeDefined();
      expect(call).toMatchObject({ actor: key.row.id, actorType: "api_key", targetId: "alpha_echo" });
      expect(call?.metadata.arguments).toEqual({ text: "a\u2400b", "k\u2400ey": "\ufffdlone" });

      const patched = await fetch(`${url}/api/services/alpha`, {
        method: "PATCH",
        headers: { "content-type": "application/json", authorization: `Bearer ${key.secret}` },
        body: JSON.stringify({ enabled: true, settings: { note: "by ci" } }),
      });
      expect(patched.status).toBe(200);
      const update = (await rowsOf(org.id)).find((r) => r.action.startsWith("service."));
      expect(update).toMatchObject({ actor: key.row.id, actorType: "api_key" });

      const verified = await fetch(`${url}/api/audit/verify`, {
        headers: { authorization: `Bearer ${key.secret}` },
      });
      expect(await verified.json()).toMatchObject({ ok: true, breaks: [], totalBreaks: 0, checked: 2 });
    } finally {
      await gateway.stop(true);
      registry.stop();
      await alpha.stop();
      await config.close();
    }
  }, 60_000);
});
