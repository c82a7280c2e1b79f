import { expect, test } from "bun:test";
import { trace } from "@opentelemetry/api";
import { InMemorySpanExporter } from "@opentelemetry/sdk-trace";
import { metricsOptionsFromEnv } from "./metrics.ts";
import { activeTracer, parentContext, startTracing, traceHeaders, tracesExporterFromEnv } from "./tracing.ts";

test("tracing is off unless the OTEL_* variables turn it on", () => {
  expect(tracesExporterFromEnv({})).toBeUndefined();
  expect(startTracing("omni-test", { env: {} })).toBeUndefined();
  expect(activeTracer()).toBeUndefined();
  expect(tracesExporterFromEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://127.0.0.1:4318" })).toBe("otlp");
  expect(
    tracesExporterFromEnv({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: "http://127.0.0.1:4318/v1/traces" }),
  ).toBe("otlp");
  expect(tracesExporterFromEnv({ OTEL_TRACES_EXPORTER: "console" })).toBe("console");
  expect(
    tracesExporterFromEnv({ OTEL_TRACES_EXPORTER: "none", OTEL_EXPORTER_OTLP_ENDPOINT: "http://x" }),
  ).toBeUndefined();
  expect(tracesExporterFromEnv({ OTEL_SDK_DISABLED: "true", OTEL_TRACES_EXPORTER: "otlp" })).toBeUndefined();
  expect(() => tracesExporterFromEnv({ OTEL_TRACES_EXPORTER: "zipkin" })).toThrow(/OTEL_TRACES_EXPORTER/);
});

test("the sampler and service name come from the environment; W3C context round-trips", async () => {
  const exporter = new InMemorySpanExporter();
  expect(() => startTracing("x", { env: { OTEL_TRACES_SAMPLER: "sometimes" }, exporter })).toThrow(
    /OTEL_TRACES_SAMPLER/,
  );
  const off = startTracing("omni-test", { env: { OTEL_TRACES_SAMPLER: "always_off" }, exporter });
  activeTracer()?.startSpan("dropped").end();
  await off?.shutdown();
  expect(exporter.getFinishedSpans()).toHaveLength(0);
  const kept = new InMemorySpanExporter();
  const on = startTracing("omni-test", { env: { OTEL_SERVICE_NAME: "named" }, exporter: kept });
  const parent = parentContext("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
  expect(trace.getSpanContext(parent)?.traceId).toBe("4bf92f3577b34da6a3ce929d0e0e4736");
  const span = activeTracer()!.startSpan("kept", {}, parent);
  expect(traceHeaders(span).traceparent).toMatch(/^00-4bf92f3577b34da6a3ce929d0e0e4736-[0-9a-f]{16}-01$/);
  span.end();
  await on?.provider.forceFlush();
  const [finished] = kept.getFinishedSpans();
  expect(finished?.name).toBe("kept");
  expect(finished?.resource.attributes["service.name"]).toBe("named");
  await on?.shutdown();
  expect(activeTracer()).toBeUndefined();
});

test("metrics options: nothing exposed by default; bad values are refused naming the variable", () => {
  expect(metricsOptionsFromEnv({})).toEqual({ host: "127.0.0.1", orgLabels: false, orgLabelLimit: 100 });
  expect(
    metricsOptionsFromEnv({ METRICS_PORT: "9464", METRICS_TOKEN: "t", METRICS_ORG_LABELS: "1" }),
  ).toMatchObject({
    port: 9464,
    token: "t",
    orgLabels: true,
  });
  expect(() => metricsOptionsFromEnv({ METRICS_PORT: "http" })).toThrow(/METRICS_PORT/);
  expect(() => metricsOptionsFromEnv({ METRICS_ORG_LABEL_LIMIT: "-1" })).toThrow(/METRICS_ORG_LABEL_LIMIT/);
});
