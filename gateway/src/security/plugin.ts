import { Elysia, status as elysiaStatus } from "elysia";
import {
  createSecurityChecks,
  errorAnswer,
  pickRequestId,
  refuseNul,
  type SecurityChecks,
  type SecurityOptions,
} from "./checks.ts";
import { parseJsonBody } from "./json.ts";
import { createLogger, withRequestId } from "./log.ts";

/**
 * The first plugin of the gateway: the security checks (`checks.ts`: request id, DNS-rebinding guard,
 * CORS allow-list, security headers, request body limit, one access-log line per request, the error
 * shape) as Elysia hooks. The lean MCP routes (`leanRoute`) run the same checks without Elysia.
 */

const requestIds = new WeakMap<Request, string>();
const started = new WeakMap<Request, number>();

/** The request id of a request that went through the security plugin (or a fresh one). */
export function requestIdOf(request: Request): string {
  return requestIds.get(request) ?? crypto.randomUUID();
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
      const requestId = requestIdOf(request);
      const { status, body, headers } = errorAnswer(code, error, request, requestId, (cause) => {
        try {
          createLogger().error(`[security] request (${String(code)}) failed`, { requestId, error: cause });
        } catch {
          // nothing left to report to
        }
      });
      for (const [k, value] of Object.entries(headers)) set.headers[k] = value;
      return elysiaStatus(status, body);
    });
}

/** The security plugin over `createSecurityChecks(opts)`, or over `checks` a lean route shares. */
export function securityPlugin(opts: SecurityOptions | SecurityChecks = {}) {
  const checks = "screen" in opts ? opts : createSecurityChecks(opts);
  const logged = new WeakSet<Request>();
  /** The access-log line of a request (once: early answers and 404s skip `onAfterResponse`). */
  const log = (request: Request, status: number | undefined) => {
    if (logged.has(request)) return;
    logged.add(request);
    checks.log(request, requestIdOf(request), started.get(request), status);
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
      try {
        const screened = await checks.screen(request, requestId);
        if (screened instanceof Response) return early(request, screened);
        Object.assign(set.headers, checks.headers(requestId, screened.reader));
        return undefined;
      } catch (error) {
        checks.failed("request screening", requestId, error);
        return early(request, checks.hookFailure(requestId));
      }
    })
    .derive({ as: "global" }, ({ request }) => ({ requestId: requestIdOf(request) }))
    .onTransform({ as: "global" }, refuseNul)
    .onError({ as: "global" }, ({ code, error, request, set }) => {
      const requestId = requestIdOf(request);
      try {
        const { status, body, headers } = checks.error(code, error, request, requestId);
        log(request, status);
        for (const [k, value] of Object.entries(headers)) set.headers[k] = value;
        return elysiaStatus(status, body);
      } catch (failure) {
        checks.failed("error hook", requestId, failure);
        return checks.hookFailure(requestId);
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
