import { sql } from "drizzle-orm";
import { check, jsonb, pgTable, text, timestamp } from "drizzle-orm/pg-core";
import { idColumn } from "./columns.ts";

export const WEBHOOK_OUTCOMES = ["pending", "processed", "ignored", "failed"] as const;
export type WebhookOutcome = (typeof WEBHOOK_OUTCOMES)[number];

/** Received webhooks (Clerk via Svix). The unique Svix id makes redelivery idempotent. */
export const webhookEvents = pgTable(
  "webhook_events",
  {
    id: idColumn("whe"),
    svixId: text("svix_id").notNull().unique("webhook_events_svix_id_unique"),
    type: text("type").notNull(),
    payload: jsonb("payload").$type<unknown>().notNull(),
    outcome: text("outcome", { enum: WEBHOOK_OUTCOMES }).notNull().default("pending"),
    error: text("error"),
    receivedAt: timestamp("received_at", { withTimezone: true }).notNull().defaultNow(),
    processedAt: timestamp("processed_at", { withTimezone: true }),
  },
  (t) => [
    check("webhook_events_outcome_check", sql`${t.outcome} in ('pending', 'processed', 'ignored', 'failed')`),
  ],
);
