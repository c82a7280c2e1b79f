import {
  ErrorCode,
  type JsonRpcErrorObject,
  type OrgContext,
  type RequestId,
  statelessSessionKey,
} from "@omni/contracts";
import type { ConfigService, OrgCatalog } from "../../ports.ts";
import type { Registry } from "../../registry/index.ts";
import type { Dispatcher } from "../dispatcher.ts";
import {
  classify,
  errorMessage,
  isRecord,
  type Json,
  json,
  LATEST_SESSION_VERSION,
  notificationMessage,
  RpcError,
  resultMessage,
  SSE_HEADERS,
  sseComment,
  sseFrame,
} from "../protocol.ts";
import { createSession, type Outbound, type Session } from "../session.ts";
import {
  declaresTasks,
  TASK_METHODS,
  TASKS_EXTENSION,
  type TaskCaller,
  TaskService,
  taskOwner,
} from "../tasks/service.ts";
import { MemoryTaskStore, type TaskStore } from "../tasks/store.ts";
import { type ModernEnvelope, ModernErrorCode, validateEnvelope } from "./envelope.ts";
import { ALL_VERSIONS, META } from "./era.ts";
import { promptInputs } from "./prompts.ts";
import { type CacheHint, decorateResult, type ServerInfo } from "./results.ts";
import type { StateBinding, StateSealer } from "./state.ts";
import { ListenHub, parseFilter } from "./subscriptions.ts";

/** What the gateway offers a 2026-07-28 client (`server/discover`). */
const MODERN_CAPABILITIES = {
  tools: { listChanged: true },
  prompts: { listChanged: true },
  resources: { subscribe: true, listChanged: true },
  logging: {},
  completions: {},
  extensions: { [TASKS_EXTENSION]: {} },
};
/** Methods 2026-07-28 removed: answered 404 / -32601 like unknown ones. */
const REMOVED = new Set([
  "initialize",
  "ping",
  "logging/setLevel",
  "resources/subscribe",
  "resources/unsubscribe",
]);
/** Methods served by the shared dispatcher as they are (plus the modern result decoration). */
const SHARED = new Set([
  "tools/list",
  "prompts/list",
  "resources/list",
  "resources/templates/list",
  "resources/read",
  "completion/complete",
]);
/** `server/discover` is the same for every caller. */
const DISCOVER_CACHE: CacheHint = { ttlMs: 60_000, cacheScope: "public" };

export interface ModernAuth {
  org: Omit<OrgContext, "requestId">;
  credentialId?: string;
  expiresAt?: number;
}

export interface ModernHttpOptions {
  dispatcher: Dispatcher;
  config: ConfigService;
  registry: Registry;
  sealer: StateSealer;
  serverInfo: ServerInfo;
  instructions?: string;
  /** SSE keep-alive period on `subscriptions/listen` streams. */
  keepAliveMs: number;
  logger: Pick<Console, "error">;
  /** Where tasks (`io.modelcontextprotocol/tasks`) live: Redis across replicas; in memory by default. */
  taskStore?: TaskStore;
}

/** One modern request, validated: who, what the client declared, and its id. */
interface Call {
  id: RequestId;
  method: string;
  params: Json;
  auth: ModernAuth;
  envelope: ModernEnvelope;
  signal: AbortSignal;
}

/**
 * A JSON-RPC error for a modern client, with its HTTP status: the kit's missing-capability error becomes
 * -32021 (HTTP 400), resource-not-found the revision's -32602, unknown methods HTTP 404.
 */
export function modernError(
  error: unknown,
  logger: Pick<Console, "error">,
): { status: number; error: JsonRpcErrorObject } {
  if (!(error instanceof RpcError)) {
    logger.error("[mcp/modern] internal error", error);
    return { status: 200, error: { code: ErrorCode.InternalError, message: "Internal error" } };
  }
  const object = error.toObject();
  if (error.code === ErrorCode.MissingClientCapability) {
    const data = isRecord(error.data) && isRecord(error.data.requiredCapabilities) ? error.data : undefined;
    return {
      status: 400,
      error: {
        code: ModernErrorCode.MissingRequiredClientCapability,
        message: error.message,
        data: data ?? { requiredCapabilities: {} },
      },
    };
  }
  if (error.code === ErrorCode.ResourceNotFound)
    return { status: 200, error: { ...object, code: ErrorCode.InvalidParams } };
  if (error.code === ErrorCode.MethodNotFound) return { status: 404, error: object };
  return { status: 200, error: object };
}

