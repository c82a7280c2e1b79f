import { relations, sql } from "drizzle-orm";
import { index, pgTable, text, timestamp } from "drizzle-orm/pg-core";
import { idColumn, timestamps } from "./columns.ts";
import { organizations, users } from "./organizations.ts";

/** Org-scoped API keys. Only the SHA-256 hash is stored; `prefix` (`omni_sk_xxxxxxxx`) is shown to people. */
export const apiKeys = pgTable(
  "api_keys",
  {
    id: idColumn("key"),
    organizationId: text("organization_id")
      .notNull()
      .references(() => organizations.id, { onDelete: "cascade" }),
    createdBy: text("created_by").references(() => users.id, { onDelete: "set null" }),
    name: text("name").notNull(),
    prefix: text("prefix").notNull().unique("api_keys_prefix_unique"),
    /** Lowercase hex SHA-256 of the whole key. */
    hash: text("hash").notNull().unique("api_keys_hash_unique"),
    scopes: text("scopes").array().notNull().default(sql`'{}'::text[]`),
    expiresAt: timestamp("expires_at", { withTimezone: true }),
    lastUsedAt: timestamp("last_used_at", { withTimezone: true }),
    revokedAt: timestamp("revoked_at", { withTimezone: true }),
    ...timestamps,
  },
  (t) => [
    index("api_keys_organization_id_idx").on(t.organizationId),
    index("api_keys_created_by_idx").on(t.createdBy),
  ],
);

export const apiKeysRelations = relations(apiKeys, ({ one }) => ({
  organization: one(organizations, { fields: [apiKeys.organizationId], references: [organizations.id] }),
  creator: one(users, { fields: [apiKeys.createdBy], references: [users.id] }),
}));
