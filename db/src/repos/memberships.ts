import type { Role } from "@omni/contracts";
import { and, eq } from "drizzle-orm";
import type { Database } from "../client.ts";
import { guard } from "../errors.ts";
import { organizationMemberships, organizations, users } from "../schema/index.ts";
import type { Organization, User } from "./organizations.ts";

export type Membership = typeof organizationMemberships.$inferSelect;

export function membershipsRepo(db: Database) {
  const scope = (orgId: string, userId: string) =>
    and(eq(organizationMemberships.organizationId, orgId), eq(organizationMemberships.userId, userId));
  return {
    async add(
      orgId: string,
      input: { userId: string; role: Role; permissions?: string[] },
    ): Promise<Membership> {
      const [row] = await guard(
        db
          .insert(organizationMemberships)
          .values({ ...input, organizationId: orgId })
          .returning(),
      );
      return row!;
    },
    async get(orgId: string, userId: string): Promise<Membership | null> {
      const [row] = await db.select().from(organizationMemberships).where(scope(orgId, userId));
      return row ?? null;
    },
    /** The org's members with their user rows. */
    async list(orgId: string): Promise<(Membership & { user: User })[]> {
      const rows = await db
        .select({ membership: organizationMemberships, user: users })
        .from(organizationMemberships)
        .innerJoin(users, eq(users.id, organizationMemberships.userId))
        .where(eq(organizationMemberships.organizationId, orgId))
        .orderBy(users.email);
      return rows.map((r) => ({ ...r.membership, user: r.user }));
    },
    /** The organizations a user belongs to (a user-scoped read: which orgs may this user act in). */
    async listForUser(userId: string): Promise<(Membership & { organization: Organization })[]> {
      const rows = await db
        .select({ membership: organizationMemberships, organization: organizations })
        .from(organizationMemberships)
        .innerJoin(organizations, eq(organizations.id, organizationMemberships.organizationId))
        .where(eq(organizationMemberships.userId, userId))
        .orderBy(organizations.slug);
      return rows.map((r) => ({ ...r.membership, organization: r.organization }));
    },
    /**
     * The org's owners, their rows locked (`SELECT ... FOR UPDATE`) until the transaction ends: call it inside
     * `repos.transaction` before demoting or removing an owner, so that concurrent demotions (on any replica)
     * serialize and the last owner can never be demoted or removed.
     */
    async lockOwners(orgId: string): Promise<Membership[]> {
      return db
        .select()
        .from(organizationMemberships)
        .where(
          and(eq(organizationMemberships.organizationId, orgId), eq(organizationMemberships.role, "owner")),
        )
        .for("update");
    },
    async update(
      orgId: string,
      userId: string,
      patch: { role?: Role; permissions?: string[] },
    ): Promise<Membership | null> {
      const [row] = await db
        .update(organizationMemberships)
        .set({ ...patch, updatedAt: new Date() })
        .where(scope(orgId, userId))
        .returning();
      return row ?? null;
    },
    async remove(orgId: string, userId: string): Promise<boolean> {
      const rows = await db
        .delete(organizationMemberships)
        .where(scope(orgId, userId))
        .returning({ id: organizationMemberships.id });
      return rows.length > 0;
    },
  };
}
