import { isSessionVersion, SESSION_VERSIONS } from "../protocol.ts";

/** Protocol revisions of the stateless era this gateway serves, newest first. */
export const MODERN_VERSIONS = ["2026-07-28"] as const;
export type ModernVersion = (typeof MODERN_VERSIONS)[number];
/** Every revision this gateway serves on `/mcp` (stateless and session), newest first: `server/discover`. */
export const ALL_VERSIONS: readonly string[] = [...MODERN_VERSIONS, ...SESSION_VERSIONS];

/** Reserved `_meta` keys of the 2026-07-28 envelope. */
export const META = {
  protocolVersion: "io.modelcontextprotocol/protocolVersion",
  clientCapabilities: "io.modelcontextprotocol/clientCapabilities",
  clientInfo: "io.modelcontextprotocol/clientInfo",
  logLevel: "io.modelcontextprotocol/logLevel",
  serverInfo: "io.modelcontextprotocol/serverInfo",
  subscriptionId: "io.modelcontextprotocol/subscriptionId",
} as const;

export function isModernVersion(value: unknown): value is ModernVersion {
  return typeof value === "string" && (MODERN_VERSIONS as readonly string[]).includes(value);
}

/** The era a request belongs to: a stateless 2026-07-28 request or a 2025 session request. */
export type Era = "modern" | "session";

export interface EraInput {
  /** HTTP method of the request. */
  httpMethod: string;
  headers: Headers;
  /** The parsed JSON body (undefined for GET/DELETE or an unparsable body). */
  body: unknown;
}

function metaVersionClaim(body: unknown): boolean {
  if (typeof body !== "object" || body === null || Array.isArray(body)) return false;
  const params = (body as { params?: unknown }).params;
  if (typeof params !== "object" || params === null) return false;
  const meta = (params as { _meta?: unknown })._meta;
  return typeof meta === "object" && meta !== null && META.protocolVersion in meta;
}

/**
 * Classifies one request by how it opens (body first, headers as the fallback), as the specification's
 * versioning page describes:
 *  - a `_meta` protocol-version claim in the body → modern (even for `initialize`: the modern path
 *    answers removed methods with -32601);
 *  - `initialize`, an `Mcp-Session-Id`, GET/DELETE, batches → 2025 session;
 *  - otherwise an `MCP-Protocol-Version` header that is not a 2025 revision → modern (the modern path
 *    then rejects the missing envelope or the unknown version with the revision's errors);
 *  - anything else (no header at all) → 2025 session, whose handler reports what is wrong.
 * Pure: no I/O, no state.
 */
export function classifyEra(input: EraInput): Era {
  if (input.httpMethod !== "POST") return "session";
  if (Array.isArray(input.body)) return "session";
  if (metaVersionClaim(input.body)) return "modern";
  const method = (input.body as { method?: unknown } | null)?.method;
  if (method === "initialize") return "session";
  if (input.headers.has("mcp-session-id")) return "session";
  const header = input.headers.get("mcp-protocol-version")?.trim();
  if (header && !isSessionVersion(header)) return "modern";
  return "session";
}
