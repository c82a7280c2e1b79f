import { Elysia } from "elysia";
import { createLogger, type Logger, withRequestId } from "./log.ts";

/**
 * The first plugin of the gateway: request id, CORS allow-list, security headers, request body limit, and
 * one access-log line per request. CORS decides only which browser origins may READ responses (an origin
 * not listed gets no CORS headers, and its preflight a 403); which Host/Origin may REACH the gateway at
 * all is the DNS-rebinding guard's decision (gateway/src/mcp/guard.ts, `ALLOWED_HOSTS`/`ALLOWED_ORIGINS`,
 * which admits every CORS origin too). See gateway/AUTH.md.
 */
export interface SecurityOptions {
  /** Allowed browser origins (`CORS_ORIGINS`, comma-separated; `*` allows any). Same-origin is always allowed. */
  corsOrigins?: string[];
  /** Largest request body in bytes (`MAX_BODY_BYTES`, default 1 MiB). */
  maxBodyBytes?: number;
  /**
   * The body of a 413 for this request (e.g. a JSON-RPC error on the MCP endpoint); default
   * `{error: "payload_too_large", message}`.
   */
  payloadTooLarge?: (request: Request, maxBodyBytes: number) => unknown;
  /**
   * May the request reach the server at all (the DNS-rebinding guard, `createOriginGuard`)? Null, or the
   * reason of a 403 `forbidden`. Checked right after the request id is assigned, before CORS and the body
   * limit, so that refusal carries the request id and the security headers too.
   */
  admit?: (headers: Headers) => string | null;
  logger?: Pick<Logger, "info">;
  /** Log one line per request (default true). */
  accessLog?: boolean;
}

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;
const ALLOW_HEADERS =
  "authorization, content-type, x-api-key, x-request-id, mcp-session-id, mcp-protocol-version, last-event-id";
const EXPOSE_HEADERS =
  "x-request-id, mcp-session-id, www-authenticate, retry-after, ratelimit-limit, ratelimit-remaining";

export const SECURITY_HEADERS: Record<string, string> = {
  "x-content-type-options": "nosniff",
  "x-frame-options": "DENY",
  "referrer-policy": "no-referrer",
  "content-security-policy": "frame-ancestors 'none'",
  "cross-origin-opener-policy": "same-origin",
};

const requestIds = new WeakMap<Request, string>();
const started = new WeakMap<Request, number>();

/** The request id of a request that went through the security plugin (or a fresh one). */
export function requestIdOf(request: Request): string {
  return requestIds.get(request) ?? crypto.randomUUID();
}

/** An incoming `x-request-id` when it is safe to echo, else a new UUID. */
export function pickRequestId(incoming: string | null): string {
  return incoming && REQUEST_ID.test(incoming) ? incoming : crypto.randomUUID();
}

/** Reads a (chunked) body stream only as far as needed to know whether it exceeds `max` bytes. */
async function streamExceeds(body: ReadableStream<Uint8Array> | null, max: number): Promise<boolean> {
  if (!body) return false;
  const reader = body.getReader();
  let total = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return false;
      total += value.byteLength;
      if (total > max) return true;
    }
  } finally {
    reader.cancel().catch(() => {});
  }
}

function json(status: number, body: unknown, headers: Record<string, string>): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { ...headers, "content-type": "application/json" },
  });
}

export function securityPlugin(opts: SecurityOptions = {}) {
  const allowAny = opts.corsOrigins?.includes("*") ?? false;
  const allowed = new Set(opts.corsOrigins ?? []);
  const maxBody = opts.maxBodyBytes ?? 1_048_576;
  const logger = opts.logger ?? createLogger();
  const accessLog = opts.accessLog ?? true;
  const logged = new WeakSet<Request>();
  /** The access-log line of a request (once: early answers and 404s skip `onAfterResponse`). */
  const log = (request: Request, status: number | undefined) => {
    if (!accessLog || logged.has(request)) return;
    logged.add(request);
    const start = started.get(request);
    logger.info("request", {
      requestId: requestIds.get(request),
      method: request.method,
      path: new URL(request.url).pathname,
      status,
      durationMs: start === undefined ? undefined : Math.round((performance.now() - start) * 10) / 10,
    });
  };
  const early = (request: Request, response: Response) => {
    log(request, response.status);
    return response;
  };

  return new Elysia({ name: "omni-security" })
    .wrap(
      // Around the whole request (hooks, handler, and the async work they start): every `createLogger` line
      // written meanwhile carries the request id.
      (fetch, request) =>
        (...args: unknown[]) => {
          const requestId = pickRequestId(request.headers.get("x-request-id"));
          requestIds.set(request, requestId);
          return withRequestId(requestId, () => fetch(...args));
        },
    )
    .onRequest(async ({ request, set }) => {
      const requestId = requestIdOf(request);
      requestIds.set(request, requestId);
      started.set(request, performance.now());
      const headers: Record<string, string> = { ...SECURITY_HEADERS, "x-request-id": requestId };

      const refused = opts.admit?.(request.headers);
      if (refused) return early(request, json(403, { error: "forbidden", message: refused }, headers));

      const origin = request.headers.get("origin");
      if (origin) {
        const sameOrigin = origin === new URL(request.url).origin;
        const preflight =
          request.method === "OPTIONS" && request.headers.has("access-control-request-method");
        if (!sameOrigin && !allowAny && !allowed.has(origin)) {
          if (preflight) {
            return early(
              request,
              json(
                403,
                { error: "origin_not_allowed", message: `Origin ${origin} is not in CORS_ORIGINS.` },
                headers,
              ),
            );
          }
        } else {
          headers["access-control-allow-origin"] = origin;
          headers["access-control-allow-credentials"] = "true";
          headers["access-control-expose-headers"] = EXPOSE_HEADERS;
          headers.vary = "Origin";
          if (preflight) {
            return early(
              request,
              new Response(null, {
                status: 204,
                headers: {
                  ...headers,
                  "access-control-allow-methods": "GET, POST, PUT, PATCH, DELETE, OPTIONS",
                  "access-control-allow-headers": ALLOW_HEADERS,
                  "access-control-max-age": "600",
                },
              }),
            );
          }
        }
      }

      const length = request.headers.get("content-length");
      const tooLarge =
        length !== null
          ? !/^\d+$/.test(length) || Number(length) > maxBody
          : request.body !== null && (await streamExceeds(request.clone().body, maxBody));
      if (tooLarge) {
        return early(
          request,
          json(
            413,
            opts.payloadTooLarge?.(request, maxBody) ?? {
              error: "payload_too_large",
              message: `The request body is larger than ${maxBody} bytes (MAX_BODY_BYTES).`,
            },
            headers,
          ),
        );
      }
      for (const [k, value] of Object.entries(headers)) set.headers[k] = value;
    })
    .derive({ as: "global" }, ({ request }) => ({ requestId: requestIdOf(request) }))
    .onError({ as: "global" }, ({ code, request }) => {
      if (code === "NOT_FOUND") log(request, 404);
    })
    .onAfterResponse({ as: "global" }, ({ request, set, responseValue }) => {
      // A handler's own `Response` (e.g. the MCP endpoint's) carries its status; `set.status` does not see it.
      log(
        request,
        responseValue instanceof Response
          ? responseValue.status
          : typeof set.status === "number"
            ? set.status
            : undefined,
      );
    });
}
