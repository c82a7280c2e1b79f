import {
  type CallScope,
  CallToolResult,
  type ClientCapabilities,
  type ClientRequestMethod,
  ContentBlock,
  ErrorCode,
  type InputRequest,
  issuesToFieldErrors,
  type JsonRpcErrorObject,
  JsonSchemaObject,
  type LogLevel,
  type ServerCapabilities,
  type ToolCallEvent,
  type ToolDescriptor,
} from "@omni/contracts";
import { toJsonSchema } from "@valibot/to-json-schema";
import * as v from "valibot";
import { outcomeOf, toolCallDurations } from "./telemetry/server-metrics.ts";
import { activeTracer, endWithError, parentContext, SpanKind } from "./telemetry/tracing.ts";
import {
  type ClientRequestOptions,
  type ElicitParams,
  type ElicitResult,
  type Root,
  type SampleParams,
  type SampleResult,
  type ServerDefinition,
  type ToolContext,
  type ToolDefinition,
  ToolError,
  type ToolReturn,
} from "./types.ts";

/** Terminal events of a tool call. */
export type TerminalEvent = Extract<ToolCallEvent, { type: "result" | "input_required" | "error" }>;
/** Events a running tool emits before its terminal event. */
export type StreamEvent = Extract<ToolCallEvent, { type: "progress" | "log" }>;

/** How a running tool reaches its client: the RPC stream, an MCP SDK session, or stdio. */
export interface CallChannel {
  /** Server-to-client requests are answered while the tool runs (2025 session) or round-trip. */
  live: boolean;
  clientCapabilities?: ClientCapabilities | undefined;
  inputResponses?: Record<string, unknown> | undefined;
  /** The client asked for progress. */
  progress: boolean;
  /** Minimum level of log events; absent means every level (MCP's default before `logging/setLevel`). */
  logLevel?: LogLevel | undefined;
  /** `gather`: run only the tool's `gather` step (see `ToolDefinition.gather`). */
  phase?: "gather" | undefined;
  emit(event: StreamEvent): void;
  /** Ends the client's response stream, the call going on (`ToolContext.closeStream`); absent: cannot. */
  closeStream?(retryMs: number): void;
  /** Live calls: send a request to the client and resolve with its result. */
  request?: (request: InputRequest, signal: AbortSignal) => Promise<unknown>;
  /** The caller's W3C trace context (the RPC's `traceparent` header, or MCP `_meta`): the span's parent. */
  trace?: { traceparent?: string | undefined; tracestate?: string | undefined } | undefined;
}

/** The client did not declare the capability a tool's `ctx.elicit()`/`sample()`/`roots()` needs. */
export class MissingClientCapabilityError extends Error {
  override readonly name = "MissingClientCapabilityError";
  constructor(
    readonly capability: "elicitation" | "sampling" | "roots",
    readonly method: ClientRequestMethod,
  ) {
    super(`The client does not support ${capability} (needed for ${method})`);
  }
}

/** The client answered a server-to-client request with a JSON-RPC error. */
export class ClientRequestError extends Error {
  override readonly name = "ClientRequestError";
  constructor(
    readonly method: ClientRequestMethod,
    readonly error: JsonRpcErrorObject,
  ) {
    super(`The client answered ${method} with an error: ${error.message}`);
  }
}

/** Thrown inside a non-live call when an answer is missing; the runner ends the call with input_required. */
class InputRequiredSignal extends Error {
  override readonly name = "InputRequiredSignal";
  constructor() {
    super("The tool needs input from the client; the call ends with input_required and is retried.");
  }
}

const LEVELS: Record<LogLevel, number> = {
  debug: 0,
  info: 1,
  notice: 2,
  warning: 3,
  error: 4,
  critical: 5,
  alert: 6,
  emergency: 7,
};

const ElicitResultSchema = v.looseObject({
  action: v.picklist(["accept", "decline", "cancel"]),
  content: v.optional(v.record(v.string(), v.unknown())),
});
const SampleResultSchema = v.looseObject({
  role: v.picklist(["user", "assistant"]),
  content: ContentBlock,
  model: v.string(),
  stopReason: v.optional(v.string()),
});
const RootsResultSchema = v.looseObject({
  roots: v.array(v.looseObject({ uri: v.string(), name: v.optional(v.string()) })),
});

