import { and, eq, inArray, isNull } from "drizzle-orm";
import type { Database } from "../client.ts";
import { guard } from "../errors.ts";
import { defaultPrompts, organizationPrompts } from "../schema/index.ts";
import { checkDefaultPrompt, checkOrganizationPrompt } from "../validation.ts";

export type DefaultPrompt = typeof defaultPrompts.$inferSelect;
export type OrganizationPrompt = typeof organizationPrompts.$inferSelect;

export type NewDefaultPrompt = Pick<
  typeof defaultPrompts.$inferInsert,
  "id" | "serverId" | "name" | "title" | "description" | "arguments" | "messages"
>;

/** An org prompt: `serverId` null = the org's own prompt; otherwise an override of that server's default. */
export type NewOrganizationPrompt = Pick<
  typeof organizationPrompts.$inferInsert,
  "name" | "title" | "description" | "arguments" | "messages" | "disabled"
> &
  Pick<OrganizationPrompt, "serverId">;

export type OrganizationPromptPatch = Partial<Omit<NewOrganizationPrompt, "serverId" | "name">> & {
  name?: string;
};

export function promptsRepo(db: Database) {
  const own = (orgId: string, id: string) =>
    and(eq(organizationPrompts.id, id), eq(organizationPrompts.organizationId, orgId));
  return {
    /** System defaults, of the given servers or all. */
    listDefaults(serverIds?: string[]): Promise<DefaultPrompt[]> {
      const query = db.select().from(defaultPrompts);
      return (serverIds ? query.where(inArray(defaultPrompts.serverId, serverIds)) : query).orderBy(
        defaultPrompts.serverId,
        defaultPrompts.name,
      );
    },
    async getDefault(serverId: string, name: string): Promise<DefaultPrompt | null> {
      const [row] = await db
        .select()
        .from(defaultPrompts)
        .where(and(eq(defaultPrompts.serverId, serverId), eq(defaultPrompts.name, name)));
      return row ?? null;
    },
    async createDefault(input: NewDefaultPrompt): Promise<DefaultPrompt> {
      const [row] = await guard(db.insert(defaultPrompts).values(checkDefaultPrompt(input)).returning());
      return row!;
    },
    /** Inserts or updates by (server, name). */
    async upsertDefault(input: NewDefaultPrompt): Promise<DefaultPrompt> {
      const { id: _id, ...set } = checkDefaultPrompt(input);
      const [row] = await db
        .insert(defaultPrompts)
        .values(input)
        .onConflictDoUpdate({ target: [defaultPrompts.serverId, defaultPrompts.name], set })
        .returning();
      return row!;
    },
    /** The org's overrides and own prompts. */
    list(orgId: string): Promise<OrganizationPrompt[]> {
      return db
        .select()
        .from(organizationPrompts)
        .where(eq(organizationPrompts.organizationId, orgId))
        .orderBy(organizationPrompts.name);
    },
    async get(orgId: string, id: string): Promise<OrganizationPrompt | null> {
      const [row] = await db.select().from(organizationPrompts).where(own(orgId, id));
      return row ?? null;
    },
    /** The org's row for (server, name); `serverId` null finds the org's own prompt. */
    async find(orgId: string, serverId: string | null, name: string): Promise<OrganizationPrompt | null> {
      const [row] = await db
        .select()
        .from(organizationPrompts)
        .where(
          and(
            eq(organizationPrompts.organizationId, orgId),
            serverId === null
              ? isNull(organizationPrompts.serverId)
              : eq(organizationPrompts.serverId, serverId),
            eq(organizationPrompts.name, name),
          ),
        );
      return row ?? null;
    },
    async create(orgId: string, input: NewOrganizationPrompt): Promise<OrganizationPrompt> {
      const [row] = await guard(
        db
          .insert(organizationPrompts)
          .values(checkOrganizationPrompt({ ...input, organizationId: orgId }))
          .returning(),
      );
      return row!;
    },
    async update(
      orgId: string,
      id: string,
      patch: OrganizationPromptPatch,
    ): Promise<OrganizationPrompt | null> {
      const [row] = await guard(
        db
          .update(organizationPrompts)
          .set({ ...checkOrganizationPrompt(patch), updatedAt: new Date() })
          .where(own(orgId, id))
          .returning(),
      );
      return row ?? null;
    },
    async delete(orgId: string, id: string): Promise<boolean> {
      const rows = await db
        .delete(organizationPrompts)
        .where(own(orgId, id))
        .returning({ id: organizationPrompts.id });
      return rows.length > 0;
    },
  };
}
