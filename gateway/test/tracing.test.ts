import { afterAll, beforeAll, expect, test } from "bun:test";
import { Client, StreamableHTTPClientTransport } from "@modelcontextprotocol/client";
import { createTestDatabase } from "@omni/db";
import { type RunningServer, setActiveTracer } from "@omni/kit";
import { SpanKind } from "@opentelemetry/api";
import {
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
  TracerProvider,
} from "@opentelemetry/sdk-trace";
import { modernServer } from "./fixtures/modern-server.ts";
import {
  BARE_META,
  enableForDemoOrg,
  modernRequest,
  type Replica,
  serveQuietly,
  startReplica,
} from "./fixtures/replicas.ts";

/**
 * One tools/call traced across the gateway and the domain server (both in this process, talking over
 * loopback HTTP), collected by an in-memory OTel exporter: the gateway's request span takes its parent
 * from `_meta.traceparent`, its upstream span is that span's child, and the domain server's span (whose
 * parent arrived in the RPC's `traceparent` header) is the upstream span's child, all in one trace.
 */

const exporter = new InMemorySpanExporter();
const provider = new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter })] });
let database: NonNullable<Awaited<ReturnType<typeof createTestDatabase>>>;
let domain: RunningServer;
let gateway: Replica;

beforeAll(async () => {
  setActiveTracer(provider.getTracer("tracing-test"));
  const created =
    (await createTestDatabase("postgres", { seed: true })) ??
    (await createTestDatabase("pglite", { seed: true }));
  if (!created) throw new Error("no test database available");
  database = created;
  domain = serveQuietly(modernServer, { mcp: false });
  await enableForDemoOrg(database.db, modernServer.name);
  gateway = await startReplica({
    db: database.db,
    instances: [{ server: modernServer.name, url: domain.url }],
  });
  for (let i = 0; i < 100 && !gateway.registry.ready(); i++) await Bun.sleep(20);
});

afterAll(async () => {
  setActiveTracer(undefined);
  await gateway?.stop();
  await domain?.stop();
  await database?.close();
  await provider.shutdown();
});

/** Waits until the exporter holds `n` spans of `traceId` (the domain server's ends with its answer). */
async function spansOf(traceId: string, n: number): Promise<ReadableSpan[]> {
  for (let i = 0; i < 200; i++) {
    const spans = exporter.getFinishedSpans().filter((s) => s.spanContext().traceId === traceId);
    if (spans.length >= n) return spans;
    await Bun.sleep(10);
  }
  throw new Error(
    `expected ${n} spans of trace ${traceId}, got ${exporter.getFinishedSpans().length} in all`,
  );
}

const parentOf = (span: ReadableSpan) => span.parentSpanContext?.spanId;

test("a 2026-07-28 tools/call: _meta traceparent → gateway span → upstream span → domain server span", async () => {
  const traceId = crypto.randomUUID().replaceAll("-", "");
  const clientSpanId = "00f067aa0ba902b7";
  const { body } = await modernRequest(
    gateway.url,
    "tools/call",
    { name: "modern_echo", arguments: { text: "traced" } },
    { meta: { ...BARE_META, traceparent: `00-${traceId}-${clientSpanId}-01` } },
  );
  expect(body.result).toBeDefined();
  const spans = await spansOf(traceId, 3);
  const request = spans.find(
    (s) => s.kind === SpanKind.SERVER && s.attributes["mcp.protocol.era"] !== undefined,
  );
  const upstream = spans.find((s) => s.kind === SpanKind.CLIENT);
  const server = spans.find((s) => s.kind === SpanKind.SERVER && s.attributes["omni.server"] === "modern");
  expect(request).toBeDefined();
  expect(upstream).toBeDefined();
  expect(server).toBeDefined();
  // The client's span (from _meta) is the gateway's parent; each hop is the child of the one before.
  expect(parentOf(request!)).toBe(clientSpanId);
  expect(request!.parentSpanContext?.isRemote).toBe(true);
  expect(parentOf(upstream!)).toBe(request!.spanContext().spanId);
  expect(parentOf(server!)).toBe(upstream!.spanContext().spanId);
  expect(server!.parentSpanContext?.isRemote).toBe(true);
  expect(request!.attributes["mcp.protocol.era"]).toBe("2026-07-28");
  expect(request!.attributes["gen_ai.tool.name"]).toBe("modern_echo");
  expect(server!.attributes["omni.outcome"]).toBe("ok");
  // Arguments never become span attributes.
  expect(JSON.stringify(spans.map((s) => s.attributes))).not.toContain("traced");
});

test("a 2025 session's call without trace context starts a trace of its own that still crosses to the server", async () => {
  exporter.reset();
  const client = new Client({ name: "tracing-test", version: "1.0.0" });
  await client.connect(new StreamableHTTPClientTransport(new URL(`${gateway.url}/mcp`)));
  try {
    await client.callTool({ name: "modern_echo", arguments: { text: "again" } });
  } finally {
    await client.close();
  }
  let request: ReadableSpan | undefined;
  for (let i = 0; i < 200 && !request; i++) {
    request = exporter
      .getFinishedSpans()
      .find((s) => s.name === "tools/call modern_echo" && s.attributes["mcp.protocol.era"] === "2025");
    if (!request) await Bun.sleep(10);
  }
  expect(request).toBeDefined();
  expect(request!.parentSpanContext).toBeUndefined();
  expect(request!.attributes["mcp.session.id"]).toBeString();
  const spans = await spansOf(request!.spanContext().traceId, 3);
  const server = spans.find((s) => s.attributes["omni.server"] === "modern" && s.kind === SpanKind.SERVER);
  expect(server).toBeDefined();
});

test("a malformed traceparent in _meta is ignored: the request is its own root, and still answered", async () => {
  exporter.reset();
  const { body } = await modernRequest(
    gateway.url,
    "tools/list",
    {},
    { meta: { ...BARE_META, traceparent: "00-not-a-trace-01" } },
  );
  expect(body.result).toBeDefined();
  let span: ReadableSpan | undefined;
  for (let i = 0; i < 200 && !span; i++) {
    span = exporter.getFinishedSpans().find((s) => s.name === "tools/list");
    if (!span) await Bun.sleep(10);
  }
  expect(span).toBeDefined();
  expect(span!.parentSpanContext).toBeUndefined();
});
