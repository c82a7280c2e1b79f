import { ErrorCode, PERMISSIONS, type ProtectedResourceMetadata, type RequestId } from "@omni/contracts";
import { Elysia } from "elysia";
import type { AuthOutcome } from "../ports.ts";
import { apiError } from "../security/errors.ts";
import { ORG_SLUG } from "./oauth.ts";

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

/** A header parameter value: quotes and backslashes would end the quoted-string early (RFC 9110 §5.6.4). */
const quoted = (value: string) => `"${value.replace(/["\\]/g, "'").replace(/[\r\n]/g, " ")}"`;

/**
 * `Bearer resource_metadata="<base>/.well-known/oauth-protected-resource<resourcePath>"`, plus
 * `error="invalid_token"` and the reason when a credential failed (401), `error="insufficient_scope"` and
 * the `scope` to ask for when a token lacks one (403, OAuth step-up), and `scope` (the scopes to request)
 * on a plain 401 when given.
 */
export function wwwAuthenticate(
  base: string,
  outcome?: { reason: string; status: number; scope?: string },
  opts: { resourcePath?: string; scope?: string } = {},
): string {
  const parts = [`resource_metadata=${quoted(`${base}${RESOURCE_METADATA_PATH}${opts.resourcePath ?? ""}`)}`];
  if (outcome && outcome.status === 401 && outcome.reason !== "missing_credentials") {
    parts.push(`error="invalid_token"`, `error_description=${quoted(outcome.reason)}`);
  }
  if (outcome?.status === 403 && outcome.scope) {
    parts.push(`error="insufficient_scope"`, `scope=${quoted(outcome.scope)}`);
    parts.push(`error_description=${quoted(outcome.reason)}`);
  } else if (opts.scope && (!outcome || outcome.status === 401)) {
    parts.push(`scope=${quoted(opts.scope)}`);
  }
  return `Bearer ${parts.join(", ")}`;
}

/** RFC 9728 protected-resource metadata of `<base><resourcePath>` (the shape is `contracts`' `ProtectedResourceMetadata`). */
export function resourceMetadata(
  base: string,
  resourcePath: string,
  issuer: string | undefined,
): ProtectedResourceMetadata {
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
  mcp?: { id: RequestId | null; resourcePath?: string; scope?: string },
): Response {
  const body = mcp
    ? {
        jsonrpc: "2.0",
        id: mcp.id,
        error: { code: ErrorCode.Unauthorized, message: failure.message, data: { reason: failure.reason } },
      }
    : apiError(failure.reason, failure.message);
  const challenge = wwwAuthenticate(base, failure, {
    ...(mcp?.resourcePath ? { resourcePath: mcp.resourcePath } : {}),
    ...(mcp?.scope ? { scope: mcp.scope } : {}),
  });
  return new Response(JSON.stringify(body), {
    status: failure.status,
    headers: { "content-type": "application/json", "www-authenticate": challenge },
  });
}

/** The MCP resource path a request addressed (`/mcp`, `/mcp/o/<slug>`; `/ws...` map to the same), or null. */
export function mcpResourcePath(pathname: string): string | null {
  const m = /^\/(?:mcp|ws)(?:\/o\/([^/]+))?\/?$/.exec(pathname);
  if (!m) return null;
  if (m[1] === undefined) return "/mcp";
  return ORG_SLUG.test(m[1]) ? `/mcp/o/${m[1]}` : null;
}

/**
 * `GET /.well-known/oauth-protected-resource` (the gateway), `.../mcp` (the MCP endpoint) and
 * `.../mcp/o/<slug>` (one organization's MCP endpoint): RFC 9728 §3, path-suffixed.
 */
export function discoveryRoutes(opts: DiscoveryOptions = {}) {
  return new Elysia({ name: "omni-auth-discovery" })
    .get(RESOURCE_METADATA_PATH, ({ request }) =>
      resourceMetadata(baseUrl(request, opts.publicUrl), "", opts.issuer),
    )
    .get(`${RESOURCE_METADATA_PATH}/*`, ({ request, params, status }) => {
      const path = `/${params["*"]}`;
      const resource = mcpResourcePath(path);
      if (resource === null || path.startsWith("/ws")) {
        return status(404, {
          error: "not_found",
          message: "No protected resource here: the MCP endpoints are /mcp and /mcp/o/<organization slug>.",
        });
      }
      return resourceMetadata(baseUrl(request, opts.publicUrl), resource, opts.issuer);
    });
}
