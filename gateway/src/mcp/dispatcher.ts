import { randomBytes } from "node:crypto";
import {
  CompleteParams,
  EmptyParams,
  ErrorCode,
  InitializeParams,
  ListParams,
  type OrgContext,
  type OrgPolicy,
  type PromptDescriptor,
  PromptsGetParams,
  type ResourceDescriptor,
  type ResourceTemplateDescriptor,
  ResourceUriParams,
  SetLevelParams,
  type ToolDescriptor,
  ToolsCallParams,
} from "@omni/contracts";
import { completion } from "@omni/kit";
import * as v from "valibot";
import type { FederatedCatalog, Federation } from "../federation/index.ts";
import { McpObserver, type McpObserverOptions } from "../observability/mcp.ts";
import {
  type Caller,
  type ConfigChange,
  ConfigError,
  type ConfigService,
  type McpAccess,
  type OrgCatalog,
} from "../ports.ts";
import type { Capabilities, Registry, ToolRoute } from "../registry/index.ts";
import type { CallContext, EraName } from "./core/context.ts";
import { ERAS } from "./core/eras.ts";
import { type MethodHandler, method, parseParams } from "./core/methods.ts";
import { Relay } from "./core/relay.ts";
import { CALL_TOOL, CallToolArgs, SEARCH_TOOLS, SearchToolsArgs } from "./policy/discovery.ts";
import { buildScope, type Scope } from "./policy/scope.ts";
import {
  isSessionVersion,
  type Json,
  LATEST_SESSION_VERSION,
  notificationMessage,
  paginate,
  RpcError,
  type SessionVersion,
} from "./protocol.ts";
import { type Session, SessionStore } from "./session.ts";
import { type BusMessage, MemorySessionBus, type SessionBus } from "./session-bus.ts";
import { SessionSealer } from "./session-seal.ts";

/**
 * Sees a `tools/call`'s domain-server tool once the caller's name is resolved, before it runs: a result
 * answers the call instead (audited by whatever produced it), undefined runs it as usual.
 */
export type ToolDivert = (route: ToolRoute) => Promise<Json | undefined>;

export interface DispatcherOptions {
  config: ConfigService;
  registry: Registry;
  /** Items per page of every list. Default 100. */
  pageSize?: number;
  /** Idle sessions are dropped after this long. Default 30 minutes. */
  sessionIdleMs?: number;
  /**
   * How 2025 session ids are sealed (the deployment key, `SESSION_MAX_AGE_MS`) and what replicas share
   * about sessions (`RedisSessionBus` with Redis). Default: a per-process key (24 h) and memory.
   */
  sessions?: { sealer: SessionSealer; bus: SessionBus };
  serverInfo: { name: string; version: string; title?: string };
  /** The gateway's own instructions, put before the enabled servers' (initialize, server/discover). */
  instructions?: string;
  logger: Pick<Console, "info" | "warn" | "error">;
  /**
   * Per-method permission checks and the tool-call audit (gateway/src/auth/mcp.ts). Here, in the shared
   * dispatcher, so every edge is covered. Without it every method is allowed, unaudited.
   */
  access?: Pick<McpAccess, "authorize" | "recordToolCall">;
  /** Federated upstream MCP servers: their tools, prompts and resources join each org's view. */
  federation?: Federation;
  /**
   * Metrics, the `mcp request` log line and tracing of every request and upstream call
   * (`observability/mcp.ts`): organization labels (`METRICS_ORG_LABELS`), the log line (default on).
   */
  observe?: Omit<McpObserverOptions, "registry" | "logger">;
}

/** What one org sees: rebuilt only when its configuration or the servers' capabilities change. */
export interface OrgView {
  capsVersion: number;
  /** `Federation.version` the view was built at. */
  fedVersion: number;
  catalog: OrgCatalog;
  enabled: Set<string>;
  tools: ToolDescriptor[];
  resources: ResourceDescriptor[];
  templates: ResourceTemplateDescriptor[];
  /** The gateway's instructions and the enabled servers' own, one paragraph each. */
  instructions: string | undefined;
  /** The org's federated upstreams (their names already in `tools`; built-in names win a clash). */
  federated: FederatedCatalog | undefined;
  /** The org's tool policies and bundles. */
  policy: OrgPolicy;
  /** What each (role, bundle) sees, built on first use from this view (`policy/scope.ts`). */
  scopes: Map<string, Scope | undefined>;
}

