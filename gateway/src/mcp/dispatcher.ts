import {
  type CallToolResult,
  type ClientCapabilities,
  ErrorCode,
  type OrgContext,
  type ResourceDescriptor,
  type ResourceTemplateDescriptor,
  type ToolCallEvent,
  type ToolCallRequest,
  type ToolDescriptor,
} from "@omni/contracts";
import {
  type ConfigChange,
  ConfigError,
  type ConfigService,
  type McpAccess,
  type OrgCatalog,
} from "../ports.ts";
import { type Capabilities, callFailureReason, type Instance, type Registry } from "../registry/index.ts";
import {
  type Inbound,
  isLogLevel,
  isRecord,
  isSessionVersion,
  type Json,
  LATEST_SESSION_VERSION,
  notificationMessage,
  paginate,
  RpcError,
  SESSION_VERSIONS,
  type SessionVersion,
} from "./protocol.ts";
import { createSession, type Outbound, type Session, SessionStore } from "./session.ts";

export interface DispatcherOptions {
  config: ConfigService;
  registry: Registry;
  /** Items per page of every list. Default 100. */
  pageSize?: number;
  /** Idle sessions are dropped after this long. Default 30 minutes. */
  sessionIdleMs?: number;
  serverInfo: { name: string; version: string; title?: string };
  instructions?: string;
  logger: Pick<Console, "info" | "warn" | "error">;
  /**
   * Per-method permission checks and the tool-call audit (gateway/src/auth/mcp.ts). Here, in the shared
   * dispatcher, so both eras and WebSocket are covered. Without it every method is allowed, unaudited.
   */
  access?: Pick<McpAccess, "authorize" | "recordToolCall">;
}

/** What one org sees: rebuilt only when its configuration or the servers' capabilities change. */
interface OrgView {
  capsVersion: number;
  catalog: OrgCatalog;
  enabled: Set<string>;
  tools: ToolDescriptor[];
  resources: ResourceDescriptor[];
  templates: ResourceTemplateDescriptor[];
}

const SERVER_CAPABILITIES = {
  tools: { listChanged: true },
  prompts: { listChanged: true },
  resources: { subscribe: true, listChanged: true },
  logging: {},
  completions: {},
};

const CLIENT_CAPABILITY_OF: Record<string, keyof ClientCapabilities> = {
  "sampling/createMessage": "sampling",
  "elicitation/create": "elicitation",
  "roots/list": "roots",
};

type Auth = { org: Omit<OrgContext, "requestId">; credentialId?: string; expiresAt?: number };

/**
 * The MCP method dispatcher shared by Streamable HTTP and WebSocket: transport-free, one instance per
 * gateway. Sessions, per-org views and capability routing live here; era and transport logic do not.
 */
export class Dispatcher {
  readonly sessions: SessionStore;
  private readonly views = new Map<string, Promise<OrgView>>();
  private readonly pageSize: number;
  private readonly unsubscribe: (() => void)[] = [];

  constructor(private readonly opts: DispatcherOptions) {
    this.pageSize = opts.pageSize ?? 100;
    this.sessions = new SessionStore(opts.sessionIdleMs ?? 30 * 60_000, (s) => this.endUpstream(s));
    this.unsubscribe.push(
      opts.config.onChange((change) => this.onConfigChange(change)),
      opts.registry.onChange((caps) => this.onCapabilitiesChange(caps)),
    );
  }

  close(): void {
    for (const off of this.unsubscribe) off();
    this.sessions.close();
  }

  /** Handles `initialize`: negotiates the version and creates the session. */
  initialize(auth: Auth, params: Json): { session: Session; result: Json } {
    const requested = params.protocolVersion;
    if (typeof requested !== "string") {
      throw new RpcError(ErrorCode.InvalidParams, "params.protocolVersion must be a string", {
        supported: SESSION_VERSIONS,
      });
    }
    if (params.capabilities !== undefined && !isRecord(params.capabilities)) {
      throw new RpcError(ErrorCode.InvalidParams, "params.capabilities must be an object");
    }
    const version: SessionVersion = isSessionVersion(requested) ? requested : LATEST_SESSION_VERSION;
    const session = createSession({
      org: auth.org,
      credentialId: auth.credentialId,
      expiresAt: auth.expiresAt,
      protocolVersion: version,
      clientCapabilities: (params.capabilities as ClientCapabilities | undefined) ?? {},
      clientInfo: isRecord(params.clientInfo) ? params.clientInfo : {},
    });
    this.sessions.add(session);
    const result: Json = {
      protocolVersion: version,
      capabilities: SERVER_CAPABILITIES,
      serverInfo: this.opts.serverInfo,
    };
    if (this.opts.instructions) result.instructions = this.opts.instructions;
    return { session, result };
  }

