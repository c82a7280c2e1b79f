import { afterAll, expect, test } from "bun:test";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { PromptListChangedNotificationSchema } from "@modelcontextprotocol/sdk/types.js";
import { createRepositories, DEMO_ORG_ID } from "@omni/db";
import { type RunningServer, serve } from "@omni/kit";
import { adminConfigRoutes } from "../src/admin/index.ts";
import { createGateway } from "../src/app.ts";
import { type ConfigServiceImpl, createConfigService } from "../src/config/index.ts";
import { createDevAuthenticator } from "../src/mcp/dev-auth.ts";
import { defaultClientFactory, Registry } from "../src/registry/index.ts";
import { newKey, openDatabase, openRedis, silentLogger } from "./config-fixtures.ts";
import { alphaServer } from "./fixtures/test-servers.ts";

/**
 * Two gateway replicas over one Postgres and one Redis: a prompt edited through A's admin API is served
 * by B on the next request, and B's connected MCP client receives notifications/prompts/list_changed.
 */

const db = await openDatabase();
const { redis, prefix, cleanup } = openRedis();
const key = newKey();
const repos = createRepositories(db.db);
const alphaRow = await repos.servers.upsert({ name: "alpha", title: "Alpha (test)" });
await repos.services.upsert(DEMO_ORG_ID, alphaRow.id, { enabled: true });

const originalLog = console.log;
console.log = () => {};
const alpha: RunningServer = serve(alphaServer, { port: 0, hostname: "127.0.0.1", mcp: false });
console.log = originalLog;

interface Replica {
  url: string;
  config: ConfigServiceImpl;
  stop(): Promise<void>;
}

async function replica(): Promise<Replica> {
  const config = createConfigService({
    db: db.db,
    redis,
    secretKeys: [key],
    cache: { prefix },
    logger: silentLogger,
  });
  await config.ready;
  const registry = new Registry({
    instances: [{ server: "alpha", url: alpha.url }],
    clientFactory: defaultClientFactory,
    healthIntervalMs: 1000,
    logger: silentLogger,
  });
  await registry.start();
  const app = createGateway({
    config,
    authenticator: createDevAuthenticator(DEMO_ORG_ID),
    registry,
    logger: silentLogger,
    plugins: [
      adminConfigRoutes({
        db: db.db,
        config,
        codePrompts: () => registry.capabilities.codePrompts,
        logger: silentLogger,
      }),
    ],
  }).listen({ port: 0, hostname: "127.0.0.1", idleTimeout: 0 });
  return {
    url: `http://127.0.0.1:${app.server?.port}`,
    config,
    async stop() {
      await app.stop(true);
      registry.stop();
      await config.close();
    },
  };
}

const a = await replica();
const b = await replica();

afterAll(async () => {
  await a.stop();
  await b.stop();
  await alpha.stop();
  await cleanup();
  await db.close();
});

async function until(check: () => boolean | Promise<boolean>, what: string): Promise<void> {
  for (let i = 0; i < 400; i++) {
    if (await check()) return;
    await Bun.sleep(25);
  }
  throw new Error(`timed out waiting for ${what}`);
}

test("a prompt edited through gateway A is served by B, and B's client gets prompts/list_changed", async () => {
  const client = new Client({ name: "config-replicas", version: "1.0.0" });
  await client.connect(new StreamableHTTPClientTransport(new URL(`${b.url}/mcp`)));
  let notified = 0;
  client.setNotificationHandler(PromptListChangedNotificationSchema, () => {
    notified++;
  });

  const before = await client.getPrompt({ name: "alpha_greet", arguments: { who: "world" } });
  expect(before.messages[0]?.content).toEqual({ type: "text", text: "Say hello to world." });

  // The SDK opens its GET stream after initialization: wait until B's own changes reach the client.
  await until(async () => {
    await b.config.invalidate({ orgId: DEMO_ORG_ID, kinds: ["prompts"] });
    return notified > 0;
  }, "B's GET stream");
  notified = 0;

  // The edit goes through A's admin API (HTTP); nothing is sent to B directly.
  const response = await fetch(`${a.url}/api/prompts/defaults/alpha/alpha_greet`, {
    method: "PUT",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ messages: [{ role: "user", text: "Greet {{who}} warmly, from replica A." }] }),
  });
  expect(response.status).toBe(200);
  expect(await response.json()).toMatchObject({ source: "override", server: "alpha" });

  await until(() => notified > 0, "notifications/prompts/list_changed on B");
  const after = await client.getPrompt({ name: "alpha_greet", arguments: { who: "team" } });
  expect(after.messages[0]?.content).toEqual({ type: "text", text: "Greet team warmly, from replica A." });

  // Argument validation reaches the client as invalid params naming the argument.
  await expect(client.getPrompt({ name: "alpha_greet", arguments: { who: "everyone" } })).rejects.toThrow(
    /who/,
  );
  await client.close();
});
