import type { Role } from "@omni/contracts";
import { relations, sql } from "drizzle-orm";
import { check, index, jsonb, pgTable, text, unique } from "drizzle-orm/pg-core";
import { apiKeys } from "./api-keys.ts";
import { idColumn, timestamps } from "./columns.ts";
import { organizationPrompts } from "./prompts.ts";
import { organizationResources } from "./resources.ts";
import { organizationServices, userServiceCredentials } from "./services.ts";

/** Organization-wide switches, stored as jsonb. Unknown keys are kept. */
export interface OrganizationSettings {
  /** Record tool-call arguments in the audit log (off by default: arguments may hold personal data). */
  auditArguments?: boolean;
  [key: string]: unknown;
}

export const organizations = pgTable("organizations", {
  id: idColumn("org"),
  clerkId: text("clerk_id").unique("organizations_clerk_id_unique"),
  slug: text("slug").notNull().unique("organizations_slug_unique"),
  name: text("name").notNull(),
  settings: jsonb("settings").$type<OrganizationSettings>().notNull().default({}),
  ...timestamps,
});

export const users = pgTable("users", {
  id: idColumn("usr"),
  clerkId: text("clerk_id").unique("users_clerk_id_unique"),
  email: text("email").notNull(),
  name: text("name"),
  ...timestamps,
});

export const ROLES = ["owner", "admin", "member"] as const satisfies readonly Role[];

export const organizationMemberships = pgTable(
  "organization_memberships",
  {
    id: idColumn("mem"),
    organizationId: text("organization_id")
      .notNull()
      .references(() => organizations.id, { onDelete: "cascade" }),
    userId: text("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    role: text("role", { enum: ROLES }).$type<Role>().notNull().default("member"),
    permissions: text("permissions").array().notNull().default(sql`'{}'::text[]`),
    ...timestamps,
  },
  (t) => [
    unique("organization_memberships_org_user_unique").on(t.organizationId, t.userId),
    index("organization_memberships_organization_id_idx").on(t.organizationId),
    index("organization_memberships_user_id_idx").on(t.userId),
    check("organization_memberships_role_check", sql`${t.role} in ('owner', 'admin', 'member')`),
  ],
);

export const organizationsRelations = relations(organizations, ({ many }) => ({
  memberships: many(organizationMemberships),
  services: many(organizationServices),
  credentials: many(userServiceCredentials),
  prompts: many(organizationPrompts),
  resources: many(organizationResources),
  apiKeys: many(apiKeys),
}));

export const usersRelations = relations(users, ({ many }) => ({
  memberships: many(organizationMemberships),
  credentials: many(userServiceCredentials),
  apiKeys: many(apiKeys),
}));

export const organizationMembershipsRelations = relations(organizationMemberships, ({ one }) => ({
  organization: one(organizations, {
    fields: [organizationMemberships.organizationId],
    references: [organizations.id],
  }),
  user: one(users, { fields: [organizationMemberships.userId], references: [users.id] }),
}));
