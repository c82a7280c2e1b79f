import { ApiError, AuthConfig, CreatedApiKey, Me, PERMISSIONS } from "@omni/contracts";
import { createRepositories, DEMO_ORG_ID, DEMO_USER_ID, type Organization } from "@omni/db";
import { Elysia } from "elysia";
import { auditActor } from "../audit/index.ts";
import { createApiKey, toApiKeyDto } from "../auth/api-keys.ts";
import { isLoopback } from "../auth/guard.ts";
import { apiError } from "../security/errors.ts";
import type { DashboardDeps } from "./deps.ts";

const summary = (org: Organization) => ({ id: org.id, slug: org.slug, name: org.name });

/** How long the key minted by the development-mode sign-in lives. */
const DEV_KEY_TTL_MS = 12 * 60 * 60_000;

/**
 * Who is signing in and how:
 *
 *   GET  /api/auth-config    public: development mode? Clerk publishable key?
 *   GET  /api/me             the caller: org, role, permissions, user, key, memberships
 *   POST /api/dev/sign-in    development mode, loopback only: a 12-hour owner key of the demo org
 */
export function meRoutes(deps: DashboardDeps) {
  const repos = createRepositories(deps.db);
  return new Elysia({ name: "omni-admin-me", prefix: "/api" })
    .get(
      "/auth-config",
      () => ({ devMode: deps.devMode ?? false, clerkPublishableKey: deps.clerkPublishableKey ?? null }),
      {
        response: { 200: AuthConfig },
        detail: { tags: ["session"], summary: "Sign-in methods this deployment offers (no credentials)" },
      },
    )
    .get(
      "/me",
      async ({ request, server, status }) => {
        const outcome = await deps.auth.authenticator.authenticate(request.headers, {
          loopback: isLoopback(server, request),
        });
        if (!outcome.ok) {
          const body = apiError(outcome.reason, outcome.message);
          return outcome.status === 401 ? status(401, body) : status(403, body);
        }
        const { org: caller } = outcome;
        const org = await repos.organizations.get(caller.orgId);
        if (!org) return status(404, apiError("not_found", "Your organization no longer exists."));
        const user = caller.userId ? await repos.users.get(caller.userId) : null;
        const key =
          caller.via === "api_key" && outcome.credentialId
            ? await repos.apiKeys.get(caller.orgId, outcome.credentialId)
            : null;
        const memberships = user
          ? (await repos.memberships.listForUser(user.id)).map((m) => ({
              org: summary(m.organization),
              role: m.role,
            }))
          : [{ org: summary(org), role: caller.role }];
        return {
          org: summary(org),
          role: caller.role,
          permissions: caller.permissions,
          via: caller.via,
          user: user ? { id: user.id, email: user.email, name: user.name } : null,
          key: key ? { id: key.id, name: key.name, prefix: key.prefix } : null,
          memberships,
        };
      },
      {
        response: { 200: Me, 401: ApiError, 403: ApiError, 404: ApiError },
        detail: {
          tags: ["session"],
          summary: "The signed-in caller, their role, permissions and organizations",
        },
      },
    )
    .post(
      "/dev/sign-in",
      async ({ request, server, status }) => {
        if (!deps.devMode || !isLoopback(server, request)) {
          return status(
            404,
            apiError(
              "not_found",
              "Development-mode sign-in exists only in local development mode, for loopback callers.",
            ),
          );
        }
        const { row, secret } = await createApiKey(repos, DEMO_ORG_ID, DEMO_USER_ID, {
          name: "dashboard (local development mode)",
          scopes: [...PERMISSIONS],
          expiresAt: new Date(Date.now() + DEV_KEY_TTL_MS).toISOString(),
        });
        const key = toApiKeyDto(row);
        await deps.auth.audit.record({
          orgId: DEMO_ORG_ID,
          actor: auditActor({ userId: DEMO_USER_ID, via: "dev" }),
          action: "api_key.create",
          target: { type: "api_key", id: row.id },
          after: key,
          metadata: { reason: "development-mode dashboard sign-in" },
        });
        return status(201, { key, secret });
      },
      {
        response: { 201: CreatedApiKey, 404: ApiError },
        detail: {
          tags: ["session"],
          summary: "Local development mode only: a 12-hour owner key of the demo organization",
        },
      },
    );
}
