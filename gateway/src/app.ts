import { enableDefaultMetrics, type MetricsOptions, metricsHandler } from "@omni/kit";
import { type AnyElysia, type Context, Elysia, status } from "elysia";
import { dashboardRoutes } from "./admin/api.ts";
import type { DashboardDeps } from "./admin/deps.ts";
import { type AdminConfigRoutesDeps, adminConfigRoutes } from "./admin/index.ts";
import {
  createOperatorAccess,
  OPERATOR_PREFIX,
  type OperatorAccess,
  type OperatorRoutesDeps,
  operatorRoutes,
} from "./admin/operator.ts";
import { baseUrl, wwwAuthenticate } from "./auth/discovery.ts";
import { type AuthModule, createAuthModule } from "./auth/index.ts";
import type { KeyEnv } from "./env.ts";
import type { Federation } from "./federation/index.ts";
import { isLoopbackHost } from "./mcp/dev-auth.ts";
import { Dispatcher } from "./mcp/dispatcher.ts";
import { createOriginGuard } from "./mcp/guard.ts";
import { payloadTooLargeError, StreamableHttp } from "./mcp/http.ts";
import { ModernHttp } from "./mcp/modern/handler.ts";
import { deploymentKey, StateSealer } from "./mcp/modern/state.ts";
import { errorMessage } from "./mcp/protocol.ts";
import { MemorySessionBus, type SessionBus } from "./mcp/session-bus.ts";
import { SessionSealer } from "./mcp/session-seal.ts";
import type { TaskStore } from "./mcp/tasks/store.ts";
import { createWsConnection } from "./mcp/ws.ts";
import {
  sessions as sessionsGauge,
  upstreamCallSockets,
  upstreamInFlight,
  upstreamInstances,
} from "./observability/metrics.ts";
import { type Authenticator, authenticateOnce, type ConfigService, type McpAccess } from "./ports.ts";
import type { Registry } from "./registry/index.ts";
import {
  createSecurityChecks,
  leanRoute,
  originOf,
  pathOf,
  SECURITY_HEADERS,
  type SecurityOptions,
} from "./security/checks.ts";
import { apiError, apiErrorResponse } from "./security/errors.ts";
import { createLogger } from "./security/log.ts";
import { requestIdOf, securityPlugin } from "./security/plugin.ts";

export interface GatewayOptions {
  /** Reported by /health and in serverInfo. */
  version: string;
  /** Items per page of every MCP list. Default 100. */
  pageSize: number;
  /**
   * Largest request body (and WebSocket message) in bytes (`MAX_BODY_BYTES`): the security plugin's limit on
   * every route (413; on `/mcp` a JSON-RPC error body) and the MCP endpoint's own. Default 4 MiB.
   */
  maxBodyBytes: number;
  /** Idle MCP sessions are dropped after this long. Default 30 minutes. */
  sessionIdleMs: number;
  /** Absolute lifetime of a 2025 session id (`SESSION_MAX_AGE_MS`). Default 24 hours. */
  sessionMaxAgeMs: number;
  /** Allowed `Host`/`Origin` values besides loopback (DNS-rebinding protection). */
  allowedHosts: string[];
  allowedOrigins: string[];
  /** SSE keep-alive period on GET streams. Default 15 s. */
  keepAliveMs: number;
  /** How often a WebSocket's credential is re-checked. Default 30 s. */
  credentialCheckMs: number;
  /** A running task's lease (`TASK_LEASE_MS`): a task whose replica died is failed after this. Default 30 s. */
  taskLeaseMs: number;
  instructions?: string;
  /**
   * `GET /metrics` and the MCP series' labels (`metricsOptionsFromEnv`: `METRICS_TOKEN`,
   * `METRICS_ORG_LABELS`, `METRICS_ORG_LABEL_LIMIT`). Without a token `/metrics` is 404 on this port
   * (`index.ts` serves `METRICS_PORT` separately).
   */
  metrics: Partial<Pick<MetricsOptions, "token" | "orgLabels" | "orgLabelLimit">>;
  /** One `mcp request` log line per MCP request (default true). */
  mcpLog: boolean;
}