  /** Ends a session (DELETE, socket close): aborts its calls and tells the servers it used. */
  endSession(session: Session): void {
    this.sessions.delete(session.id);
    for (const controller of session.inflight.values()) controller.abort();
    session.stream?.close?.();
    session.stream = null;
    this.endUpstream(session);
  }

  /** Handles a notification or a response from the client. */
  async accept(session: Session, message: Inbound): Promise<void> {
    if (message.kind === "notification") {
      if (message.method === "notifications/cancelled") {
        const requestId = message.params.requestId;
        if (typeof requestId === "string" || typeof requestId === "number") {
          session.inflight.get(String(requestId))?.abort();
        }
      }
      // notifications/initialized, roots/list_changed, progress: nothing to do.
      return;
    }
    if (message.kind !== "response") return;
    const pending = session.pending.get(String(message.id));
    if (!pending) return;
    session.pending.delete(String(message.id));
    try {
      await pending.instance.client.callback({
        callId: pending.callId,
        id: pending.upstreamId,
        ...(message.error ? { error: message.error } : { result: message.result }),
      });
    } catch (error) {
      this.opts.logger.warn(`[mcp] callback to ${pending.instance.server} failed: ${String(error)}`);
    }
  }

  /** Handles a request of an initialized session; `out` carries related messages (progress, logs, requests). */
  async request(
    session: Session,
    id: string | number,
    method: string,
    params: Json,
    out: Outbound,
  ): Promise<Json> {
    const access = this.opts.access?.authorize(session.org, method);
    if (access?.kind === "empty") return access.result as Json;
    if (access?.kind === "refuse") {
      throw new RpcError(access.error.code, access.error.message, access.error.data);
    }
    switch (method) {
      case "ping":
        return {};
      case "tools/list": {
        const view = await this.view(session.org.orgId);
        const { page, nextCursor } = paginate("tools", view.tools, params.cursor, this.pageSize);
        return nextCursor ? { tools: page, nextCursor } : { tools: page };
      }
      case "tools/call":
        return this.callTool(session, id, params, out);
      case "prompts/list": {
        const view = await this.view(session.org.orgId);
        const prompts = view.catalog.prompts.map(({ server: _server, ...prompt }) => prompt);
        const { page, nextCursor } = paginate("prompts", prompts, params.cursor, this.pageSize);
        return nextCursor ? { prompts: page, nextCursor } : { prompts: page };
      }
      case "prompts/get":
        return this.getPrompt(session, params);
      case "resources/list": {
        const view = await this.view(session.org.orgId);
        const { page, nextCursor } = paginate("resources", view.resources, params.cursor, this.pageSize);
        return nextCursor ? { resources: page, nextCursor } : { resources: page };
      }
      case "resources/templates/list": {
        const view = await this.view(session.org.orgId);
        const { page, nextCursor } = paginate("templates", view.templates, params.cursor, this.pageSize);
        return nextCursor ? { resourceTemplates: page, nextCursor } : { resourceTemplates: page };
      }
      case "resources/read":
        return this.readResource(session, params);
      case "resources/subscribe":
      case "resources/unsubscribe": {
        if (typeof params.uri !== "string")
          throw new RpcError(ErrorCode.InvalidParams, "params.uri must be a string");
        if (method === "resources/subscribe") session.subscriptions.add(params.uri);
        else session.subscriptions.delete(params.uri);
        return {};
      }
      case "completion/complete":
        return this.complete(session, params);
      case "logging/setLevel": {
        if (!isLogLevel(params.level)) {
          throw new RpcError(
            ErrorCode.InvalidParams,
            "params.level must be one of debug, info, notice, warning, error, critical, alert, emergency",
          );
        }
        session.logLevel = params.level;
        return {};
      }
      case "initialize":
        throw new RpcError(ErrorCode.InvalidRequest, "Invalid request: the session is already initialized");
      default:
        throw new RpcError(ErrorCode.MethodNotFound, `Method not found: ${method}`);
    }
  }

  // ---- per-org views ----------------------------------------------------------------------------

  private view(orgId: string): Promise<OrgView> {
    const caps = this.opts.registry.capabilities;
    const cached = this.views.get(orgId);
    if (cached) {
      return cached.then((view) => (view.capsVersion === caps.version ? view : this.buildView(orgId, caps)));
    }
    return this.buildView(orgId, caps);
  }

