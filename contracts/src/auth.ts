import * as v from "valibot";
import { Role } from "./context.ts";

/**
 * Every permission the gateway knows. Roles grant sets of them (gateway/src/auth/permissions.ts); API
 * keys carry a subset as scopes; Clerk custom permissions `org:<a>:<b>` map to `<a>:<b>`.
 */
export const PERMISSIONS = [
  "tools:call",
  "prompts:read",
  "resources:read",
  "admin:read",
  "admin:write",
  "keys:read",
  "keys:write",
  "audit:read",
  "members:read",
  "members:write",
  "org:settings",
] as const;
export const Permission = v.picklist(PERMISSIONS);
export type Permission = v.InferOutput<typeof Permission>;

const IsoDate = v.pipe(
  v.string(),
  v.isoTimestamp("expected an ISO 8601 timestamp, e.g. 2030-01-01T00:00:00Z"),
);

export const CreateApiKeyInput = v.object({
  name: v.pipe(v.string(), v.trim(), v.minLength(1, "name must not be empty"), v.maxLength(100)),
  scopes: v.pipe(v.array(Permission), v.minLength(1, "scopes must name at least one permission")),
  /** Optional expiry; must be in the future. */
  expiresAt: v.optional(v.nullable(IsoDate)),
});
export type CreateApiKeyInput = v.InferOutput<typeof CreateApiKeyInput>;

export const ApiKeyDto = v.object({
  id: v.string(),
  name: v.string(),
  /** Visible part, e.g. `omni_sk_ab12cd34`. */
  prefix: v.string(),
  scopes: v.array(v.string()),
  createdBy: v.nullable(v.string()),
  createdAt: v.string(),
  expiresAt: v.nullable(v.string()),
  lastUsedAt: v.nullable(v.string()),
  revokedAt: v.nullable(v.string()),
});
export type ApiKeyDto = v.InferOutput<typeof ApiKeyDto>;

/** The answer to creating a key: the only time `secret` (the whole key) is shown. */
export const CreatedApiKey = v.object({ key: ApiKeyDto, secret: v.string() });
export type CreatedApiKey = v.InferOutput<typeof CreatedApiKey>;

export const MemberDto = v.object({
  /** Membership id. */
  id: v.string(),
  userId: v.string(),
  email: v.string(),
  name: v.nullable(v.string()),
  role: Role,
  permissions: v.array(v.string()),
  createdAt: v.string(),
});
export type MemberDto = v.InferOutput<typeof MemberDto>;

export const UpdateMemberInput = v.object({ role: Role });
export type UpdateMemberInput = v.InferOutput<typeof UpdateMemberInput>;

export const AuditEntryDto = v.object({
  id: v.string(),
  seq: v.number(),
  actor: v.string(),
  actorType: v.picklist(["user", "api_key", "system"]),
  action: v.string(),
  targetType: v.nullable(v.string()),
  targetId: v.nullable(v.string()),
  before: v.unknown(),
  after: v.unknown(),
  metadata: v.record(v.string(), v.unknown()),
  createdAt: v.string(),
  prevHash: v.nullable(v.string()),
  hash: v.string(),
});
export type AuditEntryDto = v.InferOutput<typeof AuditEntryDto>;

/** `GET /api/audit` query: newest first, `before` pages by sequence number. */
export const AuditListQuery = v.object({
  limit: v.optional(
    v.pipe(v.string(), v.regex(/^\d{1,4}$/, "limit must be a whole number"), v.transform(Number)),
  ),
  before: v.optional(
    v.pipe(v.string(), v.regex(/^\d{1,15}$/, "before must be a sequence number"), v.transform(Number)),
  ),
  action: v.optional(v.string()),
});
export type AuditListQuery = v.InferOutput<typeof AuditListQuery>;

/**
 * Why a link of an org's audit chain is broken: a row edited (`hash_mismatch`), signed with a key not
 * configured (`unknown_key`) or re-hashed without the key (`unkeyed_hash`: a plain SHA-256 after keyed
 * rows); rows deleted or reordered (`seq_gap`, `prev_hash_mismatch`); the newest rows deleted
 * (`truncated`, `checkpoint_mismatch`: the chain ends before, or differs at, the signed checkpoint kept
 * outside the database), or a checkpoint whose signature does not verify (`checkpoint_invalid`).
 */
export const AuditBreakReason = v.picklist([
  "hash_mismatch",
  "prev_hash_mismatch",
  "seq_gap",
  "unknown_key",
  "unkeyed_hash",
  "truncated",
  "checkpoint_mismatch",
  "checkpoint_invalid",
]);
export type AuditBreakReason = v.InferOutput<typeof AuditBreakReason>;

export const AuditVerifyResult = v.object({
  ok: v.boolean(),
  /** Rows checked. */
  checked: v.number(),
  /** The first sequence number where the chain breaks (edited, deleted or reordered row), else null. */
  firstBadSeq: v.nullable(v.number()),
  /** The reason of the first break, else null. */
  reason: v.nullable(AuditBreakReason),
  /** Every broken link in sequence order (the first 1000; `totalBreaks` counts them all). */
  breaks: v.array(v.object({ seq: v.number(), reason: AuditBreakReason })),
  totalBreaks: v.number(),
  /** The signed chain head kept outside the database that truncation is checked against, if any. */
  checkpoint: v.nullable(v.object({ seq: v.number(), hash: v.string() })),
  /** Rows from before keyed chains (plain SHA-256), accepted only as the chain's oldest rows. */
  legacyRows: v.number(),
});
export type AuditVerifyResult = v.InferOutput<typeof AuditVerifyResult>;

/**
 * RFC 9728 protected-resource metadata, as the gateway serves it at
 * `/.well-known/oauth-protected-resource/mcp` and `/.well-known/oauth-protected-resource/mcp/o/<slug>`.
 */
export const ProtectedResourceMetadata = v.object({
  /** The MCP endpoint this document describes (the OAuth `resource`, the tokens' `aud`). */
  resource: v.string(),
  /** Clerk's issuer when Clerk is configured; empty otherwise (API keys and session tokens only). */
  authorization_servers: v.array(v.string()),
  bearer_methods_supported: v.array(v.string()),
  scopes_supported: v.array(v.string()),
  resource_name: v.string(),
});
export type ProtectedResourceMetadata = v.InferOutput<typeof ProtectedResourceMetadata>;

/** Where a gateway serves the metadata of its MCP endpoint (`/mcp`), or of one organization's (`/mcp/o/<slug>`). */
export function protectedResourceMetadataUrl(gatewayUrl: string, orgSlug?: string): string {
  const base = gatewayUrl.replace(/\/+$/, "");
  return `${base}/.well-known/oauth-protected-resource/mcp${orgSlug ? `/o/${encodeURIComponent(orgSlug)}` : ""}`;
}

/**
 * The URL to offer for "sign in with OAuth" (Claude's "Add custom connector", `claude mcp add --transport
 * http <url>`, VS Code, Cursor): the metadata's `resource` when an authorization server is configured,
 * else null (the client then needs an API key header). For the admin Connect page and `omni client-config`:
 * fetch `protectedResourceMetadataUrl(gateway, slug?)` (no credentials needed) and pass the body.
 */
export function oauthConnectUrl(metadata: unknown): string | null {
  const parsed = v.safeParse(ProtectedResourceMetadata, metadata);
  if (!parsed.success || parsed.output.authorization_servers.length === 0) return null;
  return parsed.output.resource;
}
