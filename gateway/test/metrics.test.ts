import { afterAll, beforeAll, expect, test } from "bun:test";
import { Client, StreamableHTTPClientTransport } from "@modelcontextprotocol/client";
import { createTestDatabase, DEMO_ORG_ID } from "@omni/db";
import { type RunningServer, serve, serveMetrics } from "@omni/kit";
import { OrgLabels } from "../src/observability/metrics.ts";
import { createRateLimiter } from "../src/security/rate-limit.ts";
import { modernServer } from "./fixtures/modern-server.ts";
import {
  enableForDemoOrg,
  modernToolCall,
  type Replica,
  startReplica,
  TEST_INTERNAL_TOKEN,
} from "./fixtures/replicas.ts";

/**
 * `GET /metrics` after real traffic: a gateway (2025 session over the SDK client, stateless 2026-07-28
 * calls, an unknown tool) in front of a kit-built domain server, both scraped; the token and separate-port
 * protections; organization labels only when enabled, and bounded.
 */

const TOKEN = `metrics-${crypto.randomUUID()}`;
let database: NonNullable<Awaited<ReturnType<typeof createTestDatabase>>>;
let domain: RunningServer;
let gateway: Replica;
let closed: Replica;
let orgLabelled: Replica;

/** One series' value in a Prometheus text scrape (exact label set, any order of lines). */
function sample(text: string, name: string, labels: Record<string, string>): number | undefined {
  for (const line of text.split("\n")) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    const open = line.indexOf("{");
    const close = line.lastIndexOf("}");
    const found: Record<string, string> = {};
    if (open !== -1 && open < name.length + 1) {
      for (const m of line.slice(open + 1, close).matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g))
        found[m[1]!] = m[2]!;
    }
    const keys = Object.keys(labels);
    if (keys.length !== Object.keys(found).length || keys.some((k) => found[k] !== labels[k])) continue;
    return Number(line.slice(line.lastIndexOf(" ") + 1));
  }
  return undefined;
}

async function scrape(url: string, token: string | null = TOKEN): Promise<Response> {
  return fetch(`${url}/metrics`, token ? { headers: { authorization: `Bearer ${token}` } } : {});
}

beforeAll(async () => {
  const created =
    (await createTestDatabase("postgres", { seed: true })) ??
    (await createTestDatabase("pglite", { seed: true }));
  if (!created) throw new Error("no test database available");
  database = created;
  domain = serve(modernServer, {
    port: 0,
    hostname: "127.0.0.1",
    mcp: false,
    internalToken: TEST_INTERNAL_TOKEN,
    metrics: { token: TOKEN },
  });
  await enableForDemoOrg(database.db, modernServer.name);
  const instances = [{ server: modernServer.name, url: domain.url }];
  gateway = await startReplica({ db: database.db, instances, gateway: { metrics: { token: TOKEN } } });
  closed = await startReplica({ db: database.db, instances });
  orgLabelled = await startReplica({
    db: database.db,
    instances,
    gateway: { metrics: { orgLabels: true, orgLabelLimit: 10 } },
  });
  for (const replica of [gateway, closed, orgLabelled]) {
    for (let i = 0; i < 100 && !replica.registry.ready(); i++) await Bun.sleep(20);
  }
}, 60_000);

afterAll(async () => {
  await Promise.all([gateway?.stop(), closed?.stop(), orgLabelled?.stop()]);
  await domain?.stop();
  await database?.close();
});

