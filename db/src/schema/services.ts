import { relations } from "drizzle-orm";
import { boolean, index, jsonb, pgTable, text, unique } from "drizzle-orm/pg-core";
import { idColumn, timestamps } from "./columns.ts";
import { organizations, users } from "./organizations.ts";
import { mcpServers } from "./servers.ts";

/**
 * One secret encrypted with AES-256-GCM by the gateway (base64 fields). The database stores it opaque.
 * `kid` names the key it was encrypted with (key rotation).
 */
export interface SecretEnvelope {
  kid: string;
  iv: string;
  ct: string;
  tag: string;
}

/** Secret name (e.g. `apiKey`) → its envelope. */
export type SecretEnvelopes = Record<string, SecretEnvelope>;

/** An organization's use of a catalogue server: on/off, non-secret settings, encrypted secrets. */
export const organizationServices = pgTable(
  "organization_services",
  {
    id: idColumn("osv"),
    organizationId: text("organization_id")
      .notNull()
      .references(() => organizations.id, { onDelete: "cascade" }),
    serverId: text("server_id")
      .notNull()
      .references(() => mcpServers.id, { onDelete: "cascade" }),
    enabled: boolean("enabled").notNull().default(true),
    settings: jsonb("settings").$type<Record<string, unknown>>().notNull().default({}),
    secrets: jsonb("secrets").$type<SecretEnvelopes>().notNull().default({}),
    ...timestamps,
  },
  (t) => [
    unique("organization_services_org_server_unique").on(t.organizationId, t.serverId),
    index("organization_services_organization_id_idx").on(t.organizationId),
    index("organization_services_server_id_idx").on(t.serverId),
  ],
);

/** A member's own credential for a server inside an organization (wins over the org's). */
export const userServiceCredentials = pgTable(
  "user_service_credentials",
  {
    id: idColumn("ucr"),
    organizationId: text("organization_id")
      .notNull()
      .references(() => organizations.id, { onDelete: "cascade" }),
    userId: text("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    serverId: text("server_id")
      .notNull()
      .references(() => mcpServers.id, { onDelete: "cascade" }),
    secrets: jsonb("secrets").$type<SecretEnvelopes>().notNull().default({}),
    ...timestamps,
  },
  (t) => [
    unique("user_service_credentials_org_user_server_unique").on(t.organizationId, t.userId, t.serverId),
    index("user_service_credentials_organization_id_idx").on(t.organizationId),
    index("user_service_credentials_user_id_idx").on(t.userId),
    index("user_service_credentials_server_id_idx").on(t.serverId),
  ],
);

export const organizationServicesRelations = relations(organizationServices, ({ one }) => ({
  organization: one(organizations, {
    fields: [organizationServices.organizationId],
    references: [organizations.id],
  }),
  server: one(mcpServers, { fields: [organizationServices.serverId], references: [mcpServers.id] }),
}));

export const userServiceCredentialsRelations = relations(userServiceCredentials, ({ one }) => ({
  organization: one(organizations, {
    fields: [userServiceCredentials.organizationId],
    references: [organizations.id],
  }),
  user: one(users, { fields: [userServiceCredentials.userId], references: [users.id] }),
  server: one(mcpServers, { fields: [userServiceCredentials.serverId], references: [mcpServers.id] }),
}));
