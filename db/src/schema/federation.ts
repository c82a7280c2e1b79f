import { sql } from "drizzle-orm";
import { boolean, index, jsonb, pgTable, text, uniqueIndex } from "drizzle-orm/pg-core";
import { idColumn, timestamps } from "./columns.ts";
import { organizations } from "./organizations.ts";
import type { SecretEnvelope } from "./services.ts";

/** How the gateway reaches a federated upstream MCP server. */
export type FederatedTransport = "streamable-http" | "sse" | "stdio";

/**
 * An upstream MCP server the gateway federates (reaches as an MCP client, under a namespace prefix).
 * `organization_id` null: offered to every organization (only the operator writes such rows). A `stdio`
 * row runs a local process, so only the operator defines it (CLI / config file, never the org admin API).
 */
export const federatedServers = pgTable(
  "federated_servers",
  {
    id: idColumn("fed"),
    organizationId: text("organization_id").references(() => organizations.id, { onDelete: "cascade" }),
    /** Display name (e.g. from server.json `name`). */
    name: text("name").notNull(),
    /** Tool/prompt names are `<prefix>_<upstream name>`; unique per org view (and among global rows). */
    prefix: text("prefix").notNull(),
    transport: text("transport").$type<FederatedTransport>().notNull(),
    /** Remote transports: the MCP endpoint URL. */
    url: text("url"),
    /** stdio: the command and its arguments and extra environment. */
    command: text("command"),
    args: jsonb("args").$type<string[]>().notNull().default([]),
    env: jsonb("env").$type<Record<string, string>>().notNull().default({}),
    /** Remote transports: the header that carries the secret (e.g. `Authorization`). */
    authHeader: text("auth_header"),
    /** The header's value, sealed by the gateway's secret box (AAD: org, `federated:<id>`, header). */
    authSecret: jsonb("auth_secret").$type<SecretEnvelope>(),
    /**
     * Who defined the row: `org` (an org admin, through the admin API: the gateway reaches its URL only at
     * public addresses unless the operator allows the host) or `operator` (CLI, config: trusted).
     */
    registeredBy: text("registered_by").$type<"org" | "operator">().notNull().default("org"),
    enabled: boolean("enabled").notNull().default(true),
    ...timestamps,
  },
  (t) => [
    index("federated_servers_organization_id_idx").on(t.organizationId),
    uniqueIndex("federated_servers_org_prefix_unique").on(sql`coalesce(${t.organizationId}, '*')`, t.prefix),
  ],
);
