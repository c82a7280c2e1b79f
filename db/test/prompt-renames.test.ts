import { afterAll, describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { and, eq, sql } from "drizzle-orm";
import { createRepositories } from "../src/index.ts";
import { mcpServers, organizationPrompts } from "../src/schema/index.ts";
import { KINDS, open, SLOW, unique } from "./helpers.ts";

/**
 * Migration 0005 renames organizations' overrides of the default prompts that were renamed to
 * `<server>_<verb>_<object>` (and merged), so no org loses its edits. Rows with the old names are written
 * after the migrations ran (as an older gateway would have), then the migration's SQL runs again: it must
 * move them, keep a row that already has the new name, and change nothing on a second run.
 */
const migration = readFileSync(
  join(import.meta.dir, "../migrations/0005_rename_default_prompts.sql"),
  "utf8",
);

for (const kind of KINDS) {
  const handle = await open(kind);
  if (!handle) {
    test.skip(`prompt renames on ${kind}: no Postgres reachable`, () => {});
    continue;
  }
  describe(`prompt renames on ${kind}`, () => {
    const db = handle.db;
    afterAll(() => handle.close());

    test(
      "old-name overrides follow the rename; a taken new name wins; idempotent",
      async () => {
        const repos = createRepositories(db);
        const [a, b] = [
          await repos.organizations.create({ slug: `ren-a-${unique()}`, name: "A" }),
          await repos.organizations.create({ slug: `ren-b-${unique()}`, name: "B" }),
        ];
        const server = async (name: string) =>
          (await db.select().from(mcpServers).where(eq(mcpServers.name, name)))[0] ??
          (await repos.servers.upsert({ name, title: name }));
        const linear = await server("linear");
        const devtools = await server("devtools");
        const own = {
          organizationId: a.id,
          serverId: null,
          name: "issue-triage",
          messages: [{ role: "user" as const, text: "mine" }],
        };
        await db.insert(organizationPrompts).values([
          { organizationId: a.id, serverId: linear.id, name: "sprint-planning", title: "A's planning" },
          { organizationId: b.id, serverId: devtools.id, name: "debugging", disabled: true },
          // B already overrides the new name: that row stays the one shown; the old one is left alone.
          { organizationId: b.id, serverId: linear.id, name: "linear_triage_issues", title: "B new" },
          { organizationId: b.id, serverId: linear.id, name: "issue-triage", title: "B old" },
          // An org's own prompt that happens to share an old name is not a default's override.
          own,
        ]);
        const names = async (orgId: string) =>
          (
            await db
              .select({
                name: organizationPrompts.name,
                title: organizationPrompts.title,
                disabled: organizationPrompts.disabled,
              })
              .from(organizationPrompts)
              .where(eq(organizationPrompts.organizationId, orgId))
          ).sort((x, y) => x.name.localeCompare(y.name));

        for (let run = 0; run < 2; run++) {
          await db.execute(sql.raw(migration));
          expect(await names(a.id)).toEqual([
            { name: "issue-triage", title: null, disabled: false },
            { name: "linear_plan_cycle", title: "A's planning", disabled: false },
          ]);
          expect(await names(b.id)).toEqual([
            { name: "devtools_debug_page", title: null, disabled: true },
            { name: "issue-triage", title: "B old", disabled: false },
            { name: "linear_triage_issues", title: "B new", disabled: false },
          ]);
        }
        const [mine] = await db
          .select()
          .from(organizationPrompts)
          .where(
            and(eq(organizationPrompts.organizationId, a.id), eq(organizationPrompts.name, "issue-triage")),
          );
        expect(mine?.serverId).toBeNull();
      },
      SLOW,
    );
  });
}
