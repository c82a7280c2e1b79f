import { ErrorCode, type Permission, type RequestId } from "@omni/contracts";
import type { AuditLog } from "../audit/index.ts";
import { auditWriteFailures } from "../observability/metrics.ts";
import type { Caller, McpAccess } from "../ports.ts";
import { pathOf } from "../security/checks.ts";
import { createLogger, type Logger } from "../security/log.ts";
import type { RateLimiter } from "../security/rate-limit.ts";
import { authErrorResponse, baseUrl, mcpResourcePath } from "./discovery.ts";
import { hasPermission, MCP_SCOPES, permissionForMcpMethod } from "./permissions.ts";

/**
 * List methods a caller without their permission gets an empty list from (instead of an error): MCP
 * clients list everything the server advertises right after `initialize`, so refusing would break a
 * narrowly scoped key (e.g. `tools:call` only) on connect. An empty list reveals nothing either.
 */
const EMPTY_LISTS: Record<string, Record<string, unknown>> = {
  "tools/list": { tools: [] },
  "prompts/list": { prompts: [] },
  "resources/list": { resources: [] },
  "resources/templates/list": { resourceTemplates: [] },
};

export interface McpAccessDeps {
  rateLimiter: RateLimiter;
  audit: AuditLog;
  publicUrl?: string;
  logger?: Pick<Logger, "error">;
}

/** The permission check of one MCP method (see `McpAccess.authorize`). */
export function authorizeMcpMethod(org: Caller["org"], method: string): ReturnType<McpAccess["authorize"]> {
  const needed = permissionForMcpMethod(method);
  if (needed === null || hasPermission(org.permissions, needed)) return { kind: "allow" };
  const empty = Object.hasOwn(EMPTY_LISTS, method) ? EMPTY_LISTS[method] : undefined;
  if (empty) return { kind: "empty", result: structuredClone(empty) };
  return {
    kind: "refuse",
    error: {
      code: ErrorCode.Unauthorized,
      message: `Forbidden: ${method} needs the permission ${needed}, which this ${org.via === "api_key" ? "API key" : org.via === "oauth" ? "OAuth token" : "member"} does not have`,
      data: { reason: "missing_permission", permission: needed, method },
    },
  };
}

/** Authorization, rate limits and audit for the MCP endpoint (HTTP, both eras, and WebSocket). */
export function createMcpAccess(deps: McpAccessDeps): McpAccess {
  return {
    authorize: authorizeMcpMethod,
    async consume(auth) {
      const decision = await deps.rateLimiter.consume({
        orgId: auth.org.orgId,
        keyId: auth.org.via === "api_key" ? (auth.credentialId ?? null) : null,
      });
      if (decision.allowed) return { allowed: true };
      const what = decision.scope === "key" ? "API key" : "organization";
      return {
        allowed: false,
        retryAfterSeconds: decision.retryAfterSeconds,
        error: {
          code: ErrorCode.RateLimited,
          message: `Rate limit exceeded for this ${what} (${decision.limit} requests per window); retry in ${decision.retryAfterSeconds}s.`,
          data: { retryAfterSeconds: decision.retryAfterSeconds, scope: decision.scope },
        },
      };
    },
    async recordToolCall(call) {
      try {
        await deps.audit.recordToolCall(call);
      } catch (error) {
        auditWriteFailures.inc({ kind: "tool_call" });
        (deps.logger ?? createLogger()).error(
          `[audit] tool.call of ${call.tool} for org ${call.org.orgId} not recorded: ${String(error)}`,
        );
      }
    },
    unauthorized: (failure, request) =>
      authErrorResponse(failure, baseUrl(request, deps.publicUrl), {
        id: null,
        resourcePath: mcpResourcePath(pathOf(request)) ?? "/mcp",
        // SEP-835: the scopes to ask the authorization server for (MCP's, not the admin API's).
        scope: MCP_SCOPES.join(" "),
      }),
    stepUp: (auth, body, request) => stepUpResponse(auth, body, request, deps.publicUrl),
  };
}

/** The JSON-RPC requests of a parsed POST body (one message or a batch). */
function requestsOf(body: unknown): { id: RequestId | null; method: string }[] {
  const out: { id: RequestId | null; method: string }[] = [];
  for (const message of Array.isArray(body) ? body : [body]) {
    if (!message || typeof message !== "object" || !("method" in message)) continue;
    if (typeof message.method !== "string" || !("id" in message)) continue;
    const id = typeof message.id === "string" || typeof message.id === "number" ? message.id : null;
    out.push({ id, method: message.method });
  }
  return out;
}

/**
 * OAuth step-up (MCP authorization, "Scope challenge handling"): when a method needs a permission the
 * member has but the token's scopes left out, an HTTP 403 with `WWW-Authenticate: Bearer
 * error="insufficient_scope", scope="<granted + needed>"` so the client can ask for a token with it. List
 * methods are not challenged (they answer empty, as for any narrow credential); a permission the member
 * does not have is no scope problem (the dispatcher's -32001 names it).
 */
function stepUpResponse(
  auth: Caller,
  body: unknown,
  request: Request,
  publicUrl: string | undefined,
): Response | null {
  if (auth.org.via !== "oauth" || !auth.oauth) return null;
  const { memberPermissions } = auth.oauth;
  const missing: Permission[] = [];
  let first: { id: RequestId | null; method: string; needed: Permission } | null = null;
  for (const { id, method } of requestsOf(body)) {
    const needed = permissionForMcpMethod(method);
    if (!needed || EMPTY_LISTS[method] || hasPermission(auth.org.permissions, needed)) continue;
    if (!memberPermissions.includes(needed)) continue;
    if (!missing.includes(needed)) missing.push(needed);
    first ??= { id, method, needed };
  }
  if (!first) return null;
  const current = auth.oauth.granted.length > 0 ? auth.oauth.granted : MCP_SCOPES;
  const scope = [...new Set([...current, ...missing])].join(" ");
  const message = `Insufficient scope: ${first.method} needs the OAuth scope ${first.needed}, which this access token was not granted; authorize again with scope "${scope}".`;
  return authErrorResponse(
    { ok: false, status: 403, reason: "insufficient_scope", message, scope },
    baseUrl(request, publicUrl),
    { id: first.id, resourcePath: mcpResourcePath(pathOf(request)) ?? "/mcp" },
  );
}