  private buildView(orgId: string, caps: Capabilities): Promise<OrgView> {
    const promise = this.opts.config.catalog(orgId, caps.codePrompts).then((catalog) => {
      const enabled = new Set(catalog.enabledServers);
      const tools: ToolDescriptor[] = [];
      for (const route of caps.tools.values()) if (enabled.has(route.server)) tools.push(route.tool);
      const resources: ResourceDescriptor[] = catalog.resources.map(({ server: _s, ...r }) => r);
      const seen = new Set(resources.map((r) => r.uri));
      for (const { server, resource } of caps.resources.values()) {
        if (enabled.has(server) && !seen.has(resource.uri)) resources.push(resource);
      }
      const templates = caps.templates.filter((t) => enabled.has(t.server)).map((t) => t.template);
      return { capsVersion: caps.version, catalog, enabled, tools, resources, templates };
    });
    this.views.set(orgId, promise);
    promise.catch(() => {
      if (this.views.get(orgId) === promise) this.views.delete(orgId);
    });
    return promise;
  }

  private onConfigChange(change: ConfigChange): void {
    this.views.delete(change.orgId);
    for (const session of this.sessions.all()) {
      if (session.org.orgId !== change.orgId || !session.stream) continue;
      for (const kind of change.kinds)
        session.stream.send(notificationMessage(`notifications/${kind}/list_changed`));
      for (const uri of change.uris ?? []) {
        if (session.subscriptions.has(uri)) {
          session.stream.send(notificationMessage("notifications/resources/updated", { uri }));
        }
      }
    }
  }

  private onCapabilitiesChange(_caps: Capabilities): void {
    this.views.clear();
    for (const session of this.sessions.all()) {
      if (!session.stream) continue;
      for (const kind of ["tools", "prompts", "resources"]) {
        session.stream.send(notificationMessage(`notifications/${kind}/list_changed`));
      }
    }
  }

  // ---- tools ------------------------------------------------------------------------------------

  /** A tool call, audited (who, org, tool, duration, outcome; arguments when the org opted in). */
  private async callTool(session: Session, id: string | number, params: Json, out: Outbound): Promise<Json> {
    const access = this.opts.access;
    if (!access || typeof params.name !== "string") return this.runTool(session, id, params, out);
    const tool = params.name;
    const server = this.opts.registry.capabilities.tools.get(tool)?.server;
    const started = performance.now();
    const record = (outcome: "ok" | "error", error?: string) =>
      void access.recordToolCall({
        org: session.org,
        ...(session.credentialId ? { credentialId: session.credentialId } : {}),
        tool,
        ...(server ? { server } : {}),
        durationMs: performance.now() - started,
        outcome,
        ...(error ? { error } : {}),
        ...(params.arguments !== undefined ? { arguments: params.arguments } : {}),
      });
    try {
      const result = await this.runTool(session, id, params, out);
      if (result.isError === true) record("error", "the tool returned isError: true");
      else record("ok");
      return result;
    } catch (error) {
      record("error", error instanceof Error ? error.message : String(error));
      throw error;
    }
  }

