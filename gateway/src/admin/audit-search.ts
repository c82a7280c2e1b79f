import { AuditEntryDto, AuditSearchQuery } from "@omni/contracts";
import { schema } from "@omni/db";
import { and, desc, eq, gte, like, lt, or, type SQL } from "drizzle-orm";
import { Elysia } from "elysia";
import * as v from "valibot";
import { toAuditDto } from "../audit/index.ts";
import type { DashboardDeps } from "./deps.ts";

const { auditLogs } = schema;
const escapeLike = (value: string) => value.replace(/[\\%_]/g, (c) => `\\${c}`);

/**
 *   GET /api/audit/search?actor=&action=&target=&from=&to=&before=&limit=
 *
 * The org's audit log filtered, newest first: `action` is exact or a prefix ending in a dot
 * (`prompt.`); `target` is a target id or `type:id`; `before` pages by sequence number.
 */
export function auditSearchRoutes(deps: DashboardDeps) {
  return new Elysia({ name: "omni-admin-audit-search", prefix: "/api" }).use(deps.auth.guard).get(
    "/audit/search",
    async ({ auth, query }) => {
      const conditions: (SQL | undefined)[] = [eq(auditLogs.organizationId, auth.org.orgId)];
      if (query.actor) conditions.push(eq(auditLogs.actor, query.actor));
      if (query.action) {
        conditions.push(
          query.action.endsWith(".")
            ? like(auditLogs.action, `${escapeLike(query.action)}%`)
            : eq(auditLogs.action, query.action),
        );
      }
      if (query.target) {
        const colon = query.target.indexOf(":");
        conditions.push(
          colon > 0
            ? and(
                eq(auditLogs.targetType, query.target.slice(0, colon)),
                eq(auditLogs.targetId, query.target.slice(colon + 1)),
              )
            : or(eq(auditLogs.targetId, query.target), eq(auditLogs.targetType, query.target)),
        );
      }
      if (query.from) conditions.push(gte(auditLogs.createdAt, new Date(query.from)));
      if (query.to) conditions.push(lt(auditLogs.createdAt, new Date(query.to)));
      if (query.before !== undefined) conditions.push(lt(auditLogs.seq, query.before));
      const rows = await (deps.readDb ?? deps.db)
        .select()
        .from(auditLogs)
        .where(and(...conditions))
        .orderBy(desc(auditLogs.seq))
        .limit(Math.min(Math.max(query.limit ?? 50, 1), 500));
      return { entries: rows.map(toAuditDto) };
    },
    {
      permission: "audit:read",
      query: AuditSearchQuery,
      response: { 200: v.object({ entries: v.array(AuditEntryDto) }) },
      detail: { tags: ["audit"], summary: "Search the audit log by actor, action, target and date" },
    },
  );
}