interface ClientRequestKind<R> {
  method: ClientRequestMethod;
  prefix: string;
  capability: "elicitation" | "sampling" | "roots";
  schema: v.GenericSchema<unknown, R>;
}
const ELICIT: ClientRequestKind<v.InferOutput<typeof ElicitResultSchema>> = {
  method: "elicitation/create",
  prefix: "elicit",
  capability: "elicitation",
  schema: ElicitResultSchema,
};
const SAMPLE: ClientRequestKind<v.InferOutput<typeof SampleResultSchema>> = {
  method: "sampling/createMessage",
  prefix: "sample",
  capability: "sampling",
  schema: SampleResultSchema,
};
const ROOTS: ClientRequestKind<v.InferOutput<typeof RootsResultSchema>> = {
  method: "roots/list",
  prefix: "roots",
  capability: "roots",
  schema: RootsResultSchema,
};

/** A tool ready to run: its descriptor (JSON Schemas computed once) and its definition. */
export interface CompiledTool {
  descriptor: ToolDescriptor;
  def: ToolDefinition;
  asyncInput: boolean;
}

export interface CompiledServer {
  def: ServerDefinition;
  tools: Map<string, CompiledTool>;
  capabilities: ServerCapabilities;
}

function jsonSchemaOf(schema: v.GenericSchema, tool: string, which: string): ToolDescriptor["inputSchema"] {
  const json: Record<string, unknown> = toJsonSchema(schema, { errorMode: "ignore" }) as Record<
    string,
    unknown
  >;
  if (json.type !== "object") {
    throw new Error(`Tool ${tool}: the ${which} schema must be a valibot object schema`);
  }
  return { ...json, type: "object" };
}

/** A hand-written input JSON Schema, published verbatim once its top level is a well-formed object schema. */
function rawJsonSchema(schema: unknown, tool: string): ToolDescriptor["inputSchema"] {
  const checked = v.safeParse(JsonSchemaObject, schema);
  if (!checked.success) {
    const fields = issuesToFieldErrors(checked.issues)
      .map((f) => `${f.path}: ${f.message}`)
      .join("; ");
    throw new Error(`Tool ${tool}: inputJsonSchema must be an object JSON Schema (${fields})`);
  }
  return checked.output;
}

/** Validate a definition and compute everything the routes serve (once, at start-up). */
export function compileServer(def: ServerDefinition): CompiledServer {
  const tools = new Map<string, CompiledTool>();
  for (const tool of def.tools) {
    if (tools.has(tool.name)) throw new Error(`Duplicate tool name: ${tool.name}`);
    const descriptor: ToolDescriptor = {
      name: tool.name,
      description: tool.description,
      inputSchema: tool.inputJsonSchema
        ? rawJsonSchema(tool.inputJsonSchema, tool.name)
        : jsonSchemaOf(tool.input, tool.name, "input"),
    };
    if (tool.title !== undefined) descriptor.title = tool.title;
    if (tool.output) descriptor.outputSchema = jsonSchemaOf(tool.output, tool.name, "output");
    if (tool.annotations) descriptor.annotations = tool.annotations;
    if (tool.taskSupport) descriptor.execution = { taskSupport: tool.taskSupport };
    tools.set(tool.name, { descriptor, def: tool, asyncInput: tool.input.async });
  }
  const capabilities: ServerCapabilities = {
    server: {
      name: def.name,
      version: def.version,
      ...(def.title ? { title: def.title } : {}),
      ...(def.description ? { description: def.description } : {}),
      ...(def.defaultEnabled === false ? { defaultEnabled: false } : {}),
    },
    ...(def.instructions ? { instructions: def.instructions } : {}),
    tools: [...tools.values()].map((t) => t.descriptor),
    prompts: def.prompts ?? [],
    resources: (def.resources ?? []).map(({ read: _read, ...descriptor }) => descriptor),
    resourceTemplates: (def.resourceTemplates ?? []).map(({ read: _read, ...descriptor }) => descriptor),
    ...(def.defaultResources?.length ? { defaultResources: def.defaultResources } : {}),
  };
  const gathering = def.tools.filter((t) => t.gather && t.taskSupport).map((t) => t.name);
  if (gathering.length > 0) capabilities.gathersInput = gathering;
  return { def, tools, capabilities };
}

function errorEvent(code: number, message: string, data?: unknown): TerminalEvent {
  return { type: "error", error: data === undefined ? { code, message } : { code, message, data } };
}

function errorResult(message: string): TerminalEvent {
  return { type: "result", result: { content: [{ type: "text", text: message }], isError: true } };
}

