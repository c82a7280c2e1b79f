import { expect } from "bun:test";
import { type CallScope, type CallToolResult, ErrorCode } from "@omni/contracts";
import { createServerClient, type TerminalEvent } from "@omni/kit";
import { createApp } from "../src/app.ts";
import type { PerplexityServerOptions } from "../src/server.ts";
import { type PerplexityStandIn, startPerplexityStandIn } from "./fixtures/perplexity-standin.ts";

export const ORG = {
  orgId: "org_test",
  userId: "user_test",
  role: "member" as const,
  permissions: ["tools:call"],
  via: "api_key" as const,
  requestId: "req_test",
};

/** The Perplexity server app in-process (Eden treaty client, no port), pointed at a fresh stand-in. */
export function perplexityHarness(options: PerplexityServerOptions = {}) {
  const standIn: PerplexityStandIn = startPerplexityStandIn();
  const app = createApp(
    {
      baseURL: standIn.url,
      timeoutMs: 2_000,
      maxRetryAfterMs: 2_000,
      pollIntervalMs: 5,
      researchTimeoutMs: 10_000,
      ...options,
    },
    { mcp: false },
  );
  const client = createServerClient("http://perplexity.internal", {
    fetch: (request) => app.handle(request),
  });
  const scope = (apiKey: string | null): CallScope => {
    const credentials: Record<string, string> = apiKey === null ? {} : { apiKey };
    return { org: ORG, config: { settings: {}, credentials }, sessionKey: "session-test" };
  };
  return {
    standIn,
    client,
    /** Calls a tool with progress on; `progress` collects the progress messages it reports. */
    call(
      name: string,
      args: Record<string, unknown>,
      apiKey: string | null = standIn.apiKey,
      progress: string[] = [],
    ): Promise<TerminalEvent> {
      return client.callTool(
        { name, arguments: args, scope: scope(apiKey), live: false, progress: true },
        {
          onEvent: (event) => {
            if (event.type === "progress") progress.push(event.message ?? "");
          },
        },
      );
    },
    stop: () => standIn.stop(),
  };
}

/** The successful result of a call (fails the test otherwise). */
export function ok(event: TerminalEvent): CallToolResult & { structuredContent: Record<string, unknown> } {
  if (event.type !== "result") throw new Error(`expected a result, got ${JSON.stringify(event)}`);
  if (event.result.isError)
    throw new Error(`expected success, got error: ${JSON.stringify(event.result.content)}`);
  expect(event.result.structuredContent).toBeDefined();
  return event.result as CallToolResult & { structuredContent: Record<string, unknown> };
}

export function textOf(result: CallToolResult): string {
  return result.content.map((c) => (c.type === "text" ? c.text : "")).join("\n");
}

/** The message of a tool failure (`isError` result). */
export function toolError(event: TerminalEvent): string {
  if (event.type !== "result") throw new Error(`expected an isError result, got ${JSON.stringify(event)}`);
  expect(event.result.isError).toBe(true);
  return textOf(event.result);
}

/** The field paths of a -32602 invalid-params error. */
export function invalidParams(event: TerminalEvent): string[] {
  if (event.type !== "error") throw new Error(`expected a -32602 error, got ${JSON.stringify(event)}`);
  expect(event.error.code).toBe(ErrorCode.InvalidParams);
  return (event.error.data as { path: string }[]).map((f) => f.path);
}
