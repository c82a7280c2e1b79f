import type { Role } from "@omni/contracts";
import { and, asc, eq, isNull } from "drizzle-orm";
import type { Database } from "../client.ts";
import { guard } from "../errors.ts";
import { bundles, toolPolicies } from "../schema/index.ts";

export type ToolPolicyRow = typeof toolPolicies.$inferSelect;
export type BundleRow = typeof bundles.$inferSelect;

/** A policy as written: every field stated (a PUT replaces the whole policy). */
export type ToolPolicyInput = Pick<ToolPolicyRow, "mode" | "tools" | "overrides">;

export type BundleInput = Pick<
  typeof bundles.$inferInsert,
  "title" | "description" | "tools" | "prompts" | "resources" | "discovery"
>;

/** Tool policies: one per (org, role), `role` null for the whole organization. Every call takes the org. */
export function toolPoliciesRepo(db: Database) {
  const scoped = (orgId: string, role: Role | null) =>
    and(
      eq(toolPolicies.organizationId, orgId),
      role === null ? isNull(toolPolicies.role) : eq(toolPolicies.role, role),
    );
  return {
    list(orgId: string): Promise<ToolPolicyRow[]> {
      return db
        .select()
        .from(toolPolicies)
        .where(eq(toolPolicies.organizationId, orgId))
        .orderBy(asc(toolPolicies.role));
    },
    async get(orgId: string, role: Role | null): Promise<ToolPolicyRow | null> {
      const [row] = await db.select().from(toolPolicies).where(scoped(orgId, role));
      return row ?? null;
    },
    /** Creates or replaces the scope's policy. */
    async put(orgId: string, role: Role | null, input: ToolPolicyInput): Promise<ToolPolicyRow> {
      const set = { mode: input.mode, tools: input.tools, overrides: input.overrides, updatedAt: new Date() };
      const [row] = await guard(
        db
          .insert(toolPolicies)
          .values({ organizationId: orgId, role, ...set })
          .onConflictDoUpdate({ target: [toolPolicies.organizationId, toolPolicies.role], set })
          .returning(),
      );
      return row!;
    },
    async delete(orgId: string, role: Role | null): Promise<boolean> {
      const rows = await db
        .delete(toolPolicies)
        .where(scoped(orgId, role))
        .returning({ id: toolPolicies.id });
      return rows.length > 0;
    },
  };
}

/** Bundles, by slug within the org. Every call takes the org: another org's slug is never found. */
export function bundlesRepo(db: Database) {
  const own = (orgId: string, slug: string) => and(eq(bundles.organizationId, orgId), eq(bundles.slug, slug));
  return {
    list(orgId: string): Promise<BundleRow[]> {
      return db.select().from(bundles).where(eq(bundles.organizationId, orgId)).orderBy(asc(bundles.slug));
    },
    async get(orgId: string, slug: string): Promise<BundleRow | null> {
      const [row] = await db.select().from(bundles).where(own(orgId, slug));
      return row ?? null;
    },
    async create(orgId: string, slug: string, input: BundleInput): Promise<BundleRow> {
      const [row] = await guard(
        db
          .insert(bundles)
          .values({ organizationId: orgId, slug, ...input })
          .returning(),
      );
      return row!;
    },
    async update(orgId: string, slug: string, patch: BundleInput): Promise<BundleRow | null> {
      const [row] = await db
        .update(bundles)
        .set({ ...patch, updatedAt: new Date() })
        .where(own(orgId, slug))
        .returning();
      return row ?? null;
    },
    async delete(orgId: string, slug: string): Promise<boolean> {
      const rows = await db.delete(bundles).where(own(orgId, slug)).returning({ id: bundles.id });
      return rows.length > 0;
    },
  };
}
