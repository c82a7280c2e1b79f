import type { AuthErrorBody, OrgContext, Permission } from "@omni/contracts";
import { Elysia } from "elysia";
import type { Authenticator } from "../ports.ts";
import { requestIdOf } from "../security/plugin.ts";
import { type RateLimiter, rateLimitHeaders } from "../security/rate-limit.ts";
import { baseUrl, wwwAuthenticate } from "./discovery.ts";
import { hasPermission } from "./permissions.ts";

/** What a guarded route gets in its context as `auth`. */
export interface RequestAuth {
  org: OrgContext;
  /** API key id or membership id. */
  credentialId?: string;
  expiresAt?: number;
}

export interface AuthGuardDeps {
  authenticator: Authenticator;
  /** Applied to every guarded request after authentication (per key and per org). */
  rateLimiter?: RateLimiter;
  /** Public base URL for the `WWW-Authenticate` challenge (default: the request's origin). */
  publicUrl?: string;
}

interface ServerLike {
  requestIP(request: Request): { address: string } | null;
}

/** Whether the peer is on the loopback interface (dev mode is only ever granted there). */
export function isLoopback(server: ServerLike | null | undefined, request: Request): boolean {
  const address = server?.requestIP(request)?.address;
  if (!address) return false;
  return address === "::1" || address.startsWith("127.") || address.startsWith("::ffff:127.");
}

/**
 * The org resolver for routes that do their own authorization (the config admin API's `resolveOrg`):
 * the caller's org context, or a 401/403 refusal naming the reason. Pass `server` to allow dev mode.
 */
export function createOrgResolver(deps: { authenticator: Authenticator }) {
  return async ({
    request,
    server,
  }: {
    request: Request;
    server?: ServerLike | null;
  }): Promise<(OrgContext & { credentialId?: string }) | { status: 401 | 403; message: string }> => {
    const outcome = await deps.authenticator.authenticate(request.headers, {
      loopback: isLoopback(server, request),
    });
    if (!outcome.ok) return { status: outcome.status, message: `${outcome.message} (${outcome.reason})` };
    // The credential (API key id) rides along so audit rows name the key, not `system`.
    return {
      ...outcome.org,
      requestId: requestIdOf(request),
      ...(outcome.credentialId ? { credentialId: outcome.credentialId } : {}),
    };
  };
}

/**
 * Route guards for Elysia: `{ permission: "admin:write" }` on a route (or a `guard`) authenticates the
 * request, checks the permission, applies the rate limits, and resolves `auth` ({org, credentialId}).
 * 401 carries `WWW-Authenticate` pointing at the protected-resource metadata; 403 names the permission;
 * 429 carries `Retry-After`. Bodies are `{error, message}`.
 *
 * ```ts
 * new Elysia().use(authGuard(deps)).get("/api/prompts", ({ auth }) => list(auth.org.orgId), {
 *   permission: "admin:read",
 * })
 * ```
 */
export function authGuard(deps: AuthGuardDeps) {
  return new Elysia().macro({
    permission: (needed: Permission) => ({
      async resolve({ request, server, status, set }) {
        const outcome = await deps.authenticator.authenticate(request.headers, {
          loopback: isLoopback(server, request),
        });
        if (!outcome.ok) {
          set.headers["www-authenticate"] = wwwAuthenticate(baseUrl(request, deps.publicUrl), outcome);
          const body: AuthErrorBody = { error: outcome.reason, message: outcome.message };
          return outcome.status === 401 ? status(401, body) : status(403, body);
        }
        if (!hasPermission(outcome.org.permissions, needed)) {
          const body: AuthErrorBody = {
            error: "forbidden",
            message: `This needs the "${needed}" permission, which your role or key does not have.`,
          };
          return status(403, body);
        }
        if (deps.rateLimiter) {
          const decision = await deps.rateLimiter.consume({
            orgId: outcome.org.orgId,
            keyId: outcome.org.via === "api_key" ? outcome.credentialId : null,
          });
          for (const [k, value] of Object.entries(rateLimitHeaders(decision))) set.headers[k] = value;
          if (!decision.allowed) {
            const body: AuthErrorBody = {
              error: "rate_limited",
              message: `Rate limit exceeded; retry in ${decision.retryAfterSeconds}s.`,
            };
            return status(429, body);
          }
        }
        const auth: RequestAuth = {
          org: { ...outcome.org, requestId: requestIdOf(request) },
          ...(outcome.credentialId ? { credentialId: outcome.credentialId } : {}),
          ...(outcome.expiresAt ? { expiresAt: outcome.expiresAt } : {}),
        };
        return { auth };
      },
    }),
  });
}
