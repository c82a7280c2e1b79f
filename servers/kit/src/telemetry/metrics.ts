import { collectDefaultMetrics, Registry } from "prom-client";
import { internalTokenChecker } from "../internal-token.ts";

/**
 * Prometheus metrics of one process (gateway or domain server), on `prom-client`: one registry per
 * process (`metricsRegistry`, what `GET /metrics` serves), the runtime's default metrics (`process_*`,
 * `nodejs_*`), and the hot-path histograms as `LabelledHistogram`s (a plain aggregate read at scrape
 * time: an observation is a map lookup and a few additions, no label hashing or validation).
 *
 * Exposure (`metricsOptionsFromEnv`): `GET /metrics` on the service's own port only with a bearer token
 * (`METRICS_TOKEN`); and/or a listener of its own on `METRICS_PORT` (bound to `METRICS_HOST`, loopback by
 * default), which also asks for the token when one is set. With neither, `/metrics` answers 404 and
 * nothing is exposed.
 */
export const metricsRegistry = new Registry();

let defaultsOn = false;
/** The runtime's default metrics (CPU, memory, event-loop lag, handles), registered once per process. */
export function enableDefaultMetrics(): void {
  if (defaultsOn) return;
  defaultsOn = true;
  collectDefaultMetrics({ register: metricsRegistry });
}

/** Seconds; from 0.5 ms (a cached list) to 60 s (a deep-research tool call). */
export const DURATION_BUCKETS = [
  0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60,
];

interface Series {
  labels: Record<string, string>;
  buckets: number[];
  sum: number;
  count: number;
}

interface MetricValue {
  labels: Record<string, string | number>;
  value: number;
  metricName?: string;
}

/**
 * A histogram whose series are keyed by their label values joined (the caller passes them in
 * `labelNames` order). Registered on `metricsRegistry` as a prom-client metric (`get()` at scrape time).
 */
export class LabelledHistogram {
  readonly type = "histogram";
  private readonly series = new Map<string, Series>();

  constructor(
    readonly name: string,
    readonly help: string,
    private readonly labelNames: readonly string[],
    private readonly bounds: readonly number[] = DURATION_BUCKETS,
    registry: Registry = metricsRegistry,
  ) {
    registry.registerMetric(this as never);
  }

  /** One observation of `value` (seconds) for the series with these label values. */
  observe(values: readonly string[], value: number): void {
    const key = values.join("\u0001");
    let series = this.series.get(key);
    if (!series) {
      const labels: Record<string, string> = {};
      // Fewer values than names: the remaining labels are absent (e.g. `org` unless enabled).
      for (let i = 0; i < values.length && i < this.labelNames.length; i++)
        labels[this.labelNames[i]!] = values[i]!;
      series = { labels, buckets: new Array(this.bounds.length).fill(0), sum: 0, count: 0 };
      this.series.set(key, series);
    }
    series.sum += value;
    series.count++;
    const bounds = this.bounds;
    for (let i = 0; i < bounds.length; i++) {
      if (value <= bounds[i]!) {
        series.buckets[i]!++;
        break;
      }
    }
  }

  /** The count of one series (tests). */
  count(values: readonly string[]): number {
    return this.series.get(values.join("\u0001"))?.count ?? 0;
  }

  reset(): void {
    this.series.clear();
  }

  get(): { name: string; help: string; type: string; values: MetricValue[]; aggregator: string } {
    const values: MetricValue[] = [];
    for (const series of this.series.values()) {
      let cumulative = 0;
      for (let i = 0; i < this.bounds.length; i++) {
        cumulative += series.buckets[i]!;
        values.push({
          labels: { ...series.labels, le: this.bounds[i]! },
          value: cumulative,
          metricName: `${this.name}_bucket`,
        });
      }
      values.push({
        labels: { ...series.labels, le: "+Inf" },
        value: series.count,
        metricName: `${this.name}_bucket`,
      });
      values.push({ labels: series.labels, value: series.sum, metricName: `${this.name}_sum` });
      values.push({ labels: series.labels, value: series.count, metricName: `${this.name}_count` });
    }
    return { name: this.name, help: this.help, type: this.type, values, aggregator: "sum" };
  }
}

/**
 * A counter or gauge whose values are read from live sources at scrape time (no work on the hot path):
 * each source yields `[labels, value]` pairs; pairs with the same labels from several sources (e.g. two
 * gateways in one test process) are added up.
 */
export class CollectedMetric<S> {
  private readonly sources = new Set<S>();

  constructor(
    readonly name: string,
    readonly help: string,
    readonly type: "counter" | "gauge",
    private readonly read: (source: S) => Iterable<[Record<string, string>, number]>,
    registry: Registry = metricsRegistry,
  ) {
    registry.registerMetric(this as never);
  }

  /** Adds a source; the returned function removes it. */
  track(source: S): () => void {
    this.sources.add(source);
    return () => this.sources.delete(source);
  }

