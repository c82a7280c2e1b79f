import { afterAll, describe, expect, test } from "bun:test";
import { eq, sql } from "drizzle-orm";
import {
  ConflictError,
  createRepositories,
  InvalidRowError,
  type Repositories,
  schema,
} from "../src/index.ts";
import { count, KINDS, open, rows, SLOW, unique } from "./helpers.ts";

const message = [{ role: "user" as const, text: "Summarize {{topic}}." }];
const envelope = { kid: "k1", iv: "aXY=", ct: "Y3Q=", tag: "dGFn" };

/** An org with a member, a key, a service, a credential, a prompt and a resource. */
async function populatedOrg(repos: Repositories, serverId: string) {
  const tag = unique();
  const org = await repos.organizations.create({ slug: `org-${tag}`, name: `Org ${tag}` });
  const user = await repos.users.create({ email: `${tag}@example.com`, clerkId: `user_${tag}` });
  await repos.memberships.add(org.id, { userId: user.id, role: "admin", permissions: ["tools:call"] });
  const service = await repos.services.create(org.id, serverId, { secrets: { apiKey: envelope } });
  const credential = await repos.credentials.create(org.id, user.id, serverId, { apiKey: envelope });
  const prompt = await repos.prompts.create(org.id, { serverId: null, name: `p_${tag}`, messages: message });
  const resource = await repos.resources.create(org.id, {
    serverId: null,
    uri: `notes://${tag}/readme`,
    name: "readme",
    text: "hello",
  });
  const key = await repos.apiKeys.create(org.id, {
    name: "ci",
    prefix: `omni_sk_${tag}`,
    hash: new Bun.CryptoHasher("sha256").update(tag).digest("hex"),
    scopes: ["tools:call"],
    createdBy: user.id,
  });
  return { org, user, service, credential, prompt, resource, key };
}

/** The SQLSTATE of a driver error, looking through drizzle's wrapper. */
function sqlState(error: unknown): unknown {
  const e = error as { code?: unknown; cause?: { code?: unknown } } | null;
  return e?.cause?.code ?? e?.code;
}

async function expectConflict(promise: Promise<unknown>, constraint: string, text: RegExp) {
  const error = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ConflictError);
  expect((error as ConflictError).constraint).toBe(constraint);
  expect((error as ConflictError).message).toMatch(text);
}

