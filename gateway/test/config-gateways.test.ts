import { afterAll, expect, test } from "bun:test";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { PromptListChangedNotificationSchema } from "@modelcontextprotocol/sdk/types.js";
import { DEMO_ORG_ID } from "@omni/db";
import type { RunningServer } from "@omni/kit";
import { newKey, openDatabase, openRedis } from "./config-fixtures.ts";
import { enableForDemoOrg, type Replica, serveQuietly, startReplica } from "./fixtures/replicas.ts";
import { alphaServer } from "./fixtures/test-servers.ts";

/**
 * Two gateway replicas over one Postgres and one Redis: a prompt edited through A's admin API is served
 * by B on the next request, and B's connected MCP client receives notifications/prompts/list_changed.
 */

const db = await openDatabase();
const { redis, prefix, cleanup } = openRedis();
const key = newKey();
await enableForDemoOrg(db.db, "alpha", "Alpha (test)");
const alpha: RunningServer = serveQuietly(alphaServer, { mcp: false });

function replica(): Promise<Replica> {
  return startReplica({
    db: db.db,
    instances: [{ server: "alpha", url: alpha.url }],
    config: { redis, secretKeys: [key], cache: { prefix } },
    admin: true,
  });
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
