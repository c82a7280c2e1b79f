import type { ApiError } from "@omni/contracts";
import { ValidationError } from "elysia";
import * as v from "valibot";
import { ApiFailure, apiError, boundedMessage, internalError } from "./errors.ts";
import { JsonBodyError, nulPath } from "./json.ts";
import { createLogger, type Logger, withRequestId } from "./log.ts";
import { boundedMemo } from "./memo.ts";

/**
 * The gateway's request security as plain functions (request id, DNS-rebinding guard, CORS and preflight,
 * body limit, security headers, access log, error shape): the one implementation behind both the Elysia
 * security plugin (`plugin.ts`, every route `app.handle` and the listener's fallback serve) and the lean
 * MCP routes the listener serves without Elysia's lifecycle (`leanRoute`). CORS decides only which browser
 * origins may READ responses (an origin not listed gets no CORS headers, and its preflight a 403); which
 * Host/Origin may REACH the gateway at all is the DNS-rebinding guard's decision (gateway/src/mcp/guard.ts,
 * `ALLOWED_HOSTS`/`ALLOWED_ORIGINS`, which admits every CORS origin too). See gateway/AUTH.md.
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

/** The CORS headers of an answer a cross-origin reader may read (besides its `access-control-allow-origin`). */
const READER_HEADERS: Record<string, string> = {
  "access-control-allow-credentials": "true",
  "access-control-expose-headers": EXPOSE_HEADERS,
  vary: "Origin",
};

/** Where a URL's path starts (after `scheme://authority`), or its length when it has none. */
function pathStart(url: string): number {
  const scheme = url.indexOf("://");
  const start = url.indexOf("/", scheme === -1 ? 0 : scheme + 3);
  return start === -1 ? url.length : start;
}

/**
 * The path of a request, read from its URL text without `new URL()`: Bun builds `request.url` from the
 * client's `Host` header, so `Host: localhost:abc` yields a URL that `new URL()` refuses.
 */
