import type { OrgContext, Permission } from "@omni/contracts";
import { Elysia } from "elysia";
import { type Authenticator, authenticateOnce, type Caller } from "../ports.ts";
import { apiError } from "../security/errors.ts";
import { requestIdOf } from "../security/plugin.ts";
import { type RateLimiter, rateLimitHeaders } from "../security/rate-limit.ts";
import { baseUrl, wwwAuthenticate } from "./discovery.ts";
import { hasPermission } from "./permissions.ts";

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
 * the caller's org context, or a refusal (401/403, 503 when a dependency is down, 429 over the rate
 * limit) naming the reason. Pass `server` to allow dev mode.
 */
export function createOrgResolver(deps: { authenticator: Authenticator; rateLimiter?: RateLimiter }) {
  return async ({
    request,
    server,
  }: {
    request: Request;
    server?: ServerLike | null;
  }): Promise<(OrgContext & Pick<Caller, "credentialId">) | OrgRefusal> => {
    const outcome = await authenticateOnce(deps.authenticator, request, {
      loopback: isLoopback(server, request),
    });
    if (!outcome.ok) return { status: outcome.status, code: outcome.reason, message: outcome.message };
    const limited = await rateLimited(deps.rateLimiter, outcome);
    if (limited) return limited;
    // The credential (API key id) rides along so audit rows name the key, not `system`.
    return {
      ...outcome.org,
      requestId: requestIdOf(request),
      ...(outcome.credentialId ? { credentialId: outcome.credentialId } : {}),
    };
  };
}

/** Why a request may not go on: its status, code and message (the one API error shape). */
export interface OrgRefusal {
  status: 401 | 403 | 429 | 503;
  code: string;
  message: string;
  headers?: Record<string, string>;
}

/** One request taken from the caller's rate-limit buckets: the refusal when over (or Redis down), else null. */
async function rateLimited(
  rateLimiter: RateLimiter | undefined,
  outcome: Caller,
  set?: { headers: Record<string, string | number> },
): Promise<OrgRefusal | null> {
  if (!rateLimiter) return null;
  let decision: Awaited<ReturnType<RateLimiter["consume"]>>;
  try {
    decision = await rateLimiter.consume({
      orgId: outcome.org.orgId,
      keyId: outcome.org.via === "api_key" ? (outcome.credentialId ?? null) : null,
    });
  } catch {
    return {
      status: 503,
      code: "dependency_unavailable",
      message: "The rate limit could not be checked: Redis is unavailable; retry shortly.",
    };
  }
  const headers = rateLimitHeaders(decision);
  if (set) for (const [k, value] of Object.entries(headers)) set.headers[k] = value;
  if (decision.allowed) return null;
  return {
    status: 429,
    code: "rate_limited",
    message: `Rate limit exceeded; retry in ${decision.retryAfterSeconds}s.`,
    headers,
  };
}

/** What a guarded route needs: a permission, or `"member"` (any member of the org, e.g. their own credentials). */
export type RouteNeed = Permission | "member";

/** Resolves a guarded request's caller for a need: its `auth` (with the request's org context), or why it may not go on. */
export type CallerResolver = (
  ctx: { request: Request; server: ServerLike | null; set: { headers: Record<string, string | number> } },
  needed: RouteNeed,
) => Promise<Caller<OrgContext> | (OrgRefusal & { details?: Record<string, unknown> })>;

/**
 * The route guard macro every `/api` route uses: `{ permission: "admin:write" }` (or `"member"`) on a route
 * resolves `auth` ({org, credentialId}) through `resolveCaller`, or answers its refusal in the one API
 * error shape `{error: {code, message, details?}}` with the refusal's headers.
 */
export function guardMacro(resolveCaller: CallerResolver) {
  return new Elysia().macro({
    permission: (needed: RouteNeed) => ({
      async resolve({ request, server, status, set }) {
        const resolved = await resolveCaller({ request, server, set }, needed);
        if ("org" in resolved) return { auth: resolved };
        for (const [name, value] of Object.entries(resolved.headers ?? {})) set.headers[name] = value;
        const body = apiError(resolved.code, resolved.message, resolved.details);
        switch (resolved.status) {
          case 401:
            return status(401, body);
          case 403:
            return status(403, body);
          case 429:
            return status(429, body);
          default:
            return status(503, body);
        }
      },
    }),
  });
}

/**
 * Route guards for Elysia: `{ permission: "admin:write" }` on a route (or a `guard`) authenticates the
 * request, checks the permission, applies the rate limits, and resolves `auth` ({org, credentialId}).
 * 401 carries `WWW-Authenticate` pointing at the protected-resource metadata; 403 names the permission;
 * 429 carries `Retry-After`. Bodies are the one API error shape `{error: {code, message, details?}}`.
 *
 * ```ts
 * new Elysia().use(authGuard(deps)).get("/api/prompts", ({ auth }) => list(auth.org.orgId), {
 *   permission: "admin:read",
 * })
 * ```
 */
export function authGuard(deps: AuthGuardDeps) {
  return guardMacro(async ({ request, server, set }, needed) => {
    const outcome = await authenticateOnce(deps.authenticator, request, {
      loopback: isLoopback(server, request),
    });
    if (!outcome.ok) {
      set.headers["www-authenticate"] = wwwAuthenticate(baseUrl(request, deps.publicUrl), outcome);
      return {
        status: outcome.status === 401 || outcome.status === 403 ? outcome.status : 503,
        code: outcome.reason,
        message: outcome.message,
      };
    }
    if (needed !== "member" && !hasPermission(outcome.org.permissions, needed)) {
      return {
        status: 403,
        code: "forbidden",
        message: `This needs the "${needed}" permission, which your role or key does not have.`,
        details: { permission: needed },
      };
    }
    const limited = await rateLimited(deps.rateLimiter, outcome, set);
    if (limited) return { ...limited, headers: {} };
    return {
      org: { ...outcome.org, requestId: requestIdOf(request) },
      ...(outcome.credentialId ? { credentialId: outcome.credentialId } : {}),
      ...(outcome.expiresAt ? { expiresAt: outcome.expiresAt } : {}),
    };
  });
}
