import { afterAll, describe, expect, test } from "bun:test";
import { readdir } from "node:fs/promises";
import { sql } from "drizzle-orm";
import postgres from "postgres";
import {
  createDb,
  createRepositories,
  DEMO_ORG_ID,
  DEMO_USER_ID,
  migrate,
  registerCatalogue,
  seed,
} from "../src/index.ts";
import { capabilities, KINDS, open, rows, SLOW } from "./helpers.ts";

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
      "seed is idempotent: same rows and ids after a second run; it writes no catalogue",
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
        // The catalogue comes from the servers' own definitions (registerCatalogue), not the seed.
        expect(before.mcp_servers).toEqual([]);
        expect(before.default_prompts).toEqual([]);

        const repos = createRepositories(db);
        const demo = await repos.organizations.getBySlug("demo");
        expect(demo?.id).toBe(DEMO_ORG_ID);
        expect((await repos.memberships.get(DEMO_ORG_ID, DEMO_USER_ID))?.role).toBe("owner");
      },
      SLOW,
    );

    test(
      "registerCatalogue upserts a server's row, prompts and resources from its capabilities, idempotently",
      async () => {
        const repos = createRepositories(db);
        const caps = capabilities("alpha", {
          prompts: [
            {
              name: "alpha_check_thing",
              title: "Check",
              arguments: [{ name: "who", required: true }],
              messages: [{ role: "user", text: "Check {{who}}." }],
            },
            { name: "alpha_list_things", messages: [{ role: "user", text: "List." }] },
          ],
          defaultResources: [
            { uri: "alpha://guide", name: "guide", mimeType: "text/markdown", text: "# Guide" },
          ],
        });
        const first = await registerCatalogue(db, caps);
        expect(first).toMatchObject({ serverId: "srv_alpha", created: true });
        // The demo organization (seeded above) gets it enabled.
        expect((await repos.services.get(DEMO_ORG_ID, "srv_alpha"))?.enabled).toBe(true);
        const server = await repos.servers.getByName("alpha");
        expect(server).toMatchObject({
          title: "alpha title",
          description: "What alpha does.",
          defaultEnabled: true,
        });
        expect((await repos.prompts.listDefaults(["srv_alpha"])).map((p) => p.name)).toEqual([
          "alpha_check_thing",
          "alpha_list_things",
        ]);
        expect((await repos.resources.listDefaults()).find((r) => r.uri === "alpha://guide")?.text).toBe(
          "# Guide",
        );

        // The same definition again changes nothing, not even updated_at.
        const stamp = (await repos.prompts.getDefault("srv_alpha", "alpha_check_thing"))!.updatedAt;
        expect(await registerCatalogue(db, caps)).toEqual({
          serverId: "srv_alpha",
          created: false,
          changed: 0,
        });
        expect((await repos.prompts.getDefault("srv_alpha", "alpha_check_thing"))!.updatedAt).toEqual(stamp);

        // A new version: a changed title, one prompt renamed, the resource gone. A disabled demo service stays off.
        await repos.services.update(DEMO_ORG_ID, "srv_alpha", { enabled: false });
        const next = await registerCatalogue(db, {
          ...caps,
          server: { ...caps.server, title: "Alpha" },
          prompts: [caps.prompts[0]!, { ...caps.prompts[1]!, name: "alpha_count_things" }],
          defaultResources: [],
        });
        expect(next.created).toBe(false);
        expect(next.changed).toBe(4); // the title, the new prompt, the dropped prompt, the dropped resource
        expect((await repos.servers.getByName("alpha"))?.title).toBe("Alpha");
        expect((await repos.prompts.listDefaults(["srv_alpha"])).map((p) => p.name)).toEqual([
          "alpha_check_thing",
          "alpha_count_things",
        ]);
        expect((await repos.resources.listDefaults()).some((r) => r.uri === "alpha://guide")).toBe(false);
        expect((await repos.services.get(DEMO_ORG_ID, "srv_alpha"))?.enabled).toBe(false);

        // A prompt the contracts reject never reaches the database.
        await expect(
          registerCatalogue(db, {
            ...caps,
            prompts: [{ name: "has space", messages: [{ role: "user", text: "x" }] }],
          }),
        ).rejects.toThrow(/name/);
      },
      SLOW,
    );

    test.skipIf(kind !== "postgres")(
      "two gateways registering the same new server at once: one row set, no error",
      async () => {
        await seed(db); // the demo organization, which each new server gets enabled for
        // Two connections (as two replicas have), each registering at the same moment, ten times over.
        const other = await createDb({ url: handle.url! });
        try {
          for (let round = 0; round < 10; round++) {
            const caps = capabilities(`race${round}`, {
              prompts: [{ name: `race${round}_do_it`, messages: [{ role: "user", text: `round ${round}` }] }],
              defaultResources: [
                { uri: `race${round}://doc`, name: "doc", mimeType: "text/plain", text: "doc" },
              ],
            });
            const results = await Promise.all([
              registerCatalogue(db, caps),
              registerCatalogue(other.db, caps),
            ]);
            expect(results.filter((r) => r.created)).toHaveLength(1);
            const repos = createRepositories(db);
            expect((await repos.prompts.listDefaults([`srv_race${round}`])).length).toBe(1);
            expect(await repos.services.get(DEMO_ORG_ID, `srv_race${round}`)).not.toBeNull();
          }
        } finally {
          await other.close();
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
