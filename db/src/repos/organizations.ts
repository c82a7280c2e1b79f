import { eq } from "drizzle-orm";
import type { Database } from "../client.ts";
import { guard } from "../errors.ts";
import { organizations, users } from "../schema/index.ts";

export type Organization = typeof organizations.$inferSelect;
export type User = typeof users.$inferSelect;

export type NewOrganization = Pick<
  typeof organizations.$inferInsert,
  "id" | "slug" | "name" | "clerkId" | "settings"
>;

export function organizationsRepo(db: Database) {
  return {
    async create(input: NewOrganization): Promise<Organization> {
      const [row] = await guard(db.insert(organizations).values(input).returning());
      return row!;
    },
    async get(orgId: string): Promise<Organization | null> {
      const [row] = await db.select().from(organizations).where(eq(organizations.id, orgId));
      return row ?? null;
    },
    async getBySlug(slug: string): Promise<Organization | null> {
      const [row] = await db.select().from(organizations).where(eq(organizations.slug, slug));
      return row ?? null;
    },
    async getByClerkId(clerkId: string): Promise<Organization | null> {
      const [row] = await db.select().from(organizations).where(eq(organizations.clerkId, clerkId));
      return row ?? null;
    },
    /** Every organization (system administration and background jobs). */
    list(): Promise<Organization[]> {
      return db.select().from(organizations).orderBy(organizations.slug);
    },
    /** Creates or updates the organization mirrored from Clerk (webhooks, first sign-in). */
    async upsertByClerkId(input: NewOrganization & { clerkId: string }): Promise<Organization> {
      const [row] = await guard(
        db
          .insert(organizations)
          .values(input)
          .onConflictDoUpdate({
            target: organizations.clerkId,
            set: { slug: input.slug, name: input.name },
          })
          .returning(),
      );
      return row!;
    },
    async update(
      orgId: string,
      patch: Partial<Pick<NewOrganization, "slug" | "name" | "settings">>,
    ): Promise<Organization | null> {
      const [row] = await guard(
        db
          .update(organizations)
          .set({ ...patch, updatedAt: new Date() })
          .where(eq(organizations.id, orgId))
          .returning(),
      );
      return row ?? null;
    },
    /** Deletes the organization and (by cascade) everything it owns; its audit rows remain. */
    async delete(orgId: string): Promise<boolean> {
      const rows = await db
        .delete(organizations)
        .where(eq(organizations.id, orgId))
        .returning({ id: organizations.id });
      return rows.length > 0;
    },
  };
}

export type NewUser = Pick<typeof users.$inferInsert, "id" | "email" | "name" | "clerkId">;

export function usersRepo(db: Database) {
  return {
    async create(input: NewUser): Promise<User> {
      const [row] = await guard(db.insert(users).values(input).returning());
      return row!;
    },
    async get(userId: string): Promise<User | null> {
      const [row] = await db.select().from(users).where(eq(users.id, userId));
      return row ?? null;
    },
    async getByClerkId(clerkId: string): Promise<User | null> {
      const [row] = await db.select().from(users).where(eq(users.clerkId, clerkId));
      return row ?? null;
    },
    /** Creates or updates the user mirrored from Clerk. */
    async upsertByClerkId(input: NewUser & { clerkId: string }): Promise<User> {
      const [row] = await guard(
        db
          .insert(users)
          .values(input)
          .onConflictDoUpdate({
            target: users.clerkId,
            set: { email: input.email, name: input.name ?? null },
          })
          .returning(),
      );
      return row!;
    },
    async update(userId: string, patch: Partial<Pick<NewUser, "email" | "name">>): Promise<User | null> {
      const [row] = await guard(
        db
          .update(users)
          .set({ ...patch, updatedAt: new Date() })
          .where(eq(users.id, userId))
          .returning(),
      );
      return row ?? null;
    },
    async delete(userId: string): Promise<boolean> {
      const rows = await db.delete(users).where(eq(users.id, userId)).returning({ id: users.id });
      return rows.length > 0;
    },
  };
}
