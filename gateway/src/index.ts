import { createDb, createRepositories, DEMO_ORG_ID, migrate, seed } from "@omni/db";
import {
  InternalTokenError,
  loadInternalToken,
  type MetricsServer,
  metricsOptionsFromEnv,
  serveMetrics,
  startTracing,
} from "@omni/kit";
import { Redis } from "ioredis";
import pkg from "../package.json" with { type: "json" };
import { devOrgResolver, type OrgResolver } from "./admin/index.ts";
import { loadOperatorToken } from "./admin/operator-token.ts";
import { closeSessionStreams, createGateway } from "./app.ts";
import { createAuthModule } from "./auth/index.ts";
import { createConfigService } from "./config/index.ts";
import { databaseOptions, readEnv } from "./env.ts";
import { Federation } from "./federation/index.ts";
import { createDevAuthenticator, isLoopbackHost } from "./mcp/dev-auth.ts";
import { RedisSessionBus } from "./mcp/session-bus.ts";
import { RedisTaskStore } from "./mcp/tasks/store.ts";
import type { Authenticator } from "./ports.ts";
import { redisSentinelOptions } from "./redis.ts";
import { catalogueSync } from "./registry/catalogue.ts";
import { createClientFactory, type InstanceConfig, parseServersEnv, Registry } from "./registry/index.ts";
import { InstanceFollower } from "./registry/instances.ts";
import { createLogger } from "./security/log.ts";

/**
 * Gateway entry point: reads the environment, migrates and seeds the database, wires the config service,
 * authentication and the capability registry, listens, and shuts down gracefully on SIGINT/SIGTERM.
 * The only place that reads `process.env`: everything below gets its settings from `env`.
 */
const env = (() => {
  try {
    return readEnv(process.env);
  } catch (error) {
    console.error(`gateway: ${error instanceof Error ? error.message : error}`);
    process.exit(1);
  }
})();
const logger = createLogger({
  level: env.LOG_LEVEL,
  format: env.LOG_FORMAT ?? (env.OMNI_DEV_MODE ? "pretty" : "json"),
});

if (env.OMNI_DEV_MODE && !isLoopbackHost(env.HOST)) {
  console.error(
    `OMNI_DEV_MODE=1 lets requests without credentials act as the demo organization, so it is refused unless the gateway listens on loopback (HOST=${env.HOST}). Unset OMNI_DEV_MODE or set HOST=127.0.0.1.`,
  );
  process.exit(1);
}

// The deployment secret sent to domain servers on every RPC call (development: `.data/internal.token`).
let internalToken: string;
try {
  internalToken = loadInternalToken(env.keys);
} catch (error) {
  if (!(error instanceof InternalTokenError)) throw error;
  console.error(`gateway: ${error.message}`);
  process.exit(1);
}

// The operator API's credential (OMNI_OPERATOR_TOKEN; development: `.data/operator.token`; production
// without it: the operator API is off).
let operatorToken: string | null;
try {
  operatorToken = loadOperatorToken(env.keys);
} catch (error) {
  if (!(error instanceof InternalTokenError)) throw error;
  console.error(`gateway: ${error.message}`);
  process.exit(1);
}

// Redis (optional): L2 config cache + cross-replica invalidation, auth generations, shared rate limits.
// A few quick retries per command, so an outage surfaces as errors instead of requests hanging.
// REDIS_SENTINELS: the master named REDIS_SENTINEL_NAME, found (and followed on failover) through Sentinel.
const redisOptions = {
  maxRetriesPerRequest: 2,
  connectTimeout: env.REDIS_CONNECT_TIMEOUT_MS,
  lazyConnect: true,
};
const redis =
  env.REDIS_SENTINELS.length > 0
    ? new Redis({ ...redisSentinelOptions(env), ...redisOptions })
    : env.REDIS_URL
      ? new Redis(env.REDIS_URL, redisOptions)
      : undefined;
if (redis) {
  redis.on("error", (error: Error) => console.error(`redis: ${error.message}`));
  await redis.connect().catch((error: unknown) => {
    console.error(
      `REDIS_URL is set but Redis is unreachable: ${error instanceof Error ? error.message : error}`,
    );
    process.exit(1);
  });
}

if (env.DATABASE_READ_URLS.length > 0 && !env.DATABASE_URL) {
  console.error("DATABASE_READ_URLS needs DATABASE_URL: read replicas are replicas of a Postgres primary");
  process.exit(1);
}
const database = await createDb(databaseOptions(env));
await migrate(database.db);
const repos = createRepositories(database.db);
// An empty database gets the demo organization; the catalogue comes from the servers (catalogueSync).
if ((await repos.organizations.list()).length === 0) {
  await seed(database.db);
  console.log("seeded the demo organization");
}

