/**
 * Test support for domain servers: a caller scope and tool context, a standalone server on a free port
 * with a connected MCP SDK client, and readers of terminal events that throw when the event is not the
 * expected kind (usable from any test runner; nothing here imports one).
 */
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import type { CallScope, CallToolResult, OrgContext } from "@omni/contracts";
import type { TerminalEvent } from "./runner.ts";
import { type RunningServer, serve } from "./serve.ts";
import type { ServerDefinition, ToolContext } from "./types.ts";

/** The organization a test caller belongs to. */
export const TEST_ORG: OrgContext = {
  orgId: "org_test",
  userId: "user_test",
  role: "member",
  permissions: ["tools:call"],
  via: "api_key",
  requestId: "req_test",
};

/** A gateway's call scope for `TEST_ORG` with these service credentials and no settings. */
export function testScope(credentials: Record<string, string>, sessionKey = "session-test"): CallScope {
  return { org: TEST_ORG, config: { settings: {}, credentials }, sessionKey };
}

/**
 * A ToolContext for calling a handler directly: `progress` and `log` do nothing unless given, the
 * client requests (sample, elicit, roots) reject, as no client is there, and `closeStream` does nothing.
 */
export function testToolContext(
  scope: CallScope,
  signal: AbortSignal,
  hooks: Partial<Pick<ToolContext, "progress" | "log">> = {},
): ToolContext {
  return {
    signal,
    org: scope.org,
    config: scope.config,
    sessionKey: scope.sessionKey,
    progress: hooks.progress ?? (async () => {}),
    log: hooks.log ?? (async () => {}),
    sample: () => Promise.reject(new Error("not used")),
    elicit: () => Promise.reject(new Error("not used")),
    roots: () => Promise.reject(new Error("not used")),
    closeStream: async () => {},
  };
}

export interface ConnectedServer {
  server: RunningServer;
  client: Client;
  /** Closes the client, then stops the server. */
  close(): Promise<void>;
}

/** Serves `definition` on a free port of 127.0.0.1 and connects an MCP SDK client to its `/mcp`. */
export async function serveWithClient(
  definition: ServerDefinition,
  clientName: string,
): Promise<ConnectedServer> {
  const server = serve(definition, { port: 0 });
  const client = new Client({ name: clientName, version: "1.0.0" });
  await client.connect(new StreamableHTTPClientTransport(new URL(`${server.url}/mcp`)));
  return {
    server,
    client,
    async close() {
      await client.close();
      await server.stop();
    },
  };
}

/** The successful result of a call, with its structured content; throws for anything else. */
export function okResult(
  event: TerminalEvent,
): CallToolResult & { structuredContent: Record<string, unknown> } {
  if (event.type !== "result") throw new Error(`expected a result, got ${JSON.stringify(event)}`);
  if (event.result.isError)
    throw new Error(`expected success, got error: ${JSON.stringify(event.result.content)}`);
  if (event.result.structuredContent === undefined)
    throw new Error(`expected structuredContent, got ${JSON.stringify(event.result)}`);
  return event.result as CallToolResult & { structuredContent: Record<string, unknown> };
}

/** The text blocks of a result, joined by newlines. */
export function resultText(result: CallToolResult): string {
  return result.content.map((c) => (c.type === "text" ? c.text : "")).join("\n");
}

/** The message of a tool failure (`isError` result); throws for anything else. */
export function toolErrorText(event: TerminalEvent): string {
  if (event.type !== "result") throw new Error(`expected an isError result, got ${JSON.stringify(event)}`);
  if (event.result.isError !== true)
    throw new Error(`expected isError: true, got ${JSON.stringify(event.result)}`);
  return resultText(event.result);
}

/** The field paths an invalid-arguments result (`isError`, "Invalid arguments for tool …") names. */
export function invalidParamPaths(event: TerminalEvent): string[] {
  const text = toolErrorText(event);
  const match = /^Invalid arguments for tool [^:]+: (.*)\. Fix these fields/s.exec(text);
  if (!match?.[1]) throw new Error(`expected an invalid-arguments result, got ${JSON.stringify(text)}`);
  return [...match[1].matchAll(/(?:^|; )([^\s:;]+): /g)].map((m) => m[1] as string);
}
