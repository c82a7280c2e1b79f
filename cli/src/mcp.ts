import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import {
  type ElicitRequest,
  ElicitRequestSchema,
  type ElicitResult,
} from "@modelcontextprotocol/sdk/types.js";
import pkg from "../package.json" with { type: "json" };
import { authHeaders, baseUrl, type GatewayOptions, unreachable } from "./gateway.ts";
import { CliError, withProgress } from "./output.ts";

/** The gateway's MCP endpoint for these options. */
export function mcpUrl(opts: GatewayOptions): URL {
  return new URL(`${baseUrl(opts)}/mcp`);
}

/** The streamable HTTP transport to the gateway's `/mcp`, with the API key as bearer token. */
export function gatewayTransport(opts: GatewayOptions): StreamableHTTPClientTransport {
  return new StreamableHTTPClientTransport(mcpUrl(opts), { requestInit: { headers: authHeaders(opts) } });
}

function explain(error: unknown, opts: GatewayOptions): CliError {
  const message = error instanceof Error ? error.message : String(error);
  if (/\b401\b|unauthori[sz]ed|invalid_api_key|key_revoked/i.test(message)) {
    return new CliError(
      `the gateway refused the credentials (${message})`,
      "pass a valid --key or set OMNI_API_KEY (an owner key comes from `omni orgs create`)",
    );
  }
  if (/ECONNREFUSED|Unable to connect|fetch failed|ConnectionRefused/i.test(message)) {
    return unreachable(baseUrl(opts), error);
  }
  return new CliError(message);
}

/**
 * Runs `fn` with an MCP SDK client connected to the gateway, closing it afterwards. With `elicit`, the
 * client declares the elicitation capability (form and URL) and answers the server's requests with it.
 */
export async function withMcpClient<T>(
  opts: GatewayOptions,
  fn: (client: Client) => Promise<T>,
  elicit?: (params: ElicitRequest["params"]) => Promise<ElicitResult>,
): Promise<T> {
  const client = new Client(
    { name: "omni-cli", version: pkg.version },
    elicit ? { capabilities: { elicitation: { form: {}, url: {} } } } : {},
  );
  if (elicit) client.setRequestHandler(ElicitRequestSchema, (request) => elicit(request.params));
  try {
    await withProgress(`connecting to ${mcpUrl(opts)}`, () => client.connect(gatewayTransport(opts)));
  } catch (error) {
    throw explain(error, opts);
  }
  try {
    return await fn(client);
  } catch (error) {
    if (error instanceof CliError) throw error;
    throw explain(error, opts);
  } finally {
    await client.close().catch(() => {});
  }
}
