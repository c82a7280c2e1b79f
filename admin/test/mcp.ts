import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";

/** A real MCP client (SDK v1, 2025 session) to the gateway with an API key. */
export async function mcpClient(url: string, key: string, name = "admin-test-client"): Promise<Client> {
  const client = new Client({ name, version: "9.9.9" });
  await client.connect(
    new StreamableHTTPClientTransport(new URL("/mcp", url), {
      requestInit: { headers: { authorization: `Bearer ${key}` } },
    }),
  );
  return client;
}
