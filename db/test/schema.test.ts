import { afterAll, describe, expect, test } from "bun:test";
import { readdir } from "node:fs/promises";
import { PromptTemplate } from "@omni/contracts";
import { sql } from "drizzle-orm";
import postgres from "postgres";
import * as v from "valibot";
import { createDb, createRepositories, DEMO_ORG_ID, DEMO_USER_ID, migrate, seed } from "../src/index.ts";
import { KINDS, open, rows, SLOW } from "./helpers.ts";

const TABLES = [
  "organizations",
  "users",
  "organization_memberships",
  "mcp_servers",
  "server_instances",
  "organization_services",
  "user_service_credentials",
  "default_prompts",
  "default_resources",
  "organization_prompts",
  "organization_resources",
  "api_keys",
  "audit_logs",
  "webhook_events",
  "tool_policies",
  "bundles",
];

let pgReachable = false;
for (const kind of KINDS) {
  let recording: string[] | null = null;
  const handle = await open(kind, false, (query) => recording?.push(query));
  if (kind === "postgres" && handle) pgReachable = true;
  if (!handle) {
    test.skip(`db schema on ${kind}: no Postgres reachable`, () => {});
    continue;
  }
  describe(`db schema on ${kind}`, () => {
    const db = handle.db;
    afterAll(() => handle.close());

    test(
      "migrations from empty create every table, partitioned audit log, org indexes",
      async () => {
        const tables = await rows<{ relname: string; relkind: string }>(
          db,
          sql`select c.relname, c.relkind from pg_class c join pg_namespace n on n.oid = c.relnamespace
            where n.nspname = 'public' and c.relkind in ('r', 'p') and c.relname not like 'audit_logs_2%'`,
        );
        const kinds = Object.fromEntries(tables.map((t) => [t.relname, t.relkind]));
        for (const table of TABLES) expect(kinds[table]).toBeDefined();
        expect(kinds.audit_logs).toBe("p");

        // Every table with organization_id has an index led by it.
        const unindexed = await rows<{ table: string }>(
          db,
          sql`select c.relname as table from pg_attribute a
            join pg_class c on c.oid = a.attrelid
            join pg_namespace n on n.oid = c.relnamespace
            where n.nspname = 'public' and a.attname = 'organization_id' and c.relkind in ('r', 'p')
              and c.relname not like 'audit_logs_2%'
              and not exists (select 1 from pg_index i where i.indrelid = c.oid and i.indkey[0] = a.attnum)`,
        );
        expect(unindexed).toEqual([]);

        const applied = await rows<{ n: number }>(
          db,
          sql`select count(*)::int as n from drizzle.__drizzle_migrations`,
        );
        await migrate(db); // idempotent
        const again = await rows<{ n: number }>(
          db,
          sql`select count(*)::int as n from drizzle.__drizzle_migrations`,
        );
        expect(Number(again[0]!.n)).toBe(Number(applied[0]!.n));
        expect(Number(applied[0]!.n)).toBeGreaterThanOrEqual(2);

        // Partitions exist for the current and the next month.
        const now = new Date();
        const next = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + 1, 1));
        const name = (d: Date) =>
          `audit_logs_${d.getUTCFullYear()}_${String(d.getUTCMonth() + 1).padStart(2, "0")}`;
        const parts = await rows<{ name: string }>(
          db,
          sql`select c.relname as name from pg_inherits i join pg_class c on c.oid = i.inhrelid
            where i.inhparent = 'audit_logs'::regclass`,
        );
        expect(parts.map((p) => p.name)).toEqual(expect.arrayContaining([name(now), name(next)]));
      },
      SLOW,
    );

    test(
      "seed is idempotent: same rows and ids after a second run",
      async () => {
        const snapshot = async () => {
          const out: Record<string, string[]> = {};
          for (const table of TABLES) {
            const ids = await rows<{ id: string }>(
              db,
              sql`select id from ${sql.identifier(table)} order by id`,
            );
            out[table] = ids.map((r) => r.id);
          }
          return out;
        };
        const first = await seed(db);
        const before = await snapshot();
        const second = await seed(db);
        expect(second).toEqual(first);
        expect(await snapshot()).toEqual(before);
        expect(before.mcp_servers).toEqual(["srv_devtools", "srv_linear", "srv_perplexity"]);
        expect(before.default_prompts!.length).toBeGreaterThanOrEqual(7);
        expect(before.default_resources!.length).toBeGreaterThanOrEqual(6);

        const repos = createRepositories(db);
        const demo = await repos.organizations.getBySlug("demo");
        expect(demo?.id).toBe(DEMO_ORG_ID);
        expect((await repos.memberships.get(DEMO_ORG_ID, DEMO_USER_ID))?.role).toBe("owner");
        const services = await repos.services.list(DEMO_ORG_ID);
        expect(services.map((s) => [s.serverName, s.enabled])).toEqual([
          ["devtools", true],
          ["linear", true],
          ["perplexity", true],
        ]);

        // A change made by the org survives re-seeding.
        await repos.services.update(DEMO_ORG_ID, "srv_devtools", { enabled: false });
        await seed(db);
        expect((await repos.services.get(DEMO_ORG_ID, "srv_devtools"))?.enabled).toBe(false);
        await repos.services.update(DEMO_ORG_ID, "srv_devtools", { enabled: true });
      },
      SLOW,
    );

    test(
      "seeded prompts are valid templates whose placeholders are declared arguments",
      async () => {
        const repos = createRepositories(db);
        const prompts = await repos.prompts.listDefaults();
        const servers = new Map((await repos.servers.list()).map((s) => [s.id, s.name]));
        const perServer = new Map<string, number>();
        for (const prompt of prompts) {
          const parsed = v.safeParse(PromptTemplate, {
            name: prompt.name,
            title: prompt.title ?? undefined,
            description: prompt.description ?? undefined,
            arguments: prompt.arguments,
            messages: prompt.messages,
          });
          expect(parsed.issues).toBeUndefined();
          const declared = new Set(prompt.arguments.map((a) => a.name));
          for (const message of prompt.messages) {
            for (const match of message.text.matchAll(/\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}/g)) {
              expect(declared.has(match[1]!)).toBe(true);
            }
          }
          for (const arg of prompt.arguments) {
            if (arg.enum && arg.default !== undefined) expect(arg.enum).toContain(arg.default);
          }
          expect(prompt.messages.map((m) => m.text).join("\n").length).toBeGreaterThan(600);
          const server = servers.get(prompt.serverId)!;
          perServer.set(server, (perServer.get(server) ?? 0) + 1);
        }
        expect(perServer.get("linear")).toBeGreaterThanOrEqual(3);
        expect(perServer.get("perplexity")).toBeGreaterThanOrEqual(2);
        expect(perServer.get("devtools")).toBeGreaterThanOrEqual(2);

        const resources = await repos.resources.listDefaults();
        const dynamic = ["linear://teams", "devtools://tabs", "devtools://console"];
        for (const resource of resources) {
          expect(dynamic).not.toContain(resource.uri);
          const scheme = resource.uri.split("://")[0]!;
          expect(servers.get(resource.serverId)).toBe(scheme);
          expect(resource.text?.length ?? 0).toBeGreaterThan(400);
          expect(resource.mimeType).toBe("text/markdown");
        }
      },
      SLOW,
    );

    test(
      "onQuery sees every query",
      async () => {
        const repos = createRepositories(db);
        recording = [];
        await repos.servers.list();
        await repos.organizations.get("org_nope");
        const seen = recording;
        recording = null;
        expect(seen.length).toBe(2);
        expect(seen[1]).toContain('"organizations"');
      },
      SLOW,
    );
  });
}

