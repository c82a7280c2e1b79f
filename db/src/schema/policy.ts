import type { AnnotationsOverride, PolicyMode, Role } from "@omni/contracts";
import { relations } from "drizzle-orm";
import { boolean, index, jsonb, pgTable, text, unique } from "drizzle-orm/pg-core";
import { idColumn, timestamps } from "./columns.ts";
import { organizations } from "./organizations.ts";

/** One tool's overrides in a policy (`tool` is its source name). */
export interface StoredToolOverride {
  tool: string;
  name?: string;
  description?: string;
  annotations?: AnnotationsOverride;
}

/**
 * An organization's tool policy, for the whole org (`role` null) or one role: an allow- or deny-list of
 * tool-name patterns and per-tool overrides. One row per (org, role); NULLS NOT DISTINCT makes the
 * org-wide row unique too.
 */
export const toolPolicies = pgTable(
  "tool_policies",
  {
    id: idColumn("tpl"),
    organizationId: text("organization_id")
      .notNull()
      .references(() => organizations.id, { onDelete: "cascade" }),
    role: text("role").$type<Role>(),
    mode: text("mode").$type<PolicyMode>().notNull(),
    tools: jsonb("tools").$type<string[]>().notNull().default([]),
    overrides: jsonb("overrides").$type<StoredToolOverride[]>().notNull().default([]),
    ...timestamps,
  },
  (t) => [
    unique("tool_policies_org_role_unique").on(t.organizationId, t.role).nullsNotDistinct(),
    index("tool_policies_organization_id_idx").on(t.organizationId),
  ],
);

/**
 * A bundle ("virtual server"): a named set of an org's tools, prompts and resources served at
 * `/mcp/b/<slug>`. A null list holds everything the policy allows; `discovery` lists `search_tools` and
 * `call_tool` instead of every tool.
 */
export const bundles = pgTable(
  "bundles",
  {
    id: idColumn("bnd"),
    organizationId: text("organization_id")
      .notNull()
      .references(() => organizations.id, { onDelete: "cascade" }),
    slug: text("slug").notNull(),
    title: text("title"),
    description: text("description"),
    tools: jsonb("tools").$type<string[]>(),
    prompts: jsonb("prompts").$type<string[]>(),
    resources: jsonb("resources").$type<string[]>(),
    discovery: boolean("discovery").notNull().default(false),
    ...timestamps,
  },
  (t) => [
    unique("bundles_org_slug_unique").on(t.organizationId, t.slug),
    index("bundles_organization_id_idx").on(t.organizationId),
  ],
);

export const toolPoliciesRelations = relations(toolPolicies, ({ one }) => ({
  organization: one(organizations, {
    fields: [toolPolicies.organizationId],
    references: [organizations.id],
  }),
}));

export const bundlesRelations = relations(bundles, ({ one }) => ({
  organization: one(organizations, { fields: [bundles.organizationId], references: [organizations.id] }),
}));
