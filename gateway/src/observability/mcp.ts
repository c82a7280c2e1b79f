import { activeTracer, endWithError, parentContext, SpanKind, spanContext, traceHeaders } from "@omni/kit";
import type { Span } from "@opentelemetry/api";
import type { CallContext, EraName } from "../mcp/core/context.ts";
import { isRecord, type Json, RpcError } from "../mcp/protocol.ts";
import type { Registry } from "../registry/index.ts";
import { mcpRequests, OrgLabels, upstreamCalls } from "./metrics.ts";

/**
 * The one observation hook of the MCP core, at the dispatcher's request boundary (every edge, both eras,
 * WebSocket and tasks) and at the relay's upstream hop: per request one histogram observation, one
 * structured log line (`mcp request`: request id, session id, org id, method, tool, server, era,
 * duration, outcome; never arguments or credentials) and, while tracing is on, one span whose parent is
 * the request's `_meta.traceparent` (SEP-414); per upstream call one observation and, while tracing is
 * on, a child span whose context travels to the domain server in the RPC's `traceparent` header.
 */
export interface McpObserverOptions {
  registry: Registry;
  logger: Pick<Console, "info">;
  /** `METRICS_ORG_LABELS`: series carry an `org` label (bounded by `orgLabelLimit`). */
  orgLabels?: boolean;
  orgLabelLimit?: number;
  /** Write the `mcp request` log line (default true). */
  log?: boolean;
}

const ERA_LABEL: Record<EraName, string> = { session: "2025", modern: "2026-07-28", task: "task" };

/** A request being observed: when it started, its span while tracing is on. */
export interface Observation {
  readonly started: number;
  readonly span: Span | undefined;
}

function outcomeOf(result: Json): string {
  if (result.isError === true) return "tool_error";
  if (result.resultType === "input_required") return "input_required";
  return "ok";
}

export class McpObserver {
  private readonly orgs: OrgLabels | undefined;
  private readonly log: boolean;
  /**
   * The span of each traced call, for the relay's child spans; keyed by the call's signal, which the
   * contexts derived from a call (`{...call, inputResponses}`) share.
   */
  private readonly spans = new WeakMap<AbortSignal, Span>();

  constructor(private readonly opts: McpObserverOptions) {
    this.orgs = opts.orgLabels ? new OrgLabels(opts.orgLabelLimit ?? 100) : undefined;
    this.log = opts.log ?? true;
  }

  /** At the start of a request: its clock and (tracing on) its span. */
  begin(call: CallContext, method: string, params: Json): Observation {
    const tracer = activeTracer();
    if (!tracer) return { started: performance.now(), span: undefined };
    const meta = isRecord(params._meta) ? params._meta : undefined;
    const tool = method === "tools/call" && typeof params.name === "string" ? params.name : undefined;
    const span = tracer.startSpan(
      tool ? `${method} ${tool}` : method,
      {
        kind: SpanKind.SERVER,
        attributes: {
          "mcp.method.name": method,
          "mcp.protocol.era": ERA_LABEL[call.era],
          "omni.org.id": call.caller.org.orgId,
          ...(call.session ? { "mcp.session.id": call.session.id } : {}),
          ...(tool ? { "gen_ai.tool.name": tool } : {}),
        },
      },
      parentContext(meta?.traceparent, meta?.tracestate),
    );
    this.spans.set(call.signal, span);
    return { started: performance.now(), span };
  }

  /** At the end of a request: `result`, or the error it threw. */
  end(
    observation: Observation,
    call: CallContext,
    method: string,
    params: Json,
    result: Json | undefined,
    error?: unknown,
  ): void {
    const seconds = (performance.now() - observation.started) / 1000;
    const known = method === "tools/call" && typeof params.name === "string" ? params.name : undefined;
    const route = known === undefined ? undefined : this.opts.registry.capabilities.tools.get(known);
    const outcome = result === undefined ? "error" : outcomeOf(result);
    const era = ERA_LABEL[call.era];
    const tool = known === undefined ? "" : route ? known : "unknown";
    const server = known === undefined ? "gateway" : (route?.server ?? "none");
    const orgId = call.caller.org.orgId;
    const labels = [method, tool, server, era, outcome];
    if (this.orgs) labels.push(this.orgs.of(orgId));
    mcpRequests.observe(labels, seconds);
    const code = error instanceof RpcError ? error.code : error === undefined ? undefined : -32603;
    const span = observation.span;
    if (span) {
      span.setAttribute("omni.outcome", outcome);
      if (code !== undefined) span.setAttribute("rpc.jsonrpc.error_code", code);
      if (outcome === "error" || outcome === "tool_error") endWithError(span, outcome);
      else span.end();
    }
    if (!this.log) return;
    this.opts.logger.info("mcp request", {
      ...(call.session ? { sessionId: call.session.id } : {}),
      orgId,
      method,
      ...(known === undefined ? {} : { tool: known.slice(0, 128) }),
      server,
      era,
      durationMs: Math.round(seconds * 10_000) / 10,
      outcome,
      ...(code === undefined ? {} : { errorCode: code }),
      ...(span ? { traceId: span.spanContext().traceId } : {}),
    });
  }

  /**
   * Around one upstream call of `call` (kind `tools/call` or `resources/read`): the W3C headers naming
   * the child span (tracing on; else undefined) and the function that records the call's end.
   */
  upstream(call: CallContext, server: string, kind: string): UpstreamObservation {
    const started = performance.now();
    const parent = activeTracer() ? this.spans.get(call.signal) : undefined;
    const span = parent
      ? activeTracer()?.startSpan(
          `${kind} ${server}`,
          { kind: SpanKind.CLIENT, attributes: { "omni.server": server, "mcp.method.name": kind } },
          spanContext(parent),
        )
      : undefined;
    return {
      headers: span ? traceHeaders(span) : undefined,
      end: (outcome: string) => {
        upstreamCalls.observe([server, kind, outcome], (performance.now() - started) / 1000);
        if (!span) return;
        span.setAttribute("omni.outcome", outcome);
        if (outcome === "ok") span.end();
        else endWithError(span, outcome);
      },
    };
  }

  /** The W3C trace context of a traced call (for server-to-client requests' `_meta`), if any. */
  traceOf(call: CallContext): Record<string, string> | undefined {
    const span = activeTracer() ? this.spans.get(call.signal) : undefined;
    return span ? traceHeaders(span) : undefined;
  }
}

export interface UpstreamObservation {
  readonly headers: Record<string, string> | undefined;
  end(outcome: string): void;
}
