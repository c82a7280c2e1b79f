import type { CallScope } from "@omni/contracts";
import { createServerClient, type TerminalEvent } from "@omni/kit";
import { testScope } from "@omni/kit/testing";
import { createApp } from "../src/app.ts";
import type { LinearServerOptions } from "../src/server.ts";
import { type LinearStandIn, startLinearStandIn } from "./fixtures/linear-standin.ts";

/** The Linear server app in-process (Eden treaty client, no port), pointed at a fresh stand-in. */
export function linearHarness(options: LinearServerOptions = {}) {
  const standIn: LinearStandIn = startLinearStandIn();
  const app = createApp(
    { apiUrl: standIn.url, timeoutMs: 2_000, maxRetryAfterMs: 2_000, ...options },
    { mcp: false },
  );
  const client = createServerClient("http://linear.internal", { fetch: (request) => app.handle(request) });
  const scope = (apiKey: string | null): CallScope => testScope(apiKey === null ? {} : { apiKey });
  return {
    standIn,
    client,
    call(
      name: string,
      args: Record<string, unknown>,
      apiKey: string | null = standIn.apiKey,
    ): Promise<TerminalEvent> {
      return client.callTool({ name, arguments: args, scope: scope(apiKey), live: false });
    },
    read(uri: string, apiKey: string | null = standIn.apiKey) {
      return client.readResource({ uri, scope: scope(apiKey) });
    },
    stop: () => standIn.stop(),
  };
}