for (const kind of KINDS) {
  const handle = await open(kind, true);
  if (!handle) {
    test.skip(`db repositories on ${kind}: no Postgres reachable`, () => {});
    continue;
  }
  describe(`db repositories on ${kind}`, () => {
    const db = handle.db;
    const repos = createRepositories(db);
    afterAll(() => handle.close());

    test(
      "every unique constraint raises a ConflictError naming it",
      async () => {
        const a = await populatedOrg(repos, "srv_linear");
        const b = await populatedOrg(repos, "srv_linear");
        await expectConflict(
          repos.organizations.create({ slug: a.org.slug, name: "dup" }),
          "organizations_slug_unique",
          new RegExp(`an organization with slug "${a.org.slug}" already exists`),
        );
        await expectConflict(
          repos.organizations.update(b.org.id, { slug: a.org.slug }),
          "organizations_slug_unique",
          /already exists/,
        );
        const clerkOrg = await repos.organizations.create({
          slug: `c-${unique()}`,
          name: "c",
          clerkId: `org_${unique()}`,
        });
        await expectConflict(
          repos.organizations.create({ slug: `d-${unique()}`, name: "d", clerkId: clerkOrg.clerkId }),
          "organizations_clerk_id_unique",
          /Clerk id/,
        );
        await expectConflict(
          repos.users.create({ email: "x@example.com", clerkId: a.user.clerkId }),
          "users_clerk_id_unique",
          new RegExp(`a user with Clerk id "${a.user.clerkId}"`),
        );
        await expectConflict(
          repos.memberships.add(a.org.id, { userId: a.user.id, role: "member" }),
          "organization_memberships_org_user_unique",
          /is already a member/,
        );
        await expectConflict(
          repos.servers.create({ name: "linear", title: "Linear again" }),
          "mcp_servers_name_unique",
          /a server named "linear" already exists/,
        );
        const url = `http://127.0.0.1:1/${unique()}`;
        await repos.servers.addInstance("srv_linear", url);
        await expectConflict(
          repos.servers.addInstance("srv_linear", url),
          "server_instances_server_url_unique",
          /already has an instance at/,
        );
        expect((await repos.servers.registerInstance("srv_linear", url)).url).toBe(url);
        await expectConflict(
          repos.services.create(a.org.id, "srv_linear"),
          "organization_services_org_server_unique",
          /already has a configuration for server "srv_linear"/,
        );
        await expectConflict(
          repos.credentials.create(a.org.id, a.user.id, "srv_linear", {}),
          "user_service_credentials_org_user_server_unique",
          /already has a credential/,
        );
        await expectConflict(
          repos.prompts.createDefault({ serverId: "srv_linear", name: "issue-triage", messages: message }),
          "default_prompts_server_name_unique",
          /already has a default prompt named "issue-triage"/,
        );
        // NULLS NOT DISTINCT: two own prompts (server null) with one name conflict.
        await expectConflict(
          repos.prompts.create(a.org.id, { serverId: null, name: a.prompt.name, messages: message }),
          "organization_prompts_org_server_name_unique",
          new RegExp(`already has its own prompt named "${a.prompt.name}"`),
        );
        await repos.prompts.create(a.org.id, {
          serverId: "srv_linear",
          name: "issue-triage",
          disabled: true,
        });
        await expectConflict(
          repos.prompts.create(a.org.id, { serverId: "srv_linear", name: "issue-triage", title: "x" }),
          "organization_prompts_org_server_name_unique",
          /already has a prompt "issue-triage" for server "srv_linear"/,
        );
        // The same name in another org, or for another server, is fine.
        await repos.prompts.create(b.org.id, {
          serverId: "srv_linear",
          name: "issue-triage",
          disabled: true,
        });
        await repos.prompts.create(a.org.id, {
          serverId: "srv_perplexity",
          name: "issue-triage",
          title: "y",
        });
        await expectConflict(
          repos.resources.createDefault({
            serverId: "srv_linear",
            uri: "linear://templates/issue",
            name: "x",
            text: "x",
          }),
          "default_resources_uri_unique",
          /a default resource with URI "linear:\/\/templates\/issue" already exists/,
        );
        await expectConflict(
          repos.resources.create(a.org.id, { serverId: null, uri: a.resource.uri, name: "again", text: "x" }),
          "organization_resources_org_uri_unique",
          /already has a resource with URI/,
        );
        await expectConflict(
          repos.apiKeys.create(b.org.id, { name: "dup", prefix: a.key.prefix, hash: "0".repeat(64) }),
          "api_keys_prefix_unique",
          new RegExp(`an API key with prefix "${a.key.prefix}" already exists`),
        );
        await expectConflict(
          repos.apiKeys.create(b.org.id, { name: "dup", prefix: `omni_sk_${unique()}`, hash: a.key.hash }),
          "api_keys_hash_unique",
          /same hash/,
        );
        // The hash itself is never echoed.
        const svixId = `msg_${unique()}`;
        const first = await repos.webhooks.record({ svixId, type: "user.created", payload: { id: 1 } });
        const again = await repos.webhooks.record({ svixId, type: "user.created", payload: { id: 1 } });
        expect(first.duplicate).toBe(false);
        expect(again.duplicate).toBe(true);
        expect(again.event.id).toBe(first.event.id);
        const raw = await db
          .insert(schema.webhookEvents)
          .values({ svixId, type: "x", payload: {} })
          .then(
            () => null,
            (e: unknown) => e,
          );
        expect(raw).not.toBeNull();
      },
      SLOW,
    );

    test(
      "check constraints reject an own prompt without messages and a resource without content",
      async () => {
        const { org } = await populatedOrg(repos, "srv_perplexity");
        // Thunks, awaited one at a time: a rejection must never be left without a handler.
        const checks = [
          () => repos.prompts.create(org.id, { serverId: null, name: "empty" }),
          () => repos.resources.create(org.id, { serverId: null, uri: "x://empty", name: "empty" }),
          () =>
            repos.resources.createDefault({
              serverId: "srv_linear",
              uri: `x://${unique()}`,
              name: "both",
              text: "a",
              blob: "Yg==",
            }),
        ];
        for (const attempt of checks) {
          const error = await attempt().then(
            () => null,
            (e: unknown) => e,
          );
          expect(sqlState(error)).toBe("23514");
        }
      },
      SLOW,
    );

    test(
      "prompt jsonb is checked against the contracts before it is written",
      async () => {
        const { org, prompt } = await populatedOrg(repos, "srv_linear");
        const bad = [{ role: "system", text: "x" }] as unknown as typeof message;
        const error = await repos.prompts
          .create(org.id, { serverId: null, name: "bad", messages: bad })
          .catch((e: unknown) => e);
        expect(error).toBeInstanceOf(InvalidRowError);
        expect((error as InvalidRowError).field).toBe("messages.0.role");
        const empty = await repos.prompts
          .update(org.id, prompt.id, { messages: [] })
          .catch((e: unknown) => e);
        expect((empty as InvalidRowError).message).toBe("messages: a prompt has at least one message");
        const badName = await repos.prompts
          .createDefault({ serverId: "srv_linear", name: "has space", messages: message })
          .catch((e: unknown) => e);
        expect((badName as InvalidRowError).field).toBe("name");
        const badArg = await repos.prompts
          .update(org.id, prompt.id, { arguments: [{ name: "1x" }] })
          .catch((e: unknown) => e);
        expect((badArg as InvalidRowError).field).toBe("arguments.0.name");
        expect((await repos.prompts.get(org.id, prompt.id))?.messages).toEqual(message);
      },
      SLOW,
    );

    test(
      "deleting an organization cascades to what it owns and keeps its audit rows",
      async () => {
        const a = await populatedOrg(repos, "srv_devtools");
        const other = await populatedOrg(repos, "srv_devtools");
        for (let i = 0; i < 3; i++) {
          await repos.audit.append(a.org.id, (prev) => ({
            actor: a.user.id,
            actorType: "user",
            action: "prompt.update",
            seq: (prev?.seq ?? 0) + 1,
            prevHash: prev?.hash ?? null,
            hash: `h${i}`,
          }));
        }
        const owned = [
          "organization_memberships",
          "organization_services",
          "user_service_credentials",
          "organization_prompts",
          "organization_resources",
          "api_keys",
        ];
        const where = (id: string) => sql`organization_id = ${id}`;
        for (const table of owned) expect(await count(db, table, where(a.org.id))).toBeGreaterThan(0);

        expect(await repos.organizations.delete(a.org.id)).toBe(true);
        expect(await repos.organizations.get(a.org.id)).toBeNull();
        for (const table of owned) expect(await count(db, table, where(a.org.id))).toBe(0);
        expect(await count(db, "audit_logs", where(a.org.id))).toBe(3);
        expect((await repos.audit.list(a.org.id)).map((r) => r.seq)).toEqual([3, 2, 1]);
        // The user and the other org are untouched.
        expect(await repos.users.get(a.user.id)).not.toBeNull();
        for (const table of owned) expect(await count(db, table, where(other.org.id))).toBeGreaterThan(0);
        expect(await repos.organizations.delete(a.org.id)).toBe(false);

        // Deleting a user removes their memberships and credentials; their keys stay, creator cleared.
        await repos.users.delete(other.user.id);
        expect(await repos.memberships.list(other.org.id)).toEqual([]);
        expect(await repos.credentials.listForUser(other.org.id, other.user.id)).toEqual([]);
        expect((await repos.apiKeys.get(other.org.id, other.key.id))?.createdBy).toBeNull();
      },
      SLOW,
    );

    test(
      "org scoping: calls for org A never read or change org B's rows",
      async () => {
        const a = await populatedOrg(repos, "srv_linear");
        const b = await populatedOrg(repos, "srv_linear");

        // Reads by id across orgs.
        expect(await repos.prompts.get(a.org.id, b.prompt.id)).toBeNull();
        expect(await repos.resources.get(a.org.id, b.resource.id)).toBeNull();
        expect(await repos.resources.getByUri(a.org.id, b.resource.uri)).toBeNull();
        expect(await repos.apiKeys.get(a.org.id, b.key.id)).toBeNull();
        expect(await repos.memberships.get(a.org.id, b.user.id)).toBeNull();
        expect(await repos.credentials.get(a.org.id, b.user.id, "srv_linear")).toBeNull();
        expect(await repos.prompts.find(a.org.id, null, b.prompt.name)).toBeNull();

        // Lists.
        expect((await repos.prompts.list(a.org.id)).map((p) => p.id)).toEqual([a.prompt.id]);
        expect((await repos.resources.list(a.org.id)).map((r) => r.id)).toEqual([a.resource.id]);
        expect((await repos.apiKeys.list(a.org.id)).map((k) => k.id)).toEqual([a.key.id]);
        expect((await repos.memberships.list(a.org.id)).map((m) => m.userId)).toEqual([a.user.id]);
        expect((await repos.services.list(a.org.id)).map((s) => s.id)).toEqual([a.service.id]);
        expect((await repos.credentials.listForUser(a.org.id, b.user.id)).length).toBe(0);

        // Updates by id across orgs change nothing.
        expect(await repos.prompts.update(a.org.id, b.prompt.id, { title: "hijacked" })).toBeNull();
        expect(await repos.resources.update(a.org.id, b.resource.id, { text: "hijacked" })).toBeNull();
        expect(await repos.apiKeys.update(a.org.id, b.key.id, { name: "hijacked" })).toBeNull();
        expect(await repos.apiKeys.revoke(a.org.id, b.key.id)).toBeNull();
        await repos.apiKeys.touch(a.org.id, b.key.id);
        expect(await repos.memberships.update(a.org.id, b.user.id, { role: "owner" })).toBeNull();
        expect(await repos.services.update(a.org.id, "srv_devtools", { enabled: false })).toBeNull();

        // Deletes by id across orgs delete nothing.
        expect(await repos.prompts.delete(a.org.id, b.prompt.id)).toBe(false);
        expect(await repos.resources.delete(a.org.id, b.resource.id)).toBe(false);
        expect(await repos.apiKeys.delete(a.org.id, b.key.id)).toBe(false);
        expect(await repos.memberships.remove(a.org.id, b.user.id)).toBe(false);
        expect(await repos.credentials.remove(a.org.id, b.user.id, "srv_linear")).toBe(false);

        // B is intact.
        const prompt = await repos.prompts.get(b.org.id, b.prompt.id);
        expect(prompt?.title).toBeNull();
        expect((await repos.resources.get(b.org.id, b.resource.id))?.text).toBe("hello");
        const key = await repos.apiKeys.get(b.org.id, b.key.id);
        expect(key?.name).toBe("ci");
        expect(key?.revokedAt).toBeNull();
        expect(key?.lastUsedAt).toBeNull();
        expect((await repos.memberships.get(b.org.id, b.user.id))?.role).toBe("admin");
        expect(await repos.credentials.get(b.org.id, b.user.id, "srv_linear")).not.toBeNull();

        // And the owner's own calls do work.
        expect((await repos.prompts.update(b.org.id, b.prompt.id, { title: "mine" }))?.title).toBe("mine");
        expect((await repos.apiKeys.revoke(b.org.id, b.key.id))?.revokedAt).toBeInstanceOf(Date);
        expect(await repos.prompts.delete(b.org.id, b.prompt.id)).toBe(true);

        // Audit reads are scoped too.
        await repos.audit.append(b.org.id, () => ({
          actor: "system",
          actorType: "system",
          action: "org.touch",
          seq: 1,
          prevHash: null,
          hash: "x",
        }));
        expect(await repos.audit.list(a.org.id)).toEqual([]);
        expect(await repos.audit.last(a.org.id)).toBeNull();
      },
      SLOW,
    );

    test(
      "upserts and lookups used by the gateway",
      async () => {
        const tag = unique();
        const org = await repos.organizations.upsertByClerkId({
          clerkId: `org_${tag}`,
          slug: `u-${tag}`,
          name: "One",
        });
        const same = await repos.organizations.upsertByClerkId({
          clerkId: `org_${tag}`,
          slug: `u-${tag}`,
          name: "Two",
        });
        expect(same.id).toBe(org.id);
        expect(same.name).toBe("Two");
        expect((await repos.organizations.update(org.id, {}))?.name).toBe("Two"); // an empty patch is a no-op
        const renamed = await repos.organizations.update(org.id, { settings: { auditArguments: true } });
        expect(renamed?.settings.auditArguments).toBe(true);
        expect(renamed!.updatedAt.getTime()).toBeGreaterThanOrEqual(same.updatedAt.getTime());
        await repos.services.enableDefaults(org.id);
        expect((await repos.services.list(org.id)).map((s) => s.serverName)).toEqual([
          "devtools",
          "linear",
          "perplexity",
        ]);
        const updated = await repos.services.upsert(org.id, "srv_linear", { settings: { team: "ENG" } });
        expect(updated.settings).toEqual({ team: "ENG" });
        expect(updated.enabled).toBe(true);
        const user = await repos.users.upsertByClerkId({ clerkId: `user_${tag}`, email: `${tag}@x.io` });
        await repos.memberships.add(org.id, { userId: user.id, role: "member" });
        expect((await repos.memberships.listForUser(user.id)).map((m) => m.organization.slug)).toEqual([
          `u-${tag}`,
        ]);
        const cred = await repos.credentials.upsert(org.id, user.id, "srv_linear", { apiKey: envelope });
        const cred2 = await repos.credentials.upsert(org.id, user.id, "srv_linear", {});
        expect(cred2.id).toBe(cred.id);
        expect(cred2.secrets).toEqual({});
        const hash = new Bun.CryptoHasher("sha256").update(`key-${tag}`).digest("hex");
        const key = await repos.apiKeys.create(org.id, { name: "k", prefix: `omni_sk_${tag}`, hash });
        expect((await repos.apiKeys.findByHash(hash))?.id).toBe(key.id);
        expect(await repos.apiKeys.findByHash("0".repeat(64))).toBeNull();
        const override = await repos.prompts.create(org.id, {
          serverId: "srv_linear",
          name: "workflow",
          title: "Ours",
        });
        expect((await repos.prompts.find(org.id, "srv_linear", "workflow"))?.id).toBe(override.id);
        const ev = await repos.webhooks.record({
          svixId: `msg_${tag}`,
          type: "organization.created",
          payload: {},
        });
        expect((await repos.webhooks.finish(ev.event.id, "processed"))?.outcome).toBe("processed");
      },
      SLOW,
    );

    test(
      "transactions roll back on a throw",
      async () => {
        const slug = `tx-${unique()}`;
        const error = await repos
          .transaction(async (tx) => {
            await tx.organizations.create({ slug, name: "tx" });
            throw new Error("boom");
          })
          .catch((e: unknown) => e);
        expect((error as Error).message).toBe("boom");
        expect(await repos.organizations.getBySlug(slug)).toBeNull();
        const created = await repos.transaction((tx) => tx.organizations.create({ slug, name: "tx" }));
        expect((await repos.organizations.getBySlug(slug))?.id).toBe(created.id);
      },
      SLOW,
    );

    test(
      "concurrent audit appends for one org form one unbroken chain",
      async () => {
        const { org } = await populatedOrg(repos, "srv_linear");
        const appended = await Promise.all(
          Array.from({ length: 12 }, (_, i) =>
            repos.audit.append(org.id, (prev) => {
              const seq = (prev?.seq ?? 0) + 1;
              const hash = new Bun.CryptoHasher("sha256")
                .update(`${prev?.hash ?? ""}|${seq}|${i}`)
                .digest("hex");
              return {
                actor: "system",
                actorType: "system",
                action: `op.${i}`,
                seq,
                prevHash: prev?.hash ?? null,
                hash,
              };
            }),
          ),
        );
        expect(appended.length).toBe(12);
        const chain = await repos.audit.list(org.id, { order: "asc" });
        expect(chain.map((r) => r.seq)).toEqual(Array.from({ length: 12 }, (_, i) => i + 1));
        chain.forEach((row, i) => {
          expect(row.prevHash).toBe(i === 0 ? null : chain[i - 1]!.hash);
        });
        expect((await repos.audit.last(org.id))?.seq).toBe(12);
        const page = await repos.audit.list(org.id, { limit: 5, cursor: 10 });
        expect(page.map((r) => r.seq)).toEqual([9, 8, 7, 6, 5]);
        expect((await repos.audit.list(org.id, { action: "op.3" })).length).toBe(1);
      },
      SLOW,
    );

    test(
      "audit rows of different months land in their monthly partitions",
      async () => {
        const orgId = `org_gone_${unique()}`; // audit rows need no organization row
        const months = [
          new Date("2024-01-15T12:00:00Z"),
          new Date("2024-02-29T23:59:59Z"),
          new Date("2024-03-01T00:00:00Z"),
        ];
        for (const [i, at] of months.entries()) {
          await repos.audit.append(orgId, (prev) => ({
            actor: "system",
            actorType: "system",
            action: "backfill",
            seq: (prev?.seq ?? 0) + 1,
            prevHash: prev?.hash ?? null,
            hash: `m${i}`,
            createdAt: at,
          }));
        }
        const placed = await rows<{ part: string; seq: number | string }>(
          db,
          sql`select tableoid::regclass::text as part, seq from audit_logs where organization_id = ${orgId} order by seq`,
        );
        expect(placed.map((r) => r.part)).toEqual([
          "audit_logs_2024_01",
          "audit_logs_2024_02",
          "audit_logs_2024_03",
        ]);
        const inJanuary = await db
          .select()
          .from(schema.auditLogs)
          .where(eq(schema.auditLogs.organizationId, orgId))
          .then((r) => r.filter((x) => x.createdAt.getUTCMonth() === 0));
        expect(inJanuary.length).toBe(1);
        await expect(
          (
            await repos.audit.list(orgId, {
              from: new Date("2024-02-01T00:00:00Z"),
              to: new Date("2024-03-01T00:00:00Z"),
            })
          ).map((r) => r.hash),
        ).toEqual(["m1"]);
      },
      SLOW,
    );
  });
}
