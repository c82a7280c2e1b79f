import {
  type CallToolResult,
  type ClientCapabilities,
  ErrorCode,
  type OrgContext,
  type ServiceConfig,
  type ToolCallEvent,
  type ToolCallRequest,
} from "@omni/contracts";
import type { FederatedToolRoute } from "../../federation/index.ts";
import type { McpObserver } from "../../observability/mcp.ts";
import { callFailureReason, type Instance, type Registry, type ToolRoute } from "../../registry/index.ts";
import { isRecord, type Json, notificationMessage, RpcError } from "../protocol.ts";
import type { CallContext } from "./context.ts";

const CLIENT_CAPABILITY_OF: Record<string, keyof ClientCapabilities> = {
  "sampling/createMessage": "sampling",
  "elicitation/create": "elicitation",
  "roots/list": "roots",
};

/** No healthy instance: the cause (addresses, runtime hints) goes to the log, never to the client. */
function unavailable(server: string, cause?: unknown, logger?: Pick<Console, "warn">): RpcError {
  if (cause !== undefined) logger?.warn(`[mcp] ${server} unavailable`, cause);
  return new RpcError(
    ErrorCode.ServerUnavailable,
    `Server unavailable: no healthy instance of "${server}". Retry shortly; if it persists, check that the ${server} server is running and reachable from the gateway (GET /health lists instances).`,
    { server },
  );
}

function metaOf(params: Json): Json {
  return isRecord(params._meta) ? params._meta : {};
}

const cancelled = () => new RpcError(-32800, "Request cancelled");

/** A call's own upstream failure (not a transport one): this call's error; the instance stays healthy. */
function callFailed(server: string, cause: unknown, logger: Pick<Console, "warn">): RpcError {
  logger.warn(`[mcp] a call to ${server} failed: ${String(cause).slice(0, 500)}`);
  return new RpcError(
    ErrorCode.InternalError,
    `The ${server} server could not handle this call (${callFailureReason(cause)}). Other calls are not affected; check the arguments (size, nesting) and retry.`,
    { server },
  );
}

/**
 * The upstream hop of a call: picks a healthy instance (least outstanding), streams the tool's events to
 * the call's outbound channel (progress, logs, live server-to-client requests), retries a retryable tool
 * once on another instance, and maps the terminal event to a result or an `RpcError`.
 */
export class Relay {
  constructor(
    private readonly registry: Registry,
    private readonly logger: Pick<Console, "warn">,
    /** Upstream-call metrics and spans (the trace context travels in the RPC's headers). */
    private readonly observer?: McpObserver,
  ) {}

  async callTool(
    call: CallContext,
    route: ToolRoute,
    org: OrgContext,
    config: ServiceConfig,
    args: Record<string, unknown>,
    progressToken: string | number | undefined,
  ): Promise<Json> {
    const hasProgress = progressToken !== undefined;
    const req: ToolCallRequest = {
      name: route.tool.name,
      arguments: args,
      scope: { org, config, sessionKey: call.sessionKey },
      clientCapabilities: call.clientCapabilities,
      live: call.live,
      ...(call.inputResponses ? { inputResponses: call.inputResponses } : {}),
      progress: hasProgress,
      ...(call.logLevel ? { logLevel: call.logLevel } : {}),
      ...(call.phase ? { phase: call.phase } : {}),
    };
    const { signal, out } = call;
    call.session?.usedServers.add(route.server);
    let instance = this.registry.pick(route.server);
    for (let attempt = 0; ; attempt++) {
      if (!instance) throw unavailable(route.server);
      const current: Instance = instance;
      let relayed = false;
      let callId = "";
      const onEvent = (event: ToolCallEvent) => {
        if (event.type === "accepted") callId = event.callId;
        else if (event.type === "progress") {
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
          this.relayRequest(call, current, callId, event.id, event.request);
        } else if (event.type === "close_stream") {
          relayed = true;
          out.pause?.(event.retryMs ?? 1000);
        }
      };
      let end: ToolCallEvent;
      current.outstanding++;
      const observed = this.observer?.upstream(call, route.server, "tools/call");
      try {
        end = await current.client.callTool(
          req,
          observed?.headers ? { signal, onEvent, headers: observed.headers } : { signal, onEvent },
        );
        observed?.end(end.type === "error" ? "error" : "ok");
      } catch (error) {
        observed?.end(signal.aborted ? "cancelled" : "failed");
        if (signal.aborted) throw cancelled();
        if (!this.registry.markFailed(current, error)) throw callFailed(route.server, error, this.logger);
        if (!route.retryable || relayed || attempt > 0) throw unavailable(route.server, error, this.logger);
        instance = this.registry.pick(route.server, current);
        continue;
      } finally {
        current.outstanding--;
      }
      if (signal.aborted) throw cancelled();
      if (end.type === "result") return end.result satisfies CallToolResult as Json;
      if (end.type === "error") throw new RpcError(end.error.code, end.error.message, end.error.data);
      if (end.type === "input_required" && !call.live) {
        return { resultType: "input_required", inputRequests: end.inputRequests };
      }
      throw new RpcError(ErrorCode.InternalError, `${route.server} asked for input on a live session`);
    }
  }

