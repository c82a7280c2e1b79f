import { createServerApp, type ServerDefinition } from "@omni/kit";
import { createDevtoolsServer } from "./server.ts";

/**
 * The DevTools server's Elysia app (RPC routes, /health, /mcp). Building it opens no port and starts no
 * browser (Chromium starts on the first tool call).
 */
export function createApp(def: ServerDefinition = createDevtoolsServer()) {
  return createServerApp(def);
}

export type App = ReturnType<typeof createApp>;

export { createDevtoolsServer } from "./server.ts";
