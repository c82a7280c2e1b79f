import { CollectedMetric, LabelledHistogram, metricsRegistry } from "@omni/kit";
import { Counter } from "prom-client";
import type { CacheStats } from "../config/cache.ts";
import type { Registry } from "../registry/index.ts";

/**
 * The gateway's metrics (served by `GET /metrics`, see `@omni/kit`'s metrics module and README
 * "Observability"). Hot-path series are `LabelledHistogram`s (one observation per MCP request and per
 * upstream call); gauges and cache counters are read from live sources at scrape time.
 *
 * Cardinality is bounded: `method` is a method the era knows (else `other`), `tool` a tool some domain
 * server registered (else `unknown`), `server` a configured domain server (or `gateway` for methods the
 * gateway answers itself), `era` one of `2025`, `2026-07-28`, `task`, `outcome` one of `ok`,
 * `tool_error`, `input_required`, `error`. `org` only with `METRICS_ORG_LABELS=1`, at most
 * `METRICS_ORG_LABEL_LIMIT` distinct values per process (later organizations count as `other`).
 */

/** `omni_mcp_request_duration_seconds{method,tool,server,era,outcome[,org]}`; `_count` is the request count. */
export const mcpRequests = new LabelledHistogram(
  "omni_mcp_request_duration_seconds",
  "MCP requests handled by the gateway, by method, tool, server, era and outcome (seconds)",
  ["method", "tool", "server", "era", "outcome", "org"],
);

/** `omni_upstream_call_duration_seconds{server,kind,outcome}`: the gateway's calls to domain servers. */
export const upstreamCalls = new LabelledHistogram(
  "omni_upstream_call_duration_seconds",
  "Calls from the gateway to domain server instances (tools/call, resources/read), by server, kind and outcome (seconds)",
  ["server", "kind", "outcome"],
);

export const upstreamInstances = new CollectedMetric<Registry>(
  "omni_upstream_instances",
  "Domain server instances known to the gateway, by server and state (healthy or unhealthy)",
  "gauge",
  function* (registry) {
    for (const s of registry.health()) {
      yield [{ server: s.name, state: "healthy" }, s.healthy];
      yield [{ server: s.name, state: "unhealthy" }, s.instances - s.healthy];
    }
  },
);

export const upstreamCallSockets = new CollectedMetric<Registry>(
  "omni_upstream_call_sockets",
  "Domain server instances by the transport of their tool calls: open (the call socket) or closed (POST /rpc/tools/call)",
  "gauge",
  (registry) => {
    const counts = new Map<string, { open: number; closed: number }>();
    for (const instance of registry.list()) {
      const count = counts.get(instance.server) ?? { open: 0, closed: 0 };
      if (instance.client.callSocketOpen()) count.open++;
      else count.closed++;
      counts.set(instance.server, count);
    }
    return [...counts].flatMap(([server, count]): [Record<string, string>, number][] => [
      [{ server, state: "open" }, count.open],
      [{ server, state: "closed" }, count.closed],
    ]);
  },
);

export const upstreamInFlight = new CollectedMetric<Registry>(
  "omni_upstream_in_flight",
  "Calls from the gateway to domain server instances in flight now, by server",
  "gauge",
  (registry) => {
    const byServer = new Map<string, number>();
    for (const instance of registry.list()) {
      byServer.set(instance.server, (byServer.get(instance.server) ?? 0) + instance.outstanding);
    }
    return [...byServer].map(([server, n]): [Record<string, string>, number] => [{ server }, n]);
  },
);

/** What the sessions gauge reads of one gateway: its 2025 sessions and how many are WebSocket ones. */
export interface SessionCounts {
  total(): number;
  websocket(): number;
}

export const sessions = new CollectedMetric<SessionCounts>(
  "omni_mcp_sessions",
  "Open 2025-era MCP sessions on this gateway, by transport (http: Mcp-Session-Id, websocket: /ws)",
  "gauge",
  (s) => {
    const ws = s.websocket();
    return [
      [{ transport: "http" }, Math.max(0, s.total() - ws)],
      [{ transport: "websocket" }, ws],
    ];
  },
);

/**
 * `omni_config_cache_requests_total{layer,result}` from the config cache's own counters (no hot-path
 * work): L1 (in-process LRU) hit/miss, L2 (Redis) hit/miss, `postgres` loads, and `shared` (a miss that
 * joined a load already in flight).
 */
export const configCache = new CollectedMetric<{ stats(): CacheStats; redis: boolean }>(
  "omni_config_cache_requests_total",
  "Config cache lookups by layer (l1, l2, postgres, shared) and result (hit, miss, load)",
  "counter",
  function* ({ stats, redis }) {
    const s = stats();
    yield [{ layer: "l1", result: "hit" }, s.l1Hits];
    yield [{ layer: "l1", result: "miss" }, s.l2Hits + s.loads + s.shared];
    if (redis) {
      yield [{ layer: "l2", result: "hit" }, s.l2Hits];
      yield [{ layer: "l2", result: "miss" }, s.loads];
    }
    yield [{ layer: "postgres", result: "load" }, s.loads];
    yield [{ layer: "shared", result: "hit" }, s.shared];
  },
);

/** Requests refused by a rate limit (`scope`: key or org; `surface`: mcp or api). */
export const rateLimitRejections = new Counter({
  name: "omni_rate_limit_rejections_total",
  help: "Requests refused by a rate limit, by bucket scope (key, org)",
  labelNames: ["scope"],
  registers: [metricsRegistry],
});

/** Audit rows that could not be written (`kind`: tool_call, change, checkpoint). */
export const auditWriteFailures = new Counter({
  name: "omni_audit_write_failures_total",
  help: "Audit log writes that failed, by kind (tool_call, change, checkpoint)",
  labelNames: ["kind"],
  registers: [metricsRegistry],
});

/**
 * `GET` resumptions of 2025 POST response streams (`mcp/post-stream.ts`), by how they ended: `answered`
 * (the response reached the client on it), `lost` (the replica running the request was gone), `not_found`
 * (no such stream in the session, or it expired), `left` (the client went away again).
 */
export const streamResumes = new Counter({
  name: "omni_mcp_stream_resumes_total",
  help: "Resumed POST response streams of 2025 sessions, by outcome (answered, lost, not_found, left)",
  labelNames: ["outcome"],
  registers: [metricsRegistry],
});

/** Tasks failed because the replica running them stopped renewing their lease (`mcp/tasks/service.ts`). */
export const tasksAbandoned = new Counter({
  name: "omni_mcp_tasks_abandoned_total",
  help: "Working tasks failed because the gateway replica running them died (their lease lapsed)",
  registers: [metricsRegistry],
});

/** Bounded `org` label values: the first `limit` organizations seen keep their id, the rest are `other`. */
export class OrgLabels {
  private readonly seen = new Set<string>();
  constructor(private readonly limit: number) {}

  of(orgId: string): string {
    if (this.seen.has(orgId)) return orgId;
    if (this.seen.size >= this.limit) return "other";
    this.seen.add(orgId);
    return orgId;
  }
}