// Instances from SERVERS; `server_instances` rows are followed live (InstanceFollower, below).
const instances: InstanceConfig[] = parseServersEnv(env.SERVERS);
if (instances.length === 0 && (await repos.servers.listRoutes()).length === 0) {
  console.warn(
    "no domain servers configured: set SERVERS (e.g. linear=http://127.0.0.1:3001) or register instances",
  );
}

// One Redis prefix per deployment (REDIS_PREFIX); CONFIG_CACHE_PREFIX and AUTH_REDIS_PREFIX may still differ.
const config = createConfigService({
  db: database.db,
  ...(redis ? { redis } : {}),
  cache: {
    size: env.CONFIG_CACHE_SIZE,
    ttlMs: env.CONFIG_CACHE_TTL_MS,
    l2TtlMs: env.CONFIG_CACHE_L2_TTL_MS,
    prefix: env.CONFIG_CACHE_PREFIX,
  },
  keys: env.keys,
  logger,
});
await config.ready;

// Clerk session tokens and API keys; in local development mode, requests without credentials act as
// the demo organization and requests with credentials still go through the real authenticator.
const auth = createAuthModule({
  db: database.db,
  ...(redis ? { redis } : {}),
  env,
  keys: env.keys,
  ...(env.OMNI_DATA_DIR ? { dataDir: env.OMNI_DATA_DIR } : {}),
  logger,
});
const authenticator: Authenticator = env.OMNI_DEV_MODE
  ? createDevAuthenticator(DEMO_ORG_ID, auth.authenticator)
  : auth.authenticator;
// The config admin API: the caller's org from their credentials; in development mode (loopback-only
// listener, checked above) a request without credentials acts as the demo organization's owner.
const resolveOrg: OrgResolver = ({ request }) =>
  env.OMNI_DEV_MODE && !request.headers.has("authorization") && !request.headers.has("x-api-key")
    ? devOrgResolver({ request })
    : auth.resolveOrg({ request });

// Observability: METRICS_TOKEN / METRICS_PORT / METRICS_ORG_LABELS, and OTEL_* tracing (off by default).
const metrics = metricsOptionsFromEnv();
const tracing = startTracing("omni-gateway");

const registry = new Registry({
  instances,
  clientFactory: createClientFactory(internalToken, env.UPSTREAM_CALL_SOCKET),
  healthIntervalMs: env.HEALTH_INTERVAL_MS,
  logger,
  // Each server's catalogue row, default prompts and resources come from its own definition.
  onDiscovered: catalogueSync({ db: database.db, invalidate: (change) => config.invalidate(change) }),
});
await registry.start();
// Rows added, marked draining or deleted in `server_instances` take effect without a restart.
const follower = new InstanceFollower({
  registry,
  load: () => repos.servers.listRoutes(),
  fixed: instances,
  intervalMs: env.SERVER_INSTANCES_POLL_MS,
});
await follower.start();

// Federated upstream MCP servers (`federated_servers` rows: org admins' remote ones, the operator's
// global and stdio ones), re-read every FEDERATION_RELOAD_MS so `omni servers add|remove` apply live.
const federation = new Federation({
  list: () => repos.federation.operatorList(),
  secrets: config.secrets,
  reloadMs: env.FEDERATION_RELOAD_MS,
  allowedPrivateHosts: env.FEDERATION_ALLOWED_PRIVATE_HOSTS,
  healthIntervalMs: env.HEALTH_INTERVAL_MS,
  connection: { clientInfo: { name: "omni-gateway", version: pkg.version } },
});
await federation.start();
// 2025 sessions: replicas share their state, answers, ends and stream replay through Redis (when present).
const sessionBus = redis
  ? new RedisSessionBus(redis, env.REDIS_PREFIX, logger, { replayEvents: env.SESSION_REPLAY_EVENTS })
  : undefined;
await sessionBus?.ready;
let draining = false;

