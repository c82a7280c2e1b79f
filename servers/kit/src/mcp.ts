import { Server } from "@modelcontextprotocol/sdk/server/index.js";
import { StdioServerTransport } from "@modelcontextprotocol/sdk/server/stdio.js";
import { WebStandardStreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js";
import {
  CallToolRequestSchema,
  CompleteRequestSchema,
  CreateMessageResultSchema,
  ElicitResultSchema,
  GetPromptRequestSchema,
  ListPromptsRequestSchema,
  ListResourcesRequestSchema,
  ListResourceTemplatesRequestSchema,
  ListRootsResultSchema,
  ListToolsRequestSchema,
  McpError,
  ReadResourceRequestSchema,
  ErrorCode as SdkErrorCode,
  type ServerRequest,
  SetLevelRequestSchema,
} from "@modelcontextprotocol/sdk/types.js";
import type { CallScope, InputRequest, LogLevel, OrgContext } from "@omni/contracts";
import {
  completion,
  matchingValues,
  PromptArgumentError,
  promptDescriptor,
  renderPrompt,
} from "./prompts.ts";
import { createResourceReader, type ResourceReader } from "./resources.ts";
import { type CallChannel, type CompiledServer, compileServer, runTool } from "./runner.ts";
import type { ServerDefinition } from "./types.ts";

function localOrg(requestId: string): OrgContext {
  return {
    orgId: "local",
    orgSlug: "local",
    userId: null,
    role: "owner",
    permissions: [],
    via: "local",
    requestId,
  };
}

function toSdkRequest(request: InputRequest): ServerRequest {
  return { method: request.method, params: request.params } as ServerRequest;
}

function resultSchemaFor(method: InputRequest["method"]) {
  if (method === "elicitation/create") return ElicitResultSchema;
  if (method === "sampling/createMessage") return CreateMessageResultSchema;
  return ListRootsResultSchema;
}

/**
 * An MCP SDK v1 low-level `Server` exposing a definition's tools, prompts and resources. The tool
 * context maps to the SDK: client requests over the session, progress to `notifications/progress`,
 * logs to `notifications/message` (filtered by `logging/setLevel`).
 */
export function createMcpServer(
  compiled: CompiledServer,
  readResource: ResourceReader,
  sessionKey: () => string,
): Server {
  const { def, capabilities } = compiled;
  const prompts = new Map((def.prompts ?? []).map((p) => [p.name, p]));
  const server = new Server(
    { name: def.name, version: def.version, ...(def.title ? { title: def.title } : {}) },
    {
      capabilities: {
        tools: {},
        logging: {},
        ...(prompts.size > 0 ? { prompts: {}, completions: {} } : {}),
        ...(capabilities.resources.length + capabilities.resourceTemplates.length > 0
          ? { resources: {} }
          : {}),
      },
      ...(def.instructions ? { instructions: def.instructions } : {}),
    },
  );
  let logLevel: LogLevel | undefined;
  const config = () => def.standaloneConfig?.() ?? { settings: {}, credentials: {} };
  const scopeFor = (requestId: string): CallScope => ({
    org: localOrg(requestId),
    config: config(),
    sessionKey: sessionKey(),
  });

  server.setRequestHandler(SetLevelRequestSchema, (request) => {
    logLevel = request.params.level;
    return {};
  });
  server.setRequestHandler(ListToolsRequestSchema, () => ({ tools: capabilities.tools }));
  server.setRequestHandler(CallToolRequestSchema, async (request, extra) => {
    const progressToken = request.params._meta?.progressToken;
    const channel: CallChannel = {
      live: true,
      clientCapabilities: server.getClientCapabilities(),
      progress: progressToken !== undefined,
      logLevel,
      emit(event) {
        const notification =
          event.type === "progress"
            ? {
                method: "notifications/progress" as const,
                params: {
                  progressToken: progressToken ?? 0,
                  progress: event.progress,
                  ...(event.total !== undefined ? { total: event.total } : {}),
                  ...(event.message !== undefined ? { message: event.message } : {}),
                },
              }
            : {
                method: "notifications/message" as const,
                params: {
                  level: event.level,
                  data: event.data,
                  ...(event.logger !== undefined ? { logger: event.logger } : {}),
                },
              };
        extra.sendNotification(notification).catch(() => {});
      },
      request: (input, signal) =>
        extra.sendRequest(toSdkRequest(input), resultSchemaFor(input.method), { signal }),
    };
    const terminal = await runTool(
      compiled,
      request.params.name,
      request.params.arguments ?? {},
      scopeFor(String(extra.requestId)),
      channel,
      extra.signal,
    );
    if (terminal.type === "result") return terminal.result;
    if (terminal.type === "error") {
      throw new McpError(terminal.error.code, terminal.error.message, terminal.error.data);
    }
    throw new McpError(SdkErrorCode.InternalError, "The tool asked for input on a live session");
  });

  // The SDK refuses handlers for capabilities the server did not declare: register only what exists.
  if (prompts.size > 0) {
    server.setRequestHandler(ListPromptsRequestSchema, () => ({
      prompts: [...prompts.values()].map(promptDescriptor),
    }));
    server.setRequestHandler(GetPromptRequestSchema, (request) => {
      const prompt = prompts.get(request.params.name);
      if (!prompt) {
        throw new McpError(SdkErrorCode.InvalidParams, `Unknown prompt: ${request.params.name}`);
      }
      try {
        return renderPrompt(prompt, request.params.arguments ?? {});
      } catch (error) {
        if (error instanceof PromptArgumentError) throw new McpError(error.code, error.message, error.data);
        throw error;
      }
    });
    server.setRequestHandler(CompleteRequestSchema, (request) => {
      const ref = request.params.ref;
      const prompt = ref.type === "ref/prompt" ? prompts.get(ref.name) : undefined;
      const arg = prompt?.arguments?.find((a) => a.name === request.params.argument.name);
      return { completion: completion(matchingValues(arg, request.params.argument.value)) };
    });
  }
  if (capabilities.resources.length + capabilities.resourceTemplates.length > 0) {
    server.setRequestHandler(ListResourcesRequestSchema, () => ({ resources: capabilities.resources }));
    server.setRequestHandler(ListResourceTemplatesRequestSchema, () => ({
      resourceTemplates: capabilities.resourceTemplates,
    }));
    server.setRequestHandler(ReadResourceRequestSchema, async (request, extra) => {
      const response = await readResource(
        request.params.uri,
        scopeFor(String(extra.requestId)),
        extra.signal,
      );
      if (response.ok) return response.result;
      throw new McpError(response.error.code, response.error.message, response.error.data);
    });
  }
  return server;
}

export interface McpHandlerOptions {
  /** `Host`/`Origin` host names served (DNS-rebinding protection). Default: loopback names. */
  allowedHosts?: string[];
  /** Sessions kept at most; the least recently created is closed first. Default 1000. */
  maxSessions?: number;
}

const LOOPBACK = ["localhost", "127.0.0.1", "[::1]", "::1"];

function hostnameOf(hostHeader: string): string {
  if (hostHeader.startsWith("[")) return hostHeader.slice(0, hostHeader.indexOf("]") + 1);
  const colon = hostHeader.indexOf(":");
  return (colon === -1 ? hostHeader : hostHeader.slice(0, colon)).toLowerCase();
}

function jsonRpcError(status: number, code: number, message: string): Response {
  return new Response(JSON.stringify({ jsonrpc: "2.0", id: null, error: { code, message } }), {
    status,
    headers: { "content-type": "application/json" },
  });
}

/** Streamable HTTP (`POST`/`GET`/`DELETE /mcp`) with one SDK server and transport per session. */
export function createMcpHandler(
  compiled: CompiledServer,
  readResource: ResourceReader,
  options: McpHandlerOptions = {},
) {
  const allowed = new Set((options.allowedHosts ?? LOOPBACK).map((h) => h.toLowerCase()));
  const maxSessions = options.maxSessions ?? 1000;
  const sessions = new Map<string, { transport: WebStandardStreamableHTTPServerTransport; server: Server }>();

  const end = (sessionId: string) => {
    const session = sessions.get(sessionId);
    if (!session) return;
    sessions.delete(sessionId);
    void session.server.close().catch(() => {});
    void Promise.resolve(compiled.def.onSessionEnd?.(sessionId, "local")).catch(() => {});
  };

  return {
    async handle(request: Request): Promise<Response> {
      const host = request.headers.get("host");
      if (host && !allowed.has(hostnameOf(host))) {
        return jsonRpcError(403, SdkErrorCode.InvalidRequest, `Host not allowed: ${host}`);
      }
      const origin = request.headers.get("origin");
      if (origin) {
        let originHost = "";
        try {
          originHost = hostnameOf(new URL(origin).host);
        } catch {
          originHost = "";
        }
        if (!allowed.has(originHost)) {
          return jsonRpcError(403, SdkErrorCode.InvalidRequest, `Origin not allowed: ${origin}`);
        }
      }
      const sessionId = request.headers.get("mcp-session-id");
      if (sessionId) {
        const session = sessions.get(sessionId);
        if (!session) return jsonRpcError(404, -32001, `Session not found: ${sessionId}`);
        return session.transport.handleRequest(request);
      }
      if (request.method !== "POST") {
        return jsonRpcError(400, SdkErrorCode.InvalidRequest, "Missing Mcp-Session-Id header");
      }
      let id = "";
      const transport: WebStandardStreamableHTTPServerTransport =
        new WebStandardStreamableHTTPServerTransport({
          sessionIdGenerator: () => crypto.randomUUID(),
          onsessioninitialized: (sid) => {
            id = sid;
            sessions.set(sid, { transport, server });
            if (sessions.size > maxSessions) {
              const oldest = sessions.keys().next().value;
              if (oldest !== undefined) end(oldest);
            }
          },
          onsessionclosed: (sid) => end(sid),
        });
      const server = createMcpServer(compiled, readResource, () => id);
      transport.onclose = () => {
        if (id) end(id);
      };
      await server.connect(transport);
      const response = await transport.handleRequest(request);
      if (!id) await server.close();
      return response;
    },
    async close(): Promise<void> {
      for (const sessionId of [...sessions.keys()]) end(sessionId);
    },
  };
}

/** Serve a definition over stdio (for local MCP clients); resolves when stdin closes. */
export async function runStdio(def: ServerDefinition): Promise<void> {
  const compiled = compileServer(def);
  const server = createMcpServer(compiled, createResourceReader(def), () => "stdio");
  const transport = new StdioServerTransport();
  const closed = new Promise<void>((resolve) => {
    server.onclose = () => resolve();
  });
  await server.connect(transport);
  process.stdin.once("end", () => {
    void server.close();
  });
  await closed;
  await def.close?.();
}
