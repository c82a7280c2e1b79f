import type {
  BrowserContextInfo,
  CallToolResult,
  CatalogueResource,
  ContentBlock,
  LogLevel,
  OrgContext,
  PromptTemplate,
  ReadResourceResult,
  ResourceDescriptor,
  ResourceTemplateDescriptor,
  ServiceConfig,
  ToolAnnotations,
} from "@omni/contracts";
import type * as v from "valibot";

/** Parameters of `sampling/createMessage` (MCP 2025-11-25), as a tool passes them to `ctx.sample()`. */
export interface SampleParams {
  messages: { role: "user" | "assistant"; content: ContentBlock }[];
  maxTokens: number;
  systemPrompt?: string;
  temperature?: number;
  stopSequences?: string[];
  modelPreferences?: Record<string, unknown>;
  includeContext?: "none" | "thisServer" | "allServers";
  metadata?: Record<string, unknown>;
}
export interface SampleResult {
  role: "user" | "assistant";
  content: ContentBlock;
  model: string;
  stopReason?: string;
}

/** Parameters of `elicitation/create` (form mode). */
export interface ElicitParams {
  message: string;
  requestedSchema: { type: "object"; properties: Record<string, unknown>; required?: string[] };
}
export interface ElicitResult {
  action: "accept" | "decline" | "cancel";
  content?: Record<string, unknown>;
}

export interface Root {
  uri: string;
  name?: string;
}

/** Options of `ctx.elicit()`/`sample()`/`roots()`. */
export interface ClientRequestOptions {
  /**
   * The key of this request in a 2026-07-28 `input_required` result (and of its answer in the retry's
   * `inputResponses`), e.g. `user_name`. Default: `<kind>:<n>` (`elicit:0`, `sample:1`, ...). Must be
   * non-empty and unique within the call; a repeated key rejects the request.
   */
  key?: string;
}

/**
 * What a tool sees while it runs. The same calls work in both MCP eras: over a 2025 session they are
 * relayed live to the client; for a stateless 2026-07-28 client they become an `input_required` result
 * and the tool is run again with the answers, which these calls then return in the same order.
 * A tool must therefore make its client requests before side effects it cannot repeat.
 */
export interface ToolContext {
  /** Aborted when the client cancels the call, or the gateway gives up on it. */
  readonly signal: AbortSignal;
  readonly org: OrgContext;
  readonly config: ServiceConfig;
  /** Stable key for per-client state (e.g. a browser context); see `CallScope.sessionKey`. */
  readonly sessionKey: string;
  progress(progress: number, total?: number, message?: string): Promise<void>;
  log(level: LogLevel, data: unknown, logger?: string): Promise<void>;
  sample(params: SampleParams, options?: ClientRequestOptions): Promise<SampleResult>;
  elicit(params: ElicitParams, options?: ClientRequestOptions): Promise<ElicitResult>;
  roots(options?: ClientRequestOptions): Promise<Root[]>;
  /**
   * Ends the client's response stream now while the call goes on (SEP-1699 polling, e.g. before a long
   * wait): the client reconnects after `retryMs` (default 1000) and gets the rest, the result included.
   * Only where the stream can be resumed (a 2025 session through the gateway); elsewhere it does nothing.
   */
  closeStream(retryMs?: number): Promise<void>;
}

/** A tool may return a full result, plain text, or content blocks. */
export type ToolReturn = CallToolResult | string | ContentBlock[];

export interface ToolDefinition<
  S extends v.GenericSchema = v.GenericSchema,
  O extends v.GenericSchema = v.GenericSchema,
