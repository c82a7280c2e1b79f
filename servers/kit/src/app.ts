import {
  BrowserContextEndRequest,
  type BrowserContextList,
  BrowserContextListRequest,
  CallbackRequest,
  type HealthReport,
  ResourceReadRequest,
  type ResourceReadResponse,
  SessionEndRequest,
  ToolCallRequest,
} from "@omni/contracts";
import { Elysia } from "elysia";
import { CALL_SOCKET_PATH } from "./call-frames.ts";
import { deploymentToken, internalTokenChecker } from "./internal-token.ts";
import { createMcpHandler } from "./mcp.ts";
import { createResourceReader } from "./resources.ts";
import { type CallRegistry, RpcToolCall } from "./rpc-call.ts";
import { SocketCalls } from "./rpc-socket.ts";
import { compileServer } from "./runner.ts";
import {
  enableDefaultMetrics,
  type MetricsOptions,
  metricsHandler,
  metricsOptionsFromEnv,
} from "./telemetry/metrics.ts";
import { browserContexts, type ServerGauges, toolCallsInFlight } from "./telemetry/server-metrics.ts";
import { activeTracer } from "./telemetry/tracing.ts";
import type { ServerDefinition } from "./types.ts";

export interface ServerAppOptions {
  /**
   * Serve the standalone MCP endpoint at `/mcp` (Streamable HTTP, one SDK server per session).
   * Default true. Only `Host` values in `allowedHosts` are served there (loopback by default).
   */
  mcp?: boolean | { allowedHosts?: string[] };
  /**
   * The deployment secret the gateway sends (`Authorization: Bearer <token>`); every route but `/health`
   * and `/mcp` refuses requests without it (401). Default: `OMNI_INTERNAL_TOKEN`, else the development
   * token in `.data/internal.token`; in production a missing `OMNI_INTERNAL_TOKEN` is an error here.
   */
  internalToken?: string;
  /**
   * `GET /metrics` (Prometheus text): served here only with a bearer token (`METRICS_TOKEN`), never with
   * the internal token; `serve` also opens `METRICS_PORT` when set. Default: from the environment.
   */
  metrics?: Pick<MetricsOptions, "token">;
}

/**
 * Routes served without the internal token: the health probe, the standalone MCP endpoint, and the
 * metrics (which check their own token).
 */
const OPEN_PATHS = new Set(["/health", "/mcp", "/metrics"]);

/** The path of an absolute request URL (`http://host/path?query` → `/path`), without parsing it as a URL. */
function pathOf(url: string): string {
  const start = url.indexOf("/", url.indexOf("//") + 2);
  if (start === -1) return "/";
  const query = url.indexOf("?", start);
  return query === -1 ? url.slice(start) : url.slice(start, query);
}

const UNAUTHORIZED = {
  error:
    "Unauthorized: this domain server answers RPC only to the gateway (Authorization: Bearer <OMNI_INTERNAL_TOKEN>)",
};

/** The W3C trace context of a request's headers. */
function traceOf(headers: Headers): { traceparent?: string | undefined; tracestate?: string | undefined } {
  return {
    traceparent: headers.get("traceparent") ?? undefined,
    tracestate: headers.get("tracestate") ?? undefined,
  };
}

/** What a graceful shutdown needs from an app (see `serve`). */
interface KitLifecycle {
  inflight(): number;
  cancelCalls(reason: string): void;
  /** Call sockets refuse new calls (503) and close once their running calls finished. */
  drainSockets(): void;
  closeSessions(): Promise<void>;
}

const lifecycles = new WeakMap<object, KitLifecycle>();

/** Largest call socket message and send queue (64 MiB). */
const CALL_SOCKET_MAX_BYTES = 64 * 1024 * 1024;

/** The shutdown hooks of an app made by `createServerApp`. */
export function kitLifecycle(app: object): KitLifecycle | undefined {
  return lifecycles.get(app);
}

/**
 * The one way to make a domain server: the RPC routes the gateway calls (typed by `@omni/contracts`,
 * authenticated by the internal token), `GET /health`, and a standalone MCP endpoint at `/mcp`. Building
 * it opens no port.
 */
