import {
  type Context,
  defaultTextMapGetter,
  defaultTextMapSetter,
  ROOT_CONTEXT,
  type Span,
  SpanKind,
  SpanStatusCode,
  type Tracer,
  trace,
} from "@opentelemetry/api";
import { W3CTraceContextPropagator } from "@opentelemetry/core";
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-proto";
import {
  defaultResource,
  detectResources,
  envDetector,
  resourceFromAttributes,
} from "@opentelemetry/resources";
import {
  AlwaysOffSampler,
  AlwaysOnSampler,
  BatchSpanProcessor,
  ConsoleSpanExporter,
  ParentBasedSampler,
  type Sampler,
  type SpanExporter,
  TraceIdRatioBasedSampler,
  TracerProvider,
} from "@opentelemetry/sdk-trace";

/**
 * OpenTelemetry tracing (the OTel JS SDK), off by default and configured by the standard variables:
 * on when `OTEL_TRACES_EXPORTER` is `otlp` or `console`, or when it is unset and
 * `OTEL_EXPORTER_OTLP_ENDPOINT` / `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` is set; off with
 * `OTEL_SDK_DISABLED=true` or `OTEL_TRACES_EXPORTER=none`. `OTEL_SERVICE_NAME`, `OTEL_RESOURCE_ATTRIBUTES`,
 * `OTEL_TRACES_SAMPLER` (+ `OTEL_TRACES_SAMPLER_ARG`) and the OTLP exporter's own `OTEL_EXPORTER_OTLP_*`
 * (headers, timeout, compression; http/protobuf) apply.
 *
 * The process has one active tracer (`activeTracer()`), undefined while tracing is off: every
 * instrumentation point checks it first, so tracing off costs one load and one branch. Context is passed
 * explicitly (no global context manager): W3C `traceparent`/`tracestate` in, a span's own out.
 */
let active: Tracer | undefined;

/** The process's tracer, or undefined when tracing is off. */
export function activeTracer(): Tracer | undefined {
  return active;
}

/** Sets (or clears) the process's tracer: `startTracing` does; tests pass an in-memory provider's. */
export function setActiveTracer(tracer: Tracer | undefined): void {
  active = tracer;
}

const propagator = new W3CTraceContextPropagator();

/** The remote parent named by W3C trace context values (invalid or absent: the root context). */
export function parentContext(traceparent: unknown, tracestate?: unknown): Context {
  if (typeof traceparent !== "string") return ROOT_CONTEXT;
  const carrier: Record<string, string> = { traceparent };
  if (typeof tracestate === "string") carrier.tracestate = tracestate;
  return propagator.extract(ROOT_CONTEXT, carrier, defaultTextMapGetter);
}

/** The context whose parent is `span` (for child spans in this process). */
export function spanContext(span: Span): Context {
  return trace.setSpan(ROOT_CONTEXT, span);
}

/** `traceparent` (and `tracestate`) naming `span` as the parent, for a hop to another process. */
export function traceHeaders(span: Span): Record<string, string> {
  const carrier: Record<string, string> = {};
  propagator.inject(trace.setSpan(ROOT_CONTEXT, span), carrier, defaultTextMapSetter);
  return carrier;
}

/** Ends a span with an error status (`message` bounded; never arguments or secrets). */
export function endWithError(span: Span, message: string): void {
  span.setStatus({ code: SpanStatusCode.ERROR, message: message.slice(0, 200) });
  span.end();
}

export { SpanKind };

function samplerFromEnv(env: Record<string, string | undefined>): Sampler {
  const name = (env.OTEL_TRACES_SAMPLER ?? "parentbased_always_on").trim().toLowerCase();
  const raw = env.OTEL_TRACES_SAMPLER_ARG;
  const ratio = raw === undefined || raw === "" ? 1 : Number(raw);
  if (name.endsWith("traceidratio") && !(ratio >= 0 && ratio <= 1)) {
    throw new Error(`OTEL_TRACES_SAMPLER_ARG must be a number between 0 and 1, got "${raw}"`);
  }
  switch (name) {
    case "always_on":
      return new AlwaysOnSampler();
    case "always_off":
      return new AlwaysOffSampler();
    case "traceidratio":
      return new TraceIdRatioBasedSampler(ratio);
    case "parentbased_always_on":
      return new ParentBasedSampler({ root: new AlwaysOnSampler() });
    case "parentbased_always_off":
      return new ParentBasedSampler({ root: new AlwaysOffSampler() });
    case "parentbased_traceidratio":
      return new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(ratio) });
    default:
      throw new Error(
        `OTEL_TRACES_SAMPLER must be always_on, always_off, traceidratio, parentbased_always_on, parentbased_always_off or parentbased_traceidratio; got "${name}"`,
      );
  }
}

/** Which exporter the environment asks for, or undefined when tracing is off. */
export function tracesExporterFromEnv(
  env: Record<string, string | undefined> = process.env,
): "otlp" | "console" | undefined {
  if ((env.OTEL_SDK_DISABLED ?? "").toLowerCase() === "true") return undefined;
  const named = (env.OTEL_TRACES_EXPORTER ?? "").trim().toLowerCase();
  if (named === "none") return undefined;
  if (named === "otlp" || named === "console") return named;
  if (named !== "") {
    throw new Error(`OTEL_TRACES_EXPORTER must be otlp, console or none; got "${named}"`);
  }
  return env.OTEL_EXPORTER_OTLP_ENDPOINT || env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT ? "otlp" : undefined;
}

export interface RunningTracing {
  provider: TracerProvider;
  /** Exports what is buffered and stops. */
  shutdown(): Promise<void>;
}

/**
 * Starts tracing as the environment says (see the module comment) and makes it the process's tracer;
 * undefined when tracing is off. `serviceName` is the default of `OTEL_SERVICE_NAME`. `exporter`
 * overrides the environment's (tests).
 */
export function startTracing(
  serviceName: string,
  options: { env?: Record<string, string | undefined>; exporter?: SpanExporter } = {},
): RunningTracing | undefined {
  const env = options.env ?? process.env;
  const kind = options.exporter ? "custom" : tracesExporterFromEnv(env);
  if (!kind) return undefined;
  const exporter: SpanExporter =
    options.exporter ?? (kind === "console" ? new ConsoleSpanExporter() : new OTLPTraceExporter());
  const resource = defaultResource()
    .merge(resourceFromAttributes({ "service.name": serviceName }))
    .merge(detectResources({ detectors: [envDetector] }));
  const provider = new TracerProvider({
    resource,
    sampler: samplerFromEnv(env),
    spanProcessors: [new BatchSpanProcessor({ exporter })],
  });
  setActiveTracer(provider.getTracer("omni-mcp"));
  return {
    provider,
    async shutdown() {
      setActiveTracer(undefined);
      await provider.shutdown();
    },
  };
}