export interface GatewayDeps {
  config: ConfigService;
  authenticator: Authenticator;
  registry: Registry;
  logger?: Pick<Console, "info" | "warn" | "error">;
  options?: Partial<GatewayOptions>;
  /**
   * The security plugin (`security/plugin.ts`), always mounted first: request id, CORS for `corsOrigins`,
   * security headers, the DNS-rebinding guard, the body limit `options.maxBodyBytes`, and one access-log line
   * per request (through `logger` when given, else `deps.logger`, else JSON lines). Production passes
   * `createAuthModule(...).security`. Default: no cross-origin reader.
   */
  security?: GatewaySecurity;
  /**
   * Permission checks, rate limits, tool-call audit and the 401 discovery challenge on `/mcp` and `/ws`
   * (`createAuthModule(...).mcpAccess`). CORS origins come from `security.corsOrigins` only.
   */
  mcpAccess?: McpAccess;
  /**
   * Elysia plugins mounted after the security guard (admin API, auth webhooks, ...). For Eden types to
   * reach `GatewayApp`, add a typed `.use(plugin)` line in `createGateway` instead.
   */
  plugins?: AnyElysia[];
  /**
   * The config admin API (`/api/prompts|resources|services`, see `admin/index.ts`), mounted with a typed
   * `.use` so its routes reach `GatewayApp` (Eden). Code-declared prompts come from the registry.
   */
  admin?: GatewayAdminDeps;
  /**
   * The dependencies (e.g. `redis`) that are down right now: `/ready` answers 503 naming them. Default:
   * none (the registry's domain servers are checked either way).
   */
  unavailableDependencies?: () => string[];
  /** Where MCP tasks live (`RedisTaskStore` so every replica sees them); in memory when absent. */
  taskStore?: TaskStore;
  /** Federated upstream MCP servers (`federation/`): joined to each org's view; admin API at /api/federation. */
  federation?: Federation;
  /**
   * What replicas share about 2025 sessions (`RedisSessionBus` so any replica serves any session, routes
   * answers and replays streams); in memory when absent (one replica).
   */
  sessionBus?: SessionBus;
  /** True once a graceful drain began: `/ready` answers 503 so the balancer stops sending requests. */
  draining?: () => boolean;
  /**
   * Key material (`GatewayEnv.keys`): `OMNI_STATE_KEY` / `OMNI_SECRET_KEY` seal 2026-07-28 requestState
   * and 2025 session ids.
   * Default: none set (the development key file, else a per-process key).
   */
  keys?: KeyEnv;
}

/** The security plugin's settings that are not the gateway's own (its body limit is `options.maxBodyBytes`). */
export type GatewaySecurity = Pick<SecurityOptions, "corsOrigins" | "logger" | "accessLog">;

/**
 * What the admin API needs besides the registry (whose capabilities supply code prompts) and the MCP
 * sessions: the config routes' deps, and for the dashboard's routes (`admin/api.ts`) the auth module
 * (default settings when absent), development mode and the Clerk publishable key.
 */
export type GatewayAdminDeps = Omit<AdminConfigRoutesDeps, "codePrompts" | "registry"> &
  Partial<Pick<DashboardDeps, "auth" | "devMode" | "clerkPublishableKey" | "adminDist" | "readDb">> & {
    /**
     * The operator API (`/api/operator/...`, `admin/operator.ts`): the deployment's operator token
     * (`OMNI_OPERATOR_TOKEN`; null or absent: the API answers 403 operator_api_disabled) and the replica's
     * follower of `server_instances` (applies a change at once, tells `SERVERS` instances apart).
     */
    operator?: { token: string | null } & Pick<OperatorRoutesDeps, "follower">;
  };