export const SERVER_CAPABILITIES = {
  tools: { listChanged: true },
  prompts: { listChanged: true },
  resources: { subscribe: true, listChanged: true },
  logging: {},
  completions: {},
};

/** The one answer to a tool the caller cannot see, whether it exists or not (no existence oracle). */
function unknownTool(name: string): RpcError {
  return new RpcError(
    ErrorCode.InvalidParams,
    `Unknown tool: ${name}. Call tools/list for the tools available.`,
  );
}

/** A tool's invalid arguments: a result the model can act on, naming the field (as the kit answers). */
function invalidArguments(tool: string, issues: v.BaseIssue<unknown>[]): Json {
  const text = issues.map((issue) => `${v.getDotPath(issue) ?? "arguments"}: ${issue.message}`).join("; ");
  return { content: [{ type: "text", text: `Invalid arguments for ${tool}: ${text}` }], isError: true };
}

function resourceNotFound(uri: string): RpcError {
  return new RpcError(ErrorCode.ResourceNotFound, `Resource not found: ${uri}`, { uri });
}

function fromConfigError(error: unknown): unknown {
  if (error instanceof ConfigError) return new RpcError(error.code, error.message, error.data);
  return error;
}

/**
 * The MCP core shared by every edge: `request(call, method, params)` looks the method up in the call's
 * era, authorizes it, validates its params against the contract's schema and runs its typed handler.
 * Per-org views, 2025 sessions and change notifications live here; transports and era envelopes do not.
 */
export class Dispatcher {
  readonly sessions: SessionStore;
  readonly relay: Relay;
  readonly observer: McpObserver;
  /** Open WebSocket connections with a session (the sessions gauge's `websocket` transport). */
  websocketSessions = 0;
  private readonly views = new Map<string, Promise<OrgView>>();
  /** The views of `views` once built: the tool-call path reads them without a promise round. */
  private readonly builtViews = new Map<string, OrgView>();
  private readonly pageSize: number;
  private readonly unsubscribe: (() => void)[] = [];
  private readonly handlers: Record<EraName, Map<string, MethodHandler>> = {
    session: new Map(),
    modern: new Map(),
    task: new Map(),
  };

  constructor(private readonly opts: DispatcherOptions) {
    this.pageSize = opts.pageSize ?? 100;
    this.observer = new McpObserver({ registry: opts.registry, logger: opts.logger, ...opts.observe });
    this.relay = new Relay(opts.registry, opts.logger, this.observer);
    const shared = opts.sessions ?? {
      sealer: new SessionSealer(randomBytes(32), 24 * 60 * 60_000),
      bus: new MemorySessionBus(),
    };
    this.sessions = new SessionStore(
      opts.sessionIdleMs ?? 30 * 60_000,
      (s) => this.endUpstream(s),
      shared.sealer,
      shared.bus,
    );
    shared.bus.onMessage((message) => this.onBusMessage(message));
    this.unsubscribe.push(
      opts.config.onChange((change) => this.onConfigChange(change)),
      opts.registry.onChange((caps) => this.onCapabilitiesChange(caps)),
    );
    if (opts.federation) {
      this.unsubscribe.push(
        opts.federation.onChange((orgId) => this.onFederationChange(orgId)),
        opts.federation.onNotify((orgId, message) => this.onFederatedNotification(orgId, message)),
      );
    }
    for (const era of ["session", "modern", "task"] as const) this.serve(era, this.core);
  }

  close(): void {
    for (const off of this.unsubscribe) off();
    this.sessions.close();
  }

  /**
   * Graceful drain: ends every GET stream held here with an SSE `retry` hint, so clients reconnect (with
   * `Last-Event-ID`) through the balancer to another replica. The sessions stay valid everywhere.
   */
  closeStreams(retryMs: number): void {
    for (const session of this.sessions.all()) {
      const stream = session.stream;
      if (!stream) continue;
      session.stream = null;
      stream.close?.(retryMs);
    }
  }

  /** Binds handlers to methods of an era; names the era does not know are ignored (see `core/eras.ts`). */
  serve(era: EraName, handlers: Record<string, MethodHandler>): void {
    const known = ERAS[era];
    for (const [name, handler] of Object.entries(handlers)) {
      if (known.has(name)) this.handlers[era].set(name, handler);
    }
  }

