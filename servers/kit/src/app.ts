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
import { createMcpHandler } from "./mcp.ts";
import { createResourceReader } from "./resources.ts";
import { type CallRegistry, RpcToolCall } from "./rpc-call.ts";
import { compileServer } from "./runner.ts";
import type { ServerDefinition } from "./types.ts";

export interface ServerAppOptions {
  /**
   * Serve the standalone MCP endpoint at `/mcp` (Streamable HTTP, one SDK server per session).
   * Default true. Only `Host` values in `allowedHosts` are served there (loopback by default).
   */
  mcp?: boolean | { allowedHosts?: string[] };
}

/** What a graceful shutdown needs from an app (see `serve`). */
interface KitLifecycle {
  inflight(): number;
  cancelCalls(reason: string): void;
  closeSessions(): Promise<void>;
}

const lifecycles = new WeakMap<object, KitLifecycle>();

/** The shutdown hooks of an app made by `createServerApp`. */
export function kitLifecycle(app: object): KitLifecycle | undefined {
  return lifecycles.get(app);
}

/**
 * The one way to make a domain server: the RPC routes the gateway calls (typed by `@omni/contracts`),
 * `GET /health`, and a standalone MCP endpoint at `/mcp`. Building it opens no port.
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

  const app = new Elysia({ name: `omni-kit:${def.name}` })
    .get("/rpc/capabilities", () => server.capabilities)
    .post(
      "/rpc/tools/call",
      ({ body, request }) => new RpcToolCall(body, calls).respond(server, request.signal, running),
      // Answers a `Response` (JSON fast path or NDJSON stream, see rpc-call.ts); `createServerClient`
      // reads both, typed by `ToolCallEvent`.
      { body: ToolCallRequest },
    )
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
    .post("/mcp", ({ request }) => serveMcp(request), { parse: "none" })
    .get("/mcp", ({ request }) => serveMcp(request))
    .delete("/mcp", ({ request }) => serveMcp(request), { parse: "none" });
  lifecycles.set(app, {
    inflight: () => running.size,
    cancelCalls: (reason) => {
      for (const call of running) call.cancel(reason);
    },
    closeSessions: async () => {
      await mcp?.close();
    },
  });
  return app;
}

export type KitApp = ReturnType<typeof createServerApp>;
