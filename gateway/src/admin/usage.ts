import { ApiError, Usage, UsageQuery } from "@omni/contracts";
import { schema } from "@omni/db";
import { and, desc, eq, gte, lt, type SQL, sql } from "drizzle-orm";
import { Elysia } from "elysia";
import { apiError } from "../security/errors.ts";
import type { DashboardDeps } from "./deps.ts";

const { auditLogs } = schema;
const DAY_MS = 24 * 60 * 60_000;
const MAX_RANGE_MS = 31 * DAY_MS;
/** Bucket sizes for the time series: the smallest that gives at most ~120 points. */
const BUCKETS = [60, 300, 900, 1800, 3600, 3 * 3600, 6 * 3600, 12 * 3600, 86_400];

const meta = (key: string) => sql<string | null>`${auditLogs.metadata}->>${sql.raw(`'${key}'`)}`;
const duration = sql`(${auditLogs.metadata}->>'durationMs')::double precision`;
const failed = sql`coalesce(${auditLogs.metadata}->>'outcome', 'ok') <> 'ok'`;
const stats = {
  calls: sql<number>`count(*)::int`,
  errors: sql<number>`(count(*) filter (where ${failed}))::int`,
  p50: sql<number | null>`percentile_cont(0.5) within group (order by ${duration})`,
  p95: sql<number | null>`percentile_cont(0.95) within group (order by ${duration})`,
};
const round = (ms: number | null) => (ms === null ? null : Math.round(Number(ms) * 10) / 10);
const tidy = <T extends { calls: number; errors: number; p50: number | null; p95: number | null }>(
  row: T,
) => ({
  ...row,
  calls: Number(row.calls),
  errors: Number(row.errors),
  p50: round(row.p50),
  p95: round(row.p95),
});

/**
 *   GET /api/usage?from=&to=   tool calls, errors, p50/p95 latency per tool and per server, a time
 *                              series and the latest errors, from the org's `tool.call` audit rows
 */
export function usageRoutes(deps: DashboardDeps) {
  // Statistics may lag by the replication delay: read them on a replica when there is one.
  const reader = deps.readDb ?? deps.db;
  return new Elysia({ name: "omni-admin-usage", prefix: "/api" }).use(deps.auth.guard).get(
    "/usage",
    async ({ auth, query, status }) => {
      const to = query.to ? new Date(query.to) : new Date();
      const from = query.from ? new Date(query.from) : new Date(to.getTime() - DAY_MS);
      const range = to.getTime() - from.getTime();
      if (range <= 0) {
        return status(422, apiError("invalid", "from must be before to", { field: "from" }));
      }
      if (range > MAX_RANGE_MS) {
        return status(422, apiError("invalid", "the range is at most 31 days", { field: "from" }));
      }
      const bucketSeconds = BUCKETS.find((b) => range / 1000 / b <= 120) ?? 86_400;
      const where: SQL | undefined = and(
        eq(auditLogs.organizationId, auth.org.orgId),
        eq(auditLogs.action, "tool.call"),
        gte(auditLogs.createdAt, from),
        lt(auditLogs.createdAt, to),
      );
      const bucket = sql<number>`(floor(extract(epoch from ${auditLogs.createdAt}) / ${sql.raw(String(bucketSeconds))}) * ${sql.raw(String(bucketSeconds))})::double precision`;
      const [totals, series, byTool, byServer, recentErrors] = await Promise.all([
        reader.select(stats).from(auditLogs).where(where),
        reader
          .select({ t: bucket, calls: stats.calls, errors: stats.errors, p95: stats.p95 })
          .from(auditLogs)
          .where(where)
          .groupBy(sql`1`)
          .orderBy(sql`1`),
        reader
          .select({ tool: meta("tool"), server: meta("server"), ...stats })
          .from(auditLogs)
          .where(where)
          .groupBy(sql`1`, sql`2`)
          .orderBy(sql`3 desc`, sql`1`)
          .limit(50),
        reader
          .select({ server: meta("server"), ...stats })
          .from(auditLogs)
          .where(where)
          .groupBy(sql`1`)
          .orderBy(sql`1`),
        reader
          .select({
            seq: auditLogs.seq,
            tool: meta("tool"),
            error: meta("error"),
            createdAt: auditLogs.createdAt,
          })
          .from(auditLogs)
          .where(and(where, failed))
          .orderBy(desc(auditLogs.seq))
          .limit(10),
      ]);
      return {
        from: from.toISOString(),
        to: to.toISOString(),
        bucketSeconds,
        totals: tidy(totals[0] ?? { calls: 0, errors: 0, p50: null, p95: null }),
        series: series.map((p) => ({
          t: Number(p.t),
          calls: Number(p.calls),
          errors: Number(p.errors),
          p95: round(p.p95),
        })),
        byTool: byTool.map((row) => tidy({ ...row, tool: row.tool ?? "(unknown)" })),
        byServer: byServer.map(tidy),
        recentErrors: recentErrors.map((row) => ({
          seq: row.seq,
          tool: row.tool ?? "(unknown)",
          error: row.error,
          createdAt: row.createdAt.toISOString(),
        })),
      };
    },
    {
      permission: "audit:read",
      query: UsageQuery,
      response: { 200: Usage, 422: ApiError },
      detail: { tags: ["usage"], summary: "Tool-call aggregates over a time range (from the audit log)" },
    },
  );
}