/**
 * The response of one modern POST: plain JSON when the request finishes without related messages, an
 * SSE stream (progress, logs, then the response) the moment one must be sent.
 */
class RequestChannel implements Outbound {
  readonly response: Promise<Response>;
  private resolve!: (response: Response) => void;
  private controller: ReadableStreamDefaultController<Uint8Array> | null = null;
  private open = false;
  private done = false;

  constructor(private readonly sendLogs: boolean) {
    this.response = new Promise((resolve) => {
      this.resolve = resolve;
    });
  }

  send(message: Json): void {
    if (this.done) return;
    // Per-request log level: without `_meta` logLevel the client gets no log messages.
    if (message.method === "notifications/message" && !this.sendLogs) return;
    // Stateless: no server-to-client requests on a response stream (they are input_required results).
    if (typeof message.method === "string" && "id" in message) return;
    if (!this.open) {
      this.open = true;
      const stream = new ReadableStream<Uint8Array>({
        start: (controller) => {
          this.controller = controller;
        },
        cancel: () => {
          this.controller = null;
        },
      });
      this.resolve(new Response(stream, { status: 200, headers: SSE_HEADERS }));
    }
    try {
      this.controller?.enqueue(sseFrame(message));
    } catch {
      this.controller = null;
    }
  }

  finish(status: number, body: Json): void {
    if (this.done) return;
    this.done = true;
    if (!this.open) {
      this.resolve(json(status, body));
      return;
    }
    try {
      this.controller?.enqueue(sseFrame(body));
      this.controller?.close();
    } catch {
      // the client went away
    }
  }
}

/**
 * The stateless 2026-07-28 edge of `/mcp`: validates each request's envelope and headers, runs the
 * shared dispatcher's methods on a per-request pseudo-session (no per-connection state: any replica can
 * serve any request), turns non-live tool calls into `input_required` results with a sealed
 * `requestState`, decorates results (`resultType`, cache hints, server identity), and serves
 * `server/discover` and `subscriptions/listen`.
 */
export class ModernHttp {
  private readonly hub = new ListenHub();
  private readonly off: (() => void)[];
  private readonly taskStore: TaskStore;
  private readonly tasks: TaskService;

  constructor(private readonly opts: ModernHttpOptions) {
    this.taskStore = opts.taskStore ?? new MemoryTaskStore();
    this.tasks = new TaskService({
      dispatcher: opts.dispatcher,
      registry: opts.registry,
      store: this.taskStore,
      logger: opts.logger,
    });
    this.off = [
      opts.config.onChange((change) => this.hub.publish(change)),
      opts.registry.onChange(() => this.hub.publishAll(["tools", "prompts", "resources"])),
      this.tasks.onStatus((event) => this.hub.publishTask(event.orgId, event.owner, event.task)),
    ];
  }

  close(): void {
    for (const off of this.off) off();
    this.tasks.close();
    void this.taskStore.close();
  }

  /** Handles one POST whose body `classifyEra` found modern (already authenticated and parsed). */
  async post(request: Request, auth: ModernAuth, body: unknown): Promise<Response> {
    const inbound = classify(body);
    if (inbound.kind === "invalid") return json(400, errorMessage(inbound.id, inbound.error));
    if (inbound.kind === "response") {
      return json(
        400,
        errorMessage(inbound.id, {
          code: ErrorCode.InvalidRequest,
          message:
            "Invalid request: protocol revision 2026-07-28 has no server-to-client requests to answer; send inputResponses with a retry instead",
        }),
      );
    }
    // Notifications (e.g. notifications/cancelled of a closed listen stream) need no answer and change no
    // state here: a stateless request is cancelled by closing its own stream.
    if (inbound.kind === "notification") return new Response(null, { status: 202 });
    const outcome = validateEnvelope(request.headers, inbound.method, inbound.params, true);
    if (!outcome.ok) return json(outcome.rejection.status, errorMessage(inbound.id, outcome.rejection.error));

    const call: Call = {
      id: inbound.id,
      method: inbound.method,
      params: inbound.params,
      auth,
      envelope: outcome.envelope,
      signal: request.signal,
    };
    if (REMOVED.has(call.method) || !this.knows(call.method)) {
      const note = REMOVED.has(call.method) ? ` (removed in protocol revision 2026-07-28)` : "";
      return json(
        404,
        errorMessage(call.id, {
          code: ErrorCode.MethodNotFound,
          message: `Method not found: ${call.method}${note}`,
        }),
      );
    }
    if (call.method === "subscriptions/listen") return this.listen(call);

    const channel = new RequestChannel(call.envelope.logLevel !== undefined);
    this.run(call, channel).then(
      (result) => channel.finish(200, resultMessage(call.id, result)),
      (error: unknown) => {
        const { status, error: object } = modernError(error, this.opts.logger);
        channel.finish(status, errorMessage(call.id, object));
      },
    );
    return channel.response;
  }