  /** The handler an era binds to a method (the edges wrap era-specific behaviour around them). */
  handler(era: EraName, name: string): MethodHandler | undefined {
    return this.handlers[era].get(name);
  }

  /** Runs one request: era membership (-32601), permission, params (-32602 naming the field), handler. */
  async request(call: CallContext, name: string, params: Json): Promise<Json> {
    const handler = this.handlers[call.era].get(name);
    if (!handler) throw new RpcError(ErrorCode.MethodNotFound, `Method not found: ${name}`);
    // The observation hook (metrics, the request's log line, its span): known methods only, so the
    // method label stays bounded.
    const observation = this.observer.begin(call, name, params);
    try {
      const result = await this.handle(handler, call, name, params);
      this.observer.end(observation, call, name, params, result);
      return result;
    } catch (error) {
      this.observer.end(observation, call, name, params, undefined, error);
      throw error;
    }
  }

  private handle(
    handler: MethodHandler,
    call: CallContext,
    name: string,
    params: Json,
  ): Promise<Json> | Json {
    const access = this.opts.access?.authorize(call.caller.org, name);
    if (access?.kind === "empty") return access.result;
    if (access?.kind === "refuse")
      throw new RpcError(access.error.code, access.error.message, access.error.data);
    return handler.handle(call, parseParams(handler, params));
  }

  /** Handles `initialize`: negotiates the version and creates the session. */
  async initialize(caller: Caller, raw: Json): Promise<{ session: Session; result: Json }> {
    const params = parseParams(this.initializeParams, raw);
    const version: SessionVersion = isSessionVersion(params.protocolVersion)
      ? params.protocolVersion
      : LATEST_SESSION_VERSION;
    const session = this.sessions.create({
      caller,
      protocolVersion: version,
      clientCapabilities: params.capabilities ?? {},
      clientInfo: params.clientInfo ?? {},
    });
    const result: Json = {
      protocolVersion: version,
      capabilities: SERVER_CAPABILITIES,
      serverInfo: this.opts.serverInfo,
    };
    const instructions = await this.instructions(caller.org.orgId);
    if (instructions) result.instructions = instructions;
    return { session, result };
  }

  private readonly initializeParams = method(InitializeParams, () => ({}));

  /** The instructions an org's clients get: the gateway's, then each enabled server's. */
  async instructions(orgId: string): Promise<string | undefined> {
    try {
      return (await this.view(orgId)).instructions;
    } catch {
      return this.opts.instructions;
    }
  }

  /**
   * Ends a session (DELETE, admin API, socket close): aborts its calls, closes its stream, tells the servers
   * it used, and revokes its id on every replica (the bus keeps it revoked until the id would expire).
   */
  async endSession(session: Session): Promise<void> {
    this.endLocal(session);
    try {
      await this.sessions.bus.revoke(session.id, session.expiresAt);
    } catch (error) {
      this.opts.logger.warn(`[mcp] revoking session ${session.id} failed: ${String(error)}`);
    }
  }

  /** Ends this replica's copy of a session. */
  private endLocal(session: Session): void {
    this.sessions.delete(session.id);
    for (const controller of session.inflight.values()) controller.abort();
    session.stream?.close?.();
    session.stream = null;
    this.endUpstream(session);
  }

  /** A message from another replica about a session this one may hold. */
  private onBusMessage(message: BusMessage): void {
    const session = this.sessions.get(message.sid);
    if (!session) return;
    switch (message.t) {
      case "answer":
        void this.answer(session, message);
        return;
      case "cancel":
        session.inflight.get(String(message.requestId))?.abort();
        return;
      case "end":
        this.endLocal(session);
        return;
      case "state":
        session.logLevel = message.logLevel;
        session.subscriptions.clear();
        for (const uri of message.subscriptions) session.subscriptions.add(uri);
        return;
    }
  }

  /** Stores a session's log level and subscriptions where every replica reads them. */
  private shareState(session: Session): void {
    void this.sessions.bus
      .save(
        session.id,
        { logLevel: session.logLevel, subscriptions: [...session.subscriptions] },
        session.expiresAt,
      )
      .catch((error: unknown) =>
        this.opts.logger.warn(`[mcp] sharing session state failed: ${String(error)}`),
      );
  }

