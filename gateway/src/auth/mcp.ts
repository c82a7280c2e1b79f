import { ErrorCode, type OrgContext } from "@omni/contracts";
import type { AuditLog } from "../audit/index.ts";
import type { McpAccess } from "../ports.ts";
import { createLogger, type Logger } from "../security/log.ts";
import type { RateLimiter } from "../security/rate-limit.ts";
import { authErrorResponse, baseUrl } from "./discovery.ts";
import { hasPermission, permissionForMcpMethod } from "./permissions.ts";

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

type Org = Omit<OrgContext, "requestId">;

export interface McpAccessDeps {
  rateLimiter: RateLimiter;
  audit: AuditLog;
  publicUrl?: string;
  logger?: Pick<Logger, "error">;
}

/** The permission check of one MCP method (see `McpAccess.authorize`). */
export function authorizeMcpMethod(org: Org, method: string): ReturnType<McpAccess["authorize"]> {
  const needed = permissionForMcpMethod(method);
  if (needed === null || hasPermission(org.permissions, needed)) return { kind: "allow" };
  const empty = Object.hasOwn(EMPTY_LISTS, method) ? EMPTY_LISTS[method] : undefined;
  if (empty) return { kind: "empty", result: structuredClone(empty) };
  return {
    kind: "refuse",
    error: {
      code: ErrorCode.Unauthorized,
      message: `Forbidden: ${method} needs the permission ${needed}, which this ${org.via === "api_key" ? "API key" : "member"} does not have`,
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
        (deps.logger ?? createLogger()).error(
          `[audit] tool.call of ${call.tool} for org ${call.org.orgId} not recorded: ${String(error)}`,
        );
      }
    },
    unauthorized: (failure, request) =>
      authErrorResponse(failure, baseUrl(request, deps.publicUrl), { id: null }),
  };
}
