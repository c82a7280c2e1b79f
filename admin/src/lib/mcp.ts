import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { authorization } from "./auth.ts";

/**
 * The dashboard's MCP client: the real SDK Client over Streamable HTTP to this gateway's own `/mcp`, with
 * the signed-in credential. Loaded on demand (Tools, Connect), so the SDK is not in the initial bundle.
 */
let current: { client: Client; credential: string | null } | null = null;

export async function mcpClient(): Promise<Client> {
  const credential = await authorization();
  if (current && current.credential === credential) return current.client;
  await current?.client.close().catch(() => {});
  const [{ Client }, { StreamableHTTPClientTransport }] = await Promise.all([
    import("@modelcontextprotocol/sdk/client/index.js"),
    import("@modelcontextprotocol/sdk/client/streamableHttp.js"),
  ]);
  const client = new Client({ name: "omni-admin", version: "0.1.0" });
  const transport = new StreamableHTTPClientTransport(new URL("/mcp", location.origin), {
    fetch: async (input, init) => {
      const headers = new Headers(init?.headers);
      const value = await authorization();
      if (value) headers.set("authorization", value);
      return fetch(input, { ...init, headers });
    },
  });
  await client.connect(transport);
  current = { client, credential };
  return client;
}

/** Drops the client (its session ended, or the credential changed). */
export async function resetMcpClient(): Promise<void> {
  const old = current;
  current = null;
  await old?.client.close().catch(() => {});
}

/** Connects with a given key (or the dashboard's credential), lists tools, disconnects: a connection test. */
export async function testConnection(key?: string): Promise<{ server: string; tools: number; ms: number }> {
  const started = performance.now();
  const [{ Client }, { StreamableHTTPClientTransport }] = await Promise.all([
    import("@modelcontextprotocol/sdk/client/index.js"),
    import("@modelcontextprotocol/sdk/client/streamableHttp.js"),
  ]);
  const value = key ? `Bearer ${key}` : await authorization();
  const client = new Client({ name: "omni-admin-connection-test", version: "0.1.0" });
  const transport = new StreamableHTTPClientTransport(new URL("/mcp", location.origin), {
    requestInit: { headers: value ? { authorization: value } : {} },
  });
  try {
    await client.connect(transport);
    const { tools } = await client.listTools();
    const info = client.getServerVersion();
    return {
      server: `${info?.name ?? "?"} ${info?.version ?? ""}`.trim(),
      tools: tools.length,
      ms: performance.now() - started,
    };
  } finally {
    await client.close().catch(() => {});
  }
}
