import * as v from "valibot";

export const Role = v.picklist(["owner", "admin", "member"]);
export type Role = v.InferOutput<typeof Role>;

/**
 * Who is calling, for which organization. Built by the gateway from a Clerk session token, an OAuth
 * access token (`oauth`), an API key or the local development mode, and passed to every domain server call.
 */
export const OrgContext = v.object({
  orgId: v.string(),
  orgSlug: v.optional(v.string()),
  userId: v.nullable(v.string()),
  role: Role,
  /** Fine-grained permissions or API key scopes, e.g. `tools:call`, `prompts:read`, `admin:write`. */
  permissions: v.array(v.string()),
  via: v.picklist(["clerk", "oauth", "api_key", "dev", "local"]),
  requestId: v.string(),
});
export type OrgContext = v.InferOutput<typeof OrgContext>;

/**
 * A service's configuration for one call: the org's non-secret settings and the decrypted credentials
 * (the member's own credential when set, else the organization's). Never logged, never returned.
 */
export const ServiceConfig = v.object({
  settings: v.record(v.string(), v.unknown()),
  credentials: v.record(v.string(), v.string()),
});
export type ServiceConfig = v.InferOutput<typeof ServiceConfig>;
