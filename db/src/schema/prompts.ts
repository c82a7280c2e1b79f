import type { PromptArgument, PromptMessageTemplate } from "@omni/contracts";
import { relations, sql } from "drizzle-orm";
import { boolean, check, index, jsonb, pgTable, text, unique } from "drizzle-orm/pg-core";
import { idColumn, timestamps } from "./columns.ts";
import { organizations } from "./organizations.ts";
import { mcpServers } from "./servers.ts";

/** A server's system default prompt, offered to every org that enables the server. */
export const defaultPrompts = pgTable(
  "default_prompts",
  {
    id: idColumn("dpr"),
    serverId: text("server_id")
      .notNull()
      .references(() => mcpServers.id, { onDelete: "cascade" }),
    name: text("name").notNull(),
    title: text("title"),
    description: text("description"),
    arguments: jsonb("arguments").$type<PromptArgument[]>().notNull().default([]),
    messages: jsonb("messages").$type<PromptMessageTemplate[]>().notNull(),
    ...timestamps,
  },
  (t) => [
    unique("default_prompts_server_name_unique").on(t.serverId, t.name),
    index("default_prompts_server_id_idx").on(t.serverId),
  ],
);

/**
 * An org's prompt. With `serverId` set and a default of the same name: an override (null fields inherit
 * the default; `disabled` hides it). With `serverId` null: the org's own prompt (messages required).
 * One row per (org, server, name); NULLS NOT DISTINCT makes own prompts' names unique per org too.
 */
export const organizationPrompts = pgTable(
  "organization_prompts",
  {
    id: idColumn("opr"),
    organizationId: text("organization_id")
      .notNull()
      .references(() => organizations.id, { onDelete: "cascade" }),
    serverId: text("server_id").references(() => mcpServers.id, { onDelete: "cascade" }),
    name: text("name").notNull(),
    title: text("title"),
    description: text("description"),
    arguments: jsonb("arguments").$type<PromptArgument[]>(),
    messages: jsonb("messages").$type<PromptMessageTemplate[]>(),
    disabled: boolean("disabled").notNull().default(false),
    ...timestamps,
  },
  (t) => [
    unique("organization_prompts_org_server_name_unique")
      .on(t.organizationId, t.serverId, t.name)
      .nullsNotDistinct(),
    index("organization_prompts_organization_id_idx").on(t.organizationId),
    index("organization_prompts_server_id_idx").on(t.serverId),
    check(
      "organization_prompts_own_has_messages",
      sql`${t.serverId} is not null or ${t.messages} is not null`,
    ),
  ],
);

export const defaultPromptsRelations = relations(defaultPrompts, ({ one }) => ({
  server: one(mcpServers, { fields: [defaultPrompts.serverId], references: [mcpServers.id] }),
}));

export const organizationPromptsRelations = relations(organizationPrompts, ({ one }) => ({
  organization: one(organizations, {
    fields: [organizationPrompts.organizationId],
    references: [organizations.id],
  }),
  server: one(mcpServers, { fields: [organizationPrompts.serverId], references: [mcpServers.id] }),
}));
