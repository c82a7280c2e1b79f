import * as v from "valibot";
import { OrgContext, ServiceConfig } from "./context.ts";
import { JsonRpcErrorObject } from "./jsonrpc.ts";
import {
  CallToolResult,
  ClientCapabilities,
  ClientRequestMethod,
  LogLevel,
  PromptTemplate,
  ReadResourceResult,
  ResourceDescriptor,
  ResourceTemplateDescriptor,
  ToolDescriptor,
} from "./mcp.ts";

/**
 * The RPC between the gateway and a domain server (Eden treaty over HTTP). One tool implementation
 * serves both MCP eras:
 *  - 2025 sessions: `live: true`; a tool's `ctx.elicit()`/`ctx.sample()`/`ctx.roots()` become `request`
 *    events in the streamed response, answered by the gateway on `POST /rpc/callback`.
 *  - 2026-07-28 (stateless): `live: false`; the same calls end the stream with `input_required`, and the
 *    retry carries `inputResponses` keyed by the request keys, which the context returns in order.
 */

export const CallScope = v.object({
  org: OrgContext,
  config: ServiceConfig,
  /**
   * Stable key for per-client state kept by a server (e.g. a DevTools browser context): the 2025 session
   * id, or for stateless clients a key the gateway derives from org and user.
   */
  sessionKey: v.string(),
});
export type CallScope = v.InferOutput<typeof CallScope>;

export const ToolCallRequest = v.object({
  name: v.string(),
  arguments: v.record(v.string(), v.unknown()),
  scope: CallScope,
  /** Client capabilities (sampling, elicitation, roots) as the client declared them. */
  clientCapabilities: v.optional(ClientCapabilities),
  /** Whether server-to-client requests can be answered live (2025 session) or must round-trip. */
  live: v.boolean(),
  /** Answers to earlier `input_required` requests, by request key (2026-07-28 retries). */
  inputResponses: v.optional(v.record(v.string(), v.unknown())),
  /** The client asked for progress (it sent a progressToken). */
  progress: v.optional(v.boolean()),
  /** Minimum level of log events to send. */
  logLevel: v.optional(LogLevel),
  /**
   * `gather`: run only the tool's input-gathering step (`ToolDefinition.gather`), before the gateway makes
   * the call a task: it ends with `input_required` while answers are missing, else with an empty result.
   */
  phase: v.optional(v.picklist(["gather"])),
});
export type ToolCallRequest = v.InferOutput<typeof ToolCallRequest>;

export const InputRequest = v.object({
  method: ClientRequestMethod,
  params: v.record(v.string(), v.unknown()),
});
export type InputRequest = v.InferOutput<typeof InputRequest>;

/** Events of a streamed `POST /rpc/tools/call` response, in order; exactly one terminal event ends it. */
export const ToolCallEvent = v.variant("type", [
  /** First event: the id under which callbacks for this call are accepted. */
  v.object({ type: v.literal("accepted"), callId: v.string() }),
  v.object({
    type: v.literal("progress"),
    progress: v.number(),
    total: v.optional(v.number()),
    message: v.optional(v.string()),
  }),
  v.object({ type: v.literal("log"), level: LogLevel, logger: v.optional(v.string()), data: v.unknown() }),
  /** A server-to-client request (live calls only); answer it on `POST /rpc/callback`. */
  v.object({ type: v.literal("request"), id: v.string(), request: InputRequest }),
  /**
   * Live calls: end the client's response stream now, the call going on; the client resumes it after
   * `retryMs` and gets the rest (SEP-1699 polling). `ToolContext.closeStream`.
   */
  v.object({
    type: v.literal("close_stream"),
    retryMs: v.optional(v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(3_600_000))),
  }),
  /** Terminal: the tool finished (a failed tool is a result with `isError`). */
  v.object({ type: v.literal("result"), result: CallToolResult }),
  /** Terminal (non-live calls): the tool needs these answers; retry with `inputResponses`. */
  v.object({ type: v.literal("input_required"), inputRequests: v.record(v.string(), InputRequest) }),
  /** Terminal: a protocol error (unknown tool, invalid arguments → -32602 with field paths). */
  v.object({ type: v.literal("error"), error: JsonRpcErrorObject }),
]);
export type ToolCallEvent = v.InferOutput<typeof ToolCallEvent>;

export const CallbackRequest = v.object({
  callId: v.string(),
  id: v.string(),
  result: v.optional(v.unknown()),
  error: v.optional(JsonRpcErrorObject),
});
export type CallbackRequest = v.InferOutput<typeof CallbackRequest>;

