import { and, eq, isNull, or } from "drizzle-orm";
import type { Database } from "../client.ts";
import { guard } from "../errors.ts";
import { type FederatedTransport, federatedServers } from "../schema/index.ts";

export type FederatedServer = typeof federatedServers.$inferSelect;

type FederatedServerInsert = typeof federatedServers.$inferInsert;

/**
 * A remote upstream (Streamable HTTP or legacy HTTP+SSE): what an org admin may register. `id` may be
 * pre-generated (`newId("fed")`) so the auth secret can be sealed to the row before the insert.
 */
export type NewRemoteUpstream = Pick<
  FederatedServerInsert,
  "id" | "name" | "prefix" | "authHeader" | "authSecret" | "enabled"
> & {
  transport: Exclude<FederatedTransport, "stdio">;
  url: NonNullable<FederatedServer["url"]>;
};

/**
 * Any upstream, including a local stdio command: the operator's path (CLI, config file). `organizationId`
 * is always stated; null: offered to every organization.
 */
export type NewOperatorUpstream = Pick<
  FederatedServerInsert,
  | "id"
  | "name"
  | "prefix"
  | "transport"
  | "url"
  | "command"
  | "args"
  | "env"
  | "authHeader"
  | "authSecret"
  | "enabled"
> &
  Pick<FederatedServer, "organizationId">;

/**
 * Federated upstream MCP servers. Org functions take the org first and see the org's own rows plus the
 * global ones (`organization_id` null); they never write a global row or a stdio command. The
 * `operator*` functions (CLI, gateway start-up) see and write every row.
 */
export function federationRepo(db: Database) {
  const visible = (orgId: string) =>
    or(eq(federatedServers.organizationId, orgId), isNull(federatedServers.organizationId));
  const own = (orgId: string, id: string) =>
    and(eq(federatedServers.id, id), eq(federatedServers.organizationId, orgId));
  return {
    /** The org's own upstreams and the global ones, by prefix. */
    listVisible(orgId: string): Promise<FederatedServer[]> {
      return db.select().from(federatedServers).where(visible(orgId)).orderBy(federatedServers.prefix);
    },
    async getVisible(orgId: string, id: string): Promise<FederatedServer | null> {
      const [row] = await db
        .select()
        .from(federatedServers)
        .where(and(eq(federatedServers.id, id), visible(orgId)));
      return row ?? null;
    },
    /** Registers a remote upstream owned by the org (never global, never stdio). */
    async createRemote(orgId: string, input: NewRemoteUpstream): Promise<FederatedServer> {
      if ((input.transport as string) === "stdio") {
        throw new Error("a stdio upstream runs a process: only the operator may define one");
      }
      const [row] = await guard(
        db
          .insert(federatedServers)
          .values({ ...input, organizationId: orgId, command: null, args: [], env: {}, registeredBy: "org" })
          .returning(),
      );
      return row!;
    },
    /** Removes one of the org's own upstreams (a global one is the operator's); false when none. */
    async remove(orgId: string, id: string): Promise<boolean> {
      const rows = await db
        .delete(federatedServers)
        .where(own(orgId, id))
        .returning({ id: federatedServers.id });
      return rows.length > 0;
    },
    /** Every upstream of every org (the gateway's federation loads these; the operator lists them). */
    operatorList(): Promise<FederatedServer[]> {
      return db.select().from(federatedServers).orderBy(federatedServers.prefix);
    },
    async operatorCreate(input: NewOperatorUpstream): Promise<FederatedServer> {
      const [row] = await guard(
        db
          .insert(federatedServers)
          .values({ ...input, registeredBy: "operator" })
          .returning(),
      );
      return row!;
    },
    async operatorRemove(id: string): Promise<boolean> {
      const rows = await db
        .delete(federatedServers)
        .where(eq(federatedServers.id, id))
        .returning({ id: federatedServers.id });
      return rows.length > 0;
    },
  };
}