const app = createGateway({
  config,
  authenticator,
  registry,
  federation,
  logger,
  keys: env.keys,
  // Mounted first: request id, CORS (CORS_ORIGINS), security headers, body limit, access log.
  security: auth.security,
  // Permissions, rate limits, tool-call audit and the 401 discovery challenge on /mcp and /ws.
  mcpAccess: auth.mcpAccess,
  // The admin API (config routes, the auth module's keys/members/audit, me, servers, sessions, usage,
  // settings, OpenAPI) and the built dashboard at /admin.
  admin: {
    db: database.db,
    // Usage statistics and audit search read on a replica (DATABASE_READ_URLS) when there is one.
    readDb: database.reader,
    config,
    logger,
    resolveOrg,
    audit: auth.audit,
    auth,
    devMode: env.OMNI_DEV_MODE,
    // /api/operator/instances: the operator token; changes apply on this replica at once.
    operator: { token: operatorToken, follower },
    ...(env.CLERK_PUBLISHABLE_KEY ? { clerkPublishableKey: env.CLERK_PUBLISHABLE_KEY } : {}),
  },
  // MCP tasks in Redis (when present) so any replica answers tasks/get, tasks/update and tasks/cancel.
  ...(redis
    ? {
        taskStore: new RedisTaskStore(redis, env.REDIS_PREFIX, (error) =>
          logger.warn("[mcp/tasks] task event channel", error),
        ),
      }
    : {}),
  ...(sessionBus ? { sessionBus } : {}),
  draining: () => draining,
  // Redis down (ioredis reconnects by itself): /ready is 503 meanwhile, requests get 503 dependency_unavailable.
  ...(redis ? { unavailableDependencies: () => (redis.status === "ready" ? [] : ["redis"]) } : {}),
  options: {
    version: pkg.version,
    pageSize: env.MCP_PAGE_SIZE,
    maxBodyBytes: env.MAX_BODY_BYTES,
    sessionIdleMs: env.SESSION_IDLE_MS,
    sessionMaxAgeMs: env.SESSION_MAX_AGE_MS,
    taskLeaseMs: env.TASK_LEASE_MS,
    allowedHosts: env.ALLOWED_HOSTS,
    allowedOrigins: env.ALLOWED_ORIGINS,
    metrics,
  },
}).listen({ port: env.PORT, hostname: env.HOST, idleTimeout: 0 });

const host = env.HOST.includes(":") ? `[${env.HOST}]` : env.HOST;
const url = `http://${host}:${app.server?.port}`;
console.log(`omni gateway ${pkg.version} listening on ${url}`);
console.log(`  MCP endpoint: ${url}/mcp   (WebSocket: ws://${host}:${app.server?.port}/ws)`);
console.log(`  admin dashboard: ${url}/admin   (API reference: ${url}/admin/api-reference)`);
console.log(
  operatorToken
    ? `  operator API: ${url}/api/operator (bearer OMNI_OPERATOR_TOKEN${env.keys.OMNI_OPERATOR_TOKEN?.trim() ? "" : "; development: operator.token in the data directory"})`
    : "  operator API: off (set OMNI_OPERATOR_TOKEN to manage instances with omni servers instances)",
);
for (const r of database.replicaHealth())
  console.log(
    `  read replica ${r.url}: ${r.healthy ? "healthy" : "not answering (reads go to the primary)"}`,
  );
for (const s of registry.health()) console.log(`  ${s.name}: ${s.healthy}/${s.instances} instances healthy`);
if (env.OMNI_DEV_MODE)
  console.log("  local development mode: requests without credentials act as the demo organization");
// METRICS_PORT: /metrics on a listener of its own (loopback unless METRICS_HOST says otherwise).
let metricsServer: MetricsServer | undefined;
if (metrics.port !== undefined) {
  metricsServer = serveMetrics({ ...metrics, port: metrics.port });
  console.log(`  metrics: ${metricsServer.url}/metrics${metrics.token ? " (bearer METRICS_TOKEN)" : ""}`);
} else if (metrics.token) console.log(`  metrics: ${url}/metrics (bearer METRICS_TOKEN)`);
if (tracing) console.log("  tracing: on (OTEL_* variables)");

let stopping = false;
/**
 * Graceful drain (SIGTERM, SIGINT): `/ready` is 503 at once; after DRAIN_DELAY_MS (the balancer saw it) the
 * GET streams close with a reconnect hint and the listener stops; in-flight requests finish within
 * DRAIN_TIMEOUT_MS; then the dependencies close and the process exits 0.
 */
async function shutdown(signal: string): Promise<void> {
  if (stopping) return;
  stopping = true;
  draining = true;
  const deadline = Date.now() + env.DRAIN_TIMEOUT_MS;
  console.log(`gateway: ${signal} received, draining (up to ${env.DRAIN_TIMEOUT_MS} ms)`);
  await Bun.sleep(Math.min(env.DRAIN_DELAY_MS, env.DRAIN_TIMEOUT_MS));
  closeSessionStreams(app, 500);
  const server = app.server;
  void server?.stop(false);
  while (server && server.pendingRequests > 0 && Date.now() < deadline) await Bun.sleep(20);
  const left = server?.pendingRequests ?? 0;
  console.log(`gateway: drained${left > 0 ? ` (${left} requests cut at the drain timeout)` : ""}, stopping`);
  await follower.stop();
  registry.stop();
  metricsServer?.stop();
  await app.stop(true);
  await federation.stop();
  // Tool calls are audited after their answer is sent: let those rows land before the database closes.
  await auth.audit.drain();
  await config.close();
  await auth.state.close();
  await sessionBus?.close();
  await redis?.quit().catch(() => {});
  await database.close();
  await tracing?.shutdown().catch(() => {});
  process.exit(0);
}
process.on("SIGINT", () => void shutdown("SIGINT"));
process.on("SIGTERM", () => void shutdown("SIGTERM"));
