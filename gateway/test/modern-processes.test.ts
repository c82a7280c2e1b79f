import { afterAll, beforeAll, expect, test } from "bun:test";
import { Client, StreamableHTTPClientTransport } from "@modelcontextprotocol/client";
import { createRepositories, createTestDatabase, DEMO_ORG_ID } from "@omni/db";
import { type RunningServer, serve } from "@omni/kit";
import { modernServer } from "./fixtures/modern-server.ts";

/**
 * Two gateway processes (the real entry point, `gateway/src/index.ts`) on one Postgres database, sharing
 * OMNI_STATE_KEY, in front of one domain server. A modern client's consecutive requests alternate between
 * them; an input_required round trip started on one finishes on the other.
 */

const entry = new URL("../src/index.ts", import.meta.url).pathname;
const META = {
  "io.modelcontextprotocol/protocolVersion": "2026-07-28",
  "io.modelcontextprotocol/clientCapabilities": { elicitation: {} },
};

let database: NonNullable<Awaited<ReturnType<typeof createTestDatabase>>>;
let domain: RunningServer;
const gateways: { url: string; proc: ReturnType<typeof Bun.spawn>; hits: number }[] = [];

/** Starts one gateway process and resolves with its URL once it listens. */
async function startGateway(
  env: Record<string, string>,
): Promise<{ url: string; proc: ReturnType<typeof Bun.spawn> }> {
  const proc = Bun.spawn(["bun", entry], {
    env: { ...process.env, ...env },
    stdout: "pipe",
    stderr: "pipe",
  });
  const reader = proc.stdout.getReader();
  const decoder = new TextDecoder();
  let seen = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done)
      throw new Error(`gateway exited before listening: ${seen}${await new Response(proc.stderr).text()}`);
    seen += decoder.decode(value, { stream: true });
    const match = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(seen);
    if (match?.[1]) {
      reader.releaseLock();
      void proc.stdout.cancel().catch(() => {});
      return { url: match[1], proc };
    }
  }
}

beforeAll(async () => {
  const created = await createTestDatabase("postgres", { seed: true });
  if (!created?.url) throw new Error("Postgres at 127.0.0.1:5432 is required for this test");
  database = created;
  const repos = createRepositories(database.db);
  const original = console.log;
  console.log = () => {};
  try {
    domain = serve(modernServer, { port: 0, hostname: "127.0.0.1", mcp: false });
  } finally {
    console.log = original;
  }
  const row = await repos.servers.upsert({ name: modernServer.name, title: modernServer.name });
  await repos.services.upsert(DEMO_ORG_ID, row.id, { enabled: true });
  const env = {
    PORT: "0",
    HOST: "127.0.0.1",
    DATABASE_URL: created.url,
    SERVERS: `${modernServer.name}=${domain.url}`,
    OMNI_DEV_MODE: "1",
    OMNI_STATE_KEY: "ef".repeat(32),
  };
  for (const started of await Promise.all([startGateway(env), startGateway(env)])) {
    gateways.push({ ...started, hits: 0 });
  }
}, 90_000);

afterAll(async () => {
  for (const gateway of gateways) {
    gateway.proc.kill();
    await gateway.proc.exited;
  }
  await domain?.stop();
  await database?.close();
});

/** A load balancer in a fetch: consecutive requests go to gateway 0, 1, 0, 1, ... */
function roundRobin(): typeof fetch {
  let next = 0;
  const balanced = async (input: RequestInfo | URL, init?: RequestInit) => {
    const gateway = gateways[next++ % gateways.length]!;
    gateway.hits++;
    const original = new URL(input instanceof Request ? input.url : String(input));
    return fetch(new URL(original.pathname + original.search, gateway.url), init);
  };
  return balanced as typeof fetch;
}

test("a modern client's requests alternate between two gateway processes without errors", async () => {
  const answers = [{ name: "Ada" }, { colour: "teal" }];
  const client = new Client(
    { name: "processes", version: "1.0.0" },
    { capabilities: { elicitation: {} }, versionNegotiation: { mode: "auto" } },
  );
  client.setRequestHandler("elicitation/create", async () => {
    const next = answers.shift();
    if (!next) throw new Error("no more answers");
    return { action: "accept", content: next } as never;
  });
  await client.connect(
    new StreamableHTTPClientTransport(new URL(`${gateways[0]!.url}/mcp`), { fetch: roundRobin() }),
  );
  expect(client.getProtocolEra()).toBe("modern");
  for (let i = 0; i < 4; i++) {
    const { tools } = await client.listTools(undefined, { cacheMode: "bypass" });
    expect(tools.map((t) => t.name)).toContain("modern_echo");
    const echo = await client.callTool({ name: "modern_echo", arguments: { text: `p${i}` } });
    expect(echo.content).toEqual([{ type: "text", text: `echo: p${i}` }]);
  }
  const greet = await client.callTool({ name: "modern_greet", arguments: {} });
  expect(greet.content).toEqual([{ type: "text", text: "Hello, Ada (teal)!" }]);
  expect(gateways[0]!.hits).toBeGreaterThan(3);
  expect(gateways[1]!.hits).toBeGreaterThan(3);
  await client.close();
});

async function call(url: string, params: Record<string, unknown>): Promise<Record<string, unknown>> {
  const res = await fetch(`${url}/mcp`, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      accept: "application/json, text/event-stream",
      "mcp-protocol-version": "2026-07-28",
      "mcp-method": "tools/call",
      "mcp-name": String(params.name),
    },
    body: JSON.stringify({ jsonrpc: "2.0", id: 7, method: "tools/call", params: { _meta: META, ...params } }),
  });
  return (await res.json()) as Record<string, unknown>;
}

test("an input_required round trip started on one process finishes on the other; tampering is refused", async () => {
  const [a, b] = gateways as [(typeof gateways)[0], (typeof gateways)[0]];
  const first = (await call(a.url, { name: "modern_greet", arguments: {} })).result as Record<
    string,
    unknown
  >;
  expect(first.resultType).toBe("input_required");
  const [key1] = Object.keys(first.inputRequests as object);
  const second = (
    await call(b.url, {
      name: "modern_greet",
      arguments: {},
      inputResponses: { [key1!]: { action: "accept", content: { name: "Cy" } } },
      requestState: first.requestState,
    })
  ).result as Record<string, unknown>;
  const [key2] = Object.keys(second.inputRequests as object);
  const answer = { [key2!]: { action: "accept", content: { colour: "plum" } } };
  const tampered = await call(a.url, {
    name: "modern_greet",
    arguments: {},
    inputResponses: answer,
    requestState: `${String(second.requestState)}x`,
  });
  expect(tampered.error).toMatchObject({ code: -32602 });
  const done = await call(a.url, {
    name: "modern_greet",
    arguments: {},
    inputResponses: answer,
    requestState: second.requestState,
  });
  expect(done.result).toMatchObject({
    resultType: "complete",
    content: [{ type: "text", text: "Hello, Cy (plum)!" }],
  });
});
