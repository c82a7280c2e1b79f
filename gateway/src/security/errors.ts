import type { ApiError } from "@omni/contracts";

/**
 * The one error shape of the gateway's HTTP API (`ApiError` in contracts): `{error: {code, message,
 * details?}}`, for every `/api` route and for the security plugin's, auth guard's and `/ws` refusals.
 * Messages are the gateway's own words; nothing here echoes request input or carries internals.
 */
export function apiError(code: string, message: string, details?: Record<string, unknown>): ApiError {
  return { error: { code, message, ...(details === undefined ? {} : { details }) } };
}

/** A JSON `Response` with the one error shape. */
export function apiErrorResponse(
  status: number,
  body: ApiError,
  headers: Record<string, string> = {},
): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { ...headers, "content-type": "application/json" },
  });
}

/** The body of an unexpected failure: the request id only (the cause is in the log, under that id). */
export function internalError(requestId: string): ApiError {
  return apiError("internal", `Internal error; quote request id ${requestId} when reporting it.`, {
    requestId,
  });
}

/**
 * An expected failure of an HTTP route, thrown (or returned through `status()`) with its status: the
 * security plugin's error hook answers it in the one shape. `details` must not echo request input.
 */
export class ApiFailure extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: Record<string, unknown>,
    /** Extra response headers (e.g. `Retry-After`). */
    readonly headers?: Record<string, string>,
  ) {
    super(message);
  }
}

/** Longest message an error answer carries (a field path plus a schema's message). */
const MAX_MESSAGE = 300;

/**
 * A validation message without the input it quotes: valibot's default messages end in
 * `but received <the input>`; what was expected stays. Bounded to `MAX_MESSAGE` characters.
 */
export function boundedMessage(message: string): string {
  const cut = message.replace(/\s*but received[\s\S]*$/, "");
  return cut.length > MAX_MESSAGE ? `${cut.slice(0, MAX_MESSAGE - 1)}…` : cut;
}
