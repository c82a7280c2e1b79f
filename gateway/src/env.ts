import * as v from "valibot";

const flag = v.pipe(
  v.optional(v.picklist(["0", "1", "true", "false", ""]), "0"),
  v.transform((value) => value === "1" || value === "true"),
);
const int = (fallback: number, min: number) =>
  v.pipe(
    v.optional(v.string(), String(fallback)),
    v.transform(Number),
    v.number("must be a number"),
    v.integer("must be an integer"),
    v.minValue(min),
  );
const list = v.pipe(
  v.optional(v.string(), ""),
  v.transform((value) =>
    value
      .split(",")
      .map((s) => s.trim())
      .filter(Boolean),
  ),
);

/** The gateway's environment, with its defaults. */
export const GatewayEnv = v.object({
  /** Listen port. Default 37373. */
  PORT: int(37373, 0),
  /** Listen address. Default 127.0.0.1 (loopback). */
  HOST: v.optional(v.string(), "127.0.0.1"),
  /** Domain server instances: `linear=http://127.0.0.1:3001,perplexity=http://127.0.0.1:3002`. */
  SERVERS: v.optional(v.string(), ""),
  /** Postgres URL; PGlite in `.data/` when unset. */
  DATABASE_URL: v.optional(v.string()),
  /** Redis URL: L2 config cache, cross-replica invalidation, auth generations, shared rate limits. */
  REDIS_URL: v.pipe(
    v.optional(v.string()),
    v.transform((value) => (value?.trim() ? value.trim() : undefined)),
  ),
  /**
   * Prefix of the gateway's Redis keys and channels (MCP tasks; also the default of CONFIG_CACHE_PREFIX and
   * AUTH_REDIS_PREFIX), so deployments can share one Redis. Default `omni:`.
   */
  REDIS_PREFIX: v.optional(v.string(), "omni:"),
  /** How long connecting to Redis may take. Default 5000 ms. */
  REDIS_CONNECT_TIMEOUT_MS: int(5000, 100),
  /** Local development mode: requests without credentials act as the demo org (loopback only). */
  OMNI_DEV_MODE: flag,
  /** Extra allowed `Host` values besides loopback (DNS-rebinding protection), comma-separated. */
  ALLOWED_HOSTS: list,
  /** Extra allowed `Origin` values besides loopback, comma-separated. */
  ALLOWED_ORIGINS: list,
  /** Items per page of every MCP list. Default 100. */
  MCP_PAGE_SIZE: int(100, 1),
  /** Largest accepted request body in bytes. Default 4 MiB. */
  MAX_BODY_BYTES: int(4 * 1024 * 1024, 1024),
  /** Domain server health-check period. Default 5000 ms. */
  HEALTH_INTERVAL_MS: int(5000, 100),
  /** Idle MCP sessions are dropped after this long. Default 30 minutes. */
  SESSION_IDLE_MS: int(30 * 60_000, 1000),
  /** Absolute lifetime of a sealed 2025 `Mcp-Session-Id`. Default 24 hours. */
  SESSION_MAX_AGE_MS: int(24 * 60 * 60_000, 60_000),
  /** Events kept per 2025 GET stream for `Last-Event-ID` resumption. Default 100. */
  SESSION_REPLAY_EVENTS: int(100, 0),
  /** Graceful drain: how long after SIGTERM (`/ready` 503) before streams close and the listener stops. */
  DRAIN_DELAY_MS: int(2000, 0),
  /** Graceful drain: the longest in-flight requests may still run before the process exits. Default 30 s. */
  DRAIN_TIMEOUT_MS: int(30_000, 0),
  /** Redis Sentinel: `host:port` list of sentinels (with REDIS_SENTINEL_NAME; REDIS_URL then only gives credentials and db). */
  REDIS_SENTINELS: list,
  /** Redis Sentinel: the monitored master's name. Default `mymaster`. */
  REDIS_SENTINEL_NAME: v.optional(v.string(), "mymaster"),
  /** Clerk publishable key (`pk_...`): the admin dashboard signs in with Clerk when set. */
  CLERK_PUBLISHABLE_KEY: v.pipe(
    v.optional(v.string()),
    v.transform((value) => (value?.trim() ? value.trim() : undefined)),
  ),
});
export type GatewayEnv = v.InferOutput<typeof GatewayEnv>;

/**
 * Parses environment variables with a valibot schema; throws one message naming every invalid variable
 * (`what` says whose: "gateway", "authentication").
 */
export function parseEnv<S extends v.GenericSchema>(
  schema: S,
  env: Record<string, string | undefined>,
  what: string,
): v.InferOutput<S> {
  const parsed = v.safeParse(schema, env);
  if (parsed.success) return parsed.output;
  const problems = parsed.issues.map((issue) => `${v.getDotPath(issue) ?? "env"}: ${issue.message}`);
  throw new Error(`Invalid ${what} environment:\n  ${problems.join("\n  ")}`);
}

/** Parses the gateway's environment; throws one message naming every invalid variable. */
export function readEnv(env: Record<string, string | undefined> = process.env): GatewayEnv {
  return parseEnv(GatewayEnv, env, "gateway");
}
