import { ErrorCode, type JsonRpcErrorObject } from "@omni/contracts";
import type { Caller, ConfigService } from "../../ports.ts";
import type { Registry } from "../../registry/index.ts";
import { type CallContext, statelessKey } from "../core/context.ts";
import { ERAS, REMOVED_IN_MODERN } from "../core/eras.ts";
import type { Dispatcher } from "../dispatcher.ts";
import { classify, errorMessage, isRecord, type Json, json, RpcError, resultMessage } from "../protocol.ts";
import { ResponseChannel } from "../sse.ts";
import { TaskService } from "../tasks/service.ts";
import { MemoryTaskStore, type TaskStore } from "../tasks/store.ts";
import { ClientGoneWatch } from "./client-gone.ts";
import { ModernErrorCode, validateEnvelope } from "./envelope.ts";
import { modernMethods } from "./methods.ts";
import { type CacheHint, decorateResult, type ServerInfo } from "./results.ts";
import type { StateSealer } from "./state.ts";
import { ListenHub } from "./subscriptions.ts";

/** `server/discover` without server instructions is the same for every caller. */
const DISCOVER_CACHE: CacheHint = { ttlMs: 60_000, cacheScope: "public" };
/** Methods whose results are never cached (live, per call). */
const UNCACHED = new Set(["tools/call", "prompts/get", "tasks/get", "tasks/update", "tasks/cancel"]);
/** The hint of a result that must not be reused. */
const NO_CACHE: CacheHint = { ttlMs: 0, cacheScope: "private" };

export interface ModernHttpOptions {
  dispatcher: Dispatcher;
  config: ConfigService;
  registry: Registry;
  sealer: StateSealer;
  serverInfo: ServerInfo;
  /** SSE keep-alive period on `subscriptions/listen` streams (and long calls). */
  keepAliveMs: number;
  logger: Pick<Console, "error">;
  /** Where tasks (`io.modelcontextprotocol/tasks`) live: Redis across replicas; in memory by default. */
  taskStore?: TaskStore;
  /** A running task's lease (see `TaskServiceOptions.leaseMs`). Default 30 s. */
  taskLeaseMs?: number;
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

/** Per-request log level: without `_meta` logLevel the client gets no log messages; no server requests. */
const dropUnasked = (message: Json) => typeof message.method === "string" && "id" in message;
const dropLogsToo = (message: Json) => message.method === "notifications/message" || dropUnasked(message);

/**
 * The stateless 2026-07-28 edge of `/mcp`: validates each request's envelope and headers, builds its call
 * context (non-live, the `_meta` capabilities and log level, the request's signal, its response channel)
 * and runs the 2026-07-28 method set (`core/eras.ts`) through the shared dispatcher; then decorates the
 * result (`resultType`, cache hints, server identity). No per-connection state: any replica serves any
 * request.
 */
export class ModernHttp {
  private readonly hub = new ListenHub();
  private readonly gone = new ClientGoneWatch();
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
      ...(opts.taskLeaseMs === undefined ? {} : { leaseMs: opts.taskLeaseMs }),
    });
    opts.dispatcher.serve(
      "modern",
      modernMethods({
        dispatcher: opts.dispatcher,
        config: opts.config,
        registry: opts.registry,
        sealer: opts.sealer,
        tasks: this.tasks,
        hub: this.hub,
      }),
    );
    this.off = [
      opts.config.onChange((change) => this.hub.publish(change)),
      opts.registry.onChange(() => this.hub.publishAll(["tools", "prompts", "resources"])),
      this.tasks.onStatus((event) => this.hub.publishTask(event.orgId, event.owner, event.task)),
    ];
  }

  close(): void {
    for (const off of this.off) off();
    this.gone.close();
    this.tasks.close();
    void this.taskStore.close();
  }

  /** Handles one POST whose body `classifyEra` found modern (already authenticated and parsed). */
  async post(
    request: Request,
    caller: Caller,
    body: unknown,
    headers?: Record<string, string>,
  ): Promise<Response> {
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
    const { id, method } = inbound;
    if (!ERAS.modern.has(method)) {
      const note = REMOVED_IN_MODERN.has(method) ? ` (removed in protocol revision 2026-07-28)` : "";
      return json(
        404,
        errorMessage(id, { code: ErrorCode.MethodNotFound, message: `Method not found: ${method}${note}` }),
      );
    }
    const { envelope } = outcome;
    const controller = new AbortController();
    const abort = () => controller.abort();
    const unwatch = this.gone.watch(request, abort);
    const channel = new ResponseChannel({
      ...(headers ? { headers } : {}),
      keepAliveMs: this.opts.keepAliveMs,
      drop: envelope.logLevel === undefined ? dropLogsToo : dropUnasked,
      onGone: abort,
    });
    const call: CallContext = {
      era: "modern",
      id,
      caller,
      clientCapabilities: envelope.clientCapabilities,
      live: false,
      inputResponses: undefined,
      logLevel: envelope.logLevel,
      signal: controller.signal,
      sessionKey: statelessKey(caller),
      out: channel,
      session: undefined,
    };
    const failed = (error: unknown) => {
      unwatch();
      const { status, error: object } = modernError(error, this.opts.logger);
      channel.finish(errorMessage(id, object), status);
    };
    const answer = (result: Json) => {
      unwatch();
      channel.finish(resultMessage(id, result));
    };
    const params = inbound.params;
    const running = this.opts.dispatcher.request(call, method, params);
    if (UNCACHED.has(method)) {
      // Live results: decorated without a cache lookup, in the same turn as the result.
      running.then((result) => {
        let decorated: Json;
        try {
          decorated = decorateResult(method, result, NO_CACHE, this.opts.serverInfo);
        } catch (error) {
          failed(error);
          return;
        }
        answer(decorated);
      }, failed);
    } else {
      running.then((result) => this.decorate(call, method, params, result)).then(answer, failed);
    }
    return channel.response;
  }

  /** Cache hints from the config cache: org-scoped (private) with the catalogue's TTL; live reads 0. */
  private async decorate(call: CallContext, method: string, params: Json, result: Json): Promise<Json> {
    let cache = NO_CACHE;
    if (method === "server/discover") {
      cache =
        result.instructions === undefined ? DISCOVER_CACHE : { ...DISCOVER_CACHE, cacheScope: "private" };
    } else if (result.resultType !== "input_required") {
      const catalog = await this.opts.config.catalog(
        call.caller.org.orgId,
        this.opts.registry.capabilities.codePrompts,
      );
      const live = method === "resources/read" && !catalog.resources.some((r) => r.uri === params.uri);
      cache = { ttlMs: live ? 0 : catalog.ttlMs, cacheScope: "private" };
    }
    return decorateResult(method, result, cache, this.opts.serverInfo);
  }
}