export function createServerApp(def: ServerDefinition, options: ServerAppOptions = {}) {
  const server = compileServer(def);
  const readResource = createResourceReader(def);
  const calls: CallRegistry = new Map();
  const startedAt = Date.now();
  /** Every tool call whose handler has not finished (fast path and streamed). */
  const running = new Set<RpcToolCall>();
  const mcpOption = options.mcp ?? true;
  const mcp = mcpOption
    ? createMcpHandler(server, readResource, mcpOption === true ? {} : mcpOption)
    : undefined;

  const serveMcp = (request: Request): Promise<Response> | Response =>
    mcp
      ? mcp.handle(request)
      : new Response(JSON.stringify({ error: "This server has no standalone /mcp endpoint" }), {
          status: 404,
          headers: { "content-type": "application/json" },
        });

  const authorized = internalTokenChecker(options.internalToken ?? deploymentToken());
  enableDefaultMetrics();
  const metrics = metricsHandler(options.metrics ?? metricsOptionsFromEnv());
  const gauges: ServerGauges = {
    server: def.name,
    inflight: () => running.size,
    browserContexts: def.browserContexts?.count,
  };
  const untrack = [toolCallsInFlight.track(gauges), browserContexts.track(gauges)];
  /** The gateways' call sockets (by Bun's socket object). */
  const sockets = new Map<object, SocketCalls>();
  let socketsDraining = false;

  const app = new Elysia({
    name: `omni-kit:${def.name}`,
    // The call socket carries tool arguments and results of any size the HTTP route would (screenshots):
    // bounded, and queued rather than dropped behind a slow reader up to the same bound.
    websocket: {
      maxPayloadLength: CALL_SOCKET_MAX_BYTES,
      backpressureLimit: CALL_SOCKET_MAX_BYTES,
      closeOnBackpressureLimit: true,
      idleTimeout: 120,
      sendPings: true,
    },
  })
    // Before routing and body parsing: only the gateway reaches RPC (and anything not open, even a 404).
    .onRequest(({ request, set, status }) => {
      if (OPEN_PATHS.has(pathOf(request.url))) return;
      if (authorized(request.headers.get("authorization"))) return;
      set.headers["www-authenticate"] = 'Bearer realm="omni-internal"';
      return status(401, UNAUTHORIZED);
    })
    // An unexpected failure of one request: a bounded JSON 500 without a stack (not a transport failure
    // to the gateway, which only counts unreachable instances against health).
    .onError(({ code, error, status }) => {
      if (code !== "UNKNOWN" && code !== "INTERNAL_SERVER_ERROR") return;
      const name = error instanceof Error ? error.name : "Error";
      return status(500, { error: `The ${def.name} server failed on this request (${name})` });
    })
    .get("/rpc/capabilities", () => server.capabilities)
    .post(
      "/rpc/tools/call",
      ({ body, request }) =>
        new RpcToolCall(body, calls, activeTracer() ? traceOf(request.headers) : undefined).respond(
          server,
          request.signal,
          running,
        ),
      // Answers a `Response` (JSON fast path or NDJSON stream, see rpc-call.ts); `createServerClient`
      // reads both, typed by `ToolCallEvent`.
      { body: ToolCallRequest },
    )
    // The call socket (`call-frames.ts`): the gateway's tool calls multiplexed on one WebSocket, each
    // answered with the events of `POST /rpc/tools/call` (authenticated by the same `onRequest` check).
    .ws(CALL_SOCKET_PATH, {
      open(ws) {
        const connection = new SocketCalls(ws.raw, { server, registry: calls, running });
        sockets.set(ws.raw, connection);
        if (socketsDraining) connection.drain();
      },
      message(ws, message) {
        sockets.get(ws.raw)?.message(message);
      },
      close(ws) {
        sockets.get(ws.raw)?.closed();
        sockets.delete(ws.raw);
      },
    })
    .post(
      "/rpc/callback",
      ({ body, status }) => {
        const call = calls.get(body.callId);
        if (!call?.answer(body.id, body.result, body.error)) {
          return status(404, {
            error: `No pending request ${body.id} for call ${body.callId} (the call ended or the id is wrong)`,
          });
        }
        return { ok: true as const };
      },
      { body: CallbackRequest },
    )
    .post(
      "/rpc/resources/read",
      ({ body, request }): Promise<ResourceReadResponse> =>
        readResource(body.uri, body.scope, request.signal),
      { body: ResourceReadRequest },
    )
    .post(
      "/rpc/sessions/end",
      async ({ body }) => {
        await def.onSessionEnd?.(body.sessionKey, body.orgId);
        return { ok: true as const };
      },
      { body: SessionEndRequest },
    )
    .post(
      "/rpc/browser-contexts/list",
      async ({ body }): Promise<BrowserContextList> => ({
        contexts: (await def.browserContexts?.list(body.orgId)) ?? [],
      }),
      { body: BrowserContextListRequest },
    )
    .post(
      "/rpc/browser-contexts/end",
      async ({ body }) => ({ ended: (await def.browserContexts?.end(body.orgId, body.id)) ?? false }),
      { body: BrowserContextEndRequest },
    )
    .get("/health", async (): Promise<HealthReport> => {
      const base = {
        server: def.name,
        version: def.version,
        uptimeMs: Date.now() - startedAt,
        inflight: running.size,
      };
      if (!def.health) return { status: "ok", ...base };
      try {
        const probe = await def.health();
        return probe.details
          ? { status: probe.status, ...base, details: probe.details }
          : { status: probe.status, ...base };
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        return { status: "down", ...base, details: { error: message } };
      }
    })
    .get("/metrics", ({ request }) => metrics(request))
    .onStop(() => {
      for (const off of untrack) off();
    })
    .post("/mcp", ({ request }) => serveMcp(request), { parse: "none" })
    .get("/mcp", ({ request }) => serveMcp(request))
    .delete("/mcp", ({ request }) => serveMcp(request), { parse: "none" });
  lifecycles.set(app, {
    inflight: () => running.size,
    cancelCalls: (reason) => {
      for (const call of running) call.cancel(reason);
    },
    drainSockets: () => {
      socketsDraining = true;
      for (const connection of sockets.values()) connection.drain();
    },
    closeSessions: async () => {
      await mcp?.close();
    },
  });
  return app;
}

export type KitApp = ReturnType<typeof createServerApp>;
