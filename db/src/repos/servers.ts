import { and, eq } from "drizzle-orm";
import type { Database } from "../client.ts";
import { guard } from "../errors.ts";
import { type InstanceStatus, mcpServers, serverInstances } from "../schema/index.ts";

export type McpServer = typeof mcpServers.$inferSelect;
export type ServerInstance = typeof serverInstances.$inferSelect;

/** An instance row with its server's name (what the operator API shows). */
export type NamedInstance = Pick<ServerInstance, "id" | "url" | "draining" | "createdAt" | "updatedAt"> & {
  server: string;
};

export type NewMcpServer = Pick<
  typeof mcpServers.$inferInsert,
  "id" | "name" | "title" | "description" | "defaultEnabled"
>;

/** The system catalogue of servers and their instances (not org-owned). */
export function serversRepo(db: Database) {
  return {
    list(): Promise<McpServer[]> {
      return db.select().from(mcpServers).orderBy(mcpServers.name);
    },
    async get(serverId: string): Promise<McpServer | null> {
      const [row] = await db.select().from(mcpServers).where(eq(mcpServers.id, serverId));
      return row ?? null;
    },
    async getByName(name: string): Promise<McpServer | null> {
      const [row] = await db.select().from(mcpServers).where(eq(mcpServers.name, name));
      return row ?? null;
    },
    async create(input: NewMcpServer): Promise<McpServer> {
      const [row] = await guard(db.insert(mcpServers).values(input).returning());
      return row!;
    },
    /** Inserts or updates by name. */
    async upsert(input: NewMcpServer): Promise<McpServer> {
      const { id: _id, ...set } = input;
      const [row] = await guard(
        db.insert(mcpServers).values(input).onConflictDoUpdate({ target: mcpServers.name, set }).returning(),
      );
      return row!;
    },
    async delete(serverId: string): Promise<boolean> {
      const rows = await db
        .delete(mcpServers)
        .where(eq(mcpServers.id, serverId))
        .returning({ id: mcpServers.id });
      return rows.length > 0;
    },
    /** Instances, of one server or all. */
    listInstances(serverId?: string): Promise<ServerInstance[]> {
      const query = db.select().from(serverInstances);
      return (serverId ? query.where(eq(serverInstances.serverId, serverId)) : query).orderBy(
        serverInstances.serverId,
        serverInstances.url,
      );
    },
    async addInstance(serverId: string, url: string): Promise<ServerInstance> {
      const [row] = await guard(db.insert(serverInstances).values({ serverId, url }).returning());
      return row!;
    },
    /** Registers an instance, or returns the existing one for this server and URL. */
    async registerInstance(serverId: string, url: string): Promise<ServerInstance> {
      await db.insert(serverInstances).values({ serverId, url }).onConflictDoNothing();
      const [row] = await db
        .select()
        .from(serverInstances)
        .where(and(eq(serverInstances.serverId, serverId), eq(serverInstances.url, url)));
      return row!;
    },
    async setInstanceStatus(
      instanceId: string,
      status: InstanceStatus,
      lastError: string | null = null,
      at: Date = new Date(),
    ): Promise<ServerInstance | null> {
      const [row] = await db
        .update(serverInstances)
        .set({ status, lastError, lastCheckedAt: at })
        .where(eq(serverInstances.id, instanceId))
        .returning();
      return row ?? null;
    },
    /** Marks an instance draining (gateways stop routing new calls to it) or back in service. */
    async setInstanceDraining(instanceId: string, draining: boolean): Promise<ServerInstance | null> {
      const [row] = await db
        .update(serverInstances)
        .set({ draining, updatedAt: new Date() })
        .where(eq(serverInstances.id, instanceId))
        .returning();
      return row ?? null;
    },
    /** Every instance with its server's name: what the gateways route to (`followInstances`). */
    listRoutes(): Promise<{ id: string; server: string; url: string; draining: boolean }[]> {
      return db
        .select({
          id: serverInstances.id,
          server: mcpServers.name,
          url: serverInstances.url,
          draining: serverInstances.draining,
        })
        .from(serverInstances)
        .innerJoin(mcpServers, eq(serverInstances.serverId, mcpServers.id))
        .orderBy(mcpServers.name, serverInstances.url);
    },
    /** Every instance row with its server's name, by server and URL; or the one with `instanceId`. */
    namedInstances(instanceId?: string): Promise<NamedInstance[]> {
      const query = db
        .select({
          id: serverInstances.id,
          server: mcpServers.name,
          url: serverInstances.url,
          draining: serverInstances.draining,
          createdAt: serverInstances.createdAt,
          updatedAt: serverInstances.updatedAt,
        })
        .from(serverInstances)
        .innerJoin(mcpServers, eq(serverInstances.serverId, mcpServers.id));
      return (instanceId ? query.where(eq(serverInstances.id, instanceId)) : query).orderBy(
        mcpServers.name,
        serverInstances.url,
      );
    },
    async removeInstance(instanceId: string): Promise<boolean> {
      const rows = await db
        .delete(serverInstances)
        .where(eq(serverInstances.id, instanceId))
        .returning({ id: serverInstances.id });
      return rows.length > 0;
    },
  };
}