/** Each base app's dispatcher, for the admin API's sessions routes (set in `createBaseGateway`). */
const dispatchers = new WeakMap<object, Dispatcher>();

const DEFAULTS: GatewayOptions = {
  version: "0.1.0",
  pageSize: 100,
  maxBodyBytes: 4 * 1024 * 1024,
  sessionIdleMs: 30 * 60_000,
  sessionMaxAgeMs: 24 * 60 * 60_000,
  allowedHosts: [],
  allowedOrigins: [],
  keepAliveMs: 15_000,
  credentialCheckMs: 30_000,
  taskLeaseMs: 30_000,
  metrics: {},
  mcpLog: true,
};

/** Whether a request carries a body (the methods that may, with a length or a chunked stream). */
function hasBody(request: Request): boolean {
  if (request.method === "GET" || request.method === "HEAD" || request.method === "OPTIONS") return false;
  return request.body !== null || Number(request.headers.get("content-length") ?? "0") > 0;
}

function isLoopbackAddress(address: string | undefined): boolean {
  if (!address) return false;
  return address === "::1" || address.startsWith("127.") || address.startsWith("::ffff:127.");
}

/** Per server: whether it listens on a loopback address only (then every peer is on loopback). */
const loopbackServers = new WeakMap<object, boolean>();

/**
 * Whether an MCP request's peer is on loopback: known without asking the socket (a `getpeername` per
 * request) when the server listens on loopback only; no server (`app.handle` in tests) counts as loopback.
 */
function mcpPeerIsLoopback(server: Context["server"], request: Request): boolean {
  if (!server) return true;
  let only = loopbackServers.get(server);
  if (only === undefined) {
    only = server.hostname !== undefined && isLoopbackHost(server.hostname);
    loopbackServers.set(server, only);
  }
  return only || isLoopbackAddress(server.requestIP(request)?.address);
}

