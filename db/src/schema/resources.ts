import { relations, sql } from "drizzle-orm";
import { boolean, check, index, pgTable, text, unique } from "drizzle-orm/pg-core";
import { idColumn, timestamps } from "./columns.ts";
import { organizations } from "./organizations.ts";
import { mcpServers } from "./servers.ts";

/** A server's static default resource (text, or base64 `blob`). Dynamic resources live in the servers. */
export const defaultResources = pgTable(
  "default_resources",
  {
    id: idColumn("drs"),
    serverId: text("server_id")
      .notNull()
      .references(() => mcpServers.id, { onDelete: "cascade" }),
    uri: text("uri").notNull().unique("default_resources_uri_unique"),
    name: text("name").notNull(),
    title: text("title"),
    description: text("description"),
    mimeType: text("mime_type"),
    text: text("text"),
    blob: text("blob"),
    ...timestamps,
  },
  (t) => [
    index("default_resources_server_id_idx").on(t.serverId),
    check("default_resources_text_or_blob", sql`(${t.text} is null) <> (${t.blob} is null)`),
  ],
);

/**
 * An org's resource, keyed by URI: overrides a default of the same URI (null fields inherit; `disabled`
 * hides it) or, with no such default, the org's own resource (text or blob required).
 */
export const organizationResources = pgTable(
  "organization_resources",
  {
    id: idColumn("ors"),
    organizationId: text("organization_id")
      .notNull()
      .references(() => organizations.id, { onDelete: "cascade" }),
    serverId: text("server_id").references(() => mcpServers.id, { onDelete: "cascade" }),
    uri: text("uri").notNull(),
    name: text("name"),
    title: text("title"),
    description: text("description"),
    mimeType: text("mime_type"),
    text: text("text"),
    blob: text("blob"),
    disabled: boolean("disabled").notNull().default(false),
    ...timestamps,
  },
  (t) => [
    unique("organization_resources_org_uri_unique").on(t.organizationId, t.uri),
    index("organization_resources_organization_id_idx").on(t.organizationId),
    index("organization_resources_server_id_idx").on(t.serverId),
    check(
      "organization_resources_own_has_content",
      sql`${t.serverId} is not null or ((${t.text} is null) <> (${t.blob} is null) and ${t.name} is not null)`,
    ),
  ],
);

export const defaultResourcesRelations = relations(defaultResources, ({ one }) => ({
  server: one(mcpServers, { fields: [defaultResources.serverId], references: [mcpServers.id] }),
}));

export const organizationResourcesRelations = relations(organizationResources, ({ one }) => ({
  organization: one(organizations, {
    fields: [organizationResources.organizationId],
    references: [organizations.id],
  }),
  server: one(mcpServers, { fields: [organizationResources.serverId], references: [mcpServers.id] }),
}));
