import { LinearClient, LinearError, LinearErrorType, RatelimitedLinearError } from "@linear/sdk";
import type { ServiceConfig } from "@omni/contracts";
import { callUpstream, type Deadline, retryAfterMs, ToolError, type UpstreamCallOptions } from "@omni/kit";
import * as v from "valibot";

export interface LinearOptions {
  /** GraphQL endpoint (`LINEAR_API_URL`). */
  apiUrl: string;
  /** Per-request timeout (`LINEAR_TIMEOUT_MS`). */
  timeoutMs: number;
  /** Longest Retry-After a read waits for before its single retry; longer waits become an error. */
  maxRetryAfterMs: number;
}

export const DEFAULT_API_URL = "https://api.linear.app/graphql";

export const MISSING_KEY =
  "No Linear API key is configured. An organization admin sets it as the `apiKey` secret of the Linear " +
  "service (admin API or dashboard: Services → Linear → secrets); a member may set their own key there. " +
  "When this server runs alone, set the LINEAR_API_KEY environment variable.";

/** One tool call's access to Linear: the SDK's client with the caller's key, deadline and error mapping. */
export class LinearApi {
  constructor(
    private readonly apiKey: string,
    private readonly options: LinearOptions,
    private readonly parent: AbortSignal,
  ) {}

  private client(d: Deadline): LinearClient {
    return new LinearClient({ apiKey: this.apiKey, apiUrl: this.options.apiUrl, signal: d.signal });
  }

  /**
   * An idempotent read: `query` through the SDK's GraphQL client, the answer checked against `schema`.
   * A 429 is retried once after its Retry-After (when that is short enough); any other failure is a ToolError.
   */
  async read<S extends v.GenericSchema>(
    query: string,
    variables: Record<string, unknown>,
    schema: S,
  ): Promise<v.InferOutput<S>> {
    return callUpstream({ ...this.upstream(), retryAfter: rateLimitWaitMs }, async (d) => {
      const response = await this.client(d).client.rawRequest<unknown, Record<string, unknown>>(
        query,
        variables,
      );
      return parseData(schema, response.data);
    });
  }

  /** A write through the SDK (never retried: repeating it could duplicate the change). */
  async write<T>(run: (client: LinearClient) => Promise<T>): Promise<T> {
    return callUpstream(this.upstream(), (d) => run(this.client(d)));
  }

  /** The deadline, timeout and failure mapping every call shares. */
  private upstream(): UpstreamCallOptions {
    return {
      signal: this.parent,
      timeoutMs: this.options.timeoutMs,
      maxRetryAfterMs: this.options.maxRetryAfterMs,
      failure: (error, d) => this.failure(error, d),
    };
  }

  /** Maps anything a call can throw to a message a model (or its user) can act on. */
  private failure(error: unknown, d: Deadline): ToolError {
    if (error instanceof ToolError) return error;
    if (d.cancelled()) return new ToolError("The call was cancelled before Linear answered.");
    if (d.timedOut()) {
      return new ToolError(
        `Linear did not answer within ${this.options.timeoutMs} ms (LINEAR_TIMEOUT_MS). Try again, or narrow the request.`,
      );
    }
    if (!(error instanceof LinearError)) {
      const message = error instanceof Error ? error.message : String(error);
      return new ToolError(`Could not reach Linear at ${this.options.apiUrl}: ${message}`);
    }
    const detail = error.errors?.[0]?.message ?? error.message;
    switch (error.type) {
      case LinearErrorType.AuthenticationError:
        return new ToolError(
          `Linear rejected the API key (HTTP ${error.status ?? 401}: ${detail}). Check or replace the key: ${MISSING_KEY.slice(MISSING_KEY.indexOf("An organization"))}`,
        );
      case LinearErrorType.Forbidden:
        return new ToolError(
          `Linear refused the request (HTTP ${error.status ?? 403}: ${detail}). The API key lacks permission for this; use a key of a member with access.`,
        );
      case LinearErrorType.Ratelimited: {
        const wait = rateLimitWaitMs(error);
        const after = wait === undefined ? "in a minute" : `after ${Math.ceil(wait / 1000)} s`;
        return new ToolError(
          `Linear's rate limit was reached (HTTP ${error.status ?? 429}). Try again ${after}.`,
        );
      }
      case LinearErrorType.InternalError:
      case LinearErrorType.NetworkError:
      case LinearErrorType.LockTimeout:
        return new ToolError(
          `Linear is having trouble (HTTP ${error.status ?? "5xx"}: ${detail}). Try again in a little while.`,
        );
      case LinearErrorType.Unknown:
        if (error.status !== undefined && error.status >= 200 && error.status < 300) {
          return new ToolError(
            `Linear returned a malformed response (HTTP ${error.status}, not a GraphQL result). Try again later.`,
          );
        }
        if (error.status === undefined) {
          const cause = error.raw instanceof Error ? error.raw.message : detail;
          return new ToolError(`Could not reach Linear at ${this.options.apiUrl}: ${cause}`);
        }
        return new ToolError(`Linear failed (HTTP ${error.status}: ${detail}).`);
      default:
        return new ToolError(`Linear rejected the request: ${detail}`);
    }
  }
}

/**
 * How long a rate-limited request should wait: `Retry-After`, else Linear's `X-RateLimit-Requests-Reset`
 * (epoch milliseconds; Linear may answer a rate limit with HTTP 400 and a RATELIMITED error instead of 429).
 */
function rateLimitWaitMs(error: unknown, now = Date.now()): number | undefined {
  if (!(error instanceof RatelimitedLinearError)) return undefined;
  const after = retryAfterMs(error.retryAfter);
  if (after !== undefined) return after;
  const reset = error.requestsResetAt;
  if (reset === undefined) return undefined;
  return Math.max(0, (reset < 1e12 ? reset * 1000 : reset) - now);
}

function parseData<S extends v.GenericSchema>(schema: S, data: unknown): v.InferOutput<S> {
  const parsed = v.safeParse(schema, data);
  if (parsed.success) return parsed.output;
  const issue = parsed.issues[0];
  const path = issue?.path?.map((p) => String(p.key)).join(".") ?? "";
  throw new ToolError(
    `Linear returned a malformed response (${path ? `${path}: ` : ""}${issue?.message ?? "unexpected shape"}). Try again later.`,
  );
}

/** The caller's Linear access, or a ToolError saying where to set the key. */
export function linearFor(config: ServiceConfig, options: LinearOptions, signal: AbortSignal): LinearApi {
  const apiKey = config.credentials.apiKey?.trim();
  if (!apiKey) throw new ToolError(MISSING_KEY);
  return new LinearApi(apiKey, options, signal);
}
