import type {
  GetPromptResult,
  JsonRpcErrorObject,
  OrgContext,
  OrgPolicy,
  PromptDescriptor,
  PromptTemplate,
  ReadResourceResult,
  ResourceDescriptor,
  ServiceConfig,
} from "@omni/contracts";

/**
 * The seams between the gateway's parts. The MCP endpoint (gateway/src/mcp) depends only on these;
 * the config service (gateway/src/config) and authentication (gateway/src/auth) implement them.
 */

/** What kinds of an org's catalogue changed: drives list_changed and subscriptions/listen. */
export type ChangeKind = "tools" | "prompts" | "resources";
export interface ConfigChange {
  orgId: string;
  kinds: ChangeKind[];
  /** Resource URIs whose contents changed (notifications/resources/updated). */
  uris?: string[];
}

/** An org's merged view: defaults + code-declared items + org overrides, enabled servers only. */
export interface OrgCatalog {
  orgId: string;
  /** Names of the servers this org has enabled. */
  enabledServers: string[];
  prompts: (PromptDescriptor & { server: string | null })[];
  /** Static resources (from the database). Dynamic ones come from the domain servers. */
  resources: (ResourceDescriptor & { server: string | null })[];
  /** Cache hint for 2026-07-28 results (`ttlMs`). */
  ttlMs: number;
}

export interface ConfigService {
  /**
   * The org's catalogue. `codePrompts` are the prompts declared in code by the running servers
   * (from their capabilities), merged under the database's (database wins).
   */
  catalog(orgId: string, codePrompts: Map<string, PromptTemplate[]>): Promise<OrgCatalog>;
  /** Renders a prompt; throws `ConfigError` with code -32602 naming a missing/invalid argument. */
  getPrompt(
    orgId: string,
    name: string,
    args: Record<string, string>,
    codePrompts: Map<string, PromptTemplate[]>,
  ): Promise<GetPromptResult>;
  /** Every known value of a prompt argument starting with `value`, case-insensitive (completion/complete). */
  completePromptArgument(
    orgId: string,
    prompt: string,
    argument: string,
    value: string,
    codePrompts: Map<string, PromptTemplate[]>,
  ): Promise<string[]>;
  /** A static resource from the database, or null when the URI is not one of the org's. */
  readResource(orgId: string, uri: string): Promise<ReadResourceResult | null>;
  /** Settings and decrypted credentials of one server for this caller (member's own credential first). */
  serviceConfig(org: OrgContext, server: string): Promise<ServiceConfig>;
  /** The org's tool policies and bundles (gateway/src/mcp/policy applies them to the org's view). */
  policy(orgId: string): Promise<OrgPolicy>;
  /** Subscribe to changes of any org (local writes and, with Redis, other replicas'). */
  onChange(listener: (change: ConfigChange) => void): () => void;
  close(): Promise<void>;
}

/** A protocol-level failure with a JSON-RPC code (e.g. -32602 for a missing prompt argument). */
export class ConfigError extends Error {
  constructor(
    readonly code: number,
    message: string,
    readonly data?: unknown,
  ) {
    super(message);
  }
}

/** What an OAuth access token was granted (`org.via === "oauth"`): for step-up (`insufficient_scope`). */
export interface OAuthScopes {
  /** The token's scopes that are Omni permissions (empty: it named none, the member's MCP defaults apply). */
  granted: string[];
  /** What the member could have with every scope (the ceiling a step-up can reach). */
  memberPermissions: string[];
}

/**
 * Who is calling, as an edge authenticated them: the authenticator's success (`AuthOutcome` with `ok`),
 * plus the bundle an MCP URL named. `Org` is the org context: without `requestId` for MCP (a connection
 * or session outlives its requests), the whole `OrgContext` on the `/api` routes (one request each).
 */
export interface Caller<Org extends Omit<OrgContext, "requestId"> = Omit<OrgContext, "requestId">> {
  org: Org;
  /** API key id or membership id. */
  credentialId?: string | undefined;
  expiresAt?: number | undefined;
  /** What an OAuth access token was granted (`org.via === "oauth"`). */
  oauth?: OAuthScopes | undefined;
  /** The bundle the caller connected to (`/mcp/b/<slug>`); absent: the org's full endpoint. */
  bundle?: string | undefined;
}