test("a scrape after real traffic names every MCP, upstream, session, cache and runtime series", async () => {
  const client = new Client({ name: "metrics-test", version: "1.0.0" });
  await client.connect(new StreamableHTTPClientTransport(new URL(`${gateway.url}/mcp`)));
  await client.listTools();
  const echoed = await client.callTool({ name: "modern_echo", arguments: { text: "hi" } });
  expect(echoed.isError).toBeFalsy();
  await expect(client.callTool({ name: "no_such_tool", arguments: {} })).rejects.toThrow(/Unknown tool/);
  const modern = await modernToolCall(gateway.url, { name: "modern_echo", arguments: { text: "x" } });
  expect(modern.result).toBeDefined();

  const res = await scrape(gateway.url);
  expect(res.status).toBe(200);
  expect(res.headers.get("content-type")).toContain("text/plain");
  const text = await res.text();
  const calls = (era: string) =>
    sample(text, "omni_mcp_request_duration_seconds_count", {
      method: "tools/call",
      tool: "modern_echo",
      server: "modern",
      era,
      outcome: "ok",
    });
  expect(calls("2025")).toBeGreaterThanOrEqual(1);
  expect(calls("2026-07-28")).toBeGreaterThanOrEqual(1);
  // A name no server registered is `unknown` (bounded), answered by no server.
  expect(
    sample(text, "omni_mcp_request_duration_seconds_count", {
      method: "tools/call",
      tool: "unknown",
      server: "none",
      era: "2025",
      outcome: "error",
    }),
  ).toBeGreaterThanOrEqual(1);
  expect(
    sample(text, "omni_mcp_request_duration_seconds_count", {
      method: "tools/list",
      tool: "",
      server: "gateway",
      era: "2025",
      outcome: "ok",
    }),
  ).toBeGreaterThanOrEqual(1);
  expect(text).not.toContain("no_such_tool");
  expect(text).toMatch(/omni_mcp_request_duration_seconds_bucket\{[^}]*le="\+Inf"\}/);
  expect(
    sample(text, "omni_upstream_call_duration_seconds_count", {
      server: "modern",
      kind: "tools/call",
      outcome: "ok",
    }),
  ).toBeGreaterThanOrEqual(2);
  expect(
    sample(text, "omni_upstream_instances", { server: "modern", state: "healthy" }),
  ).toBeGreaterThanOrEqual(1);
  expect(sample(text, "omni_upstream_in_flight", { server: "modern" })).toBe(0);
  // The registry opened the instance's call socket after its first healthy check (every gateway of
  // this file is counted: one process).
  expect(
    sample(text, "omni_upstream_call_sockets", { server: "modern", state: "open" }),
  ).toBeGreaterThanOrEqual(1);
  expect(text).toContain("# TYPE omni_upstream_call_sockets gauge");
  expect(sample(text, "omni_mcp_sessions", { transport: "http" })).toBeGreaterThanOrEqual(1);
  expect(sample(text, "omni_mcp_sessions", { transport: "websocket" })).toBe(0);
  expect(sample(text, "omni_config_cache_requests_total", { layer: "l1", result: "hit" })).toBeGreaterThan(0);
  expect(
    sample(text, "omni_config_cache_requests_total", { layer: "postgres", result: "load" }),
  ).toBeGreaterThan(0);
  expect(text).toContain("# TYPE omni_rate_limit_rejections_total counter");
  expect(text).toContain("# TYPE omni_audit_write_failures_total counter");
  expect(sample(text, "process_cpu_seconds_total", {})).toBeGreaterThan(0);
  expect(text).toContain("nodejs_eventloop_lag_seconds");
  // No organization label unless enabled.
  expect(text).not.toContain(DEMO_ORG_ID);

  // The session ends: the gauge follows.
  const before = sample(text, "omni_mcp_sessions", { transport: "http" }) ?? 0;
  await client.close();
  const after = await (await scrape(gateway.url)).text();
  expect(sample(after, "omni_mcp_sessions", { transport: "http" })).toBeLessThanOrEqual(before);
});

test("the domain server's own /metrics counts the tool calls it ran, behind its token", async () => {
  await modernToolCall(gateway.url, { name: "modern_echo", arguments: { text: "y" } });
  expect((await scrape(domain.url, null)).status).toBe(401);
  // The internal RPC token is not the metrics token.
  expect((await scrape(domain.url, TEST_INTERNAL_TOKEN)).status).toBe(401);
  const text = await (await scrape(domain.url)).text();
  expect(
    sample(text, "omni_server_tool_call_duration_seconds_count", {
      server: "modern",
      tool: "modern_echo",
      era: "2026-07-28",
      outcome: "ok",
    }),
  ).toBeGreaterThanOrEqual(1);
  expect(sample(text, "omni_server_tool_calls_in_flight", { server: "modern" })).toBe(0);
});

test("rate-limit rejections are counted by scope", async () => {
  const read = async () =>
    sample(await (await scrape(gateway.url)).text(), "omni_rate_limit_rejections_total", { scope: "org" }) ??
    0;
  const before = await read();
  const limiter = createRateLimiter({ perOrg: 1, perKey: 0 });
  const orgId = `rl-${crypto.randomUUID()}`;
  expect((await limiter.consume({ orgId })).allowed).toBe(true);
  expect((await limiter.consume({ orgId })).allowed).toBe(false);
  expect((await limiter.consume({ orgId })).allowed).toBe(false);
  expect(await read()).toBe(before + 2);
});

