import { type Treaty, treaty } from "@elysiajs/eden";
import {
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
import { HttpPool } from "./http-pool.ts";
import type { StreamEvent, TerminalEvent } from "./runner.ts";

type Rpc = Treaty.Create<KitApp>["rpc"];
/** The body of `POST /rpc/tools/call`, as the server's route declares it (a contract change breaks callers). */
export type ToolCallBody = Parameters<Rpc["tools"]["call"]["post"]>[0];
type CallbackBody = Parameters<Rpc["callback"]["post"]>[0];

export type { StreamEvent, TerminalEvent };
/** Non-terminal events of a streamed call, as `onEvent` sees them. */
export type ToolCallStreamEvent = Extract<
  ToolCallEvent,
  { type: "accepted" | "progress" | "log" | "request" }
>;

/** The server answered with an HTTP error or a malformed stream (the instance is unhealthy or incompatible). */
export class KitRpcError extends Error {
  override readonly name = "KitRpcError";
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
  }
}

export interface ServerClientOptions {
  /** Extra headers on every request (e.g. tracing). */
  headers?: Record<string, string>;
  /** Custom fetch (tests pass the app's `handle` to skip the network). */
  fetch?: (request: Request) => Promise<Response> | Response;
  /** Connections kept open to the instance for `tools/call` (the keep-alive pool). Default 64. */
  maxSockets?: number;
}

export interface CallToolOptions {
  /** Aborting it aborts the HTTP request, which aborts the tool's `ctx.signal` on the server. */
  signal?: AbortSignal;
  /** Every non-terminal event, in order (`accepted` first, then progress/log/request). */
  onEvent?: (event: ToolCallStreamEvent) => void;
}

function checkEvent(raw: unknown): ToolCallEvent {
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
  const headers = opts.headers ?? {};
  const custom = opts.fetch;
  // tools/call (the hot path) on a keep-alive pool of its own; the other routes through Eden's fetch.
  const pool = custom ? undefined : new HttpPool(base, { maxSockets: opts.maxSockets ?? 64 });
  const callPath = `${new URL(base).pathname.replace(/\/+$/, "")}/rpc/tools/call`;
  const api = treaty<KitApp>(base, {
    parseDate: false,
    headers,
    ...(custom
      ? {
          fetcher: ((input: RequestInfo | URL, init?: RequestInit) =>
            Promise.resolve(custom(new Request(input, init)))) as typeof fetch,
        }
      : {}),
  });
  const callUrl = `${base}/rpc/tools/call`;
  const callHeaders = { ...headers, "content-type": "application/json" };

  function fail(what: string, status: number, value: unknown): never {
    const detail = typeof value === "string" ? value : JSON.stringify(value);
    throw new KitRpcError(`${what} failed with HTTP ${status}: ${detail}`, status);
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
      const body = JSON.stringify(req);
      let status: number;
      let type: string;
      let text: () => Promise<string>;
      let chunks: () => AsyncGenerator<Uint8Array>;
      if (pool) {
        const response = await pool.request("POST", callPath, callHeaders, body, options.signal);
        status = response.status;
        type = response.headers.get("content-type") ?? "";
        text = () => response.text();
        chunks = () => response.chunks();
      } else {
        const init = { method: "POST", headers: callHeaders, body, signal: options.signal ?? null };
        const response = await Promise.resolve(
          (custom as NonNullable<typeof custom>)(new Request(callUrl, init)),
        );
        status = response.status;
        type = response.headers.get("content-type") ?? "";
        text = () => response.text();
        chunks = () => readChunks(response);
      }
      if (status < 200 || status > 299) return fail("POST /rpc/tools/call", status, await text());
      if (type.startsWith("application/json")) {
        const event = checkEvent(JSON.parse(await text()));
        if (!isTerminal(event)) throw new KitRpcError(`Expected a terminal event, got ${event.type}`, 502);
        return event;
      }
      const decoder = new TextDecoder();
      let buffer = "";
      const stream = chunks();
      try {
        for await (const value of stream) {
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
      throw new KitRpcError("The tool call stream ended without a terminal event", 502);
    },

    /** Closes the pooled connections. */
    close(): void {
      pool?.close();
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

    async health(): Promise<HealthReport> {
      const { data, error, status } = await api.health.get();
      if (error || !data) return fail("GET /health", status, error?.value);
      return data;
    },
  };
}

export type ServerClient = ReturnType<typeof createServerClient>;

/** A fetch response body's chunks (custom fetch). */
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