/** Everything but the admin API (see `createGateway`); `operator` checks the operator API's callers. */
function createBaseGateway(deps: GatewayDeps, operator: OperatorAccess | null) {
  const options = { ...DEFAULTS, ...deps.options };
  const logger = deps.logger ?? createLogger();
  const startedAt = Date.now();
  // One deployment key seals both 2026-07-28 requestState and 2025 session ids (separate AAD).
  const key = deploymentKey(deps.keys ?? {}, logger);
  const dispatcher = new Dispatcher({
    sessions: {
      sealer: new SessionSealer(key, options.sessionMaxAgeMs),
      bus: deps.sessionBus ?? new MemorySessionBus(),
    },
    config: deps.config,
    registry: deps.registry,
    pageSize: options.pageSize,
    sessionIdleMs: options.sessionIdleMs,
    serverInfo: { name: "omni-mcp", title: "Omni MCP gateway", version: options.version },
    ...(options.instructions ? { instructions: options.instructions } : {}),
    logger,
    ...(deps.mcpAccess ? { access: deps.mcpAccess } : {}),
    ...(deps.federation ? { federation: deps.federation } : {}),
    observe: {
      log: options.mcpLog,
      orgLabels: options.metrics.orgLabels ?? false,
      ...(options.metrics.orgLabelLimit === undefined
        ? {}
        : { orgLabelLimit: options.metrics.orgLabelLimit }),
    },
  });
  // Scrape-time gauges of this gateway (removed when it stops).
  const untrack = [
    upstreamInstances.track(deps.registry),
    upstreamCallSockets.track(deps.registry),
    upstreamInFlight.track(deps.registry),
    sessionsGauge.track({
      total: () => dispatcher.sessions.size,
      websocket: () => dispatcher.websocketSessions,
    }),
  ];
  enableDefaultMetrics();
  const metrics = metricsHandler({ ...(options.metrics.token ? { token: options.metrics.token } : {}) });
  const modern = new ModernHttp({
    dispatcher,
    config: deps.config,
    registry: deps.registry,
    sealer: new StateSealer(key),
    serverInfo: { name: "omni-mcp", title: "Omni MCP gateway", version: options.version },
    keepAliveMs: options.keepAliveMs,
    taskLeaseMs: options.taskLeaseMs,
    logger,
    ...(deps.taskStore ? { taskStore: deps.taskStore } : {}),
  });
  const http = new StreamableHttp({
    modern,
    dispatcher,
    authenticator: deps.authenticator,
    maxBodyBytes: options.maxBodyBytes,
    keepAliveMs: options.keepAliveMs,
    ...(deps.mcpAccess ? { access: deps.mcpAccess } : {}),
  });
  const corsOrigins = deps.security?.corsOrigins ?? [];
  const guard = createOriginGuard({
    allowedHosts: options.allowedHosts,
    // An origin trusted to read responses (CORS_ORIGINS) may reach the gateway: no need to repeat it.
    allowedOrigins: [...options.allowedOrigins, ...corsOrigins],
  });
  const checks = createSecurityChecks({
    corsOrigins,
    maxBodyBytes: options.maxBodyBytes,
    // One 413 per endpoint: the MCP endpoint answers with a JSON-RPC error (the same as its own check's).
    payloadTooLarge: (request, max) =>
      /^\/mcp(\/[ob]\/[^/]+)?$/.test(pathOf(request))
        ? errorMessage(null, payloadTooLargeError(max))
        : undefined,
    admit: guard,
    logger: deps.security?.logger ?? deps.logger ?? createLogger(),
    ...(deps.security?.accessLog === undefined ? {} : { accessLog: deps.security.accessLog }),
  });
  /**
   * The MCP endpoint (`/mcp`, `/mcp/o/<slug>`: one organization's, `/mcp/b/<bundle>`: one bundle's); `Elysia`
   * serves it for `app.handle` and paths the listener does not match, the listener itself through `lean`.
   */
  const mcp = (
    request: Request,
    server: Context["server"],
    target: {
      orgSlug?: string | undefined;
      bundle?: string | undefined;
      headers?: Record<string, string>;
    } = {},
  ) => http.handle(request, { loopback: mcpPeerIsLoopback(server, request), ...target });
  // What the listener serves without Elysia's lifecycle, with the same checks (the hot path of MCP clients).
  const lean = {
    "/mcp": leanRoute(checks, (request, server, headers) => mcp(request, server, { headers })),
    "/mcp/o/:slug": leanRoute(checks, (request, server, headers) =>
      mcp(request, server, { orgSlug: request.params.slug, headers }),
    ),
    "/mcp/b/:bundle": leanRoute(checks, (request, server, headers) =>
      mcp(request, server, { bundle: request.params.bundle, headers }),
    ),
  };

  /** `GET /ws` and `GET /ws/o/<slug>` (one organization's): authenticate, then upgrade to MCP over WebSocket. */
  async function upgradeWs(
    request: Request,
    server: Context["server"],
    requestId: string,
    orgSlug?: string,
    bundle?: string,
  ) {
    if (request.headers.get("upgrade")?.toLowerCase() !== "websocket" || !server) {
      return status(
        426,
        apiError("upgrade_required", "GET /ws expects a WebSocket upgrade (subprotocol mcp)"),
      );
    }
    const protocols = (request.headers.get("sec-websocket-protocol") ?? "").split(",").map((p) => p.trim());
    if (!protocols.includes("mcp")) {
      return status(400, apiError("bad_subprotocol", "Request the WebSocket subprotocol mcp"));
    }
    const auth = await deps.authenticator.authenticate(request.headers, {
      loopback: isLoopbackAddress(server.requestIP(request)?.address),
      mcp: { origin: originOf(request) ?? "http://127.0.0.1", ...(orgSlug ? { orgSlug } : {}) },
    });
    if (!auth.ok) {
      if (deps.mcpAccess) return deps.mcpAccess.unauthorized(auth, request);
      return status(auth.status, apiError(auth.reason, auth.message));
    }
    if (bundle !== undefined) {
      const known = await dispatcher.hasBundle(auth.org.orgId, bundle).catch(() => null);
      if (known === null) return status(503, apiError("dependency_unavailable", "Retry shortly"));
      if (!known) return status(404, apiError("not_found", `Bundle not found: ${bundle.slice(0, 64)}`));
    }
    const handlers = createWsConnection({
      dispatcher,
      authenticator: deps.authenticator,
      auth: bundle === undefined ? auth : { ...auth, bundle },
      maxMessageBytes: options.maxBodyBytes,
      checkIntervalMs: options.credentialCheckMs,
      ...(deps.mcpAccess ? { access: deps.mcpAccess } : {}),
    });
    // The 101 carries the request id too (the security plugin's headers do not reach an upgrade).
    const upgradeHeaders = { "sec-websocket-protocol": "mcp", "x-request-id": requestId };
    if (server.upgrade(request, { headers: upgradeHeaders, data: handlers })) return;
    return status(400, apiError("upgrade_failed", "WebSocket upgrade failed"));
  }

  let app = new Elysia({ name: "omni-gateway", serve: { routes: lean } })
    .use(securityPlugin(checks))
    // Authentication before work: an `/api` request with a body is authenticated before the body is read,
    // parsed or validated (the route's guard reuses the outcome). `/mcp` and `/ws` authenticate first in
    // their own handlers.
    .onRequest(async ({ request, server }) => {
      const path = pathOf(request);
      if (!hasBody(request) || !path.startsWith("/api/")) return;
      const loopback = !server || isLoopbackAddress(server.requestIP(request)?.address);
      // The operator API takes the operator token, not an organization's credentials.
      if (operator && path.startsWith(OPERATOR_PREFIX)) {
        const refused = await operator.refusal(request, loopback);
        if (!refused) return;
        const headers = { ...SECURITY_HEADERS, "x-request-id": requestIdOf(request) };
        return apiErrorResponse(refused.status, apiError(refused.code, refused.message), headers);
      }
      const auth = await authenticateOnce(deps.authenticator, request, { loopback });
      if (auth.ok) return;
      const headers: Record<string, string> = { ...SECURITY_HEADERS, "x-request-id": requestIdOf(request) };
      if (auth.status === 401) headers["www-authenticate"] = wwwAuthenticate(baseUrl(request), auth);
      return apiErrorResponse(auth.status, apiError(auth.reason, auth.message), headers);
    })
    .onStop(() => {
      for (const off of untrack) off();
      dispatcher.close();
      modern.close();
    })
    .get("/health", () => {
      const servers = deps.registry.health();
      const healthy = servers.every((s) => s.healthy > 0);
      return {
        status: healthy ? ("ok" as const) : ("degraded" as const),
        version: options.version,
        uptime: Math.round((Date.now() - startedAt) / 1000),
        servers,
      };
    })
    // Prometheus text: only with METRICS_TOKEN on this port (404 otherwise; METRICS_PORT is separate).
    .get("/metrics", ({ request }) => metrics(request))
    .get("/ready", ({ status }) => {
      if (deps.draining?.()) {
        return status(503, { ready: false as const, message: "Draining: this replica is shutting down" });
      }
      const down = deps.unavailableDependencies?.() ?? [];
      if (down.length > 0) {
        return status(503, {
          ready: false as const,
          message: `A dependency of the gateway is unavailable: ${down.join(", ")}`,
        });
      }
      return deps.registry.ready()
        ? { ready: true as const }
        : status(503, {
            ready: false as const,
            message: "Not every configured domain server has a healthy instance yet (see GET /health)",
          });
    })
    .all("/mcp", ({ request, server }) => mcp(request, server), { parse: "none" })
    // One organization's MCP endpoint (OAuth users who are members of several): the same handler.
    .all("/mcp/o/:slug", ({ request, server, params }) => mcp(request, server, { orgSlug: params.slug }), {
      parse: "none",
    })
    .get("/ws/o/:slug", ({ request, server, requestId, params }) =>
      upgradeWs(request, server, requestId, params.slug),
    )
    // One bundle of the caller's organization (`/mcp/b/<bundle>`): its tools, prompts and resources only.
    .all("/mcp/b/:bundle", ({ request, server, params }) => mcp(request, server, { bundle: params.bundle }), {
      parse: "none",
    })
    .get("/ws/b/:bundle", ({ request, server, requestId, params }) =>
      upgradeWs(request, server, requestId, undefined, params.bundle),
    )
    .get("/ws", ({ request, server, requestId }) => upgradeWs(request, server, requestId));
  for (const plugin of deps.plugins ?? []) app = app.use(plugin) as typeof app;
  dispatchers.set(app, dispatcher);
  return app;
}