/** Result of authenticating a request. */
export type AuthOutcome =
  | ({ ok: true } & Omit<Caller, "bundle">)
  /** 503 (`dependency_unavailable`): the credential could not be checked (Redis or Postgres down); retry. */
  | { ok: false; status: 401 | 403 | 503; reason: string; message: string; scope?: string };

/** Where a request came from and which endpoint it addressed. */
export interface AuthRemote {
  loopback: boolean;
  /**
   * Set on the MCP endpoints (`/mcp`, `/mcp/o/<slug>`, `/ws`, `/ws/o/<slug>`): OAuth access tokens are
   * accepted only there, their audience must name this MCP endpoint (`origin` is the request's, used when
   * `PUBLIC_URL` is unset), and `orgSlug` picks the organization of a member of several.
   */
  mcp?: { origin: string; orgSlug?: string };
}

/**
 * One authentication per request however many layers ask: the `/api` gate (gateway/src/app.ts)
 * authenticates before the body is read and remembers the outcome for the route's guard.
 */
const outcomes = new WeakMap<Authenticator, WeakMap<Request, Promise<AuthOutcome>>>();

/** `authenticator.authenticate` for this request, once: later calls (same authenticator, same request) reuse it. */
export function authenticateOnce(
  authenticator: Authenticator,
  request: Request,
  remote: AuthRemote,
): Promise<AuthOutcome> {
  let byRequest = outcomes.get(authenticator);
  if (!byRequest) {
    byRequest = new WeakMap();
    outcomes.set(authenticator, byRequest);
  }
  const known = byRequest.get(request);
  if (known) return known;
  const outcome = authenticator.authenticate(request.headers, remote);
  byRequest.set(request, outcome);
  return outcome;
}

export interface Authenticator {
  /** Authenticates from request headers (Authorization bearer, x-api-key). */
  authenticate(headers: Headers, remote: AuthRemote): Promise<AuthOutcome>;
  /**
   * Whether a credential authenticated earlier is still valid (revocation, expiry): checked on long-lived
   * sessions and WebSockets.
   */
  stillValid(credentialId: string | undefined, expiresAt: number | undefined): Promise<boolean>;
  /**
   * Calls `listener` with an org id whenever access may have been taken away in that org (a key revoked, a
   * member removed or demoted), on any replica: open WebSockets re-check at once. Returns unsubscribe.
   */
  onRevocation?(listener: (orgId: string) => void): () => void;
}

/** A JSON-RPC error object as the MCP endpoint sends it (the contracts' `JsonRpcErrorObject`). */
export type McpAccessError = JsonRpcErrorObject;

/** One finished tool call, for the audit log. */
export interface McpToolCallRecord extends Pick<Caller, "org" | "credentialId"> {
  tool: string;
  server?: string;
  durationMs: number;
  outcome: "ok" | "error";
  error?: string;
  arguments?: unknown;
}

/**
 * Authorization, rate limits and audit on MCP traffic (implemented by gateway/src/auth/mcp.ts). The MCP
 * endpoint calls it; without it every authenticated caller may use every method, unlimited, unaudited.
 */
export interface McpAccess {
  /**
   * Whether the caller may use an MCP method: `allow`; `empty` (a list method: answer with this empty
   * result, see AUTH.md); or `refuse` with the JSON-RPC error (-32001 naming the missing permission).
   */
  authorize(
    org: Caller["org"],
    method: string,
  ):
    | { kind: "allow" }
    | { kind: "empty"; result: Record<string, unknown> }
    | { kind: "refuse"; error: McpAccessError };
  /** Takes one request from the caller's rate-limit buckets; refused: the seconds to wait and the -32029 error. */
  consume(
    auth: Pick<Caller, "org" | "credentialId">,
  ): Promise<{ allowed: true } | { allowed: false; retryAfterSeconds: number; error: McpAccessError }>;
  /** Records a tool call in the audit log (never throws; failures are logged). */
  recordToolCall(call: McpToolCallRecord): Promise<void>;
  /** The 401/403 answer to a failed authentication, with `WWW-Authenticate: Bearer resource_metadata=...`. */
  unauthorized(failure: Extract<AuthOutcome, { ok: false }>, request: Request): Response;
  /**
   * OAuth step-up: the HTTP 403 (`WWW-Authenticate: Bearer error="insufficient_scope", scope="..."`) for a
   * parsed MCP POST body whose methods need a scope the caller's OAuth token lacks but the member could
   * be granted; null when nothing is missing (or the caller is not an OAuth token).
   */
  stepUp?(auth: Caller, body: unknown, request: Request): Response | null;
}
