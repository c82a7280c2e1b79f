import { sql } from "drizzle-orm";
import { bigint, check, index, jsonb, pgTable, primaryKey, text, timestamp } from "drizzle-orm/pg-core";
import { newId } from "./columns.ts";

export const ACTOR_TYPES = ["user", "api_key", "system"] as const;
export type ActorType = (typeof ACTOR_TYPES)[number];

/**
 * The chain of deployment-wide changes (the operator's: domain-server instances), kept in
 * `organization_id` beside the organizations' chains (org ids are `org_...`, so it cannot collide).
 */
export const DEPLOYMENT_AUDIT_CHAIN = "deployment";

/**
 * Append-only, hash-chained audit log. `organization_id` is deliberately NOT a foreign key: rows outlive
 * their organization. The table is RANGE-partitioned by month on `created_at` (migration
 * 0001_audit_partitioning — drizzle-kit cannot express partitioning), on Postgres and PGlite alike; hence
 * the primary key includes `created_at`. Chain order is (organization_id, seq).
 */
export const auditLogs = pgTable(
  "audit_logs",
  {
    id: text("id")
      .notNull()
      .$defaultFn(() => newId("aud")),
    organizationId: text("organization_id").notNull(),
    /** User id, API key id, or `system`. */
    actor: text("actor").notNull(),
    actorType: text("actor_type", { enum: ACTOR_TYPES }).notNull(),
    action: text("action").notNull(),
    targetType: text("target_type"),
    targetId: text("target_id"),
    before: jsonb("before").$type<unknown>(),
    after: jsonb("after").$type<unknown>(),
    metadata: jsonb("metadata").$type<Record<string, unknown>>().notNull().default({}),
    seq: bigint("seq", { mode: "number" }).notNull(),
    prevHash: text("prev_hash"),
    hash: text("hash").notNull(),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    primaryKey({ name: "audit_logs_pkey", columns: [t.id, t.createdAt] }),
    index("audit_logs_organization_id_seq_idx").on(t.organizationId, t.seq),
    index("audit_logs_organization_id_created_at_idx").on(t.organizationId, t.createdAt),
    check("audit_logs_actor_type_check", sql`${t.actorType} in ('user', 'api_key', 'system')`),
  ],
);
