import { resolve } from "node:path";
import type { CreateDbOptions } from "@omni/db";
import * as v from "valibot";

/**
 * The gateway's environment, read once: `gateway/src/index.ts` calls `readEnv(process.env)` and passes
 * the typed `GatewayEnv` (or the slices below) down; nothing else in the gateway reads `process.env`.
 * A new variable goes in `GatewayEnv` (and `.env.example` with its default).
 */

const flag = v.pipe(
  v.optional(v.picklist(["0", "1", "true", "false", ""]), "0"),
  v.transform((value) => value === "1" || value === "true"),
);
/** A flag that is on unless set to 0/false. */
const flagOn = v.pipe(
  v.optional(v.picklist(["0", "1", "true", "false", ""]), "1"),
  v.transform((value) => value !== "0" && value !== "false"),
);
const int = (fallback: number, min: number) =>
  v.pipe(
    v.optional(v.string(), String(fallback)),
    v.transform((value) => (value.trim() === "" ? fallback : Number(value))),
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
const perMinute = (fallback: number) =>
  v.pipe(
    v.optional(v.string(), String(fallback)),
    v.transform(Number),
    v.number("must be a number"),
    v.integer("must be a whole number of requests per minute"),
    v.minValue(0),
  );
/** Blank means unset. */
const optionalText = v.pipe(
  v.optional(v.string()),
  v.transform((value) => (value?.trim() ? value : undefined)),
);
const trimmedText = v.pipe(
  v.optional(v.string()),
  v.transform((value) => (value?.trim() ? value.trim() : undefined)),
);

/** Authentication, rate-limit and security settings from the environment (see .env.example). */
export const AuthEnv = v.object({
  /** Clerk PEM public key: networkless session-token verification. */
  CLERK_JWT_KEY: optionalText,
  /** Clerk secret key: JWKS fetched from Clerk when CLERK_JWT_KEY is unset. */
  CLERK_SECRET_KEY: optionalText,
  /** Allowed `azp` values (front-end origins), comma-separated. */
  CLERK_AUTHORIZED_PARTIES: list,
  /** Clerk issuer (frontend API URL): checked against `iss` and named as authorization server. */
  CLERK_ISSUER: optionalText,
  /** Clerk publishable key: the issuer is derived from it when CLERK_ISSUER is unset. */
  CLERK_PUBLISHABLE_KEY: optionalText,
  /** Clerk Backend API base URL (opaque OAuth token verification with CLERK_SECRET_KEY). */
  CLERK_API_URL: optionalText,
  /** Svix signing secret of the Clerk webhook endpoint (`whsec_...`). */
  CLERK_WEBHOOK_SIGNING_SECRET: optionalText,
  /** Requests per minute per API key (0: no limit). */
  RATE_LIMIT_PER_KEY: perMinute(600),
  /** Requests per minute per organization (0: no limit). */
  RATE_LIMIT_PER_ORG: perMinute(3000),
  /** The window of both limits in seconds (default 60: the limits are per minute). */
  RATE_LIMIT_WINDOW_SECONDS: v.pipe(
    v.optional(v.string(), "60"),
    v.transform(Number),
    v.number("must be a number"),
    v.integer("must be a whole number of seconds"),
    v.minValue(1),
  ),
  /** Browser origins allowed by CORS, comma-separated (`*`: any). */
  CORS_ORIGINS: list,
  /** Public base URL of the gateway (discovery metadata); default: the request's origin. */
  PUBLIC_URL: optionalText,
  /** Prefix of every Redis key this module writes. */
  AUTH_REDIS_PREFIX: v.optional(v.string(), "omni:"),
});
export type AuthEnv = v.InferOutput<typeof AuthEnv>;

/**
 * Key material and the variables its loaders consult, passed to them as text (`loadSecretKeys`,
 * `loadAuditKeys`, `createStateSealer`, `loadInternalToken`, `loadOperatorToken` validate and name them).
 */
const KEY_VARIABLES = [
  "OMNI_SECRET_KEY",
  "OMNI_SECRET_KEY_PREVIOUS",
  "OMNI_AUDIT_KEY",
  "OMNI_STATE_KEY",
  "OMNI_INTERNAL_TOKEN",
  "OMNI_OPERATOR_TOKEN",
  "NODE_ENV",
  "OMNI_DATA_DIR",
  "OMNI_DEV_MODE",
] as const;
export type KeyEnv = { readonly [K in (typeof KEY_VARIABLES)[number]]?: string };

const Gateway = v.object({
  ...AuthEnv.entries,
  /** Listen port. Default 37373. */
  PORT: int(37373, 0),
  /** Listen address. Default 127.0.0.1 (loopback). */
  HOST: v.optional(v.string(), "127.0.0.1"),
  /** Domain server instances: `linear=http://127.0.0.1:3001,perplexity=http://127.0.0.1:3002`. */
  SERVERS: v.optional(v.string(), ""),
  /** Postgres URL (the primary); PGlite in `<OMNI_DATA_DIR>/pglite` when unset. */
  DATABASE_URL: trimmedText,
  /** Postgres read replicas, comma-separated URLs: reads that may lag go there (see db/src/client.ts). */
  DATABASE_READ_URLS: list,
  /** How often each read replica is probed (ms); one that fails gets no reads until it answers. Default 2000. */
  DATABASE_READ_CHECK_MS: int(2000, 50),
  /** Data directory: PGlite, development keys, audit checkpoints. Default `.data/` at the repository root. */
  OMNI_DATA_DIR: trimmedText,
  /** Redis URL: L2 config cache, cross-replica invalidation, auth generations, shared rate limits. */
  REDIS_URL: trimmedText,
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
  /**
   * Tool calls to domain servers over each instance's call socket (one WebSocket carrying every call,
   * `GET /rpc/socket`); `0` sends each call as its own `POST /rpc/tools/call` on the keep-alive pool (for a
   * proxy in between that refuses WebSocket upgrades). Default on; the HTTP route serves while the socket
   * is not open either way.
   */
  UPSTREAM_CALL_SOCKET: flagOn,
  /** How often `server_instances` rows are re-read (instances added, drained, removed live). Default 2000 ms. */
  SERVER_INSTANCES_POLL_MS: int(2000, 100),
  /** How often federated upstream rows are re-read (`omni servers add|remove` apply live). Default 5000 ms. */
  FEDERATION_RELOAD_MS: int(5000, 100),
  /**
   * Hosts an org admin may register as a federated upstream although they resolve to a private, loopback
   * or link-local address (comma-separated host names or IPs; `*`: any). Default none: org-registered
   * upstreams must be public. Operator-defined upstreams (CLI, config) are not restricted.
   */
  FEDERATION_ALLOWED_PRIVATE_HOSTS: list,
  /** Idle MCP sessions are dropped after this long. Default 30 minutes. */
  SESSION_IDLE_MS: int(30 * 60_000, 1000),
  /** Absolute lifetime of a sealed 2025 `Mcp-Session-Id`. Default 24 hours. */
  SESSION_MAX_AGE_MS: int(24 * 60 * 60_000, 60_000),
  /** Events kept per 2025 GET stream for `Last-Event-ID` resumption. Default 100. */
  SESSION_REPLAY_EVENTS: int(100, 0),
  /**
   * A running task's lease (the tasks extension): its replica renews it every third of this; a working
   * task whose replica died is failed when next read, by any replica, once it lapsed. Default 30 s.
   */
  TASK_LEASE_MS: int(30_000, 1000),
  /** Graceful drain: how long after SIGTERM (`/ready` 503) before streams close and the listener stops. */
  DRAIN_DELAY_MS: int(2000, 0),
  /** Graceful drain: the longest in-flight requests may still run before the process exits. Default 30 s. */
  DRAIN_TIMEOUT_MS: int(30_000, 0),
  /** Redis Sentinel: `host:port` list of sentinels (with REDIS_SENTINEL_NAME; REDIS_URL then only gives credentials and db). */
  REDIS_SENTINELS: list,
  /** Redis Sentinel: the monitored master's name. Default `mymaster`. */
  REDIS_SENTINEL_NAME: v.optional(v.string(), "mymaster"),
  /** Log level of the JSON log lines. Default `info`. */
  LOG_LEVEL: v.optional(v.picklist(["debug", "info", "warn", "error", "silent"]), "info"),
  /** Log line format: `json` (production) or `pretty` (development). Default: pretty with OMNI_DEV_MODE, else json. */
  LOG_FORMAT: v.optional(v.picklist(["json", "pretty"])),
  /** L1 config cache entries. Default 1000. */
  CONFIG_CACHE_SIZE: int(1000, 0),
  /** L1 config cache time to live (ms). Default 60000. */
  CONFIG_CACHE_TTL_MS: int(60_000, 0),
  /** L2 (Redis) config cache time to live (ms). Default 600000. */
  CONFIG_CACHE_L2_TTL_MS: int(600_000, 0),
  /** Redis prefix of the config cache. Default: REDIS_PREFIX. */
  CONFIG_CACHE_PREFIX: v.optional(v.string()),
  /** Redis prefix of the auth module. Default: REDIS_PREFIX. */
  AUTH_REDIS_PREFIX: v.optional(v.string()),
});

export type GatewayEnv = Omit<v.InferOutput<typeof Gateway>, "CONFIG_CACHE_PREFIX" | "AUTH_REDIS_PREFIX"> & {
  CONFIG_CACHE_PREFIX: string;
  AUTH_REDIS_PREFIX: string;
  /** Key material as text, for the key loaders. */
  keys: KeyEnv;
};

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

/**
 * Parses the gateway's environment (`process.env`, once, in index.ts); throws one message naming every
 * invalid variable.
 */
export function readEnv(source: Record<string, string | undefined>): GatewayEnv {
  const env = parseEnv(Gateway, source, "gateway");
  const keys: { -readonly [K in keyof KeyEnv]: string } = {};
  for (const name of KEY_VARIABLES) {
    const value = source[name];
    if (value !== undefined) keys[name] = value;
  }
  return {
    ...env,
    CONFIG_CACHE_PREFIX: env.CONFIG_CACHE_PREFIX ?? env.REDIS_PREFIX,
    AUTH_REDIS_PREFIX: env.AUTH_REDIS_PREFIX ?? env.REDIS_PREFIX,
    keys,
  };
}

/**
 * `createDb` options: Postgres at `DATABASE_URL` (with its read replicas, `DATABASE_READ_URLS`), else PGlite in `<OMNI_DATA_DIR>/pglite` (default `.data/pglite`). */
export function databaseOptions(
  env: Pick<GatewayEnv, "DATABASE_URL" | "OMNI_DATA_DIR" | "DATABASE_READ_URLS" | "DATABASE_READ_CHECK_MS">,
): Pick<CreateDbOptions, "url" | "dataDir" | "readUrls" | "replicaCheckMs"> {
  if (env.DATABASE_URL) {
    return env.DATABASE_READ_URLS.length > 0
      ? {
          url: env.DATABASE_URL,
          readUrls: env.DATABASE_READ_URLS,
          replicaCheckMs: env.DATABASE_READ_CHECK_MS,
        }
      : { url: env.DATABASE_URL };
  }
  return env.OMNI_DATA_DIR ? { dataDir: resolve(env.OMNI_DATA_DIR, "pglite") } : {};
}
