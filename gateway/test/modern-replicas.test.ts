import { afterAll, beforeAll, expect, test } from "bun:test";
import { Client, StreamableHTTPClientTransport } from "@modelcontextprotocol/client";
import { createRepositories, createTestDatabase, DEMO_ORG_ID } from "@omni/db";
import { type RunningServer, serve } from "@omni/kit";
import { createGateway } from "../src/app.ts";
import { createConfigService } from "../src/config/index.ts";
import { createDevAuthenticator } from "../src/mcp/dev-auth.ts";
import { defaultClientFactory, Registry } from "../src/registry/index.ts";
import { openRedis } from "./config-fixtures.ts";
import { modernServer } from "./fixtures/modern-server.ts";

/**
 * Two gateway replicas (each its own dispatcher, config service, registry and requestState sealer, built
 * from the same OMNI_STATE_KEY) in front of one database, one Redis (cross-replica invalidation) and one
 * domain server. A modern client's
 * requests alternate between them; nothing but the sealed requestState carries a round trip across.
 */

const quiet = { info: () => {}, warn: () => {}, error: () => {}, debug: () => {} };
const META = {
  "io.modelcontextprotocol/protocolVersion": "2026-07-28",
  "io.modelcontextprotocol/clientCapabilities": { elicitation: {} },
};

let database: NonNullable<Awaited<ReturnType<typeof createTestDatabase>>>;
let domain: RunningServer;
const redis = openRedis();
const replicas: {
  url: string;
  config: ReturnType<typeof createConfigService>;
  stop: () => Promise<void>;
  hits: number;
}[] = [];

beforeAll(async () => {
  process.env.OMNI_STATE_KEY ??= "cd".repeat(32);
  const created = await createTestDatabase("pglite", { seed: true });
  if (!created) throw new Error("PGlite test database unavailable");
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
  for (let i = 0; i < 2; i++) {
    const config = createConfigService({
      db: database.db,
      redis: redis.redis,
      cache: { prefix: redis.prefix },
      logger: quiet,
    });
    await config.ready;
    const registry = new Registry({
      instances: [{ server: modernServer.name, url: domain.url }],
      clientFactory: defaultClientFactory,
      healthIntervalMs: 1000,
      logger: quiet,
    });
    await registry.start();
    const app = createGateway({
      config,
      authenticator: createDevAuthenticator(DEMO_ORG_ID),
      registry,
      logger: quiet,
    }).listen({ port: 0, hostname: "127.0.0.1", idleTimeout: 0 });
    replicas.push({
      url: `http://127.0.0.1:${app.server?.port}`,
      config,
      hits: 0,
      stop: async () => {
        await app.stop(true);
        registry.stop();
        await config.close();
      },
    });
  }
}, 60_000);

afterAll(async () => {
  for (const replica of replicas) await replica.stop();
  await domain?.stop();
  await database?.close();
  await redis.cleanup();
});

/** A load balancer in a fetch: consecutive requests go to replica 0, 1, 0, 1, ... */
function roundRobin(): typeof fetch {
  let next = 0;
  const balanced = async (input: RequestInfo | URL, init?: RequestInit) => {
    const replica = replicas[next++ % replicas.length]!;
    replica.hits++;
    const original = new URL(input instanceof Request ? input.url : String(input));
    const target = new URL(original.pathname + original.search, replica.url);
    return fetch(target, init);
  };
  return balanced as typeof fetch;
}

test("a modern client alternating between two replicas: discover, list, call, elicitation round trip", async () => {
  const answers = [{ name: "Ada" }, { colour: "teal" }];
  const client = new Client(
    { name: "replicas", version: "1.0.0" },
    { capabilities: { elicitation: {} }, versionNegotiation: { mode: "auto" } },
  );
  client.setRequestHandler("elicitation/create", async () => {
    const next = answers.shift();
    if (!next) throw new Error("no more answers");
    return { action: "accept", content: next } as never;
  });
  await client.connect(
    new StreamableHTTPClientTransport(new URL(`${replicas[0]!.url}/mcp`), { fetch: roundRobin() }),
  );
  expect(client.getProtocolEra()).toBe("modern");
  for (let i = 0; i < 4; i++) {
    const { tools } = await client.listTools(undefined, { cacheMode: "bypass" });
    expect(tools.map((t) => t.name)).toContain("modern_greet");
    const echo = await client.callTool({ name: "modern_echo", arguments: { text: `n${i}` } });
    expect(echo.content).toEqual([{ type: "text", text: `echo: n${i}` }]);
  }
  const greet = await client.callTool({ name: "modern_greet", arguments: {} });
  expect(greet.content).toEqual([{ type: "text", text: "Hello, Ada (teal)!" }]);
  expect(answers).toEqual([]);
  expect(replicas[0]!.hits).toBeGreaterThan(3);
  expect(replicas[1]!.hits).toBeGreaterThan(3);
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
    body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/call", params: { _meta: META, ...params } }),
  });
  return (await res.json()) as Record<string, unknown>;
}

test("an input_required round trip started on one replica finishes on the other", async () => {
  const [a, b] = replicas as [(typeof replicas)[0], (typeof replicas)[0]];
  const first = (await call(a.url, { name: "modern_greet", arguments: { greeting: "Hey" } }))
    .result as Record<string, unknown>;
  expect(first.resultType).toBe("input_required");
  const [key1] = Object.keys(first.inputRequests as object);
  const second = (
    await call(b.url, {
      name: "modern_greet",
      arguments: { greeting: "Hey" },
      inputResponses: { [key1!]: { action: "accept", content: { name: "Bo" } } },
      requestState: first.requestState,
    })
  ).result as Record<string, unknown>;
  expect(second.resultType).toBe("input_required");
  const [key2] = Object.keys(second.inputRequests as object);
  const done = await call(a.url, {
    name: "modern_greet",
    arguments: { greeting: "Hey" },
    inputResponses: { [key2!]: { action: "accept", content: { colour: "gold" } } },
    requestState: second.requestState,
  });
  expect(done.result).toMatchObject({
    resultType: "complete",
    content: [{ type: "text", text: "Hey, Bo (gold)!" }],
  });
  const tampered = await call(b.url, {
    name: "modern_greet",
    arguments: { greeting: "Hey" },
    inputResponses: { [key2!]: { action: "accept", content: { colour: "gold" } } },
    requestState: `${String(second.requestState).slice(0, -4)}AAAA`,
  });
  expect(tampered.error).toMatchObject({ code: -32602 });
});

test("a configuration change made on one replica reaches a subscriptions/listen stream on the other", async () => {
  const [a, b] = replicas as [(typeof replicas)[0], (typeof replicas)[0]];
  const client = new Client(
    { name: "listener", version: "1.0.0" },
    { capabilities: {}, versionNegotiation: { mode: "auto" } },
  );
  const seen: string[] = [];
  client.setNotificationHandler("notifications/prompts/list_changed", () => {
    seen.push("prompts");
  });
  await client.connect(new StreamableHTTPClientTransport(new URL(`${b.url}/mcp`)));
  const subscription = await client.listen({ promptsListChanged: true });
  await a.config.invalidate({ orgId: DEMO_ORG_ID, kinds: ["prompts"] });
  for (let i = 0; i < 200 && seen.length === 0; i++) await Bun.sleep(25);
  expect(seen).toEqual(["prompts"]);
  await subscription.close();
  await client.close();
});