  /** A notification or a response from a 2025 client. */
  async accept(
    session: Session,
    message:
      | { kind: "notification"; method: string; params: Json }
      | {
          kind: "response";
          id: string | number;
          result?: unknown;
          error?: { code: number; message: string; data?: unknown };
        },
  ): Promise<void> {
    if (message.kind === "notification") {
      if (message.method === "notifications/cancelled") {
        const requestId = message.params.requestId;
        if (typeof requestId === "string" || typeof requestId === "number") {
          const local = session.inflight.get(String(requestId));
          if (local) local.abort();
          // The call may run on another replica (the client's POSTs are balanced).
          else void this.sessions.bus.broadcast({ t: "cancel", sid: session.id, requestId }).catch(() => {});
        }
      } else if (message.method === "notifications/roots/list_changed") {
        this.opts.federation?.rootsChanged(session.caller.org.orgId);
      }
      // notifications/initialized, roots/list_changed, progress: nothing to do.
      return;
    }
    const answer: BusMessage & { t: "answer" } = {
      t: "answer",
      sid: session.id,
      id: message.id,
      ...(message.error ? { error: message.error } : { result: message.result }),
    };
    if (session.pending.has(String(message.id))) return this.answer(session, answer);
    // `omni-<replica>-<n>`: the replica whose call is waiting for this answer.
    const replica = /^omni-([A-Za-z0-9_-]{8})-\d+$/.exec(String(message.id))?.[1];
    if (!replica || replica === this.sessions.bus.replica) return;
    try {
      if (!(await this.sessions.bus.send(replica, answer))) {
        this.opts.logger.warn(`[mcp] the replica waiting for answer ${message.id} is gone`);
      }
    } catch (error) {
      this.opts.logger.warn(`[mcp] routing answer ${message.id} failed: ${String(error)}`);
    }
  }