describe.skipIf(!pgReachable)("Postgres start-up", () => {
  test(
    "replicas migrating one empty database at once apply each migration once",
    async () => {
      const base = process.env.TEST_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";
      const admin = postgres(base, { max: 1, onnotice: () => {} });
      const name = `omni_test_${crypto.randomUUID().replaceAll("-", "").slice(0, 16)}`;
      await admin.unsafe(`create database "${name}"`);
      const url = new URL(base);
      url.pathname = `/${name}`;
      const replicas = await Promise.all([1, 2, 3].map(() => createDb({ url: url.toString() })));
      try {
        await Promise.all(replicas.map((r) => migrate(r.db)));
        const applied = await rows<{ n: number }>(
          replicas[0]!.db,
          sql`select count(*)::int as n from drizzle.__drizzle_migrations`,
        );
        const files = (await readdir(new URL("../migrations", import.meta.url))).filter((f) =>
          f.endsWith(".sql"),
        );
        expect(Number(applied[0]!.n)).toBe(files.length);
      } finally {
        await Promise.all(replicas.map((r) => r.close()));
        await admin.unsafe(`drop database if exists "${name}" with (force)`);
        await admin.end();
      }
    },
    SLOW,
  );
});

describe("PGlite persistence", () => {
  test(
    "data in a data directory survives a restart",
    async () => {
      const dir = `/tmp/omni-db-test-${crypto.randomUUID()}`;
      try {
        const first = await createDb({ dataDir: dir });
        expect(first.driver).toBe("pglite");
        await migrate(first.db);
        await createRepositories(first.db).organizations.create({ slug: "persisted", name: "Persisted" });
        await first.close();

        const second = await createDb({ dataDir: dir });
        await migrate(second.db);
        expect((await createRepositories(second.db).organizations.getBySlug("persisted"))?.name).toBe(
          "Persisted",
        );
        await second.close();
      } finally {
        await Bun.$`rm -rf ${dir}`.quiet();
      }
    },
    SLOW,
  );
});
