import { afterAll, beforeAll, expect, test } from "bun:test";
import { Client, StreamableHTTPClientTransport } from "@modelcontextprotocol/client";
import { createTestDatabase, DEMO_ORG_ID } from "@omni/db";
import type { RunningServer } from "@omni/kit";
import { openRedis } from "./config-fixtures.ts";
import { modernServer } from "./fixtures/modern-server.ts";
import {
  modernToolCall as call,
  elicitingClient,
  enableForDemoOrg,
  type Replica,
  roundRobin,
  serveQuietly,
  startReplica,
} from "./fixtures/replicas.ts";

/**
 * Two gateway replicas (each its own dispatcher, config service, registry and requestState sealer, built
 * from the same OMNI_STATE_KEY) in front of one database, one Redis (cross-replica invalidation) and one
 * domain server. A modern client's
 * requests alternate between them; nothing but the sealed requestState carries a round trip across.
 */

let database: NonNullable<Awaited<ReturnType<typeof createTestDatabase>>>;
let domain: RunningServer;
const redis = openRedis();
const replicas: (Replica & { hits: number })[] = [];

beforeAll(async () => {
  const created = await createTestDatabase("pglite", { seed: true });
  if (!created) throw new Error("PGlite test database unavailable");
  database = created;
  domain = serveQuietly(modernServer, { mcp: false });
  await enableForDemoOrg(database.db, modernServer.name);
  for (let i = 0; i < 2; i++) {
    const replica = await startReplica({
      db: database.db,
      instances: [{ server: modernServer.name, url: domain.url }],
      config: { redis: redis.redis, cache: { prefix: redis.prefix } },
      keys: { OMNI_STATE_KEY: "cd".repeat(32) },
    });
    replicas.push({ ...replica, hits: 0 });
  }
}, 60_000);

afterAll(async () => {
  for (const replica of replicas) await replica.stop();
  await domain?.stop();
  await database?.close();
  await redis.cleanup();
});

test("a modern client alternating between two replicas: discover, list, call, elicitation round trip", async () => {
  const answers = [{ name: "Ada" }, { colour: "teal" }];
  const client = elicitingClient("replicas", answers);
  await client.connect(
    new StreamableHTTPClientTransport(new URL(`${replicas[0]!.url}/mcp`), { fetch: roundRobin(replicas) }),
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
