import { createServerApp, type ServerAppOptions } from "@omni/kit";
import { createPerplexityServer, type PerplexityServerOptions, perplexityOptionsFromEnv } from "./server.ts";

export { createPerplexityServer, type PerplexityServerOptions, perplexityOptionsFromEnv } from "./server.ts";

/** The Perplexity server's Elysia app (RPC for the gateway, /health, standalone /mcp); opens no port. */
export function createApp(
  options: PerplexityServerOptions = perplexityOptionsFromEnv(),
  app: ServerAppOptions = {},
) {
  return createServerApp(createPerplexityServer(options), app);
}

export type App = ReturnType<typeof createApp>;
