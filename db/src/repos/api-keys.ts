import { and, desc, eq } from "drizzle-orm";
import type { Database } from "../client.ts";
import { guard } from "../errors.ts";
import { apiKeys } from "../schema/index.ts";

export type ApiKey = typeof apiKeys.$inferSelect;

/** `prefix`: the visible part, e.g. `omni_sk_1a2b3c4d`; `hash`: lowercase hex SHA-256 of the full key. */
export type NewApiKey = Pick<
  typeof apiKeys.$inferInsert,
  "name" | "prefix" | "hash" | "scopes" | "expiresAt" | "createdBy"
>;

export function apiKeysRepo(db: Database) {
  const own = (orgId: string, id: string) => and(eq(apiKeys.id, id), eq(apiKeys.organizationId, orgId));
  return {
    async create(orgId: string, input: NewApiKey): Promise<ApiKey> {
      const [row] = await guard(
        db
          .insert(apiKeys)
          .values({ ...input, organizationId: orgId })
          .returning(),
      );
      return row!;
    },
    list(orgId: string): Promise<ApiKey[]> {
      return db
        .select()
        .from(apiKeys)
        .where(eq(apiKeys.organizationId, orgId))
        .orderBy(desc(apiKeys.createdAt));
    },
    async get(orgId: string, id: string): Promise<ApiKey | null> {
      const [row] = await db.select().from(apiKeys).where(own(orgId, id));
      return row ?? null;
    },
    /**
     * Authentication lookup by hash. The one read not scoped by an org: the key is how the org is found.
     * Callers check `revokedAt` and `expiresAt`.
     */
    async findByHash(hash: string): Promise<ApiKey | null> {
      const [row] = await db.select().from(apiKeys).where(eq(apiKeys.hash, hash));
      return row ?? null;
    },
    async touch(orgId: string, id: string, at: Date = new Date()): Promise<void> {
      await db.update(apiKeys).set({ lastUsedAt: at }).where(own(orgId, id));
    },
    async update(
      orgId: string,
      id: string,
      patch: { name?: string; scopes?: string[]; expiresAt?: Date | null },
    ): Promise<ApiKey | null> {
      const [row] = await db
        .update(apiKeys)
        .set({ ...patch, updatedAt: new Date() })
        .where(own(orgId, id))
        .returning();
      return row ?? null;
    },
    /** Marks the key revoked (kept for the audit trail). Returns null when it is not this org's key. */
    async revoke(orgId: string, id: string, at: Date = new Date()): Promise<ApiKey | null> {
      const [row] = await db.update(apiKeys).set({ revokedAt: at }).where(own(orgId, id)).returning();
      return row ?? null;
    },
    async delete(orgId: string, id: string): Promise<boolean> {
      const rows = await db.delete(apiKeys).where(own(orgId, id)).returning({ id: apiKeys.id });
      return rows.length > 0;
    },
  };
}
