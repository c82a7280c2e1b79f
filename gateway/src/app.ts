import { type AnyElysia, Elysia } from "elysia";
import { type AdminConfigRoutesDeps, adminConfigRoutes } from "./admin/index.ts";
import { Dispatcher } from "./mcp/dispatcher.ts";
import { createOriginGuard } from "./mcp/guard.ts";
import { StreamableHttp } from "./mcp/http.ts";
import { ModernHttp } from "./mcp/modern/handler.ts";
import { createStateSealer } from "./mcp/modern/state.ts";
import { createWsConnection } from "./mcp/ws.ts";
import type { Authenticator, ConfigService, McpAccess } from "./ports.ts";
import type { Registry } from "./registry/index.ts";

export interface GatewayOptions {
  /** Reported by /health and in serverInfo. */
  version: string;
  /** Items per page of every MCP list. Default 100. */
  pageSize: number;
  /** Largest request body (and WebSocket message) in bytes. Default 4 MiB. */
  maxBodyBytes: number;
  /** Idle MCP sessions are dropped after this long. Default 30 minutes. */
  sessionIdleMs: number;
  /** Allowed `Host`/`Origin` values besides loopback (DNS-rebinding protection). */
  allowedHosts: string[];
  allowedOrigins: string[];
  /** SSE keep-alive period on GET streams. Default 15 s. */
  keepAliveMs: number;
  /** How often a WebSocket's credential is re-checked. Default 30 s. */
  credentialCheckMs: number;
  instructions?: string;
}

