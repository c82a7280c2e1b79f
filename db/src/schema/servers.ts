import { relations, sql } from "drizzle-orm";
import { boolean, check, index, pgTable, text, timestamp, unique } from "drizzle-orm/pg-core";
import { idColumn, timestamps } from "./columns.ts";
import { defaultPrompts } from "./prompts.ts";
import { defaultResources } from "./resources.ts";
import { organizationServices } from "./services.ts";

/** The system catalogue of domain MCP servers (not org-owned). */
export const mcpServers = pgTable("mcp_servers", {
  id: idColumn("srv"),
  /** Stable machine name, e.g. `linear`; tool names start with it. */
  name: text("name").notNull().unique("mcp_servers_name_unique"),
  title: text("title").notNull(),
  description: text("description").notNull().default(""),
  /** Whether a new organization gets this server enabled. */
  defaultEnabled: boolean("default_enabled").notNull().default(true),
  ...timestamps,
});

export const INSTANCE_STATUSES = ["unknown", "healthy", "unhealthy"] as const;
export type InstanceStatus = (typeof INSTANCE_STATUSES)[number];

/** A running instance of a catalogue server, health-checked by the gateway. */
export const serverInstances = pgTable(
  "server_instances",
  {
    id: idColumn("ins"),
    serverId: text("server_id")
      .notNull()
      .references(() => mcpServers.id, { onDelete: "cascade" }),
    url: text("url").notNull(),
    status: text("status", { enum: INSTANCE_STATUSES }).notNull().default("unknown"),
    /**
     * Set by an operator to take the instance out of service: every gateway stops sending it new calls,
     * lets the calls in flight finish, then drops it (deleting the row does the same). Followed live.
     */
    draining: boolean("draining").notNull().default(false),
    lastCheckedAt: timestamp("last_checked_at", { withTimezone: true }),
    lastError: text("last_error"),
    ...timestamps,
  },
  (t) => [
    unique("server_instances_server_url_unique").on(t.serverId, t.url),
    index("server_instances_server_id_idx").on(t.serverId),
    check("server_instances_status_check", sql`${t.status} in ('unknown', 'healthy', 'unhealthy')`),
  ],
);

export const mcpServersRelations = relations(mcpServers, ({ many }) => ({
  instances: many(serverInstances),
  defaultPrompts: many(defaultPrompts),
  defaultResources: many(defaultResources),
  organizationServices: many(organizationServices),
}));

export const serverInstancesRelations = relations(serverInstances, ({ one }) => ({
  server: one(mcpServers, { fields: [serverInstances.serverId], references: [mcpServers.id] }),
}));
