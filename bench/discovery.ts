/**
 * `bun run bench discovery`: what progressive discovery saves. The real gateway in front of the three
 * built-in servers (Linear and Perplexity on their local stand-ins, DevTools without a browser: its tools
 * are only listed), the demo organization, and one bundle in discovery mode. Reported, per mode:
 *
 *  - the characters of `tools/list` (the JSON of every page of tools, what a client puts in its context);
 *  - one scripted task run with the MCP SDK client, counting its calls and the characters it received:
 *    "find the ENG team, search its bug issues, then look the error up on the web". In full mode the
 *    client lists every tool once, then calls the three tools; in discovery mode it lists two tools, then
 *    `search_tools` for each need and `call_tool` for each call. Every step must succeed.
 *
 * Loopback only: the database is a throwaway one (local Postgres, else PGlite), the stand-ins listen on
 * 127.0.0.1, nothing reaches Linear, Perplexity or the web.
 */
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { DEMO_ORG_ID } from "../db/src/index.ts";
import { startStack } from "../gateway/test/fixtures/stack.ts";
import { createDevtoolsServer } from "../servers/devtools/src/server.ts";
import { createLinearServer } from "../servers/linear/src/server.ts";
import { startLinearStandIn } from "../servers/linear/test/fixtures/linear-standin.ts";
import { createPerplexityServer } from "../servers/perplexity/src/server.ts";
import { startPerplexityStandIn } from "../servers/perplexity/test/fixtures/perplexity-standin.ts";

const linear = startLinearStandIn();
const perplexity = startPerplexityStandIn();
const stack = await startStack({
  servers: [
    createLinearServer({ apiUrl: linear.url, timeoutMs: 5_000 }),
    createPerplexityServer({ baseURL: perplexity.url, timeoutMs: 5_000 }),
    createDevtoolsServer(),
  ],
});

try {
  // The org's keys for the stand-ins, through the admin API (dev mode: the demo org's owner).
  for (const [server, value] of [
    ["linear", linear.apiKey],
    ["perplexity", perplexity.apiKey],
  ] as const) {
    const res = await fetch(`${stack.url}/api/services/${server}/secrets/apiKey`, {
      method: "PUT",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ value }),
    });
    if (!res.ok) throw new Error(`setting the ${server} key failed: HTTP ${res.status}`);
  }
  await stack.repos.bundles.create(DEMO_ORG_ID, "discover", { discovery: true });
  await stack.config.invalidate({ orgId: DEMO_ORG_ID, kinds: ["tools"] });

  /** A client that counts its requests and the characters of every response body it reads. */
  async function connect(path: string) {
    const stats = { calls: 0, chars: 0 };
    const counting: typeof fetch = Object.assign(
      async (input: RequestInfo | URL, init?: RequestInit) => {
        const res = await fetch(input, init);
        if (init?.method !== "POST") return res;
        // MCP requests (with an id), not notifications.
        if (typeof init.body === "string" && /"id":/.test(init.body)) stats.calls++;
        const body = await res.text();
        stats.chars += body.length;
        return new Response(body, { status: res.status, headers: res.headers });
      },
      { preconnect: fetch.preconnect },
    );
    const client = new Client({ name: "bench-discovery", version: "1.0.0" });
    await client.connect(
      new StreamableHTTPClientTransport(new URL(`${stack.url}${path}`), { fetch: counting }),
    );
    return { client, stats };
  }

  /** Every page of tools/list; the characters of the tools as JSON. */
  async function listAll(client: Client) {
    const tools: unknown[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const page = await client.listTools(cursor ? { cursor } : {});
      tools.push(...page.tools);
      cursor = page.nextCursor;
      pages++;
    } while (cursor);
    return { tools: tools.length, chars: JSON.stringify(tools).length, pages };
  }

  const steps = [
    { need: "list the teams of the issue tracker", tool: "linear_get_teams", args: {} },
    {
      need: "search issues by team and label",
      tool: "linear_search_issues",
      args: { team: "ENG", label: "bug" },
    },
    { need: "search the web for ranked links", tool: "perplexity_search", args: { query: "bun crash" } },
  ];
  const failed = (result: Record<string, unknown>, what: string) => {
    if (result.isError === true) throw new Error(`${what} failed: ${JSON.stringify(result)}`);
  };

  // Full catalogue: list once, call each tool.
  const full = await connect("/mcp");
  full.stats.calls = 0;
  full.stats.chars = 0;
  const fullList = await listAll(full.client);
  const fullListCalls = full.stats.calls;
  for (const step of steps)
    failed(await full.client.callTool({ name: step.tool, arguments: step.args }), step.tool);
  await full.client.close();

  // Discovery: list (two tools), then search and call for each step.
  const disc = await connect("/mcp/b/discover");
  disc.stats.calls = 0;
  disc.stats.chars = 0;
  const discList = await listAll(disc.client);
  let found = 0;
  for (const step of steps) {
    const search = await disc.client.callTool({
      name: "search_tools",
      arguments: { query: step.need, limit: 3 },
    });
    failed(search, `search_tools "${step.need}"`);
    const hits = (search.structuredContent as { tools: { name: string }[] }).tools.map((t) => t.name);
    // The scripted client takes the first hit that is the tool the task needs (its rank is reported).
    const rank = hits.indexOf(step.tool);
    if (rank < 0)
      throw new Error(`search_tools "${step.need}" did not find ${step.tool} in ${hits.join(", ")}`);
    if (rank === 0) found++;
    failed(
      await disc.client.callTool({ name: "call_tool", arguments: { name: step.tool, arguments: step.args } }),
      `call_tool ${step.tool}`,
    );
  }
  await disc.client.close();

  console.log("tools/list and one scripted task (3 tool calls), full catalogue vs discovery bundle:\n");
  console.table([
    {
      mode: "full catalogue (/mcp)",
      "tools listed": fullList.tools,
      "tools/list chars": fullList.chars,
      "task MCP requests": full.stats.calls,
      "task chars received": full.stats.chars,
    },
    {
      mode: "discovery (/mcp/b/discover)",
      "tools listed": discList.tools,
      "tools/list chars": discList.chars,
      "task MCP requests": disc.stats.calls,
      "task chars received": disc.stats.chars,
    },
  ]);
  console.log(
    `tools/list is ${((discList.chars / fullList.chars) * 100).toFixed(1)}% of the full catalogue's (${(fullList.chars / discList.chars).toFixed(1)}x smaller); ` +
      `the task takes ${disc.stats.calls} requests instead of ${full.stats.calls} (list pages: ${fullListCalls} vs ${discList.pages}); ` +
      `search_tools ranked the needed tool first ${found}/${steps.length} times.`,
  );
} finally {
  await stack.stop();
  await linear.stop();
  await perplexity.stop();
}