  /** Hands a client's answer to the domain server call waiting for it (on this replica). */
  private async answer(session: Session, message: BusMessage & { t: "answer" }): Promise<void> {
    const pending = session.pending.get(String(message.id));
    if (!pending) return;
    session.pending.delete(String(message.id));
    if ("answer" in pending) {
      pending.answer(message.error ? { error: message.error } : { result: message.result });
      return;
    }
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

  // ---- the era-blind method handlers ---------------------------------------------------------------

  private readonly core: Record<string, MethodHandler> = {
    initialize: method(EmptyParams, () => {
      throw new RpcError(ErrorCode.InvalidRequest, "Invalid request: the session is already initialized");
    }),
    ping: method(EmptyParams, () => ({})),
    "tools/list": method(ListParams, async (call, params) => {
      const scope = await this.scope(call.caller);
      const { page, nextCursor } = paginate("tools", scope.listed, params.cursor, this.pageSize);
      return nextCursor ? { tools: page, nextCursor } : { tools: page };
    }),
    "tools/call": method(ToolsCallParams, (call, params) => this.callTool(call, params)),
    "prompts/list": method(ListParams, async (call, params) => {
      const scope = await this.scope(call.caller);
      const { page, nextCursor } = paginate("prompts", scope.prompts, params.cursor, this.pageSize);
      return nextCursor ? { prompts: page, nextCursor } : { prompts: page };
    }),
    "prompts/get": method(PromptsGetParams, async (call, params) => {
      await this.checkPrompt(call, params.name);
      const federated = (await this.view(call.caller.org.orgId)).federated?.prompts.get(params.name);
      if (federated) return federated.connection.getPrompt(call, federated.name, params.arguments ?? {});
      try {
        return await this.opts.config.getPrompt(
          call.caller.org.orgId,
          params.name,
          params.arguments ?? {},
          this.opts.registry.capabilities.codePrompts,
        );
      } catch (error) {
        throw fromConfigError(error);
      }
    }),
    "resources/list": method(ListParams, async (call, params) => {
      const scope = await this.scope(call.caller);
      const { page, nextCursor } = paginate("resources", scope.resources, params.cursor, this.pageSize);
      return nextCursor ? { resources: page, nextCursor } : { resources: page };
    }),
    "resources/templates/list": method(ListParams, async (call, params) => {
      const scope = await this.scope(call.caller);
      const { page, nextCursor } = paginate("templates", scope.templates, params.cursor, this.pageSize);
      return nextCursor ? { resourceTemplates: page, nextCursor } : { resourceTemplates: page };
    }),
    "resources/read": method(ResourceUriParams, (call, params) => this.readResource(call, params.uri)),
    "resources/subscribe": method(ResourceUriParams, async (call, params) => {
      if (!(await this.scope(call.caller)).resourceVisible(params.uri)) throw resourceNotFound(params.uri);
      if (call.session) {
        call.session.subscriptions.add(params.uri);
        this.shareState(call.session);
      }
      return {};
    }),
    "resources/unsubscribe": method(ResourceUriParams, (call, params) => {
      if (call.session?.subscriptions.delete(params.uri)) this.shareState(call.session);
      return {};
    }),
    "completion/complete": method(CompleteParams, (call, params) => this.complete(call, params)),
    "logging/setLevel": method(SetLevelParams, (call, params) => {
      if (call.session) {
        call.session.logLevel = params.level;
        this.shareState(call.session);
      }
      return {};
    }),
  };

  // ---- per-org views ----------------------------------------------------------------------------

  /** The org's view (cached until its configuration or the servers' capabilities change). */
  view(orgId: string): Promise<OrgView> {
    const caps = this.opts.registry.capabilities;
    const cached = this.views.get(orgId);
    if (cached) {
      return cached.then((view) => (this.isCurrent(view, caps.version) ? view : this.buildView(orgId, caps)));
    }
    return this.buildView(orgId, caps);
  }

  /** The org's view when it is built and current (else undefined: use `view`). */
  private builtView(orgId: string): OrgView | undefined {
    const view = this.builtViews.get(orgId);
    return view && this.isCurrent(view, this.opts.registry.capabilities.version) ? view : undefined;
  }

  /** Built against these capabilities and the federation's current catalogue. */
  private isCurrent(view: OrgView, capsVersion: number): boolean {
    return view.capsVersion === capsVersion && view.fedVersion === (this.opts.federation?.version ?? 0);
  }

  private buildView(orgId: string, caps: Capabilities): Promise<OrgView> {
    this.builtViews.delete(orgId);
    const fedVersion = this.opts.federation?.version ?? 0;
    const promise: Promise<OrgView> = Promise.all([
      this.opts.config.catalog(orgId, caps.codePrompts),
      this.opts.config.policy(orgId),
      this.opts.federation?.catalog(orgId),
    ]).then(([catalog, policy, federated]) => {
      const enabled = new Set(catalog.enabledServers);
      const tools: ToolDescriptor[] = [];
      for (const route of caps.tools.values()) if (enabled.has(route.server)) tools.push(route.tool);
      if (federated) this.mergeFederated(federated, caps, tools, catalog);
      const resources: ResourceDescriptor[] = catalog.resources.map(({ server: _s, ...r }) => r);
      const seen = new Set(resources.map((r) => r.uri));
      for (const { server, resource } of caps.resources.values()) {
        if (enabled.has(server) && !seen.has(resource.uri)) resources.push(resource);
      }
      for (const { resource } of federated?.resources.values() ?? []) {
        if (!seen.has(resource.uri)) resources.push(resource as ResourceDescriptor);
      }
      const templates = caps.templates.filter((t) => enabled.has(t.server)).map((t) => t.template);
      for (const { template } of federated?.templates ?? [])
        templates.push(template as ResourceTemplateDescriptor);
      const paragraphs = this.opts.instructions ? [this.opts.instructions] : [];
      for (const [server, serverCaps] of [...caps.servers].sort(([a], [b]) => a.localeCompare(b))) {
        if (enabled.has(server) && serverCaps.instructions) paragraphs.push(serverCaps.instructions);
      }
      paragraphs.push(...(federated?.instructions ?? []));
      const instructions = paragraphs.length > 0 ? paragraphs.join("\n\n") : undefined;
      const view: OrgView = {
        capsVersion: caps.version,
        fedVersion,
        catalog,
        enabled,
        tools,
        resources,
        templates,
        instructions,
        federated,
        policy,
        scopes: new Map(),
      };
      if (this.views.get(orgId) === promise) this.builtViews.set(orgId, view);
      return view;
    });
    this.views.set(orgId, promise);
    promise.catch(() => {
      if (this.views.get(orgId) === promise) this.views.delete(orgId);
    });
    return promise;
  }

  /**
   * What a caller sees: the org's view through its tool policy (org-wide and its role's) and its bundle,
   * built once per view, role and bundle. An unknown bundle is a -32602 naming it (the edges answer 404
   * before that: `hasBundle`).
   */
  async scope(caller: Caller): Promise<Scope> {
    return (await this.scoped(caller)).scope;
  }

  private async scoped(caller: Caller): Promise<{ view: OrgView; scope: Scope }> {
    // A built view is read as is (no promise round per call); `scoped` stays async, so its callers
    // always resume after an await before they can throw.
    const view = this.builtView(caller.org.orgId) ?? (await this.view(caller.org.orgId));
    const key = `${caller.org.role}\u0000${caller.bundle ?? ""}`;
    let scope = view.scopes.get(key);
    if (!scope && !view.scopes.has(key)) {
      const prompts: PromptDescriptor[] = view.catalog.prompts.map(
        ({ server: _server, ...prompt }) => prompt,
      );
      for (const route of view.federated?.prompts.values() ?? [])
        prompts.push(route.prompt as PromptDescriptor);
      scope = buildScope(
        {
          tools: view.tools,
          prompts,
          resources: view.resources,
          templates: view.templates,
          policy: view.policy,
        },
        caller.org.role,
        caller.bundle ?? null,
      );
      view.scopes.set(key, scope);
    }
    if (!scope) throw new RpcError(ErrorCode.InvalidParams, `Bundle not found: ${caller.bundle}`);
    return { view, scope };
  }

  /** Whether the org has a bundle of this slug (another org's slug is never found). */
  async hasBundle(orgId: string, slug: string): Promise<boolean> {
    const view = await this.view(orgId);
    return view.policy.bundles.some((b) => b.slug === slug);
  }

  private async checkPrompt(call: CallContext, name: string): Promise<void> {
    if (!(await this.scope(call.caller)).promptVisible(name)) {
      throw new RpcError(ErrorCode.InvalidParams, `unknown prompt "${name}"`, { prompt: name });
    }
  }

  private onConfigChange(change: ConfigChange): void {
    this.views.delete(change.orgId);
    this.builtViews.delete(change.orgId);
    for (const session of this.sessions.all()) {
      if (session.caller.org.orgId !== change.orgId || !session.stream) continue;
      for (const kind of change.kinds)
        session.stream.send(notificationMessage(`notifications/${kind}/list_changed`));
      for (const uri of change.uris ?? []) {
        if (session.subscriptions.has(uri)) {
          session.stream.send(notificationMessage("notifications/resources/updated", { uri }));
        }
      }
    }
  }

  /**
   * Adds the org's federated tools to its list: a federated name that a built-in tool or prompt (every
   * server's, enabled or not) already has is dropped from the federated catalogue, so a name means one
   * thing (prefixes are validated on registration; this guards a built-in server added later).
   */
  private mergeFederated(
    federated: FederatedCatalog,
    caps: Capabilities,
    tools: ToolDescriptor[],
    catalog: OrgCatalog,
  ): void {
    const promptNames = new Set(catalog.prompts.map((p) => p.name));
    for (const [name, route] of federated.tools) {
      if (caps.tools.has(name)) {
        this.opts.logger.warn(`[federation] tool ${name} clashes with a built-in tool; hidden`);
        federated.tools.delete(name);
      } else tools.push(route.tool as ToolDescriptor);
    }
    for (const name of federated.prompts.keys()) if (promptNames.has(name)) federated.prompts.delete(name);
  }

  private onFederationChange(orgId: string | null): void {
    if (orgId === null) {
      this.views.clear();
      this.builtViews.clear();
    } else {
      this.views.delete(orgId);
      this.builtViews.delete(orgId);
    }
    for (const session of this.sessions.all()) {
      if (!session.stream || (orgId !== null && session.caller.org.orgId !== orgId)) continue;
      for (const kind of ["tools", "prompts", "resources"]) {
        session.stream.send(notificationMessage(`notifications/${kind}/list_changed`));
      }
    }
  }

  /** An upstream's notification outside a call: resources/updated to subscribers, logs to the org's streams. */
  private onFederatedNotification(orgId: string, message: Json): void {
    const uri =
      message.method === "notifications/resources/updated"
        ? (message.params as Json | undefined)?.uri
        : undefined;
    for (const session of this.sessions.all()) {
      if (!session.stream || session.caller.org.orgId !== orgId) continue;
      if (typeof uri === "string" && !session.subscriptions.has(uri)) continue;
      session.stream.send(message);
    }
  }

  private onCapabilitiesChange(_caps: Capabilities): void {
    this.views.clear();
    this.builtViews.clear();
    for (const session of this.sessions.all()) {
      if (!session.stream) continue;
      for (const kind of ["tools", "prompts", "resources"]) {
        session.stream.send(notificationMessage(`notifications/${kind}/list_changed`));
      }
    }
  }

  // ---- tools ------------------------------------------------------------------------------------

  /**
   * A tool call, audited (who, org, tool, duration, outcome; arguments when the org opted in). The name is
   * the caller's (after renames); the audit records the tool that ran. In a discovery bundle,
   * `search_tools` answers from the scope and `call_tool` runs this same path for its target. `divert`
   * sees the resolved domain-server tool first and may answer instead (the 2026-07-28 edge starts a task),
   * so the caller's tool is looked up once.
   */
  async callTool(call: CallContext, params: ToolsCallParams, divert?: ToolDivert): Promise<Json> {
    const { view, scope } = await this.scoped(call.caller);
    if (scope.bundle?.discovery && !scope.tools.has(params.name)) {
      if (params.name === SEARCH_TOOLS) return this.searchTools(call, scope, params.arguments);
      if (params.name === CALL_TOOL) {
        const args = v.safeParse(CallToolArgs, params.arguments ?? {});
        if (!args.success) return invalidArguments(CALL_TOOL, args.issues);
        if (args.output.name === CALL_TOOL) {
          return {
            content: [{ type: "text", text: "call_tool runs another tool: give that tool's name" }],
            isError: true,
          };
        }
        return this.callTool(call, {
          ...params,
          name: args.output.name,
          ...(args.output.arguments ? { arguments: args.output.arguments } : { arguments: {} }),
        });
      }
    }
    const found = scope.tools.get(params.name);
    const route = found ? this.opts.registry.capabilities.tools.get(found.source) : undefined;
    const { org: caller, credentialId } = call.caller;
    const federated = found && !route ? view.federated?.tools.get(found.source) : undefined;
    if (divert && route && view.enabled.has(route.server)) {
      const diverted = await divert(route);
      if (diverted) return diverted;
    }
    const access = this.opts.access;
    const started = access ? performance.now() : 0;
    const record = (outcome: "ok" | "error", error?: string) =>
      void access?.recordToolCall({
        org: caller,
        ...(credentialId ? { credentialId } : {}),
        tool: found?.source ?? params.name,
        ...(route ? { server: route.server } : {}),
        ...(federated ? { server: `federated:${federated.connection.spec.prefix}` } : {}),
        durationMs: performance.now() - started,
        outcome,
        ...(error ? { error } : {}),
        ...(params.arguments !== undefined ? { arguments: params.arguments } : {}),
      });
    try {
      if (federated) {
        const result = await this.relay.callFederated(
          call,
          federated,
          params.arguments ?? {},
          params._meta?.progressToken,
        );
        if (result.isError === true) record("error", "the tool returned isError: true");
        else record("ok");
        return result;
      }
      if (!route || !view.enabled.has(route.server)) throw unknownTool(params.name);
      const org: OrgContext = { ...caller, requestId: crypto.randomUUID() };
      const config = await this.opts.config.serviceConfig(org, route.server);
      const result = await this.relay.callTool(
        call,
        route,
        org,
        config,
        params.arguments ?? {},
        params._meta?.progressToken,
      );
      if (result.isError === true) record("error", "the tool returned isError: true");
      else record("ok");
      return result;
    } catch (error) {
      record("error", error instanceof Error ? error.message : String(error));
      throw error;
    }
  }

  /** `search_tools` of a discovery bundle: the scope's tools ranked for the query (audited like any tool). */
  private searchTools(call: CallContext, scope: Scope, raw: Record<string, unknown> | undefined): Json {
    const args = v.safeParse(SearchToolsArgs, raw ?? {});
    if (!args.success) return invalidArguments(SEARCH_TOOLS, args.issues);
    const started = performance.now();
    const tools = scope
      .search()
      .search(args.output.query, args.output.limit)
      .map(({ tool, score }) => ({
        name: tool.name,
        ...(tool.title ? { title: tool.title } : {}),
        description: tool.description,
        ...(tool.annotations ? { annotations: tool.annotations } : {}),
        inputSchema: tool.inputSchema,
        score,
      }));
    void this.opts.access?.recordToolCall({
      org: call.caller.org,
      ...(call.caller.credentialId ? { credentialId: call.caller.credentialId } : {}),
      tool: SEARCH_TOOLS,
      server: "omni",
      durationMs: performance.now() - started,
      outcome: "ok",
      arguments: args.output,
    });
    const text =
      tools.length === 0
        ? `No tool matches "${args.output.query}". Try other words, or an empty query to list tools.`
        : JSON.stringify(tools);
    return { content: [{ type: "text", text }], structuredContent: { tools } };
  }

  // ---- resources, completion -------------------------------------------------------------------

  private async readResource(call: CallContext, uri: string): Promise<Json> {
    const orgId = call.caller.org.orgId;
    const { view, scope } = await this.scoped(call.caller);
    const template = this.opts.registry.capabilities.templates.find((t) => t.pattern.test(uri));
    const fedTemplate = (await this.view(orgId)).federated?.templates.find((t) => t.pattern.test(uri));
    const inScope = (t: { template: ResourceTemplateDescriptor } | undefined) =>
      t !== undefined && scope.templates.includes(t.template);
    if (!scope.resourceVisible(uri) && !inScope(template) && !inScope(fedTemplate)) {
      throw resourceNotFound(uri);
    }
    const stored = await this.opts.config.readResource(orgId, uri).catch((e: unknown) => {
      throw fromConfigError(e);
    });
    if (stored) return stored;
    const caps = this.opts.registry.capabilities;
    const server = caps.resources.get(uri)?.server ?? template?.server;
    if (!server || !view.enabled.has(server)) {
      const federated =
        view.federated?.resources.get(uri)?.connection ??
        view.federated?.templates.find((t) => t.pattern.test(uri))?.connection;
      if (federated) return federated.readResource(call, uri);
      throw resourceNotFound(uri);
    }
    const org: OrgContext = { ...call.caller.org, requestId: crypto.randomUUID() };
    const config = await this.opts.config.serviceConfig(org, server);
    return this.relay.readResource(call, server, org, config, uri);
  }

  private async complete(call: CallContext, params: CompleteParams): Promise<Json> {
    let values: string[] = [];
    const federated = await this.federatedCompletion(call, params);
    if (federated) return federated;
    if (params.ref.type === "ref/prompt") {
      await this.checkPrompt(call, params.ref.name);
      try {
        values = await this.opts.config.completePromptArgument(
          call.caller.org.orgId,
          params.ref.name,
          params.argument.name,
          params.argument.value,
          this.opts.registry.capabilities.codePrompts,
        );
      } catch (error) {
        throw fromConfigError(error);
      }
    }
    return { completion: completion(values) };
  }

  /** `completion/complete` for a federated prompt or resource template: the upstream answers. */
  private async federatedCompletion(call: CallContext, params: CompleteParams): Promise<Json | null> {
    const fed = (await this.view(call.caller.org.orgId)).federated;
    if (!fed) return null;
    const argument = { name: params.argument.name, value: params.argument.value };
    if (params.ref.type === "ref/prompt") {
      const route = fed.prompts.get(params.ref.name);
      if (!route) return null;
      return route.connection.complete(call, { ref: { type: "ref/prompt", name: route.name }, argument });
    }
    const uri = params.ref.uri;
    const template = fed.templates.find((t) => t.template.uriTemplate === uri);
    if (!template) return null;
    return template.connection.complete(call, { ref: { type: "ref/resource", uri }, argument });
  }

  private endUpstream(session: Session): void {
    for (const server of session.usedServers) {
      for (const instance of this.opts.registry.healthyInstances(server)) {
        void instance.client
          .endSession({ sessionKey: session.id, orgId: session.caller.org.orgId })
          .catch(() => {});
      }
    }
  }
}