> {
  /** `<server>_<verb>_<noun>`, e.g. `linear_search_issues`. */
  name: string;
  title?: string;
  description: string;
  input: S;
  /**
   * Publish this JSON Schema as the tool's `inputSchema` verbatim (`$schema`, `$defs`, `$anchor`, `allOf`,
   * `if`/`then`/`else`, ... kept) instead of the one derived from `input`. Only its top-level
   * `type: "object"` is checked; arguments are still validated by `input` alone, so keep the two in step.
   */
  inputJsonSchema?: { type: "object"; [keyword: string]: unknown };
  /** When given, `structuredContent` is checked against it and published as `outputSchema`. */
  output?: O;
  annotations?: ToolAnnotations;
  /** Long-running tools may run as MCP tasks where the client supports them. */
  taskSupport?: "optional" | "required";
  /**
   * For a task tool: a step run before the call becomes a task, for a client that declared the tasks
   * extension. Its `ctx.elicit()`/`sample()`/`roots()` are answered in synchronous `input_required`
   * rounds; once it returns, the gateway creates the task and `handler` runs with the same answers (make
   * the same requests with the same keys there to read them).
   */
  gather?: (args: v.InferOutput<S>, ctx: ToolContext) => Promise<void> | void;
  handler: (args: v.InferOutput<S>, ctx: ToolContext) => Promise<ToolReturn> | ToolReturn;
}

/** Identity helper that keeps the input type flowing from the schema to the handler. */
export function defineTool<S extends v.GenericSchema, O extends v.GenericSchema = v.GenericSchema>(
  tool: ToolDefinition<S, O>,
): ToolDefinition {
  return tool as unknown as ToolDefinition;
}

/** Context for dynamic resources (no client requests: reads are plain). */
export interface ResourceContext {
  readonly signal: AbortSignal;
  readonly org: OrgContext;
  readonly config: ServiceConfig;
  readonly sessionKey: string;
}

export interface ResourceDefinition extends ResourceDescriptor {
  read: (ctx: ResourceContext) => Promise<ReadResourceResult> | ReadResourceResult;
}

export interface ResourceTemplateDefinition extends ResourceTemplateDescriptor {
  /** Called with the variables matched from the RFC 6570 template. */
  read: (
    uri: string,
    vars: Record<string, string>,
    ctx: ResourceContext,
  ) => Promise<ReadResourceResult> | ReadResourceResult;
}

export interface ServerDefinition {
  /** The folder name under `servers/` and the prefix of every tool and prompt name (`linear`). */
  name: string;
  version: string;
  /** The catalogue title (default: `name`). */
  title?: string;
  /** The catalogue description, one or two sentences (admin dashboard, `omni services list`). */
  description?: string;
  /** Whether a new organization gets this server enabled. Default true. */
  defaultEnabled?: boolean;
  instructions?: string;
  tools: ToolDefinition[];
  /**
   * The server's default prompts, named `<server>_<verb>_<object>` like tools: the gateway upserts them
   * into the catalogue (`default_prompts`) when it discovers an instance; organizations override them.
   */
  prompts?: PromptTemplate[];
  /** Static documents (guides, templates) upserted into the catalogue (`default_resources`). */
  defaultResources?: CatalogueResource[];
  resources?: ResourceDefinition[];
  resourceTemplates?: ResourceTemplateDefinition[];
  /** Health probe; `down` marks the instance unhealthy in the gateway's registry. */
  health?: () => Promise<{ status: "ok" | "degraded" | "down"; details?: Record<string, unknown> }>;
  /** Called when the gateway ends a client session (release per-session state). */
  onSessionEnd?: (sessionKey: string, orgId: string) => Promise<void> | void;
  /**
   * Browser contexts (or similar per-client state) the server holds, for the admin API: list an
   * organization's, end one of them (false when it has no such id). Servers without them omit this.
   */
  browserContexts?: {
    list(orgId: string): Promise<BrowserContextInfo[]> | BrowserContextInfo[];
    end(orgId: string, id: string): Promise<boolean> | boolean;
    /** How many the server holds now, across organizations (the `omni_server_browser_contexts` gauge). */
    count?: () => number;
  };
  /** Called on shutdown. */
  close?: () => Promise<void> | void;
  /**
   * Configuration used when the server runs alone (its own /mcp or stdio): credentials from env,
   * since no gateway passes an org's config.
   */
  standaloneConfig?: () => ServiceConfig;
}

/** A failure a model can act on: becomes a tool result with `isError: true` and this message. */
export class ToolError extends Error {
  override readonly name = "ToolError";
}

/** Thrown by a resource's `read` when the URI names nothing (e.g. an unknown id): MCP error -32002. */
export class ResourceNotFoundError extends Error {
  override readonly name = "ResourceNotFoundError";
}