/** Normalize what a handler returned into a checked `CallToolResult`. */
function toResult(tool: CompiledTool, value: ToolReturn): TerminalEvent {
  let result: CallToolResult;
  if (typeof value === "string") result = { content: [{ type: "text", text: value }] };
  else if (Array.isArray(value)) {
    result = { content: value };
  } else {
    const checked = v.safeParse(CallToolResult, value);
    if (!checked.success) {
      const fields = issuesToFieldErrors(checked.issues)
        .map((f) => `${f.path}: ${f.message}`)
        .join("; ");
      return errorResult(`Tool ${tool.def.name} returned an invalid result (${fields}).`);
    }
    result = value;
  }
  const output = tool.def.output;
  if (output && !result.isError) {
    if (result.structuredContent === undefined) {
      return errorResult(
        `Tool ${tool.def.name} declares an output schema but returned no structuredContent.`,
      );
    }
    const checked = v.safeParse(output, result.structuredContent);
    if (!checked.success) {
      const fields = issuesToFieldErrors(checked.issues)
        .map((f) => `${f.path}: ${f.message}`)
        .join("; ");
      return errorResult(
        `Tool ${tool.def.name} returned structuredContent that does not match its output schema (${fields}).`,
      );
    }
    if (result.content.length === 0) {
      result = { ...result, content: [{ type: "text", text: JSON.stringify(result.structuredContent) }] };
    }
  }
  return { type: "result", result };
}

/**
 * Run one tool call to its terminal event. Never throws: an unknown tool is a -32602 error; invalid
 * arguments and handler failures are `isError` results (naming the fields to fix); missing answers of a
 * non-live call are `input_required`.
 */
export async function runTool(
  server: CompiledServer,
  name: string,
  args: unknown,
  scope: CallScope,
  channel: CallChannel,
  signal: AbortSignal,
): Promise<TerminalEvent> {
  const started = performance.now();
  const tracer = activeTracer();
  const span = tracer?.startSpan(
    `tools/call ${name}`,
    {
      kind: SpanKind.SERVER,
      attributes: {
        "mcp.method.name": "tools/call",
        "gen_ai.operation.name": "execute_tool",
        "gen_ai.tool.name": name,
        "omni.server": server.def.name,
      },
    },
    parentContext(channel.trace?.traceparent, channel.trace?.tracestate),
  );
  const event = await execute(server, name, args, scope, channel, signal);
  if (span) {
    const outcome = outcomeOf(event);
    span.setAttribute("omni.outcome", outcome);
    if (outcome === "error" || outcome === "tool_error") endWithError(span, outcome);
    else span.end();
  }
  toolCallDurations.observe(
    [
      server.def.name,
      server.tools.has(name) ? name : "unknown",
      channel.live ? "2025" : "2026-07-28",
      outcomeOf(event),
    ],
    (performance.now() - started) / 1000,
  );
  return event;
}

