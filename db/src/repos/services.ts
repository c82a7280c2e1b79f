import { and, eq } from "drizzle-orm";
import type { Database } from "../client.ts";
import { guard } from "../errors.ts";
import {
  mcpServers,
  organizationServices,
  type SecretEnvelopes,
  userServiceCredentials,
} from "../schema/index.ts";

export type OrganizationService = typeof organizationServices.$inferSelect;
export type UserServiceCredential = typeof userServiceCredentials.$inferSelect;

/** `secrets` is the whole map of encrypted secrets (replaces the stored one). */
export type ServicePatch = Partial<Pick<OrganizationService, "enabled" | "settings" | "secrets">>;

/** An organization's services (org × catalogue server). */
export function servicesRepo(db: Database) {
  const scope = (orgId: string, serverId: string) =>
    and(eq(organizationServices.organizationId, orgId), eq(organizationServices.serverId, serverId));
  return {
    /** The org's configured services with the server's catalogue name. */
    async list(orgId: string): Promise<(OrganizationService & { serverName: string })[]> {
      const rows = await db
        .select({ service: organizationServices, serverName: mcpServers.name })
        .from(organizationServices)
        .innerJoin(mcpServers, eq(mcpServers.id, organizationServices.serverId))
        .where(eq(organizationServices.organizationId, orgId))
        .orderBy(mcpServers.name);
      return rows.map((r) => ({ ...r.service, serverName: r.serverName }));
    },
    async get(orgId: string, serverId: string): Promise<OrganizationService | null> {
      const [row] = await db.select().from(organizationServices).where(scope(orgId, serverId));
      return row ?? null;
    },
    async create(orgId: string, serverId: string, input: ServicePatch = {}): Promise<OrganizationService> {
      const [row] = await guard(
        db
          .insert(organizationServices)
          .values({ ...input, organizationId: orgId, serverId })
          .returning(),
      );
      return row!;
    },
    /** Creates the org's row for the server or updates the given fields. */
    async upsert(orgId: string, serverId: string, patch: ServicePatch): Promise<OrganizationService> {
      const [row] = await db
        .insert(organizationServices)
        .values({ ...patch, organizationId: orgId, serverId })
        .onConflictDoUpdate({
          target: [organizationServices.organizationId, organizationServices.serverId],
          set: { ...patch, updatedAt: new Date() },
        })
        .returning();
      return row!;
    },
    async update(orgId: string, serverId: string, patch: ServicePatch): Promise<OrganizationService | null> {
      const [row] = await db
        .update(organizationServices)
        .set({ ...patch, updatedAt: new Date() })
        .where(scope(orgId, serverId))
        .returning();
      return row ?? null;
    },
    async remove(orgId: string, serverId: string): Promise<boolean> {
      const rows = await db
        .delete(organizationServices)
        .where(scope(orgId, serverId))
        .returning({ id: organizationServices.id });
      return rows.length > 0;
    },
    /** Gives the org a row for every catalogue server that is on by default (existing rows untouched). */
    async enableDefaults(orgId: string): Promise<void> {
      const servers = await db
        .select({ id: mcpServers.id })
        .from(mcpServers)
        .where(eq(mcpServers.defaultEnabled, true));
      if (servers.length === 0) return;
      await db
        .insert(organizationServices)
        .values(servers.map((s) => ({ organizationId: orgId, serverId: s.id, enabled: true })))
        .onConflictDoNothing();
    },
  };
}

/** Members' own credentials (org × user × server). */
export function credentialsRepo(db: Database) {
  const scope = (orgId: string, userId: string, serverId: string) =>
    and(
      eq(userServiceCredentials.organizationId, orgId),
      eq(userServiceCredentials.userId, userId),
      eq(userServiceCredentials.serverId, serverId),
    );
  return {
    async get(orgId: string, userId: string, serverId: string): Promise<UserServiceCredential | null> {
      const [row] = await db
        .select()
        .from(userServiceCredentials)
        .where(scope(orgId, userId, serverId));
      return row ?? null;
    },
    /** A member's credentials in this org. */
    listForUser(orgId: string, userId: string): Promise<UserServiceCredential[]> {
      return db
        .select()
        .from(userServiceCredentials)
        .where(
          and(eq(userServiceCredentials.organizationId, orgId), eq(userServiceCredentials.userId, userId)),
        )
        .orderBy(userServiceCredentials.serverId);
    },
    async create(
      orgId: string,
      userId: string,
      serverId: string,
      secrets: SecretEnvelopes,
    ): Promise<UserServiceCredential> {
      const [row] = await guard(
        db
          .insert(userServiceCredentials)
          .values({ organizationId: orgId, userId, serverId, secrets })
          .returning(),
      );
      return row!;
    },
    async upsert(
      orgId: string,
      userId: string,
      serverId: string,
      secrets: SecretEnvelopes,
    ): Promise<UserServiceCredential> {
      const [row] = await db
        .insert(userServiceCredentials)
        .values({ organizationId: orgId, userId, serverId, secrets })
        .onConflictDoUpdate({
          target: [
            userServiceCredentials.organizationId,
            userServiceCredentials.userId,
            userServiceCredentials.serverId,
          ],
          set: { secrets, updatedAt: new Date() },
        })
        .returning();
      return row!;
    },
    async remove(orgId: string, userId: string, serverId: string): Promise<boolean> {
      const rows = await db
        .delete(userServiceCredentials)
        .where(scope(orgId, userId, serverId))
        .returning({ id: userServiceCredentials.id });
      return rows.length > 0;
    },
  };
}
