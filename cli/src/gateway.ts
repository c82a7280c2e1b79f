import { type Command, Option, type OptionValues } from "@commander-js/extra-typings";
import { treaty } from "@elysiajs/eden";
import type { GatewayApp } from "@omni/gateway";
import { DEFAULT_URL } from "./env.ts";
import { CliError, withProgress } from "./output.ts";

/**
 * Commands that need a running gateway reach it at `--url` / `OMNI_URL` with `--key` / `OMNI_API_KEY`:
 * the admin API through Eden (`treaty<GatewayApp>`), MCP through the SDK client (see mcp.ts).
 */

/** Adds `--url` and `--key` to a command. */
export function withGateway<A extends unknown[], O extends OptionValues, G extends OptionValues>(
  cmd: Command<A, O, G>,
) {
  return cmd
    .addOption(new Option("--url <url>", "gateway base URL").env("OMNI_URL").default(DEFAULT_URL))
    .addOption(
      new Option("--key <key>", "API key (omni_sk_...), sent as a bearer token").env("OMNI_API_KEY"),
    );
}

export interface GatewayOptions {
  url: string;
  key?: string | undefined;
}

/** The gateway's base URL without a trailing slash (or `/mcp`), checked. */
export function baseUrl(opts: GatewayOptions): string {
  let url: URL;
  try {
    url = new URL(opts.url);
  } catch {
    throw new CliError(`--url / OMNI_URL is not a URL: "${opts.url}"`, `e.g. ${DEFAULT_URL}`, 2);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new CliError(`--url must be http(s), got ${url.protocol}`, `e.g. ${DEFAULT_URL}`, 2);
  }
  return url
    .toString()
    .replace(/\/+$/, "")
    .replace(/\/mcp$/, "");
}

export function authHeaders(opts: GatewayOptions): Record<string, string> {
  return opts.key ? { authorization: `Bearer ${opts.key.trim()}` } : {};
}

/** The Eden client of the whole admin API (`treaty<GatewayApp>`), with the key as bearer token. */
export function adminApi(opts: GatewayOptions) {
  const url = baseUrl(opts);
  const headers = authHeaders(opts);
  return {
    url,
    eden: treaty<GatewayApp>(url, { headers }),
  };
}

interface EdenResult<T> {
  data: T;
  error: { status: unknown; value: unknown } | null;
  status: number;
}

function messageOf(value: unknown): string | undefined {
  if (typeof value === "string") return value.trim() || undefined;
  if (typeof value !== "object" || value === null) return undefined;
  const body = value as { error?: unknown; message?: unknown };
  if (typeof body.error === "object" && body.error !== null) {
    const nested = (body.error as { message?: unknown }).message;
    if (typeof nested === "string") return nested;
  }
  if (typeof body.message === "string") return body.message;
  if (typeof body.error === "string") return body.error;
  return undefined;
}

function hintFor(status: number, url: string): string | undefined {
  switch (status) {
    case 401:
      return "pass --key or set OMNI_API_KEY (an owner key comes from `omni orgs create`; more from `omni keys create`)";
    case 403:
      return "use a key whose scopes include that permission (an owner or admin key), see `omni keys create --help`";
    case 404:
      return "check the id or name: the matching `list` command shows them";
    case 429:
      return "rate limited: wait a little and try again";
    case 503:
      return `the gateway at ${url} is not ready: see \`omni doctor\` and GET ${url}/health`;
    default:
      return undefined;
  }
}

/**
 * Awaits an Eden call and returns its data; an HTTP error becomes a CliError with the gateway's message
 * and what to do, an unreachable gateway says how to start one.
 */
export async function call<T>(
  url: string,
  request: Promise<EdenResult<T>>,
  /**
   * What to do when the gateway answers 404 (default: check the id with the matching list command), or
   * what to do per HTTP status (the others get the default hints).
   */
  hints?: string | Partial<Record<number, string>>,
): Promise<NonNullable<T>> {
  let result: EdenResult<T>;
  try {
    result = await withProgress(`waiting for ${url}`, () => request);
  } catch (error) {
    throw unreachable(url, error);
  }
  if (result.error) {
    // Eden reports a failed fetch (nothing listening, DNS, TLS) as an error whose value is the exception.
    if (result.error.value instanceof Error) throw unreachable(url, result.error.value);
    const status = typeof result.error.status === "number" ? result.error.status : result.status;
    const message = messageOf(result.error.value) ?? `the gateway answered HTTP ${status}`;
    const hint = typeof hints === "string" ? (status === 404 ? hints : undefined) : hints?.[status];
    throw new CliError(message, hint ?? hintFor(status, url));
  }
  if (result.data === null || result.data === undefined) {
    if (result.status === 0 || result.status >= 500 || result.status === undefined)
      throw unreachable(url, new Error(`HTTP ${result.status}`));
    throw new CliError(`the gateway sent an empty answer (HTTP ${result.status})`);
  }
  return result.data as NonNullable<T>;
}

export function unreachable(url: string, error: unknown): CliError {
  const reason = error instanceof Error ? error.message : String(error);
  return new CliError(
    `cannot reach the gateway at ${url} (${reason})`,
    "start it (`bun run dev`, or `bun gateway/src/index.ts`), or point --url / OMNI_URL at a running one",
  );
}