export const ResourceReadRequest = v.object({ uri: v.string(), scope: CallScope });
export type ResourceReadRequest = v.InferOutput<typeof ResourceReadRequest>;

export const ResourceReadResponse = v.variant("ok", [
  v.object({ ok: v.literal(true), result: ReadResourceResult }),
  v.object({ ok: v.literal(false), error: JsonRpcErrorObject }),
]);
export type ResourceReadResponse = v.InferOutput<typeof ResourceReadResponse>;

export const SessionEndRequest = v.object({ sessionKey: v.string(), orgId: v.string() });
export type SessionEndRequest = v.InferOutput<typeof SessionEndRequest>;

/** A static document a server ships for its catalogue entry (`default_resources`; orgs may override it). */
export const CatalogueResource = v.object({
  uri: v.string(),
  name: v.string(),
  title: v.optional(v.string()),
  description: v.optional(v.string()),
  mimeType: v.string(),
  text: v.string(),
});
export type CatalogueResource = v.InferOutput<typeof CatalogueResource>;

/**
 * What a domain server says about itself (`GET /rpc/capabilities`). The gateway upserts the catalogue row
 * (`server.name`, `title`, `description`, `defaultEnabled`), `prompts` as the default prompts and
 * `defaultResources` into the database when it discovers an instance: a new server is one folder.
 */
export const ServerCapabilities = v.object({
  server: v.object({
    name: v.string(),
    version: v.string(),
    title: v.optional(v.string()),
    /** One or two sentences for the catalogue (admin dashboard, `omni services list`). */
    description: v.optional(v.string()),
    /** Whether a new organization gets this server enabled (default true). */
    defaultEnabled: v.optional(v.boolean()),
  }),
  instructions: v.optional(v.string()),
  tools: v.array(ToolDescriptor),
  /** The server's default prompts: upserted as `default_prompts` on discovery (an org's rows override them). */
  prompts: v.array(PromptTemplate),
  resources: v.array(ResourceDescriptor),
  /** Static documents for the catalogue, upserted as `default_resources` on discovery. */
  defaultResources: v.optional(v.array(CatalogueResource)),
  resourceTemplates: v.array(ResourceTemplateDescriptor),
  /** Tools that gather input (synchronous `input_required` rounds) before they become a task. */
  gathersInput: v.optional(v.array(v.string())),
});
export type ServerCapabilities = v.InferOutput<typeof ServerCapabilities>;

export const HealthReport = v.object({
  status: v.picklist(["ok", "degraded", "down"]),
  server: v.string(),
  version: v.string(),
  uptimeMs: v.number(),
  inflight: v.number(),
  details: v.optional(v.record(v.string(), v.unknown())),
});
export type HealthReport = v.InferOutput<typeof HealthReport>;

/**
 * The `sessionKey` of a stateless 2026-07-28 call: one per organization and credential (API key,
 * membership, or user), so per-client state a server keeps for it is never shared across credentials.
 * Servers that keep state per client (DevTools) give such callers explicit handles instead.
 */
export function statelessSessionKey(orgId: string, credential: string): string {
  return `stateless:${orgId}:${credential}`;
}
export function isStatelessSessionKey(sessionKey: string): boolean {
  return sessionKey.startsWith("stateless:");
}

/** A browser context a domain server (DevTools) holds for one client of an organization. */
export const BrowserContextInfo = v.object({
  id: v.string(),
  /** `session`: a 2025 MCP session's context; `stateless`: made by `chrome_start_browser` for a stateless client. */
  client: v.picklist(["session", "stateless"]),
  /** For stateless contexts: the credential (API key or membership id) that owns it. */
  credentialId: v.nullable(v.string()),
  createdAt: v.string(),
  lastUsedAt: v.string(),
  /** When it closes unless used again. */
  expiresAt: v.string(),
  tabs: v.number(),
  /** A tool call is using it right now (it is never evicted while busy). */
  busy: v.boolean(),
});
export type BrowserContextInfo = v.InferOutput<typeof BrowserContextInfo>;

export const BrowserContextListRequest = v.object({ orgId: v.string() });
export const BrowserContextList = v.object({ contexts: v.array(BrowserContextInfo) });
export type BrowserContextList = v.InferOutput<typeof BrowserContextList>;
export const BrowserContextEndRequest = v.object({ orgId: v.string(), id: v.string() });
export type BrowserContextEndRequest = v.InferOutput<typeof BrowserContextEndRequest>;