async function execute(
  server: CompiledServer,
  name: string,
  args: unknown,
  scope: CallScope,
  channel: CallChannel,
  signal: AbortSignal,
): Promise<TerminalEvent> {
  const tool = server.tools.get(name);
  if (!tool) return errorEvent(ErrorCode.InvalidParams, `Unknown tool: ${name}`, { name });
  const parsed = tool.asyncInput
    ? await v.safeParseAsync(tool.def.input, args)
    : v.safeParse(tool.def.input, args);
  if (!parsed.success) {
    // A tool execution error (2025-11-25): the model reads which fields to fix and calls again.
    const fields = issuesToFieldErrors(parsed.issues);
    return {
      type: "result",
      result: {
        content: [
          {
            type: "text",
            text: `Invalid arguments for tool ${name}: ${fields.map((f) => `${f.path}: ${f.message}`).join("; ")}. Fix these fields and call the tool again.`,
          },
        ],
        isError: true,
      },
    };
  }

  let seq = 0;
  let missing: Record<string, InputRequest> | undefined;
  let protocolError: TerminalEvent | undefined;
  const minLevel = channel.logLevel ? LEVELS[channel.logLevel] : 0;

  const usedKeys = new Set<string>();

  async function clientRequest<R>(
    kind: ClientRequestKind<R>,
    params: Record<string, unknown>,
    options: ClientRequestOptions | undefined,
  ): Promise<R> {
    const auto = `${kind.prefix}:${seq++}`;
    const key = options?.key ?? auto;
    if (typeof key !== "string" || key.length === 0) {
      throw new Error(`ctx.${kind.prefix}(): options.key must be a non-empty string`);
    }
    if (usedKeys.has(key)) {
      throw new Error(
        `ctx.${kind.prefix}(): the request key "${key}" is already used in this call (keys must be unique per call)`,
      );
    }
    usedKeys.add(key);
    if (!channel.clientCapabilities?.[kind.capability]) {
      throw new MissingClientCapabilityError(kind.capability, kind.method);
    }
    signal.throwIfAborted();
    let answer: unknown;
    if (channel.live && channel.request) {
      answer = await channel.request({ method: kind.method, params }, signal);
      const checked = v.safeParse(kind.schema, answer);
      if (!checked.success) {
        throw new Error(`The client's answer to ${kind.method} is invalid: ${checked.issues[0]?.message}`);
      }
      return checked.output;
    }
    const responses = channel.inputResponses;
    if (responses && Object.hasOwn(responses, key)) {
      const checked = v.safeParse(kind.schema, responses[key]);
      if (checked.success) return checked.output;
      const fields = issuesToFieldErrors(checked.issues).map((f) => ({
        path: `inputResponses.${key}.${f.path}`,
        message: f.message,
      }));
      protocolError ??= errorEvent(
        ErrorCode.InvalidParams,
        `inputResponses["${key}"] is not a valid ${kind.method} result: ${fields[0]?.path}: ${fields[0]?.message}`,
        fields,
      );
      throw new InputRequiredSignal();
    }
    missing ??= {};
    missing[key] = { method: kind.method, params };
    throw new InputRequiredSignal();
  }

  const ctx: ToolContext = {
    signal,
    org: scope.org,
    config: scope.config,
    sessionKey: scope.sessionKey,
    async progress(progress, total, message) {
      if (!channel.progress || signal.aborted) return;
      const event: StreamEvent = { type: "progress", progress };
      if (total !== undefined) event.total = total;
      if (message !== undefined) event.message = message;
      channel.emit(event);
    },
    async log(level: LogLevel, data: unknown, logger?: string) {
      if (LEVELS[level] < minLevel || signal.aborted) return;
      const event: StreamEvent = { type: "log", level, data };
      if (logger !== undefined) event.logger = logger;
      channel.emit(event);
    },
    async elicit(params: ElicitParams, options?: ClientRequestOptions): Promise<ElicitResult> {
      const r = await clientRequest(ELICIT, { ...params }, options);
      return r.content === undefined ? { action: r.action } : { action: r.action, content: r.content };
    },
    async sample(params: SampleParams, options?: ClientRequestOptions): Promise<SampleResult> {
      const r = await clientRequest(SAMPLE, { ...params }, options);
      const out: SampleResult = { role: r.role, content: r.content, model: r.model };
      if (r.stopReason !== undefined) out.stopReason = r.stopReason;
      return out;
    },
    async roots(options?: ClientRequestOptions): Promise<Root[]> {
      const r = await clientRequest(ROOTS, {}, options);
      return r.roots.map((root) => (root.name === undefined ? { uri: root.uri } : root));
    },
    async closeStream(retryMs = 1000) {
      if (!channel.live || signal.aborted) return;
      channel.closeStream?.(Math.min(3_600_000, Math.max(0, Math.round(retryMs))));
    },
  };

  let outcome: TerminalEvent;
  try {
    if (channel.phase === "gather") {
      await tool.def.gather?.(parsed.output, ctx);
      outcome = { type: "result", result: { content: [] } };
    } else outcome = toResult(tool, await tool.def.handler(parsed.output, ctx));
  } catch (error) {
    outcome = failure(error);
  }
  if (protocolError) return protocolError;
  if (missing) return { type: "input_required", inputRequests: missing };
  return outcome;
}

function failure(error: unknown): TerminalEvent {
  if (error instanceof MissingClientCapabilityError) {
    return errorEvent(ErrorCode.MissingClientCapability, error.message, {
      requiredCapabilities: { [error.capability]: {} },
    });
  }
  if (error instanceof ToolError) return errorResult(error.message);
  if (error instanceof Error) {
    if (error.name === "AbortError" || error.name === "TimeoutError") {
      return errorResult(`The call was cancelled: ${error.message}`);
    }
    return errorResult(error.message || error.name);
  }
  return errorResult(`The tool failed: ${String(error)}`);
}
