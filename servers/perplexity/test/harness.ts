import type { CallScope } from "@omni/contracts";
import { createServerClient, type TerminalEvent } from "@omni/kit";
import { testScope } from "@omni/kit/testing";
import { createApp } from "../src/app.ts";
import type { PerplexityServerOptions } from "../src/server.ts";
import { type PerplexityStandIn, startPerplexityStandIn } from "./fixtures/perplexity-standin.ts";

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
  const scope = (apiKey: string | null): CallScope => testScope(apiKey === null ? {} : { apiKey });
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