  private knows(method: string): boolean {
    return (
      SHARED.has(method) ||
      method === "server/discover" ||
      method === "tools/call" ||
      method === "prompts/get" ||
      method === "subscriptions/listen" ||
      TASK_METHODS.has(method)
    );
  }

  private async run(call: Call, out: Outbound): Promise<Json> {
    const { method } = call;
    if (method === "server/discover") {
      const result: Json = { supportedVersions: [...ALL_VERSIONS], capabilities: MODERN_CAPABILITIES };
      if (this.opts.instructions) result.instructions = this.opts.instructions;
      return decorateResult(method, result, DISCOVER_CACHE, this.opts.serverInfo);
    }
    if (method === "tools/call") return this.decorate(call, await this.callTool(call, out));
    if (method === "prompts/get") return this.decorate(call, await this.getPrompt(call, out));
    if (TASK_METHODS.has(method)) return this.decorate(call, await this.taskMethod(call));
    const result = await this.opts.dispatcher.request(
      this.session(call, {}),
      call.id,
      method,
      call.params,
      out,
    );
    return this.decorate(call, result);
  }

  /** A pseudo-session for one request: the shared dispatcher's methods run on it; it is never stored. */
  private session(call: Call, inputResponses: Record<string, unknown>): Session {
    const { org } = call.auth;
    const session = createSession({
      id: statelessSessionKey(org.orgId, call.auth.credentialId ?? org.userId ?? "org"),
      org,
      credentialId: call.auth.credentialId,
      expiresAt: call.auth.expiresAt,
      protocolVersion: LATEST_SESSION_VERSION,
      clientCapabilities: call.envelope.clientCapabilities,
      clientInfo: call.envelope.clientInfo ?? {},
    });
    session.logLevel = call.envelope.logLevel;
    session.stateless = { inputResponses };
    const abort = () => session.inflight.get(String(call.id))?.abort();
    call.signal.addEventListener("abort", abort, { once: true });
    return session;
  }

  private binding(call: Call, target: string, args: unknown): StateBinding {
    return { orgId: call.auth.org.orgId, userId: call.auth.org.userId, target, arguments: args ?? {} };
  }

  /** The answers of earlier rounds (from the sealed state) merged with this retry's `inputResponses`. */
  private responses(call: Call, binding: StateBinding): Record<string, unknown> {
    const earlier =
      call.params.requestState === undefined ? {} : this.opts.sealer.open(call.params.requestState, binding);
    const fresh = call.params.inputResponses;
    if (fresh !== undefined && !isRecord(fresh)) {
      throw new RpcError(
        ErrorCode.InvalidParams,
        "params.inputResponses must be an object keyed by the keys of the inputRequests it answers",
      );
    }
    return { ...earlier, ...fresh };
  }

  private taskCaller(call: Call): TaskCaller {
    return { ...call.auth, clientCapabilities: call.envelope.clientCapabilities };
  }

  private taskMethod(call: Call): Promise<Json> {
    const caller = this.taskCaller(call);
    if (call.method === "tasks/get") return this.tasks.get(caller, call.params);
    if (call.method === "tasks/update") return this.tasks.update(caller, call.params);
    return this.tasks.cancel(caller, call.params);
  }