type BaseGatewayApp = ReturnType<typeof createBaseGateway>;

/**
 * Graceful drain: ends the 2025 GET streams this gateway holds with an SSE `retry` hint of `retryMs`, so
 * their clients reconnect (with `Last-Event-ID`) through the balancer to another replica.
 */
export function closeSessionStreams(app: object, retryMs: number): void {
  dispatchers.get(app)?.closeStreams(retryMs);
}

function withAdmin(
  app: BaseGatewayApp,
  registry: Registry,
  admin: GatewayAdminDeps,
  operator: OperatorAccess,
  federation?: Federation,
) {
  const dispatcher = dispatchers.get(app)!;
  const { auth, devMode, clerkPublishableKey, adminDist, readDb, operator: operatorDeps, ...config } = admin;
  // Without the auth module, the dashboard's own routes use one with default settings, and the caller
  // mounts the auth routes themselves (through `plugins`): mounting a second copy would shadow them.
  const dashboardAuth = auth ?? {
    ...createAuthModule({ db: admin.db }),
    routes: new Elysia() as AuthModule["routes"],
  };
  return app
    .use(adminConfigRoutes({ ...config, codePrompts: () => registry.capabilities.codePrompts, registry }))
    .use(
      operatorRoutes({
        db: admin.db,
        registry,
        access: operator,
        audit: dashboardAuth.audit,
        ...(operatorDeps?.follower ? { follower: operatorDeps.follower } : {}),
      }),
    )
    .use(
      dashboardRoutes({
        db: admin.db,
        ...(readDb ? { readDb } : {}),
        config: admin.config,
        auth: dashboardAuth,
        registry,
        sessions: { all: () => dispatcher.sessions.all(), end: (session) => dispatcher.endSession(session) },
        ...(devMode === undefined ? {} : { devMode }),
        ...(clerkPublishableKey ? { clerkPublishableKey } : {}),
        ...(adminDist ? { adminDist } : {}),
        ...(federation ? { federation } : {}),
        secrets: admin.config.secrets,
      }),
    );
}

/** The full gateway's type (with the admin API): `treaty<GatewayApp>(url)`. */
export type GatewayApp = ReturnType<typeof withAdmin>;

/**
 * The gateway app: the security plugin (request id, DNS-rebinding guard, CORS, security headers, body
 * limit, access log), `/health`, `/ready`, MCP Streamable HTTP at `/mcp`, MCP over
 * WebSocket at `/ws`, `deps.plugins`, and the config admin API under `/api` when `deps.admin` is given.
 * Building it opens no port; `index.ts` listens.
 */
export function createGateway(deps: GatewayDeps & { admin: GatewayAdminDeps }): GatewayApp;
export function createGateway(deps: GatewayDeps): BaseGatewayApp;
export function createGateway(deps: GatewayDeps): GatewayApp | BaseGatewayApp {
  if (!deps.admin) return createBaseGateway(deps, null);
  const operator = createOperatorAccess({
    token: deps.admin.operator?.token ?? null,
    authenticator: deps.authenticator,
  });
  return withAdmin(createBaseGateway(deps, operator), deps.registry, deps.admin, operator, deps.federation);
}