export interface GatewayDeps {
  config: ConfigService;
  authenticator: Authenticator;
  registry: Registry;
  logger?: Pick<Console, "info" | "warn" | "error">;
  options?: Partial<GatewayOptions>;
  /**
   * Permission checks, rate limits, tool-call audit and the 401 discovery challenge on `/mcp` and `/ws`
   * (`createAuthModule(...).mcpAccess`); its CORS origins are admitted by the DNS-rebinding guard too.
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
}

/** What the config admin API needs besides the registry (whose capabilities supply code prompts). */
export type GatewayAdminDeps = Omit<AdminConfigRoutesDeps, "codePrompts">;

const DEFAULTS: GatewayOptions = {
  version: "0.1.0",
  pageSize: 100,
  maxBodyBytes: 4 * 1024 * 1024,
  sessionIdleMs: 30 * 60_000,
  allowedHosts: [],
  allowedOrigins: [],
  keepAliveMs: 15_000,
  credentialCheckMs: 30_000,
};

function isLoopbackAddress(address: string | undefined): boolean {
  if (!address) return false;
  return address === "::1" || address.startsWith("127.") || address.startsWith("::ffff:127.");
}

/** Everything but the admin API (see `createGateway`). */
function createBaseGateway(deps: GatewayDeps) {
  const options = { ...DEFAULTS, ...deps.options };
  const logger = deps.logger ?? console;
  const startedAt = Date.now();
  const dispatcher = new Dispatcher({
    config: deps.config,
    registry: deps.registry,
    pageSize: options.pageSize,
    sessionIdleMs: options.sessionIdleMs,
    serverInfo: { name: "omni-mcp", title: "Omni MCP gateway", version: options.version },
    ...(options.instructions ? { instructions: options.instructions } : {}),
    logger,
    ...(deps.mcpAccess ? { access: deps.mcpAccess } : {}),
  });
  const modern = new ModernHttp({
    dispatcher,
    config: deps.config,
    registry: deps.registry,
    sealer: createStateSealer(process.env, logger),
    serverInfo: { name: "omni-mcp", title: "Omni MCP gateway", version: options.version },
    ...(options.instructions ? { instructions: options.instructions } : {}),
    keepAliveMs: options.keepAliveMs,
    logger,
  });
  const http = new StreamableHttp({
    modern,
    dispatcher,
    authenticator: deps.authenticator,
    maxBodyBytes: options.maxBodyBytes,
    keepAliveMs: options.keepAliveMs,
    ...(deps.mcpAccess ? { access: deps.mcpAccess } : {}),
  });
  const guard = createOriginGuard({
    allowedHosts: options.allowedHosts,
    // An origin trusted to read responses (CORS_ORIGINS) may reach the gateway: no need to repeat it.
    allowedOrigins: [...options.allowedOrigins, ...(deps.mcpAccess?.corsOrigins ?? [])],
  });

  let app = new Elysia({ name: "omni-gateway" })
    .onRequest(({ request }) => {
      const refused = guard(request.headers);
      if (refused) {
        return new Response(JSON.stringify({ error: "forbidden", message: refused }), {
          status: 403,
          headers: { "content-type": "application/json" },
        });
      }
    })
    .onStop(() => {
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
    .get("/ready", ({ status }) =>
      deps.registry.ready()
        ? { ready: true as const }
        : status(503, {
            ready: false as const,
            message: "Not every configured domain server has a healthy instance yet (see GET /health)",
          }),
    )
    .all(
      "/mcp",
      ({ request, server }) =>
        http.handle(request, !server || isLoopbackAddress(server.requestIP(request)?.address)),
      {
        parse: "none",
      },
    )
    .get("/ws", async ({ request, server, status }) => {
      if (request.headers.get("upgrade")?.toLowerCase() !== "websocket" || !server) {
        return status(426, {
          error: "upgrade_required",
          message: "GET /ws expects a WebSocket upgrade (subprotocol mcp)",
        });
      }
      const protocols = (request.headers.get("sec-websocket-protocol") ?? "").split(",").map((p) => p.trim());
      if (!protocols.includes("mcp")) {
        return status(400, { error: "bad_subprotocol", message: "Request the WebSocket subprotocol mcp" });
      }
      const auth = await deps.authenticator.authenticate(request.headers, {
        loopback: isLoopbackAddress(server.requestIP(request)?.address),
      });
      if (!auth.ok) {
        if (deps.mcpAccess) return deps.mcpAccess.unauthorized(auth, request);
        return status(auth.status, { error: auth.reason, message: auth.message });
      }
      const handlers = createWsConnection({
        dispatcher,
        authenticator: deps.authenticator,
        auth,
        maxMessageBytes: options.maxBodyBytes,
        checkIntervalMs: options.credentialCheckMs,
        ...(deps.mcpAccess ? { access: deps.mcpAccess } : {}),
      });
      if (server.upgrade(request, { headers: { "sec-websocket-protocol": "mcp" }, data: handlers })) return;
      return status(400, { error: "upgrade_failed", message: "WebSocket upgrade failed" });
    });
  for (const plugin of deps.plugins ?? []) app = app.use(plugin) as typeof app;
  return app;
}

type BaseGatewayApp = ReturnType<typeof createBaseGateway>;

function withAdmin(app: BaseGatewayApp, registry: Registry, admin: GatewayAdminDeps) {
  return app.use(adminConfigRoutes({ ...admin, codePrompts: () => registry.capabilities.codePrompts }));
}

/** The full gateway's type (with the admin API): `treaty<GatewayApp>(url)`. */
export type GatewayApp = ReturnType<typeof withAdmin>;

/**
 * The gateway app: DNS-rebinding guard, `/health`, `/ready`, MCP Streamable HTTP at `/mcp`, MCP over
 * WebSocket at `/ws`, `deps.plugins`, and the config admin API under `/api` when `deps.admin` is given.
 * Building it opens no port; `index.ts` listens.
 */
export function createGateway(deps: GatewayDeps & { admin: GatewayAdminDeps }): GatewayApp;
export function createGateway(deps: GatewayDeps): BaseGatewayApp;
export function createGateway(deps: GatewayDeps): GatewayApp | BaseGatewayApp {
  const app = createBaseGateway(deps);
  return deps.admin ? withAdmin(app, deps.registry, deps.admin) : app;
}
