import { and, eq, inArray } from "drizzle-orm";
import type { Database } from "../client.ts";
import { guard } from "../errors.ts";
import { defaultResources, organizationResources } from "../schema/index.ts";

export type DefaultResource = typeof defaultResources.$inferSelect;
export type OrganizationResource = typeof organizationResources.$inferSelect;

/** The content and metadata columns both resource tables have: exactly one of `text` and `blob` (base64). */
type ResourceFields = "title" | "description" | "mimeType" | "text" | "blob";

export type NewDefaultResource = Pick<
  typeof defaultResources.$inferInsert,
  "id" | "serverId" | "uri" | "name" | ResourceFields
>;

/** An org resource: overrides the default with the same URI, or (no such default) the org's own. */
export type NewOrganizationResource = Pick<
  typeof organizationResources.$inferInsert,
  "uri" | "name" | "disabled" | ResourceFields
> &
  Pick<OrganizationResource, "serverId">;

export type OrganizationResourcePatch = Partial<Omit<NewOrganizationResource, "serverId">>;

export function resourcesRepo(db: Database) {
  const own = (orgId: string, id: string) =>
    and(eq(organizationResources.id, id), eq(organizationResources.organizationId, orgId));
  return {
    listDefaults(serverIds?: string[]): Promise<DefaultResource[]> {
      const query = db.select().from(defaultResources);
      return (serverIds ? query.where(inArray(defaultResources.serverId, serverIds)) : query).orderBy(
        defaultResources.uri,
      );
    },
    async getDefault(uri: string): Promise<DefaultResource | null> {
      const [row] = await db.select().from(defaultResources).where(eq(defaultResources.uri, uri));
      return row ?? null;
    },
    async createDefault(input: NewDefaultResource): Promise<DefaultResource> {
      const [row] = await guard(db.insert(defaultResources).values(input).returning());
      return row!;
    },
    /** Inserts or updates by URI. */
    async upsertDefault(input: NewDefaultResource): Promise<DefaultResource> {
      const { id: _id, ...set } = input;
      const [row] = await db
        .insert(defaultResources)
        .values(input)
        .onConflictDoUpdate({ target: defaultResources.uri, set })
        .returning();
      return row!;
    },
    list(orgId: string): Promise<OrganizationResource[]> {
      return db
        .select()
        .from(organizationResources)
        .where(eq(organizationResources.organizationId, orgId))
        .orderBy(organizationResources.uri);
    },
    async get(orgId: string, id: string): Promise<OrganizationResource | null> {
      const [row] = await db.select().from(organizationResources).where(own(orgId, id));
      return row ?? null;
    },
    async getByUri(orgId: string, uri: string): Promise<OrganizationResource | null> {
      const [row] = await db
        .select()
        .from(organizationResources)
        .where(and(eq(organizationResources.organizationId, orgId), eq(organizationResources.uri, uri)));
      return row ?? null;
    },
    async create(orgId: string, input: NewOrganizationResource): Promise<OrganizationResource> {
      const [row] = await guard(
        db
          .insert(organizationResources)
          .values({ ...input, organizationId: orgId })
          .returning(),
      );
      return row!;
    },
    async update(
      orgId: string,
      id: string,
      patch: OrganizationResourcePatch,
    ): Promise<OrganizationResource | null> {
      const [row] = await guard(
        db
          .update(organizationResources)
          .set({ ...patch, updatedAt: new Date() })
          .where(own(orgId, id))
          .returning(),
      );
      return row ?? null;
    },
    async delete(orgId: string, id: string): Promise<boolean> {
      const rows = await db
        .delete(organizationResources)
        .where(own(orgId, id))
        .returning({ id: organizationResources.id });
      return rows.length > 0;
    },
  };
}
