import { type Treaty, treaty } from "@elysiajs/eden";
import {
  type BrowserContextInfo,
  type CallbackRequest,
  type HealthReport,
  type ResourceReadRequest,
  type ResourceReadResponse,
  type ServerCapabilities,
  type SessionEndRequest,
  ToolCallEvent,
} from "@omni/contracts";
import * as v from "valibot";
import type { KitApp } from "./app.ts";
import { CallSocket } from "./call-socket.ts";
import { abortError, HttpPool } from "./http-pool.ts";
import { deploymentToken } from "./internal-token.ts";
import type { StreamEvent, TerminalEvent } from "./runner.ts";

type Rpc = Treaty.Create<KitApp>["rpc"];
/** The body of `POST /rpc/tools/call`, as the server's route declares it (a contract change breaks callers). */
export type ToolCallBody = Parameters<Rpc["tools"]["call"]["post"]>[0];
type CallbackBody = Parameters<Rpc["callback"]["post"]>[0];

export type { StreamEvent, TerminalEvent };
/** Non-terminal events of a streamed call, as `onEvent` sees them. */
export type ToolCallStreamEvent = Extract<
  ToolCallEvent,
  { type: "accepted" | "progress" | "log" | "request" | "close_stream" }
>;

/**
 * An RPC call failed. `transport` says whether the instance could not be reached (connection refused or
 * reset, the stream cut, or a 502/503/504 from a proxy in between): only those say anything about the
 * instance's health. Anything else (an HTTP error the server itself answered, a malformed answer) is the
 * failure of that one call.
 */
