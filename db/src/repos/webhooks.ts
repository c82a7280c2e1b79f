import { eq } from "drizzle-orm";
import type { Database } from "../client.ts";
import { type WebhookOutcome, webhookEvents } from "../schema/index.ts";

export type WebhookEvent = typeof webhookEvents.$inferSelect;

/** Received webhooks (system-level: a Clerk event may concern no organization yet). */
export function webhooksRepo(db: Database) {
  return {
    /**
     * Records a delivery. `duplicate` is true when this Svix id was received before (then `event` is the
     * earlier row, and the caller should not process it again).
     */
    async record(input: {
      svixId: string;
      type: string;
      payload: unknown;
    }): Promise<{ event: WebhookEvent; duplicate: boolean }> {
      const [inserted] = await db.insert(webhookEvents).values(input).onConflictDoNothing().returning();
      if (inserted) return { event: inserted, duplicate: false };
      const [existing] = await db.select().from(webhookEvents).where(eq(webhookEvents.svixId, input.svixId));
      return { event: existing!, duplicate: true };
    },
    async get(svixId: string): Promise<WebhookEvent | null> {
      const [row] = await db.select().from(webhookEvents).where(eq(webhookEvents.svixId, svixId));
      return row ?? null;
    },
    async finish(
      id: string,
      outcome: Exclude<WebhookOutcome, "pending">,
      error: string | null = null,
      at: Date = new Date(),
    ): Promise<WebhookEvent | null> {
      const [row] = await db
        .update(webhookEvents)
        .set({ outcome, error, processedAt: at })
        .where(eq(webhookEvents.id, id))
        .returning();
      return row ?? null;
    },
  };
}