  private async callTool(call: Call, out: Outbound): Promise<Json> {
    const name = call.params.name;
    if (typeof name !== "string") throw new RpcError(ErrorCode.InvalidParams, "params.name must be a string");
    if (this.tasks.mode(name, call.envelope.clientCapabilities) === "task") {
      return this.tasks.start(this.taskCaller(call), call.params);
    }
    const binding = this.binding(call, `tools/call:${name}`, call.params.arguments);
    const responses = this.responses(call, binding);
    const session = this.session(call, responses);
    const result = await this.opts.dispatcher.request(session, call.id, "tools/call", call.params, out);
    if (result.resultType !== "input_required") return result;
    return { ...result, requestState: this.opts.sealer.seal(binding, responses) };
  }

  /**
   * prompts/get: a prompt missing required arguments is completed by asking the user (an elicitation
   * `input_required` round) when the client can elicit; otherwise the shared dispatcher reports them.
   */
  private async getPrompt(call: Call, out: Outbound): Promise<Json> {
    const name = call.params.name;
    if (typeof name !== "string") throw new RpcError(ErrorCode.InvalidParams, "params.name must be a string");
    const args = call.params.arguments;
    const binding = this.binding(call, `prompts/get:${name}`, args);
    const responses = this.responses(call, binding);
    let params = call.params;
    if (call.envelope.clientCapabilities.elicitation && (args === undefined || isRecord(args))) {
      const catalog = await this.catalog(call);
      const prompt = catalog.prompts.find((p) => p.name === name);
      if (prompt) {
        const step = promptInputs(prompt, args ?? {}, responses);
        if (step.kind === "input_required") {
          return {
            resultType: "input_required",
            inputRequests: step.inputRequests,
            requestState: this.opts.sealer.seal(binding, responses),
          };
        }
        params = { ...call.params, arguments: step.arguments };
      }
    }
    return this.opts.dispatcher.request(this.session(call, responses), call.id, "prompts/get", params, out);
  }

  private catalog(call: Call): Promise<OrgCatalog> {
    return this.opts.config.catalog(call.auth.org.orgId, this.opts.registry.capabilities.codePrompts);
  }

  /** Cache hints from the config cache: org-scoped (private) with the catalogue's TTL; live reads 0. */
  private async decorate(call: Call, result: Json): Promise<Json> {
    let cache: CacheHint = { ttlMs: 0, cacheScope: "private" };
    if (
      result.resultType !== "input_required" &&
      call.method !== "tools/call" &&
      call.method !== "prompts/get" &&
      !TASK_METHODS.has(call.method)
    ) {
      const catalog = await this.catalog(call);
      const live =
        call.method === "resources/read" && !catalog.resources.some((r) => r.uri === call.params.uri);
      cache = { ttlMs: live ? 0 : catalog.ttlMs, cacheScope: "private" };
    }
    return decorateResult(call.method, result, cache, this.opts.serverInfo);
  }

  /** `subscriptions/listen`: acknowledged first, then the org's change notifications, until the client goes. */
  private listen(call: Call): Response {
    const filter = parseFilter(call.params.notifications);
    if (typeof filter === "string") {
      return json(200, errorMessage(call.id, { code: ErrorCode.InvalidParams, message: filter }));
    }
    const subscriptionId = call.id;
    let detach: (() => void) | undefined;
    let timer: ReturnType<typeof setInterval> | undefined;
    const stop = () => {
      detach?.();
      clearInterval(timer);
    };
    const stream = new ReadableStream<Uint8Array>({
      start: (controller) => {
        const send = (message: Json) => {
          try {
            controller.enqueue(sseFrame(message));
          } catch {
            stop();
          }
        };
        send(
          notificationMessage("notifications/subscriptions/acknowledged", {
            notifications: filter,
            _meta: { [META.subscriptionId]: subscriptionId },
          }),
        );
        detach = this.hub.add({
          orgId: call.auth.org.orgId,
          owner: taskOwner(call.auth),
          tasks: declaresTasks(call.envelope.clientCapabilities),
          filter,
          subscriptionId,
          send,
        });
        timer = setInterval(() => {
          try {
            controller.enqueue(sseComment("keep-alive"));
          } catch {
            stop();
          }
        }, this.opts.keepAliveMs);
        call.signal.addEventListener(
          "abort",
          () => {
            stop();
            try {
              controller.close();
            } catch {
              // already closed
            }
          },
          { once: true },
        );
      },
      cancel: stop,
    });
    return new Response(stream, { status: 200, headers: SSE_HEADERS });
  }
}
