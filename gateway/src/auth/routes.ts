import { AuditListQuery, CreateApiKeyInput, type MemberDto, UpdateMemberInput } from "@omni/contracts";
import { createRepositories, type Database, type Membership, type User } from "@omni/db";
import { Elysia } from "elysia";
import type { AuditLog } from "../audit/index.ts";
import { auditActor } from "../audit/index.ts";
import type { Authenticator, Caller } from "../ports.ts";
import { apiError } from "../security/errors.ts";
import { requestHygiene } from "../security/plugin.ts";
import type { RateLimiter } from "../security/rate-limit.ts";
import { createApiKey, revokeApiKey, toApiKeyDto } from "./api-keys.ts";
import { authGuard } from "./guard.ts";
import type { AuthState } from "./state.ts";

/**
 * Admin API for API keys, members and the audit log, under `/api`. Every query is scoped by the caller's
 * organization: another org's ids are simply not found (404), never read or changed.
 */
export interface AdminAuthDeps {
  db: Database;
  authenticator: Authenticator;
  audit: AuditLog;
  state: AuthState;
  rateLimiter?: RateLimiter;
  publicUrl?: string;
}

function toMemberDto(m: Membership & { user: User }): MemberDto {
  return {
    id: m.id,
    userId: m.userId,
    email: m.user.email,
    name: m.user.name,
    role: m.role,
    permissions: m.permissions,
    createdAt: m.createdAt.toISOString(),
  };
}

const notFound = (what: string, id: string) =>
  apiError("not_found", `No ${what} with id "${id.slice(0, 100)}" in this organization.`);

export function adminAuthRoutes(deps: AdminAuthDeps) {
  const repos = createRepositories(deps.db);
  const actor = (auth: Caller) => auditActor(auth.org, auth.credentialId);

  async function findMember(orgId: string, membershipId: string) {
    return (await repos.memberships.list(orgId)).find((m) => m.id === membershipId) ?? null;
  }

  return new Elysia({ prefix: "/api" })
    .use(requestHygiene())
    .use(authGuard(deps))
    .get("/keys", async ({ auth }) => (await repos.apiKeys.list(auth.org.orgId)).map(toApiKeyDto), {
      permission: "keys:read",
    })
    .post(
      "/keys",
      async ({ auth, body, status }) => {
        const missing = body.scopes.filter((s) => !auth.org.permissions.includes(s));
        if (missing.length) {
          return status(
            403,
            apiError("scope_not_held", `A key cannot have scopes its creator lacks: ${missing.join(", ")}.`, {
              scopes: missing,
            }),
          );
        }
        if (body.expiresAt && new Date(body.expiresAt).getTime() <= Date.now()) {
          return status(422, apiError("invalid_expiry", "expiresAt must be in the future."));
        }
        const { row, secret } = await createApiKey(repos, auth.org.orgId, auth.org.userId, body);
        const key = toApiKeyDto(row);
        await deps.audit.record({
          orgId: auth.org.orgId,
          actor: actor(auth),
          action: "api_key.create",
          target: { type: "api_key", id: row.id },
          after: key,
          metadata: { requestId: auth.org.requestId },
        });
        return status(201, { key, secret });
      },
      { permission: "keys:write", body: CreateApiKeyInput },
    )
    .delete(
      "/keys/:id",
      async ({ auth, params, status }) => {
        const result = await revokeApiKey(repos, auth.org.orgId, params.id);
        if (!result) return status(404, notFound("API key", params.id));
        await deps.state.bump(auth.org.orgId);
        const before = toApiKeyDto(result.before);
        const after = toApiKeyDto(result.after);
        if (before.revokedAt === null) {
          await deps.audit.record({
            orgId: auth.org.orgId,
            actor: actor(auth),
            action: "api_key.revoke",
            target: { type: "api_key", id: params.id },
            before,
            after,
            metadata: { requestId: auth.org.requestId },
          });
        }
        return after;
      },
      { permission: "keys:write" },
    )
    .get("/members", async ({ auth }) => (await repos.memberships.list(auth.org.orgId)).map(toMemberDto), {
      permission: "members:read",
    })
    .patch(
      "/members/:id",
      async ({ auth, params, body, status }) => {
        const member = await findMember(auth.org.orgId, params.id);
        if (!member) return status(404, notFound("member", params.id));
        // The last-owner rule under concurrency: the owners' rows stay locked until the change commits.
        const updated = await repos.transaction(async (tx) => {
          if (body.role !== "owner") {
            const owners = await tx.memberships.lockOwners(auth.org.orgId);
            if (owners.some((o) => o.id === member.id) && owners.length <= 1) return "last_owner" as const;
          }
          return tx.memberships.update(auth.org.orgId, member.userId, { role: body.role });
        });
        if (updated === "last_owner") {
          return status(
            409,
            apiError("last_owner", "An organization needs an owner: make someone else owner first."),
          );
        }
        if (!updated) return status(404, notFound("member", params.id));
        await deps.state.bump(auth.org.orgId);
        const after = toMemberDto({ ...updated, user: member.user });
        await deps.audit.record({
          orgId: auth.org.orgId,
          actor: actor(auth),
          action: "member.update",
          target: { type: "member", id: member.id },
          before: toMemberDto(member),
          after,
          metadata: { requestId: auth.org.requestId },
        });
        return after;
      },
      { permission: "members:write", body: UpdateMemberInput },
    )
    .delete(
      "/members/:id",
      async ({ auth, params, status }) => {
        const member = await findMember(auth.org.orgId, params.id);
        if (!member) return status(404, notFound("member", params.id));
        const removed = await repos.transaction(async (tx) => {
          const owners = await tx.memberships.lockOwners(auth.org.orgId);
          if (owners.some((o) => o.id === member.id) && owners.length <= 1) return "last_owner" as const;
          return tx.memberships.remove(auth.org.orgId, member.userId);
        });
        if (removed === "last_owner") {
          return status(409, apiError("last_owner", "The last owner cannot be removed."));
        }
        if (!removed) return status(404, notFound("member", params.id));
        await deps.state.bump(auth.org.orgId);
        await deps.audit.record({
          orgId: auth.org.orgId,
          actor: actor(auth),
          action: "member.remove",
          target: { type: "member", id: member.id },
          before: toMemberDto(member),
          after: null,
          metadata: { requestId: auth.org.requestId },
        });
        return { removed: true as const, id: member.id };
      },
      { permission: "members:write" },
    )
    .get(
      "/audit",
      ({ auth, query }) =>
        deps.audit.list(auth.org.orgId, {
          ...(query.limit !== undefined ? { limit: query.limit } : {}),
          ...(query.before !== undefined ? { before: query.before } : {}),
          ...(query.action ? { action: query.action } : {}),
        }),
      { permission: "audit:read", query: AuditListQuery },
    )
    .get("/audit/verify", ({ auth }) => deps.audit.verify(auth.org.orgId), { permission: "audit:read" });
}