export class KitRpcError extends Error {
  override readonly name = "KitRpcError";
  constructor(
    message: string,
    readonly status: number,
    readonly transport = false,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/** Statuses a proxy or load balancer answers for an instance it cannot reach. */
const TRANSPORT_STATUSES = new Set([502, 503, 504]);

/** A fetch that rejected for any reason but the caller's own abort: the instance was not reachable. */
function transportError(what: string, error: unknown, signal?: AbortSignal | null): unknown {
  if (signal?.aborted) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new KitRpcError(`${what}: the server is unreachable (${message})`, 0, true, { cause: error });
}

export interface ServerClientOptions {
  /** Extra headers on every request (e.g. tracing). */
  headers?: Record<string, string>;
  /** Custom fetch (tests pass the app's `handle` to skip the network). */
  fetch?: (request: Request) => Promise<Response> | Response;
  /**
   * The deployment's internal RPC token, sent as `Authorization: Bearer` on every request. Default:
   * `OMNI_INTERNAL_TOKEN`, else the development token in `.data/internal.token`.
   */
  internalToken?: string;
  /** Connections kept open to the instance for `tools/call` (the keep-alive pool). Default 64. */
  maxSockets?: number;
  /**
   * Send tool calls over the instance's call socket (`GET /rpc/socket`, one WebSocket for every call; the
   * HTTP route while it is not open). Default true; ignored with a custom `fetch`.
   */
  callSocket?: boolean;
}

export interface CallToolOptions {
  /** Aborting it aborts the HTTP request, which aborts the tool's `ctx.signal` on the server. */
  signal?: AbortSignal;
  /** Every non-terminal event, in order (`accepted` first, then progress/log/request). */
  onEvent?: (event: ToolCallStreamEvent) => void;
  /** Extra headers of this call (W3C `traceparent`/`tracestate` while tracing is on). */
  headers?: Record<string, string>;
}

const TEXT_ONLY_KEYS = new Set(["type", "text"]);

/**
 * A `result` event whose content is text blocks only and that carries nothing else (the common answer
 * of a tool): checked by hand, since the schema would accept exactly this (`CallToolResult` of text
 * `ContentBlock`s). Anything else goes through the schema.
 */
function isPlainTextResult(raw: unknown): raw is Extract<ToolCallEvent, { type: "result" }> {
  if (typeof raw !== "object" || raw === null) return false;
  const event = raw as { type?: unknown; result?: unknown };
  if (event.type !== "result" || typeof event.result !== "object" || event.result === null) return false;
  const result = event.result as Record<string, unknown>;
  let keys = 0;
  for (const key in result) {
    keys++;
    if (key !== "content" && key !== "isError") return false;
  }
  if (keys > 2 || !Array.isArray(result.content)) return false;
  if (result.isError !== undefined && typeof result.isError !== "boolean") return false;
  for (const block of result.content as unknown[]) {
    if (typeof block !== "object" || block === null) return false;
    const b = block as Record<string, unknown>;
    if (b.type !== "text" || typeof b.text !== "string") return false;
    for (const key in b) if (!TEXT_ONLY_KEYS.has(key)) return false;
  }
  for (const key in event) if (key !== "type" && key !== "result") return false;
  return true;
}

function checkEvent(raw: unknown): ToolCallEvent {
  if (isPlainTextResult(raw)) return raw;
  const parsed = v.safeParse(ToolCallEvent, raw);
  if (!parsed.success) {
    throw new KitRpcError(`Malformed tool call event: ${parsed.issues[0]?.message ?? "invalid"}`, 502);
  }
  return parsed.output;
}

function isTerminal(event: ToolCallEvent): event is TerminalEvent {
  return event.type === "result" || event.type === "input_required" || event.type === "error";
}

/**
 * The gateway's client for one domain server instance: Eden treaty typed by the kit's `KitApp`, with a
 * hand-rolled streaming reader for `tools/call` (the hot path; keep-alive, incremental NDJSON parsing).
 */
export function createServerClient(baseUrl: string, opts: ServerClientOptions = {}) {
  const base = baseUrl.replace(/\/+$/, "");
  const headers = {
    ...opts.headers,
    authorization: `Bearer ${opts.internalToken ?? deploymentToken()}`,
  };
  const custom = opts.fetch;
  // Every route on one keep-alive pool of connections: tools/call (the hot path) read by hand below, the
  // others through Eden (typed by `KitApp`) with the pool as its fetch.
  const pool = custom ? undefined : new HttpPool(base, { maxSockets: opts.maxSockets ?? 64 });
  const callPath = `${new URL(base).pathname.replace(/\/+$/, "")}/rpc/tools/call`;
  const send: (request: Request) => Promise<Response> | Response = pool
    ? (request) => pooledFetch(pool, request)
    : (custom as NonNullable<typeof custom>);
  const api = treaty<KitApp>(base, {
    parseDate: false,
    headers,
    fetcher: ((input: RequestInfo | URL, init?: RequestInit) => {
      const request = new Request(input, init);
      return Promise.resolve()
        .then(() => send(request))
        .catch((error: unknown) => {
          throw transportError(String(input), error, init?.signal);
        });
    }) as typeof fetch,
  });
  const callUrl = `${base}/rpc/tools/call`;
  const callHeaders = { ...headers, "content-type": "application/json" };
  const socket = pool && opts.callSocket !== false ? new CallSocket(base, { headers }) : undefined;

  function fail(what: string, status: number, value: unknown): never {
    const detail = (typeof value === "string" ? value : (JSON.stringify(value) ?? "")).slice(0, 300);
    throw new KitRpcError(
      `${what} failed with HTTP ${status}: ${detail}`,
      status,
      TRANSPORT_STATUSES.has(status),
    );
  }

  return {
    baseUrl: base,

    async capabilities(): Promise<ServerCapabilities> {
      const { data, error, status } = await api.rpc.capabilities.get();
      if (error || !data) return fail("GET /rpc/capabilities", status, error?.value);
      return data;
    },

    /** Run a tool; resolves with the terminal event (result, input_required or error). */
    async callTool(req: ToolCallBody, options: CallToolOptions = {}): Promise<TerminalEvent> {
      // Serialised first: arguments that cannot be (too deep, cyclic) fail this call, not the transport.
      const body = JSON.stringify(req);
      options.signal?.throwIfAborted();
      if (socket?.ready()) return overSocket(socket, body, options);
      const what = "POST /rpc/tools/call";
      let response: CallResponse;
      const headers = options.headers ? { ...callHeaders, ...options.headers } : callHeaders;
      try {
        response = pool
          ? await pool.request("POST", callPath, headers, body, options.signal)
          : fetched(
              await Promise.resolve(
                (custom as NonNullable<typeof custom>)(
                  new Request(callUrl, {
                    method: "POST",
                    headers,
                    body,
                    signal: options.signal ?? null,
                  }),
                ),
              ),
            );
      } catch (error) {
        throw transportError(what, error, options.signal);
      }
      const read = <T>(promise: Promise<T>): Promise<T> =>
        promise.catch((error: unknown) => {
          throw transportError(`${what} (stream)`, error, options.signal);
        });
      if (response.status < 200 || response.status > 299) {
        return fail(what, response.status, await read(response.text()));
      }
      const type = response.headers.get("content-type") ?? "";
      if (type.startsWith("application/json")) {
        const event = checkEvent(JSON.parse(await read(response.text())));
        if (!isTerminal(event)) throw new KitRpcError(`Expected a terminal event, got ${event.type}`, 502);
        return event;
      }
      const decoder = new TextDecoder();
      let buffer = "";
      const stream = response.chunks();
      try {
        for (;;) {
          const { done, value } = await read(stream.next());
          if (done) break;
          buffer += decoder.decode(value, { stream: true });
          let newline = buffer.indexOf("\n");
          while (newline !== -1) {
            const text = buffer.slice(0, newline);
            buffer = buffer.slice(newline + 1);
            newline = buffer.indexOf("\n");
            if (!text) continue;
            const event = checkEvent(JSON.parse(text));
            if (isTerminal(event)) return event;
            options.onEvent?.(event);
          }
        }
      } finally {
        void stream.return(undefined);
      }
      // The connection closed mid-call (the server died or a proxy cut it).
      throw new KitRpcError("The tool call stream ended without a terminal event", 502, true);
    },

    /**
     * Opens the call socket now (the registry does after a healthy check, so calls need not wait for it)
     * and resolves with whether tool calls go over it; false without one (custom fetch, `callSocket:
     * false`, a server without `/rpc/socket`, or it is unreachable right now).
     */
    callSocketReady(): Promise<boolean> {
      return socket ? socket.opened() : Promise.resolve(false);
    },

    /** Whether tool calls go over the call socket right now (without connecting). */
    callSocketOpen(): boolean {
      return socket?.isOpen ?? false;
    },

    /** Closes the pooled connections and the call socket. */
    close(): void {
      pool?.close();
      socket?.close();
    },

    /** Answer a server-to-client request of a live call; false when the call or request is unknown. */
    async callback(body: CallbackBody & CallbackRequest): Promise<boolean> {
      const { error, status } = await api.rpc.callback.post(body);
      if (!error) return true;
      if (status === 404) return false;
      return fail("POST /rpc/callback", status, error.value);
    },

    async readResource(body: ResourceReadRequest): Promise<ResourceReadResponse> {
      const { data, error, status } = await api.rpc.resources.read.post(body);
      if (error || !data) return fail("POST /rpc/resources/read", status, error?.value);
      return data;
    },

    async endSession(body: SessionEndRequest): Promise<void> {
      const { error, status } = await api.rpc.sessions.end.post(body);
      if (error) fail("POST /rpc/sessions/end", status, error.value);
    },

    /** The organization's browser contexts held by this instance (none for servers without any). */
    async listBrowserContexts(orgId: string): Promise<BrowserContextInfo[]> {
      const { data, error, status } = await api.rpc["browser-contexts"].list.post({ orgId });
      if (error || !data) return fail("POST /rpc/browser-contexts/list", status, error?.value);
      return data.contexts;
    },

    /** End one of the organization's browser contexts; false when this instance has no such context. */
    async endBrowserContext(orgId: string, id: string): Promise<boolean> {
      const { data, error, status } = await api.rpc["browser-contexts"].end.post({ orgId, id });
      if (error || !data) return fail("POST /rpc/browser-contexts/end", status, error?.value);
      return data.ended;
    },

    async health(): Promise<HealthReport> {
      const { data, error, status } = await api.health.get();
      if (error || !data) return fail("GET /health", status, error?.value);
      return data;
    },
  };
}

export type ServerClient = ReturnType<typeof createServerClient>;

const SOCKET_WHAT = "tools/call (call socket)";

/** One tool call over the call socket: the same events, errors and abort as the HTTP route's. */
function overSocket(socket: CallSocket, body: string, options: CallToolOptions): Promise<TerminalEvent> {
  const { signal, onEvent } = options;
  return new Promise<TerminalEvent>((resolve, reject) => {
    socket.call(
      body,
      {
        event(json) {
          const event = checkEvent(JSON.parse(json));
          if (!isTerminal(event)) {
            onEvent?.(event);
            return false;
          }
          resolve(event);
          return true;
        },
        refused(status, message) {
          reject(
            new KitRpcError(
              `${SOCKET_WHAT} failed with HTTP ${status}: ${message.slice(0, 300)}`,
              status,
              TRANSPORT_STATUSES.has(status),
            ),
          );
        },
        lost(reason) {
          reject(
            signal?.aborted
              ? abortError(signal)
              : new KitRpcError(`${SOCKET_WHAT}: the server is unreachable (${reason})`, 0, true),
          );
        },
        invalid(error) {
          reject(error);
        },
      },
      signal,
      options.headers
        ? { traceparent: options.headers.traceparent, tracestate: options.headers.tracestate }
        : undefined,
    );
  });
}

/** Header sets by their text: the pool builds each request head once per headers object. */
const headerSets = new Map<string, Record<string, string>>();
/** Response headers that describe the framing on the wire, not the body handed to Eden. */
const FRAMING = new Set(["transfer-encoding", "connection", "keep-alive", "content-length"]);

/** A `fetch` on the pool for Eden's routes: the request's method, path, headers and text body. */
async function pooledFetch(pool: HttpPool, request: Request): Promise<Response> {
  const pairs: [string, string][] = [];
  request.headers.forEach((value, name) => {
    pairs.push([name, value]);
  });
  const key = JSON.stringify(pairs);
  let headers = headerSets.get(key);
  if (!headers) {
    headers = Object.fromEntries(pairs);
    if (headerSets.size < 64) headerSets.set(key, headers);
  }
  const url = new URL(request.url);
  const body = request.method === "GET" || request.method === "HEAD" ? "" : await request.text();
  const pooled = await pool.request(request.method, url.pathname + url.search, headers, body, request.signal);
  const text = await pooled.text();
  const answer: [string, string][] = [];
  for (const [name, value] of pooled.headers) if (!FRAMING.has(name)) answer.push([name, value]);
  return new Response(text, { status: pooled.status, headers: answer });
}

/** What `callTool` reads of a response: the pool's, or a custom fetch's adapted to it. */
interface CallResponse {
  status: number;
  headers: { get(name: string): string | null | undefined };
  text(): Promise<string>;
  chunks(): AsyncGenerator<Uint8Array>;
}

function fetched(response: Response): CallResponse {
  return {
    status: response.status,
    headers: response.headers,
    text: () => response.text(),
    chunks: () => readChunks(response),
  };
}

/** A fetch response body's chunks. */
async function* readChunks(response: Response): AsyncGenerator<Uint8Array> {
  const body = response.body;
  if (!body) throw new KitRpcError("Empty tool call stream", 502);
  const reader = body.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      yield value;
    }
  } finally {
    reader.releaseLock();
    void body.cancel().catch(() => {});
  }
}