  private async runTool(session: Session, id: string | number, params: Json, out: Outbound): Promise<Json> {
    const name = params.name;
    if (typeof name !== "string") throw new RpcError(ErrorCode.InvalidParams, "params.name must be a string");
    if (params.arguments !== undefined && !isRecord(params.arguments)) {
      throw new RpcError(ErrorCode.InvalidParams, "params.arguments must be an object");
    }
    const view = await this.view(session.org.orgId);
    const route = this.opts.registry.capabilities.tools.get(name);
    if (!route || !view.enabled.has(route.server)) {
      throw new RpcError(
        ErrorCode.InvalidParams,
        `Unknown tool: ${name}. Call tools/list for the tools available.`,
      );
    }
    const org: OrgContext = { ...session.org, requestId: crypto.randomUUID() };
    const config = await this.opts.config.serviceConfig(org, route.server);
    const meta = isRecord(params._meta) ? params._meta : undefined;
    const progressToken = meta?.progressToken;
    const hasProgress = typeof progressToken === "string" || typeof progressToken === "number";
    const req: ToolCallRequest = {
      name,
      arguments: (params.arguments as Json | undefined) ?? {},
      scope: { org, config, sessionKey: session.id },
      clientCapabilities: session.clientCapabilities,
      live: !session.stateless,
      ...(session.stateless ? { inputResponses: session.stateless.inputResponses } : {}),
      progress: hasProgress,
      ...(session.logLevel ? { logLevel: session.logLevel } : {}),
    };

    const key = String(id);
    const controller = new AbortController();
    session.inflight.set(key, controller);
    session.usedServers.add(route.server);
    try {
      let instance = this.opts.registry.pick(route.server);
      for (let attempt = 0; ; attempt++) {
        if (!instance) throw this.unavailable(route.server);
        let relayed = false;
        const onEvent = (event: ToolCallEvent, callId: string) => {
          if (event.type === "progress") {
            if (!hasProgress) return;
            relayed = true;
            const p: Json = { progressToken, progress: event.progress };
            if (event.total !== undefined) p.total = event.total;
            if (event.message !== undefined) p.message = event.message;
            out.send(notificationMessage("notifications/progress", p));
          } else if (event.type === "log") {
            relayed = true;
            const p: Json = { level: event.level, data: event.data };
            if (event.logger !== undefined) p.logger = event.logger;
            out.send(notificationMessage("notifications/message", p));
          } else if (event.type === "request") {
            relayed = true;
            this.relayRequest(session, instance as Instance, callId, event.id, event.request, out);
          }
        };
        try {
          return await this.runCall(instance, req, controller.signal, onEvent);
        } catch (error) {
          if (error instanceof RpcError) throw error;
          if (controller.signal.aborted) throw new RpcError(-32800, "Request cancelled");
          if (!this.opts.registry.markFailed(instance, error)) throw this.callFailed(route.server, error);
          if (!route.retryable || relayed || attempt > 0) throw this.unavailable(route.server, error);
          instance = this.opts.registry.pick(route.server, instance);
        }
      }
    } finally {
      session.inflight.delete(key);
    }
  }

  /** One upstream call: resolves with the tool result, rejects with RpcError (protocol) or a transport error. */
  private async runCall(
    instance: Instance,
    req: ToolCallRequest,
    signal: AbortSignal,
    onEvent: (event: ToolCallEvent, callId: string) => void,
  ): Promise<Json> {
    let callId = "";
    let end: ToolCallEvent;
    instance.outstanding++;
    try {
      end = await instance.client.callTool(req, {
        signal,
        onEvent: (event) => {
          if (event.type === "accepted") callId = event.callId;
          else onEvent(event, callId);
        },
      });
    } finally {
      instance.outstanding--;
    }
    if (signal.aborted) throw new RpcError(-32800, "Request cancelled");
    if (end.type === "result") return end.result satisfies CallToolResult as Json;
    if (end.type === "error") throw new RpcError(end.error.code, end.error.message, end.error.data);
    if (!req.live) return { resultType: "input_required", inputRequests: end.inputRequests };
    throw new RpcError(ErrorCode.InternalError, `${instance.server} asked for input on a live session`);
  }

  private relayRequest(
    session: Session,
    instance: Instance,
    callId: string,
    upstreamId: string,
    request: { method: string; params: Json },
    out: Outbound,
  ): void {
    const capability = CLIENT_CAPABILITY_OF[request.method];
    if (capability && !session.clientCapabilities[capability]) {
      void instance.client
        .callback({
          callId,
          id: upstreamId,
          error: {
            code: ErrorCode.MissingClientCapability,
            message: `The client did not declare the ${capability} capability, so ${request.method} is not available`,
          },
        })
        .catch(() => {});
      return;
    }
    const clientId = `omni-${session.nextOutboundId++}`;
    session.pending.set(clientId, { instance, callId, upstreamId });
    out.send({ jsonrpc: "2.0", id: clientId, method: request.method, params: request.params });
  }

  /** A call's own upstream failure (not a transport one): this call's error; the instance stays healthy. */
  private callFailed(server: string, cause: unknown): RpcError {
    this.opts.logger.warn(`[mcp] a call to ${server} failed: ${String(cause).slice(0, 500)}`);
    return new RpcError(
      ErrorCode.InternalError,
      `The ${server} server could not handle this call (${callFailureReason(cause)}). Other calls are not affected; check the arguments (size, nesting) and retry.`,
      { server },
    );
  }

  private unavailable(server: string, cause?: unknown): RpcError {
    // The cause (a fetch error: addresses, runtime hints) goes to the log, never to the client.
    if (cause !== undefined) this.opts.logger.warn(`[mcp] ${server} unavailable`, cause);
    return new RpcError(
      ErrorCode.ServerUnavailable,
      `Server unavailable: no healthy instance of "${server}". Retry shortly; if it persists, check that the ${server} server is running and reachable from the gateway (GET /health lists instances).`,
      { server },
    );
  }

