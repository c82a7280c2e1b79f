import { afterAll, describe, expect, test } from "bun:test";
import { ConflictError, createRepositories, type DbHandle } from "../src/index.ts";
import { KINDS, open, SLOW, unique } from "./helpers.ts";

/** Tool policies and bundles on both drivers: one policy per (org, scope), org-scoped bundles by slug. */
for (const kind of KINDS) {
  describe(`policy repositories on ${kind}`, () => {
    let handle: DbHandle | null = null;
    afterAll(async () => {
      await handle?.close();
    });

    test(
      "put replaces a scope's policy; the org-wide one is unique too; another org sees none of it",
      async () => {
        handle = await open(kind);
        if (!handle) return;
        const repos = createRepositories(handle.db);
        const a = await repos.organizations.create({ slug: `pa-${unique()}`, name: "A" });
        const b = await repos.organizations.create({ slug: `pb-${unique()}`, name: "B" });
        await repos.toolPolicies.put(a.id, null, { mode: "deny", tools: ["x_*"], overrides: [] });
        const replaced = await repos.toolPolicies.put(a.id, null, {
          mode: "allow",
          tools: ["y"],
          overrides: [{ tool: "y", name: "z" }],
        });
        await repos.toolPolicies.put(a.id, "member", { mode: "allow", tools: [], overrides: [] });
        const list = await repos.toolPolicies.list(a.id);
        expect(list).toHaveLength(2);
        expect((await repos.toolPolicies.get(a.id, null))?.id).toBe(replaced.id);
        expect(replaced).toMatchObject({
          mode: "allow",
          tools: ["y"],
          overrides: [{ tool: "y", name: "z" }],
        });
        expect(await repos.toolPolicies.list(b.id)).toEqual([]);
        expect(await repos.toolPolicies.get(b.id, null)).toBeNull();
        expect(await repos.toolPolicies.delete(b.id, "member")).toBe(false);
        expect(await repos.toolPolicies.delete(a.id, "member")).toBe(true);
        expect(await repos.toolPolicies.list(a.id)).toHaveLength(1);
      },
      SLOW,
    );

    test(
      "bundles: unique slug per org, the same slug in another org is its own; reads and writes stay in the org",
      async () => {
        handle ??= await open(kind);
        if (!handle) return;
        const repos = createRepositories(handle.db);
        const a = await repos.organizations.create({ slug: `ba-${unique()}`, name: "A" });
        const b = await repos.organizations.create({ slug: `bb-${unique()}`, name: "B" });
        await repos.bundles.create(a.id, "team", { tools: ["linear_*"], discovery: true });
        await expect(repos.bundles.create(a.id, "team", {})).rejects.toBeInstanceOf(ConflictError);
        await repos.bundles.create(b.id, "team", { tools: null });
        expect((await repos.bundles.get(a.id, "team"))?.tools).toEqual(["linear_*"]);
        expect((await repos.bundles.get(b.id, "team"))?.tools).toBeNull();
        expect(await repos.bundles.update(b.id, "missing", { discovery: true })).toBeNull();
        const updated = await repos.bundles.update(a.id, "team", { prompts: ["triage"] });
        expect(updated).toMatchObject({ prompts: ["triage"], discovery: true });
        expect(await repos.bundles.delete(a.id, "team")).toBe(true);
        expect(await repos.bundles.get(b.id, "team")).not.toBeNull();
      },
      SLOW,
    );
  });
}
