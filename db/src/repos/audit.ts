import { and, asc, desc, eq, gt, gte, lt, type SQL, sql } from "drizzle-orm";
import type { Database } from "../client.ts";
import { auditLogs } from "../schema/index.ts";

export type AuditRow = typeof auditLogs.$inferSelect;

/**
 * What the caller computes for the next row, given the previous one (seq and hash chaining are its own):
 * the table's insert columns but the id and organization (the repo's), with `prevHash` always stated
 * (null only for the org's first row). `createdAt` defaults to the `at` passed to the builder.
 */
export type NewAuditRow = Omit<typeof auditLogs.$inferInsert, "id" | "organizationId" | "prevHash"> &
  Pick<AuditRow, "prevHash">;

/** What a builder needs of the row before it: its position and hash in the chain. */
type ChainHead = Pick<AuditRow, "seq" | "hash">;

/** Computes the next row from the one before it (null for the org's first row) and the transaction's time. */
export type AuditRowBuilder = (previous: ChainHead | null, at: Date) => NewAuditRow | Promise<NewAuditRow>;

export interface ListAuditOptions {
  limit?: number;
  /** Only rows with `seq` below this (paging newest-first) or, with `order: "asc"`, above it. */
  cursor?: number;
  order?: "asc" | "desc";
  action?: string;
  actor?: string;
  from?: Date;
  to?: Date;
}

/** UTC month key, e.g. `2026_11`, matching the partition names made by omni_ensure_audit_partition(). */
function monthKey(at: Date): string {
  return `${at.getUTCFullYear()}_${String(at.getUTCMonth() + 1).padStart(2, "0")}`;
}

/**
 * Append-only audit log. `knownPartitions` caches months whose partition exists (shared by every repo
 * made from one database handle).
 */
export function auditRepo(db: Database, knownPartitions: Set<string>) {
  /** Makes the month's partition unless known; returns the key to remember once the transaction commits. */
  async function ensurePartition(executor: Database, at: Date): Promise<string | null> {
    const key = monthKey(at);
    if (knownPartitions.has(key)) return null;
    await executor.execute(sql`select omni_ensure_audit_partition(${at.toISOString()}::timestamptz)`);
    return key;
  }

  async function last(executor: Database, orgId: string): Promise<AuditRow | null> {
    const [row] = await executor
      .select()
      .from(auditLogs)
      .where(eq(auditLogs.organizationId, orgId))
      .orderBy(desc(auditLogs.seq))
      .limit(1);
    return row ?? null;
  }

  /**
   * Appends rows in order, in one transaction holding the org's advisory lock (one lock, one read of the
   * last row and one insert for all of them, instead of one transaction each): each builder gets the row
   * before its own (the org's last, then the one the previous builder made).
   */
  async function appendMany(orgId: string, builds: readonly AuditRowBuilder[]): Promise<AuditRow[]> {
    if (builds.length === 0) return [];
    const made = new Set<string>();
    const inserted = await db.transaction(async (tx) => {
      await tx.execute(sql`select pg_advisory_xact_lock(hashtextextended(${`omni_audit:${orgId}`}, 0))`);
      let previous: ChainHead | null = await last(tx, orgId);
      const at = new Date();
      const rows: (NewAuditRow & { createdAt: Date; organizationId: string })[] = [];
      for (const build of builds) {
        const row = await build(previous, at);
        const createdAt = row.createdAt ?? at;
        if (!made.has(monthKey(createdAt))) {
          const key = await ensurePartition(tx, createdAt);
          if (key) made.add(key);
        }
        rows.push({ ...row, createdAt, organizationId: orgId });
        previous = row;
      }
      const saved = await tx.insert(auditLogs).values(rows).returning();
      return saved.sort((a, b) => a.seq - b.seq);
    });
    // Known once committed (a rolled-back partition does not exist).
    for (const key of made) knownPartitions.add(key);
    return inserted;
  }

  return {
    /** The org's latest row (highest seq), or null for an empty log. */
    last: (orgId: string) => last(db, orgId),
    /**
     * Appends one row. In one transaction holding a per-org advisory lock, reads the org's last row and
     * passes it to `build`, so concurrent appends for the same org are serialized and cannot fork the chain.
     */
    async append(orgId: string, build: AuditRowBuilder): Promise<AuditRow> {
      const [row] = await appendMany(orgId, [build]);
      return row!;
    },
    appendMany,
    list(orgId: string, options: ListAuditOptions = {}): Promise<AuditRow[]> {
      const order = options.order ?? "desc";
      const conditions: (SQL | undefined)[] = [eq(auditLogs.organizationId, orgId)];
      if (options.cursor !== undefined) {
        conditions.push(
          order === "desc" ? lt(auditLogs.seq, options.cursor) : gt(auditLogs.seq, options.cursor),
        );
      }
      if (options.action) conditions.push(eq(auditLogs.action, options.action));
      if (options.actor) conditions.push(eq(auditLogs.actor, options.actor));
      if (options.from) conditions.push(gte(auditLogs.createdAt, options.from));
      if (options.to) conditions.push(lt(auditLogs.createdAt, options.to));
      return db
        .select()
        .from(auditLogs)
        .where(and(...conditions))
        .orderBy(order === "desc" ? desc(auditLogs.seq) : asc(auditLogs.seq))
        .limit(Math.min(Math.max(options.limit ?? 100, 1), 1000));
    },
  };
}
