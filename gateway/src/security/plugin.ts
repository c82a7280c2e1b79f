import type { ApiError } from "@omni/contracts";
import { Elysia, status as elysiaStatus, ValidationError } from "elysia";
import * as v from "valibot";
import { ApiFailure, apiError, boundedMessage, internalError } from "./errors.ts";
import { JsonBodyError, nulPath, parseJsonBody } from "./json.ts";
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
  /** Access lines go to `info`; a hook's own failure (logged with the request id, never thrown) to `error`. */
  logger?: Pick<Logger, "info" | "error">;
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

/**
 * The path of a request, read from its URL text without `new URL()`: Bun builds `request.url` from the
 * client's `Host` header, so `Host: localhost:abc` yields a URL that `new URL()` refuses.
 */
export function pathOf(request: Request): string {
  const url = request.url;
  const scheme = url.indexOf("://");
  const start = url.indexOf("/", scheme === -1 ? 0 : scheme + 3);
  if (start === -1) return "/";
  const end = url.slice(start).search(/[?#]/);
  return end === -1 ? url.slice(start) : url.slice(start, start + end);
}

/** The origin of a request's URL, or null when its `Host` makes it unparseable. */
export function originOf(request: Request): string | null {
  return URL.parse(request.url)?.origin ?? null;
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

/**
 * Every error a route or hook throws, in the one shape (JSON-RPC -32603 on `/mcp`): an `ApiFailure` with
 * its status, a schema's validation issue (bounded, without the input), a parse failure, a 404; anything
 * else is a 500 carrying only the request id, its cause logged under that id.
 */
export function errorAnswer(
  code: unknown,
  error: unknown,
  request: Request,
  onUnexpected: (error: unknown) => void,
): ErrorAnswer {
  const requestId = requestIdOf(request);
  const headers = { ...SECURITY_HEADERS, "x-request-id": requestId };
  if (error instanceof ApiFailure) {
    return answer(error.status, apiError(error.code, error.message, error.details), {
      ...headers,
      ...error.headers,
    });
  }
  if (code === "NOT_FOUND") {
    return answer(
      404,
      apiError("not_found", "There is no such route: check the method and the path."),
      headers,
    );
  }
  if (code === "VALIDATION" && error instanceof ValidationError) {
    const { message, field } = firstIssue(error);
    const details = field === undefined ? undefined : { field };
    return error.type === "body"
      ? answer(422, apiError("invalid", message, details), headers)
      : answer(400, apiError("bad_request", message, details), headers);
  }
  const parseFailure =
    error instanceof JsonBodyError
      ? error
      : error instanceof Error && error.cause instanceof JsonBodyError
        ? error.cause
        : null;
  if (code === "PARSE" || parseFailure) {
    const message = parseFailure?.message ?? "The request body is not valid JSON.";
    return answer(400, apiError("bad_request", message), headers);
  }
  onUnexpected(error);
  const path = pathOf(request);
  if (path === "/mcp" || path.startsWith("/mcp/")) {
    return answer(
      500,
      {
        jsonrpc: "2.0",
        id: null,
        error: { code: -32603, message: `Internal error (request id ${requestId})`, data: { requestId } },
      },
      headers,
    );
  }
  return answer(500, internalError(requestId), headers);
}

/** What an error hook answers: a status, the body (the one API shape, or JSON-RPC on `/mcp`), headers. */
export interface ErrorAnswer {
  status: number;
  body: ApiError | { jsonrpc: "2.0"; id: null; error: { code: number; message: string; data: unknown } };
  headers: Record<string, string>;
}

function answer(status: number, body: ErrorAnswer["body"], headers: Record<string, string>): ErrorAnswer {
  return { status, body, headers };
}

/**
 * No NUL character in any path parameter, query value or body field (Postgres cannot store it), and no
 * `__proto__` property in a body: a 400 naming the field.
 */
function refuseNul({ params, query, body }: { params: unknown; query: unknown; body: unknown }): void {
  const nul =
    nulPath(params, "params") ??
    nulPath(query, "query") ??
    (body === undefined ? null : nulPath(body, "body"));
  if (nul) {
    const what = nul.endsWith(".__proto__")
      ? `${nul}: the name __proto__ is not allowed.`
      : `${nul} contains a NUL character (U+0000), which is not allowed.`;
    throw new ApiFailure(400, "bad_request", what, { field: nul });
  }
}

/**
 * Request hygiene of the Elysia-parsed routes (the admin API plugins `.use(requestHygiene())`; its hooks
 * are scoped to the plugin that mounts it, because a global parse hook would also run for the routes
 * that read their own body, `parse: "none"`, like `/mcp` and `/webhooks`): JSON bodies are depth-bounded
 * (`parseJsonBody`, as `/mcp` and `/ws` do themselves); no NUL in path parameters, query values or body
 * fields; every error in the one shape (`errorAnswer`), also when the plugin is used without the security
 * plugin (whose global error hook otherwise answers first, the same way).
 */
export function requestHygiene() {
  return new Elysia()
    .onParse({ as: "scoped" }, async ({ request, contentType }) => {
      if (!contentType.toLowerCase().startsWith("application/json")) return;
      const text = await request.text();
      return text.trim() === "" ? undefined : parseJsonBody(text);
    })
    .onTransform({ as: "scoped" }, refuseNul)
    .onError({ as: "scoped" }, ({ code, error, request, set }) => {
      const { status, body, headers } = errorAnswer(code, error, request, (cause) => {
        try {
          createLogger().error(`[security] request (${String(code)}) failed`, {
            requestId: requestIdOf(request),
            error: cause,
          });
        } catch {
          // nothing left to report to
        }
      });
      for (const [k, value] of Object.entries(headers)) set.headers[k] = value;
      return elysiaStatus(status, body);
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
    try {
      logger.info("request", {
        requestId: requestIds.get(request),
        method: request.method,
        path: pathOf(request),
        status,
        durationMs: start === undefined ? undefined : Math.round((performance.now() - start) * 10) / 10,
      });
    } catch (error) {
      hookFailed("access log", request, error);
    }
  };
  /** A hook's own failure: logged with the request id, never thrown past the request. */
  const hookFailed = (hook: string, request: Request, error: unknown) => {
    try {
      logger.error(`[security] ${hook} failed`, { requestId: requestIds.get(request), error });
    } catch {
      // the logger itself failed: nothing left to report to
    }
  };
  const early = (request: Request, response: Response) => {
    log(request, response.status);
    return response;
  };

  /** The checks before any route: an early answer, or undefined to go on (with `set` filled). */
  const screen = async (
    request: Request,
    set: Record<string, string | number>,
  ): Promise<Response | undefined> => {
    const requestId = requestIdOf(request);
    requestIds.set(request, requestId);
    started.set(request, performance.now());
    const headers: Record<string, string> = { ...SECURITY_HEADERS, "x-request-id": requestId };

    const refused = opts.admit?.(request.headers);
    if (refused) return early(request, json(403, apiError("forbidden", refused), headers));

    const origin = request.headers.get("origin");
    if (origin) {
      const sameOrigin = origin === originOf(request);
      const preflight = request.method === "OPTIONS" && request.headers.has("access-control-request-method");
      if (!sameOrigin && !allowAny && !allowed.has(origin)) {
        if (preflight) {
          return early(
            request,
            json(403, apiError("origin_not_allowed", `Origin ${origin} is not in CORS_ORIGINS.`), headers),
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
          opts.payloadTooLarge?.(request, maxBody) ??
            apiError(
              "payload_too_large",
              `The request body is larger than ${maxBody} bytes (MAX_BODY_BYTES).`,
              { maxBodyBytes: maxBody },
            ),
          headers,
        ),
      );
    }
    Object.assign(set, headers);
    return undefined;
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
      try {
        return await screen(request, set.headers);
      } catch (error) {
        hookFailed("request screening", request, error);
        return early(
          request,
          json(500, internalError(requestIdOf(request)), { "x-request-id": requestIdOf(request) }),
        );
      }
    })
    .derive({ as: "global" }, ({ request }) => ({ requestId: requestIdOf(request) }))
    .onTransform({ as: "global" }, refuseNul)
    .onError({ as: "global" }, ({ code, error, request, set }) => {
      try {
        const { status, body, headers } = errorAnswer(code, error, request, (cause: unknown) =>
          hookFailed(`request (${String(code)})`, request, cause),
        );
        log(request, status);
        for (const [k, value] of Object.entries(headers)) set.headers[k] = value;
        return elysiaStatus(status, body);
      } catch (failure) {
        hookFailed("error hook", request, failure);
        return json(500, internalError(requestIdOf(request)), { "x-request-id": requestIdOf(request) });
      }
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

function issueField(path: readonly unknown[] | undefined): string | undefined {
  if (!path?.length) return undefined;
  return path
    .map((segment) =>
      typeof segment === "object" && segment !== null && "key" in segment
        ? String(segment.key)
        : String(segment),
    )
    .join(".")
    .slice(0, 200);
}

interface StandardLike {
  "~standard": { validate(value: unknown): unknown };
}

function standardOf(validator: unknown): StandardLike | null {
  if (typeof validator !== "object" || validator === null) return null;
  if ("~standard" in validator) return validator as StandardLike;
  if ("schema" in validator) return standardOf(validator.schema);
  return null;
}

const IssueList = v.object({
  issues: v.optional(v.array(v.object({ message: v.string(), path: v.optional(v.array(v.unknown())) }))),
});

/** The first issue of a failed validation (valibot via Standard Schema): its field and a bounded message. */
function firstIssue(error: Readonly<ValidationError>): { message: string; field?: string } {
  const standard = standardOf(error.validator);
  const result = v.safeParse(IssueList, standard?.["~standard"].validate(error.value));
  const issue = result.success ? result.output.issues?.[0] : undefined;
  if (!issue) return { message: `The request ${error.type} is invalid.` };
  const field = issueField(issue.path);
  const message = boundedMessage(issue.message);
  return field ? { message: boundedMessage(`${field}: ${message}`), field } : { message };
}
