import type { ServiceConfig } from "@omni/contracts";
import { callUpstream, type Deadline, retryAfterMs, ToolError } from "@omni/kit";
import Perplexity, { APIConnectionError, APIError, APIUserAbortError } from "@perplexity-ai/perplexity_ai";
import * as v from "valibot";

export interface PerplexityOptions {
  /** API base URL (`PERPLEXITY_BASE_URL`). */
  baseURL: string;
  /** Per-request timeout (`PERPLEXITY_TIMEOUT_MS`); streamed answers get it for the whole stream. */
  timeoutMs: number;
  /** Longest Retry-After a read waits for before its single retry. */
  maxRetryAfterMs: number;
  /** How often perplexity_research polls its async request (`PERPLEXITY_POLL_INTERVAL_MS`). */
  pollIntervalMs: number;
  /** How long perplexity_research waits for a result in total (`PERPLEXITY_RESEARCH_TIMEOUT_MS`). */
  researchTimeoutMs: number;
  /** Custom fetch (tests). */
  fetch?: typeof fetch;
}

export const DEFAULT_BASE_URL = "https://api.perplexity.ai";

export const MISSING_KEY =
  "No Perplexity API key is configured. An organization admin sets it as the `apiKey` secret of the " +
  "Perplexity service (admin API or dashboard: Services → Perplexity → secrets); a member may set their own " +
  "key there. When this server runs alone, set the PERPLEXITY_API_KEY environment variable.";

/** One tool call's access to Perplexity: the SDK client with the caller's key, deadlines and error mapping. */
export class PerplexityApi {
  constructor(
    private readonly apiKey: string,
    readonly options: PerplexityOptions,
    readonly signal: AbortSignal,
  ) {}

  private client(): Perplexity {
    return new Perplexity({
      apiKey: this.apiKey,
      baseURL: this.options.baseURL,
      // Retries are ours (one, after Retry-After, reads only); the SDK's own would ignore cancellation.
      maxRetries: 0,
      timeout: this.options.timeoutMs,
      logLevel: "off",
      ...(this.options.fetch ? { fetch: this.options.fetch } : {}),
    });
  }

  /**
   * Runs one request (or one whole stream) under a deadline. `idempotent` requests are retried once when
   * Perplexity answers 429 with a short enough Retry-After. Every failure becomes a ToolError.
   */
  async call<T>(
    run: (client: Perplexity, signal: AbortSignal) => Promise<T>,
    idempotent: boolean,
  ): Promise<T> {
    return callUpstream(
      {
        signal: this.signal,
        timeoutMs: this.options.timeoutMs,
        maxRetryAfterMs: this.options.maxRetryAfterMs,
        retryAfter: (error) =>
          idempotent && error instanceof APIError && error.status === 429
            ? retryAfterMs(error.headers?.get("retry-after"))
            : undefined,
        failure: (error, d) => this.failure(error, d),
      },
      async (d) => {
        const out = await run(this.client(), d.signal);
        // A stream cut short by the deadline ends quietly in the SDK; report it as what it is.
        if (d.signal.aborted) throw d.signal.reason;
        return out;
      },
    );
  }

  /** Maps anything a call can throw to a message a model (or its user) can act on. */
  failure(error: unknown, d: Deadline): ToolError {
    if (error instanceof ToolError) return error;
    if (d.cancelled()) return new ToolError("The call was cancelled before Perplexity answered.");
    if (d.timedOut()) {
      return new ToolError(
        `Perplexity did not answer within ${this.options.timeoutMs} ms (PERPLEXITY_TIMEOUT_MS). Try again, or ask a narrower question.`,
      );
    }
    if (error instanceof APIUserAbortError)
      return new ToolError("The call was cancelled before Perplexity answered.");
    if (error instanceof APIConnectionError) {
      return new ToolError(`Could not reach Perplexity at ${this.options.baseURL}: ${error.message}`);
    }
    if (error instanceof APIError) {
      const status = error.status;
      const detail = upstreamMessage(error);
      if (status === 401) {
        return new ToolError(
          `Perplexity rejected the API key (HTTP 401${detail}). Check or replace the key: ${MISSING_KEY.slice(MISSING_KEY.indexOf("An organization"))}`,
        );
      }
      if (status === 403) {
        return new ToolError(
          `Perplexity refused the request (HTTP 403${detail}). The key's plan or permissions do not allow this; check the Perplexity account.`,
        );
      }
      if (status === 429) {
        const wait = retryAfterMs(error.headers?.get("retry-after"));
        const after = wait === undefined ? "in a minute" : `after ${Math.ceil(wait / 1000)} s`;
        return new ToolError(`Perplexity's rate limit was reached (HTTP 429${detail}). Try again ${after}.`);
      }
      if (status !== undefined && status >= 500) {
        return new ToolError(
          `Perplexity is having trouble (HTTP ${status}${detail}). Try again in a little while.`,
        );
      }
      if (status === undefined) {
        return new ToolError(`Perplexity's stream reported an error${detail}. Try again.`);
      }
      return new ToolError(`Perplexity rejected the request (HTTP ${status}${detail}).`);
    }
    if (error instanceof SyntaxError) {
      return new ToolError(`Perplexity returned a malformed response (${error.message}). Try again later.`);
    }
    const message = error instanceof Error ? error.message : String(error);
    return new ToolError(`Perplexity failed: ${message}`);
  }
}

function upstreamMessage(error: APIError): string {
  const body = error.error as
    | { error?: { message?: unknown }; detail?: unknown; message?: unknown }
    | undefined;
  const message =
    body?.error?.message ?? body?.message ?? (typeof body?.detail === "string" ? body.detail : undefined);
  return typeof message === "string" && message ? `: ${message}` : "";
}

/** Checks an answer's shape; anything else is a malformed-response ToolError. */
export function parseResponse<S extends v.GenericSchema>(schema: S, data: unknown): v.InferOutput<S> {
  const parsed = v.safeParse(schema, data);
  if (parsed.success) return parsed.output;
  const issue = parsed.issues[0];
  const path = issue ? v.getDotPath(issue) : null;
  throw new ToolError(
    `Perplexity returned a malformed response (${path ? `${path}: ` : ""}${issue?.message ?? "unexpected shape"}). Try again later.`,
  );
}

/** The caller's Perplexity access, or a ToolError saying where to set the key. */
export function perplexityFor(
  config: ServiceConfig,
  options: PerplexityOptions,
  signal: AbortSignal,
): PerplexityApi {
  const apiKey = config.credentials.apiKey?.trim();
  if (!apiKey) throw new ToolError(MISSING_KEY);
  return new PerplexityApi(apiKey, options, signal);
}