  // ---- prompts, resources, completion -----------------------------------------------------------

  private async getPrompt(session: Session, params: Json): Promise<Json> {
    if (typeof params.name !== "string")
      throw new RpcError(ErrorCode.InvalidParams, "params.name must be a string");
    const args: Record<string, string> = {};
    if (params.arguments !== undefined) {
      if (!isRecord(params.arguments))
        throw new RpcError(ErrorCode.InvalidParams, "params.arguments must be an object");
      for (const [k, value] of Object.entries(params.arguments)) {
        if (typeof value !== "string") {
          throw new RpcError(ErrorCode.InvalidParams, `params.arguments.${k} must be a string`);
        }
        args[k] = value;
      }
    }
    try {
      const result = await this.opts.config.getPrompt(
        session.org.orgId,
        params.name,
        args,
        this.opts.registry.capabilities.codePrompts,
      );
      return result as Json;
    } catch (error) {
      throw fromConfigError(error);
    }
  }

  private async readResource(session: Session, params: Json): Promise<Json> {
    const uri = params.uri;
    if (typeof uri !== "string") throw new RpcError(ErrorCode.InvalidParams, "params.uri must be a string");
    const stored = await this.opts.config.readResource(session.org.orgId, uri).catch((e: unknown) => {
      throw fromConfigError(e);
    });
    if (stored) return stored as Json;
    const view = await this.view(session.org.orgId);
    const caps = this.opts.registry.capabilities;
    const server =
      caps.resources.get(uri)?.server ?? caps.templates.find((t) => t.pattern.test(uri))?.server ?? undefined;
    if (!server || !view.enabled.has(server)) {
      throw new RpcError(ErrorCode.ResourceNotFound, `Resource not found: ${uri}`, { uri });
    }
    const instance = this.opts.registry.pick(server);
    if (!instance) throw this.unavailable(server);
    const org: OrgContext = { ...session.org, requestId: crypto.randomUUID() };
    const config = await this.opts.config.serviceConfig(org, server);
    instance.outstanding++;
    try {
      const response = await instance.client.readResource({
        uri,
        scope: { org, config, sessionKey: session.id },
      });
      if (!response.ok) throw new RpcError(response.error.code, response.error.message, response.error.data);
      return response.result as Json;
    } catch (error) {
      if (error instanceof RpcError) throw error;
      if (!this.opts.registry.markFailed(instance, error)) throw this.callFailed(server, error);
      throw this.unavailable(server, error);
    } finally {
      instance.outstanding--;
    }
  }

  private async complete(session: Session, params: Json): Promise<Json> {
    const ref = params.ref;
    const argument = params.argument;
    if (!isRecord(ref) || typeof ref.type !== "string") {
      throw new RpcError(
        ErrorCode.InvalidParams,
        "params.ref must be {type: 'ref/prompt', name} or {type: 'ref/resource', uri}",
      );
    }
    if (!isRecord(argument) || typeof argument.name !== "string" || typeof argument.value !== "string") {
      throw new RpcError(ErrorCode.InvalidParams, "params.argument must be {name: string, value: string}");
    }
    let values: string[] = [];
    if (ref.type === "ref/prompt") {
      if (typeof ref.name !== "string")
        throw new RpcError(ErrorCode.InvalidParams, "params.ref.name must be a string");
      try {
        values = await this.opts.config.completePromptArgument(
          session.org.orgId,
          ref.name,
          argument.name,
          argument.value,
          this.opts.registry.capabilities.codePrompts,
        );
      } catch (error) {
        throw fromConfigError(error);
      }
    } else if (ref.type !== "ref/resource") {
      throw new RpcError(
        ErrorCode.InvalidParams,
        `params.ref.type must be ref/prompt or ref/resource, not ${ref.type}`,
      );
    }
    const total = values.length;
    values = values.slice(0, 100);
    return { completion: { values, total, hasMore: total > values.length } };
  }

  private endUpstream(session: Session): void {
    for (const server of session.usedServers) {
      for (const instance of this.opts.registry.healthyInstances(server)) {
        void instance.client.endSession({ sessionKey: session.id, orgId: session.org.orgId }).catch(() => {});
      }
    }
  }
}

function fromConfigError(error: unknown): unknown {
  if (error instanceof ConfigError) return new RpcError(error.code, error.message, error.data);
  return error;
}