  get(): { name: string; help: string; type: string; values: MetricValue[]; aggregator: string } {
    const byKey = new Map<string, MetricValue>();
    for (const source of this.sources) {
      for (const [labels, value] of this.read(source)) {
        const key = JSON.stringify(labels);
        const seen = byKey.get(key);
        if (seen) seen.value += value;
        else byKey.set(key, { labels, value });
      }
    }
    return {
      name: this.name,
      help: this.help,
      type: this.type,
      values: [...byKey.values()],
      aggregator: "sum",
    };
  }
}

export interface MetricsOptions {
  /** `METRICS_TOKEN`: `GET /metrics` needs `Authorization: Bearer <token>`; also served on the main port. */
  token?: string | undefined;
  /** `METRICS_PORT`: a listener of its own for `/metrics` (0: a free port). */
  port?: number | undefined;
  /** `METRICS_HOST`: where that listener binds. Default 127.0.0.1. */
  host: string;
  /** `METRICS_ORG_LABELS=1`: MCP request series carry an `org` label. */
  orgLabels: boolean;
  /** `METRICS_ORG_LABEL_LIMIT`: distinct `org` values at most; later orgs are counted as `other`. */
  orgLabelLimit: number;
}

/** `METRICS_TOKEN`, `METRICS_PORT`, `METRICS_HOST` (127.0.0.1), `METRICS_ORG_LABELS` (0), `METRICS_ORG_LABEL_LIMIT` (100). */
export function metricsOptionsFromEnv(env: Record<string, string | undefined> = process.env): MetricsOptions {
  const rawPort = env.METRICS_PORT;
  let port: number | undefined;
  if (rawPort !== undefined && rawPort !== "") {
    port = Number(rawPort);
    if (!Number.isInteger(port) || port < 0 || port > 65535) {
      throw new Error(`METRICS_PORT must be an integer between 0 and 65535, got "${rawPort}"`);
    }
  }
  const rawLimit = env.METRICS_ORG_LABEL_LIMIT;
  const limit = rawLimit === undefined || rawLimit === "" ? 100 : Number(rawLimit);
  if (!Number.isInteger(limit) || limit < 0) {
    throw new Error(`METRICS_ORG_LABEL_LIMIT must be a non-negative integer, got "${rawLimit}"`);
  }
  const token = env.METRICS_TOKEN;
  return {
    ...(token ? { token } : {}),
    ...(port === undefined ? {} : { port }),
    host: env.METRICS_HOST || "127.0.0.1",
    orgLabels: env.METRICS_ORG_LABELS === "1" || env.METRICS_ORG_LABELS === "true",
    orgLabelLimit: limit,
  };
}

const TEXT = { "content-type": metricsRegistry.contentType };
const JSON_HEADERS = { "content-type": "application/json" };

/**
 * The `GET /metrics` answer: the scrape with the right token; 401 without it; on the main port without a
 * token configured, 404 (only the separate listener, `own`, serves without one).
 */
export function metricsHandler(
  options: Pick<MetricsOptions, "token">,
  own = false,
): (request: Request) => Promise<Response> | Response {
  const check = options.token ? internalTokenChecker(options.token) : undefined;
  return (request) => {
    if (!check && !own) {
      return new Response(
        JSON.stringify({
          error:
            "Metrics are not exposed on this port: set METRICS_TOKEN (bearer token) or METRICS_PORT (a listener of their own)",
        }),
        { status: 404, headers: JSON_HEADERS },
      );
    }
    if (check && !check(request.headers.get("authorization"))) {
      return new Response(
        JSON.stringify({ error: "Unauthorized: send Authorization: Bearer <METRICS_TOKEN>" }),
        {
          status: 401,
          headers: { ...JSON_HEADERS, "www-authenticate": 'Bearer realm="metrics"' },
        },
      );
    }
    return metricsRegistry.metrics().then((text) => new Response(text, { headers: TEXT }));
  };
}

export interface MetricsServer {
  url: string;
  port: number;
  stop(): void;
}

/** The separate `/metrics` listener (`METRICS_PORT` on `METRICS_HOST`); anything else is a 404. */
export function serveMetrics(
  options: Pick<MetricsOptions, "token" | "host"> & { port: number },
): MetricsServer {
  const handle = metricsHandler(options, true);
  const server = Bun.serve({
    port: options.port,
    hostname: options.host,
    fetch(request) {
      const path = new URL(request.url).pathname;
      if (path === "/metrics" && request.method === "GET") return handle(request);
      return new Response(JSON.stringify({ error: "Only GET /metrics is served here" }), {
        status: 404,
        headers: JSON_HEADERS,
      });
    },
  });
  const host = options.host.includes(":") ? `[${options.host}]` : options.host;
  return {
    url: `http://${host}:${server.port}`,
    port: server.port ?? options.port,
    stop: () => void server.stop(true),
  };
}
