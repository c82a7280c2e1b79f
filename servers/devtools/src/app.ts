import { createServerApp } from "@omni/kit";
import type { DevtoolsOptions } from "./config.ts";
import { createDevtoolsServer } from "./server.ts";

/** The DevTools server's Elysia app (RPC routes, /health, /mcp). Building it opens no port and starts no browser. */
export function createApp(options?: DevtoolsOptions) {
  return createServerApp(createDevtoolsServer(options));
}

export type App = ReturnType<typeof createApp>;
