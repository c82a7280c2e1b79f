import { ErrorCode, PERMISSIONS, type RequestId } from "@omni/contracts";
import { Elysia } from "elysia";
import type { AuthOutcome } from "../ports.ts";
import { apiError } from "../security/errors.ts";

/**
 * MCP authorization discovery (RFC 9728): protected-resource metadata naming the Clerk issuer as the
 * authorization server, and the `WWW-Authenticate` challenge that points clients at it.
 */
export interface DiscoveryOptions {
  /** The gateway's public base URL (`PUBLIC_URL`); default: the request's origin. */
  publicUrl?: string;
  /** Clerk issuer / frontend API URL (`CLERK_ISSUER`). */
  issuer?: string;
}

export const RESOURCE_METADATA_PATH = "/.well-known/oauth-protected-resource";

export function baseUrl(request: Request, publicUrl?: string): string {
  // (A `Host` that makes the URL unparseable never gets here past the DNS-rebinding guard; loopback then.)
  return (publicUrl ?? URL.parse(request.url)?.origin ?? "http://127.0.0.1").replace(/\/$/, "");
}

/** `Bearer resource_metadata="<base>/.well-known/oauth-protected-resource"` (+ error when a token failed). */
export function wwwAuthenticate(base: string, outcome?: { reason: string; status: number }): string {
  const parts = [`resource_metadata="${base}${RESOURCE_METADATA_PATH}"`];
  if (outcome && outcome.status === 401 && outcome.reason !== "missing_credentials") {
    parts.push(`error="invalid_token"`, `error_description="${outcome.reason}"`);
  }
  if (outcome && outcome.status === 403) parts.push(`error="insufficient_scope"`);
  return `Bearer ${parts.join(", ")}`;
}

export function resourceMetadata(base: string, resourcePath: string, issuer: string | undefined) {
  return {
    resource: `${base}${resourcePath}`,
    authorization_servers: issuer ? [issuer.replace(/\/$/, "")] : [],
    bearer_methods_supported: ["header"],
    scopes_supported: [...PERMISSIONS],
    resource_name: "Omni MCP",
  };
}

/**
 * The 401/403 answer for a failed authentication or authorization, with the discovery challenge. For MCP
 * requests pass the JSON-RPC id: the body is then a JSON-RPC error (-32001) naming the reason.
 */
export function authErrorResponse(
  failure: Extract<AuthOutcome, { ok: false }>,
  base: string,
  mcp?: { id: RequestId | null },
): Response {
  const body = mcp
    ? {
        jsonrpc: "2.0",
        id: mcp.id,
        error: { code: ErrorCode.Unauthorized, message: failure.message, data: { reason: failure.reason } },
      }
    : apiError(failure.reason, failure.message);
  return new Response(JSON.stringify(body), {
    status: failure.status,
    headers: { "content-type": "application/json", "www-authenticate": wwwAuthenticate(base, failure) },
  });
}

/** `GET /.well-known/oauth-protected-resource[/<path>]` (RFC 9728 §3). */
export function discoveryRoutes(opts: DiscoveryOptions = {}) {
  return new Elysia({ name: "omni-auth-discovery" })
    .get(RESOURCE_METADATA_PATH, ({ request }) =>
      resourceMetadata(baseUrl(request, opts.publicUrl), "", opts.issuer),
    )
    .get(`${RESOURCE_METADATA_PATH}/*`, ({ request, params }) =>
      resourceMetadata(baseUrl(request, opts.publicUrl), `/${params["*"]}`, opts.issuer),
    );
}