test("/metrics on the public port needs the token, and without one configured is not served", async () => {
  for (const token of [null, "wrong", `${TOKEN}x`]) {
    const res = await scrape(gateway.url, token);
    expect(res.status).toBe(401);
    expect(res.headers.get("www-authenticate")).toContain("Bearer");
    expect(await res.text()).not.toContain("omni_");
  }
  const res = await scrape(closed.url, TOKEN);
  expect(res.status).toBe(404);
  const body = await res.text();
  expect(body).toContain("METRICS_PORT");
  expect(body).not.toContain("omni_mcp");
});

test("METRICS_PORT: a listener of its own on loopback, with the token when one is set", async () => {
  const open = serveMetrics({ port: 0, host: "127.0.0.1" });
  const guarded = serveMetrics({ port: 0, host: "127.0.0.1", token: TOKEN });
  try {
    expect(open.url).toStartWith("http://127.0.0.1:");
    const res = await fetch(`${open.url}/metrics`);
    expect(res.status).toBe(200);
    expect(await res.text()).toContain("omni_mcp_request_duration_seconds");
    expect((await fetch(`${open.url}/mcp`)).status).toBe(404);
    expect((await fetch(`${guarded.url}/metrics`)).status).toBe(401);
    expect((await scrape(guarded.url)).status).toBe(200);
  } finally {
    open.stop();
    guarded.stop();
  }
});

test("organization labels only when enabled, bounded by the limit", async () => {
  await modernToolCall(orgLabelled.url, { name: "modern_echo", arguments: { text: "z" } });
  const open = serveMetrics({ port: 0, host: "127.0.0.1" });
  try {
    const text = await (await fetch(`${open.url}/metrics`)).text();
    expect(
      sample(text, "omni_mcp_request_duration_seconds_count", {
        method: "tools/call",
        tool: "modern_echo",
        server: "modern",
        era: "2026-07-28",
        outcome: "ok",
        org: DEMO_ORG_ID,
      }),
    ).toBeGreaterThanOrEqual(1);
  } finally {
    open.stop();
  }
  const labels = new OrgLabels(2);
  expect([labels.of("a"), labels.of("b"), labels.of("c"), labels.of("a"), labels.of("d")]).toEqual([
    "a",
    "b",
    "other",
    "a",
    "other",
  ]);
});

/** The metric names of a scrape: every sample's, and each `# TYPE`'s (with a histogram's series). */
function namesOf(text: string): Set<string> {
  const names = new Set<string>();
  for (const line of text.split("\n")) {
    const typed = /^# TYPE (\S+) (\S+)/.exec(line);
    if (typed) {
      names.add(typed[1]!);
      if (typed[2] === "histogram")
        for (const s of ["_bucket", "_sum", "_count"]) names.add(`${typed[1]}${s}`);
    } else if (line && !line.startsWith("#")) names.add(line.split(/[{ ]/)[0]!);
  }
  return names;
}

test("every metric the Grafana dashboard queries exists in a real scrape of the gateway or a domain server", async () => {
  const dashboard = (await Bun.file(
    new URL("../../deploy/grafana/omni-mcp.json", import.meta.url),
  ).json()) as {
    panels: { title: string; targets: { expr: string }[] }[];
    templating: { list: { query?: unknown }[] };
  };
  const scraped = new Set([
    ...namesOf(await (await scrape(gateway.url)).text()),
    ...namesOf(await (await scrape(domain.url)).text()),
  ]);
  const exprs = [
    ...dashboard.panels.flatMap((p) => p.targets.map((t) => t.expr)),
    ...dashboard.templating.list.map((v) => v.query).filter((q): q is string => typeof q === "string"),
  ];
  expect(dashboard.panels.length).toBeGreaterThanOrEqual(10);
  const queried = new Set(
    exprs.flatMap((e) => [...e.matchAll(/\b(?:omni|process|nodejs)_[a-z0-9_]+/g)].map((m) => m[0])),
  );
  expect(queried.size).toBeGreaterThanOrEqual(12);
  const missing = [...queried].filter((name) => !scraped.has(name));
  expect(missing).toEqual([]);
  // Every label a query filters or groups by is one the series carry (no silent empty panel).
  const labels = new Set([
    "job",
    "instance",
    "le",
    "method",
    "tool",
    "server",
    "era",
    "outcome",
    "transport",
    "state",
    "kind",
    "layer",
    "result",
    "scope",
    "org",
  ]);
  for (const expr of exprs) {
    for (const m of expr.matchAll(/\b([a-z_]+)\s*(?:=~|!=|=)\s*"/g)) expect(labels).toContain(m[1]!);
    for (const m of expr.matchAll(/by \(([^)]*)\)/g))
      for (const l of m[1]!.split(",")) expect(labels).toContain(l.trim());
  }
});
