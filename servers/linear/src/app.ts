import { createServerApp, type ServerAppOptions } from "@omni/kit";
import { createLinearServer, type LinearServerOptions, linearOptionsFromEnv } from "./server.ts";

export { createLinearServer, type LinearServerOptions, linearOptionsFromEnv } from "./server.ts";

/** The Linear server's Elysia app (RPC for the gateway, /health, standalone /mcp); opens no port. */
export function createApp(options: LinearServerOptions = linearOptionsFromEnv(), app: ServerAppOptions = {}) {
  return createServerApp(createLinearServer(options), app);
}

export type App = ReturnType<typeof createApp>;
