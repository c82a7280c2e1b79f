import * as v from "valibot";
import { OrgContext, Role } from "./context.ts";

/**
 * The admin API routes the dashboard (`admin/`) and the CLI read besides the config and auth routes:
 * who is signed in, servers and their instances, live MCP sessions, usage aggregates from the audit log,
 * organization settings, and how the dashboard signs in.
 */

const IsoDate = v.pipe(
  v.string(),
  v.isoTimestamp("expected an ISO 8601 timestamp, e.g. 2030-01-01T00:00:00Z"),
);

/** `GET /api/auth-config` (public): which sign-in methods this deployment offers. */
export const AuthConfig = v.object({
  /** Local development mode: the dashboard may sign in as the demo organization (loopback only). */
  devMode: v.boolean(),
  /** Clerk publishable key (`pk_...`) when Clerk sign-in is configured, else null. */
  clerkPublishableKey: v.nullable(v.string()),
});
export type AuthConfig = v.InferOutput<typeof AuthConfig>;

export const OrgSummary = v.object({ id: v.string(), slug: v.string(), name: v.string() });
export type OrgSummary = v.InferOutput<typeof OrgSummary>;

/** `GET /api/me`: the caller, their organization, role and permissions, and their other memberships. */
export const Me = v.object({
  org: OrgSummary,
  role: Role,
  permissions: v.array(v.string()),
  via: OrgContext.entries.via,
  user: v.nullable(v.object({ id: v.string(), email: v.string(), name: v.nullable(v.string()) })),
  /** The API key used (for `via: "api_key"`). */
  key: v.nullable(v.object({ id: v.string(), name: v.string(), prefix: v.string() })),
  /** Every organization the user belongs to (just this one for an API key: keys are org-bound). */
  memberships: v.array(v.object({ org: OrgSummary, role: Role })),
});
export type Me = v.InferOutput<typeof Me>;

export const InstanceStatusDto = v.object({
  url: v.string(),
  healthy: v.boolean(),
  /** Requests in flight on this replica's connection to it. */
  outstanding: v.number(),
  lastError: v.nullable(v.string()),
  lastCheckedAt: v.nullable(v.string()),
  version: v.nullable(v.string()),
});
export type InstanceStatusDto = v.InferOutput<typeof InstanceStatusDto>;

/** `GET /api/servers`: the catalogue with this org's enablement and every instance's health. */
export const ServerStatus = v.object({
  name: v.string(),
  title: v.string(),
  description: v.string(),
  /** Enabled for the caller's organization. */
  enabled: v.boolean(),
  health: v.picklist(["healthy", "degraded", "down", "unconfigured"]),
  instances: v.array(InstanceStatusDto),
  tools: v.number(),
  prompts: v.number(),
});
export type ServerStatus = v.InferOutput<typeof ServerStatus>;
export const ServerStatusList = v.object({ servers: v.array(ServerStatus) });
export type ServerStatusList = v.InferOutput<typeof ServerStatusList>;

/** A live 2025-era MCP session of the caller's organization (on the replica that answers). */
export const McpSessionDto = v.object({
  id: v.string(),
  clientName: v.nullable(v.string()),
  clientVersion: v.nullable(v.string()),
  protocolVersion: v.string(),
  era: v.literal("2025"),
  /** How it authenticated: `api_key` with the key id, `user` with the user id, or `dev`. */
  credential: v.object({ type: v.picklist(["api_key", "user", "dev", "local"]), id: v.nullable(v.string()) }),
  createdAt: v.string(),
  lastSeenAt: v.string(),
  inflight: v.number(),
  /** A GET stream or WebSocket is open. */
  streaming: v.boolean(),
});
export type McpSessionDto = v.InferOutput<typeof McpSessionDto>;
export const McpSessionList = v.object({ sessions: v.array(McpSessionDto) });
export type McpSessionList = v.InferOutput<typeof McpSessionList>;

/** `GET /api/usage` query: a time range (default the last 24 hours, at most 31 days). */
export const UsageQuery = v.object({
  from: v.optional(IsoDate),
  to: v.optional(IsoDate),
});
export type UsageQuery = v.InferOutput<typeof UsageQuery>;

export const UsageStats = v.object({
  calls: v.number(),
  errors: v.number(),
  /** Latency percentiles in milliseconds (null without calls). */
  p50: v.nullable(v.number()),
  p95: v.nullable(v.number()),
});
export type UsageStats = v.InferOutput<typeof UsageStats>;

/** Tool-call aggregates of the org from the audit log (`tool.call` rows). */
export const Usage = v.object({
  from: v.string(),
  to: v.string(),
  bucketSeconds: v.number(),
  totals: UsageStats,
  /** One point per bucket with calls (epoch seconds at the bucket's start). */
  series: v.array(
    v.object({ t: v.number(), calls: v.number(), errors: v.number(), p95: v.nullable(v.number()) }),
  ),
  byTool: v.array(v.object({ tool: v.string(), server: v.nullable(v.string()), ...UsageStats.entries })),
  byServer: v.array(v.object({ server: v.nullable(v.string()), ...UsageStats.entries })),
  recentErrors: v.array(
    v.object({ seq: v.number(), tool: v.string(), error: v.nullable(v.string()), createdAt: v.string() }),
  ),
});
export type Usage = v.InferOutput<typeof Usage>;

/** Organization settings (`GET /api/settings`; `PATCH` needs `org:settings`). */
export const OrgSettings = v.object({
  name: v.string(),
  slug: v.string(),
  /** Record tool-call arguments (redacted) in the audit log. */
  auditArguments: v.boolean(),
});
export type OrgSettings = v.InferOutput<typeof OrgSettings>;

export const UpdateOrgSettingsBody = v.object({
  name: v.optional(v.pipe(v.string(), v.trim(), v.minLength(1, "name must not be empty"), v.maxLength(200))),
  auditArguments: v.optional(v.boolean()),
});
export type UpdateOrgSettingsBody = v.InferOutput<typeof UpdateOrgSettingsBody>;

/** `GET /api/audit/search`: the audit log filtered by actor, action, target and date, newest first. */
export const AuditSearchQuery = v.object({
  actor: v.optional(v.pipe(v.string(), v.maxLength(200))),
  /** Exact action (`prompt.update`) or a prefix ending in a dot (`prompt.`). */
  action: v.optional(v.pipe(v.string(), v.maxLength(200))),
  /** Target id, or `type:id`. */
  target: v.optional(v.pipe(v.string(), v.maxLength(300))),
  from: v.optional(IsoDate),
  to: v.optional(IsoDate),
  before: v.optional(
    v.pipe(v.string(), v.regex(/^\d{1,15}$/, "before must be a sequence number"), v.transform(Number)),
  ),
  limit: v.optional(
    v.pipe(v.string(), v.regex(/^\d{1,3}$/, "limit must be a whole number up to 999"), v.transform(Number)),
  ),
});
export type AuditSearchQuery = v.InferOutput<typeof AuditSearchQuery>;