export function pathOf(request: Request): string {
  const url = request.url;
  const start = pathStart(url);
  if (start === url.length) return "/";
  const end = url.slice(start).search(/[?#]/);
  return end === -1 ? url.slice(start) : url.slice(start, start + end);
}

/** The origin of `scheme://authority` (parsed once per distinct value), or null when it is unparseable. */
const originOfPrefix = boundedMemo(1024, (prefix) => URL.parse(prefix)?.origin ?? null);

/** The origin of a request's URL, or null when its `Host` makes it unparseable. */
export function originOf(request: Request): string | null {
  const url = request.url;
  return originOfPrefix(url.slice(0, pathStart(url)));
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

/** A JSON answer of the checks: `body` with `headers`. */
function jsonAnswer(status: number, body: unknown, headers: Record<string, string>): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { ...headers, "content-type": "application/json" },
  });
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
 * Every error a route or hook throws, in the one shape (JSON-RPC -32603 on `/mcp`): an `ApiFailure` with
 * its status, a schema's validation issue (bounded, without the input), a parse failure, a 404; anything
 * else is a 500 carrying only the request id, its cause logged under that id.
 */
export function errorAnswer(
  code: unknown,
  error: unknown,
  request: Request,
  requestId: string,
  onUnexpected: (error: unknown) => void,
): ErrorAnswer {
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

/**
 * No NUL character in any path parameter, query value or body field (Postgres cannot store it), and no
 * `__proto__` property in a body: a 400 naming the field.
 */
export function refuseNul({ params, query, body }: { params: unknown; query: unknown; body: unknown }): void {
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
 * What the checks decided before the route: an early answer to send as it is, or that the route may run,
 * with the origin allowed to read its answer (CORS), null when none.
 */
export type Screened = Response | { reader: string | null };

const NO_READER: Screened = { reader: null };

/** The request checks of one gateway, configured once (`createSecurityChecks`). */
export interface SecurityChecks {
  /**
   * The DNS-rebinding guard, CORS (a preflight is answered here), the body limit: an early answer, or the
   * CORS reader of the route's answer. Synchronous unless a body of unknown length must be measured.
   */
  screen(request: Request, requestId: string): Screened | Promise<Screened>;
  /** The headers every answer to a screened request carries: security headers, request id, CORS. */
  headers(requestId: string, reader: string | null): Record<string, string>;
  /** `headers(...)` written onto a route's own `Response` (its own values win; a frozen one is copied). */
  apply(response: Response, requestId: string, reader: string | null): Response;
  /** The access-log line of a request (`started`: its `performance.now()`; undefined when unknown). */
  log(request: Request, requestId: string, started: number | undefined, status: number | undefined): void;
  /** A hook's own failure: logged with the request id, never thrown past the request. */
  failed(hook: string, requestId: string, error: unknown): void;
  /** The 500 of a hook that failed (the screening, the error hook; the cause is logged through `failed`). */
  hookFailure(requestId: string): Response;
  /** An error thrown by a route, as `errorAnswer` shapes it (an unexpected cause logged under the request id). */
  error(code: unknown, error: unknown, request: Request, requestId: string): ErrorAnswer;
}

export function createSecurityChecks(opts: SecurityOptions = {}): SecurityChecks {
  const allowAny = opts.corsOrigins?.includes("*") ?? false;
  const allowed = new Set(opts.corsOrigins ?? []);
  const maxBody = opts.maxBodyBytes ?? 1_048_576;
  const logger = opts.logger ?? createLogger();
  const accessLog = opts.accessLog ?? true;

  const failed = (hook: string, requestId: string, error: unknown) => {
    try {
      logger.error(`[security] ${hook} failed`, { requestId, error });
    } catch {
      // the logger itself failed: nothing left to report to
    }
  };

  const headers = (requestId: string, reader: string | null): Record<string, string> =>
    reader === null
      ? { ...SECURITY_HEADERS, "x-request-id": requestId }
      : {
          ...SECURITY_HEADERS,
          "x-request-id": requestId,
          "access-control-allow-origin": reader,
          ...READER_HEADERS,
        };

  const tooLarge = (request: Request, requestId: string, reader: string | null) =>
    jsonAnswer(
      413,
      opts.payloadTooLarge?.(request, maxBody) ??
        apiError("payload_too_large", `The request body is larger than ${maxBody} bytes (MAX_BODY_BYTES).`, {
          maxBodyBytes: maxBody,
        }),
      headers(requestId, reader),
    );

  /** The body limit, once the request may reach the route. */
  const bodyLimit = (
    request: Request,
    requestId: string,
    reader: string | null,
  ): Screened | Promise<Screened> => {
    const go: Screened = reader === null ? NO_READER : { reader };
    const length = request.headers.get("content-length");
    if (length !== null) {
      return !/^\d+$/.test(length) || Number(length) > maxBody ? tooLarge(request, requestId, reader) : go;
    }
    if (request.body === null) return go;
    return streamExceeds(request.clone().body, maxBody).then((over) =>
      over ? tooLarge(request, requestId, reader) : go,
    );
  };

  const screen = (request: Request, requestId: string): Screened | Promise<Screened> => {
    const refused = opts.admit?.(request.headers);
    if (refused) return jsonAnswer(403, apiError("forbidden", refused), headers(requestId, null));
    const origin = request.headers.get("origin");
    if (!origin) return bodyLimit(request, requestId, null);
    const preflight = request.method === "OPTIONS" && request.headers.has("access-control-request-method");
    if (!allowAny && !allowed.has(origin) && origin !== originOf(request)) {
      if (!preflight) return bodyLimit(request, requestId, null);
      return jsonAnswer(
        403,
        apiError("origin_not_allowed", `Origin ${origin} is not in CORS_ORIGINS.`),
        headers(requestId, null),
      );
    }
    if (!preflight) return bodyLimit(request, requestId, origin);
    return new Response(null, {
      status: 204,
      headers: {
        ...headers(requestId, origin),
        "access-control-allow-methods": "GET, POST, PUT, PATCH, DELETE, OPTIONS",
        "access-control-allow-headers": ALLOW_HEADERS,
        "access-control-max-age": "600",
      },
    });
  };

  const apply = (response: Response, requestId: string, reader: string | null): Response => {
    const all = headers(requestId, reader);
    const own = response.headers;
    try {
      for (const name in all) if (!own.has(name)) own.set(name, all[name]!);
      return response;
    } catch {
      // Immutable headers (a fetched or static `Response`): the same answer with the headers merged.
      const merged = new Headers(all);
      for (const [name, value] of own) merged.set(name, value);
      return new Response(response.body, {
        status: response.status,
        statusText: response.statusText,
        headers: merged,
      });
    }
  };

  return {
    screen,
    headers,
    apply,
    log: (request, requestId, started, status) => {
      if (!accessLog) return;
      try {
        logger.info("request", {
          requestId,
          method: request.method,
          path: pathOf(request),
          status,
          durationMs: started === undefined ? undefined : Math.round((performance.now() - started) * 10) / 10,
        });
      } catch (error) {
        failed("access log", requestId, error);
      }
    },
    failed,
    hookFailure: (requestId) => jsonAnswer(500, internalError(requestId), { "x-request-id": requestId }),
    error: (code, error, request, requestId) =>
      errorAnswer(code, error, request, requestId, (cause) =>
        failed(`request (${String(code)})`, requestId, cause),
      ),
  };
}

/** The query of a URL as Elysia reads it (repeated names are arrays), for the NUL check. */
function queryOf(url: string): Record<string, string | string[]> {
  const query: Record<string, string | string[]> = {};
  for (const [name, value] of new URL(url).searchParams) {
    const seen = query[name];
    query[name] = seen === undefined ? value : Array.isArray(seen) ? [...seen, value] : [seen, value];
  }
  return query;
}

/** Whether a route's path parameters or its query are there to check (`refuseNul`). */
function hasInput(request: Bun.BunRequest<string>): boolean {
  if (request.url.includes("?")) return true;
  for (const _ in request.params) return true;
  return false;
}

/**
 * A request the listener routed (its path parameters in `params`), the listening server, and the headers
 * its answer carries (security, request id, CORS): a handler that builds its answer with them spares the
 * route adding them one by one afterwards (twelve native calls per answer); any answer without them
 * still gets them.
 */
export type LeanHandler = (
  request: Bun.BunRequest<string>,
  server: Bun.Server<unknown>,
  headers: Record<string, string>,
) => Promise<Response>;

/**
 * A route served straight by the listener (Bun.serve `routes`), with the security plugin's answers from
 * the same checks: the request id (and every log line under it), the screening, the NUL check of its
 * parameters and query, the headers on its answer, the error shape, one access-log line.
 */
export function leanRoute(
  checks: SecurityChecks,
  handler: LeanHandler,
): (request: Bun.BunRequest<string>, server: Bun.Server<unknown>) => Promise<Response> {
  const run = async (
    request: Bun.BunRequest<string>,
    server: Bun.Server<unknown>,
    requestId: string,
  ): Promise<Response> => {
    const started = performance.now();
    let response: Response;
    let screened: Screened;
    try {
      const pending = checks.screen(request, requestId);
      screened = pending instanceof Promise ? await pending : pending;
    } catch (error) {
      checks.failed("request screening", requestId, error);
      screened = checks.hookFailure(requestId);
    }
    if (screened instanceof Response) response = screened;
    else {
      try {
        if (hasInput(request))
          refuseNul({ params: request.params, query: queryOf(request.url), body: undefined });
        const headers = checks.headers(requestId, screened.reader);
        const answer = await handler(request, server, headers);
        response =
          answer.headers.get("x-request-id") === requestId
            ? answer
            : checks.apply(answer, requestId, screened.reader);
      } catch (error) {
        const { status, body, headers } = checks.error("UNKNOWN", error, request, requestId);
        // As Elysia sends the error hook's `status(status, body)` (`application/json;charset=utf-8`).
        response = checks.apply(Response.json(body, { status, headers }), requestId, screened.reader);
      }
    }
    checks.log(request, requestId, started, response.status);
    return response;
  };
  return (request, server) => {
    const requestId = pickRequestId(request.headers.get("x-request-id"));
    return withRequestId(requestId, () => run(request, server, requestId));
  };
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