  /**
   * A federated upstream's tool (the second kind of upstream): its pooled MCP client connection relays
   * progress, logs, cancellation and the upstream's sampling/elicitation/roots requests for this call.
   */
  callFederated(
    call: CallContext,
    route: FederatedToolRoute,
    args: Record<string, unknown>,
    progressToken: string | number | undefined,
  ): Promise<Json> {
    return route.connection.callTool(call, route.name, args, progressToken);
  }

  /** A live call's server-to-client request: to the client over the call's channel, answered later. */
  private relayRequest(
    call: CallContext,
    instance: Instance,
    callId: string,
    upstreamId: string,
    request: { method: string; params: Json },
  ): void {
    const capability = CLIENT_CAPABILITY_OF[request.method];
    const session = call.session;
    if (!session || (capability && !call.clientCapabilities[capability])) {
      void instance.client
        .callback({
          callId,
          id: upstreamId,
          error: {
            code: ErrorCode.MissingClientCapability,
            message: `The client did not declare the ${capability ?? request.method} capability, so ${request.method} is not available`,
          },
        })
        .catch(() => {});
      return;
    }
    // `omni-<replica>-<n>`: the answer may reach another replica, which routes it back here (session bus).
    const clientId = `omni-${session.replica}-${session.nextOutboundId++}`;
    session.pending.set(clientId, { instance, callId, upstreamId });
    // SEP-414: the request carries the call's trace context in `_meta` (tracing on).
    const trace = this.observer?.traceOf(call);
    const params = trace
      ? { ...request.params, _meta: { ...metaOf(request.params), ...trace } }
      : request.params;
    call.out.send({ jsonrpc: "2.0", id: clientId, method: request.method, params });
  }

  async readResource(call: CallContext, server: string, org: OrgContext, config: ServiceConfig, uri: string) {
    const instance = this.registry.pick(server);
    if (!instance) throw unavailable(server);
    instance.outstanding++;
    const observed = this.observer?.upstream(call, server, "resources/read");
    try {
      const response = await instance.client.readResource({
        uri,
        scope: { org, config, sessionKey: call.sessionKey },
      });
      observed?.end(response.ok ? "ok" : "error");
      if (!response.ok) throw new RpcError(response.error.code, response.error.message, response.error.data);
      return response.result as Json;
    } catch (error) {
      if (!(error instanceof RpcError)) observed?.end("failed");
      if (error instanceof RpcError) throw error;
      if (!this.registry.markFailed(instance, error)) throw callFailed(server, error, this.logger);
      throw unavailable(server, error, this.logger);
    } finally {
      instance.outstanding--;
    }
  }
}
