import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import {
  createRepositories,
  createTestDatabase,
  type DbHandle,
  DEMO_ORG_ID,
  registerCatalogue,
} from "@omni/db";
import { defineTool, type RunningServer, type ServerDefinition, serverCapabilities } from "@omni/kit";
import * as v from "valibot";
import { InstanceFollower } from "../src/registry/instances.ts";
import { Gates, instanceServer, until } from "./fixtures/instance-server.ts";
import { type Replica, serveQuietly, startReplica } from "./fixtures/replicas.ts";

/**
 * `server_instances` followed live by the gateway: rows added, marked draining and deleted while the
 * gateway runs change where calls go, without a restart; a drained or deleted instance finishes the calls
 * it already has. Real kit servers on ephemeral loopback ports, a real database and the SDK v1 client.
 */

setDefaultTimeout(60_000);

const gates = new Gates();

/** The test server's instance `label` (with a prompt, so its catalogue has one to drop). */
function omega(label: string): ServerDefinition {
  return {
    ...instanceServer("omega", label, gates),
    prompts: [
      {
        name: "omega_greet_user",
        description: "Greets the user",
        messages: [{ role: "user", text: "Say hello." }],
      },
    ],
  };
}

let db: DbHandle;
let gateway: Replica;
let follower: InstanceFollower;
const running: RunningServer[] = [];
let client: Client;

const text = (result: unknown) =>
  ((result as { content: { type: string; text: string }[] }).content[0]?.text ?? "") as string;

beforeAll(async () => {
  db =
    (await createTestDatabase("postgres", { seed: true })) ??
    (await createTestDatabase("pglite", { seed: true }))!;
  // Health checks effectively off: only the follower adds and removes instances here.
  gateway = await startReplica({ db: db.db, instances: [], healthIntervalMs: 600_000 });
  const repos = createRepositories(db.db);
  follower = new InstanceFollower({
    registry: gateway.registry,
    load: () => repos.servers.listRoutes(),
    intervalMs: 100,
    drainMs: 20_000,
  });
  await follower.start();
  client = new Client({ name: "instances-live", version: "1.0.0" });
  await client.connect(new StreamableHTTPClientTransport(new URL(`${gateway.url}/mcp`)));
}, 120_000);

afterAll(async () => {
  gates.releaseAll();
  await client?.close();
  await follower?.stop();
  await gateway?.stop();
  await Promise.all(running.map((r) => r.stop().catch(() => {})));
  await db?.close();
});

const toolNames = async () => (await client.listTools()).tools.map((t) => t.name);

describe("server_instances followed live", () => {
  const repos = () => createRepositories(db.db);
  let a: RunningServer;
  let b: RunningServer;
  let rowA: string;
  let rowB: string;

  test("a row added while the gateway runs is discovered: its tools are callable, its catalogue is in", async () => {
    expect(await toolNames()).not.toContain("omega_name_instance");
    a = serveQuietly(omega("A"), { mcp: false });
    running.push(a);
    // What an operator's tool does: the server's catalogue entry, then the instance row.
    const { serverId } = await registerCatalogue(db.db, serverCapabilities(omega("A")));
    rowA = (await repos().servers.registerInstance(serverId, a.url)).id;

    await until("omega's tools", async () => (await toolNames()).includes("omega_name_instance"));
    expect(text(await client.callTool({ name: "omega_name_instance", arguments: {} }))).toBe("A");
    const prompts = (await client.listPrompts()).prompts.map((p) => p.name);
    expect(prompts).toContain("omega_greet_user");
  });

  test("a second row shares the load; marking one draining sends every new call to the other", async () => {
    b = serveQuietly(omega("B"), { mcp: false });
    running.push(b);
    rowB = (await repos().servers.registerInstance("srv_omega", b.url)).id;
    await until("two omega instances", () => gateway.registry.healthyInstances("omega").length === 2);
    // Both in service: calls reach both (least-outstanding routing with a call held on one of them).
    const g = gates.open("A");
    const h = gates.open("B");
    const held = [
      client.callTool({ name: "omega_hold_call", arguments: {} }),
      client.callTool({ name: "omega_hold_call", arguments: {} }),
    ];
    await until("one held call on each instance", () => g.started === 1 && h.started === 1);
    g.release();
    h.release();
    expect((await Promise.all(held)).map(text).sort()).toEqual(["A released", "B released"]);

    await repos().servers.setInstanceDraining(rowA, true);
    await until("A draining", () => gateway.registry.list().find((i) => i.url === a.url)?.draining);
    for (let i = 0; i < 6; i++) {
      expect(text(await client.callTool({ name: "omega_name_instance", arguments: {} }))).toBe("B");
    }
    // Back in service when the flag is cleared.
    await repos().servers.setInstanceDraining(rowA, false);
    await until("A back", () => gateway.registry.list().find((i) => i.url === a.url)?.draining === false);
  });

  test("a deleted row is drained: the call in flight on it finishes, then the instance is gone", async () => {
    // Only A in service, so the held call surely lands on A.
    await repos().servers.setInstanceDraining(rowB, true);
    await until("B draining", () => gateway.registry.list().find((i) => i.url === b.url)?.draining);
    const g = gates.open("A");
    const held = client.callTool({ name: "omega_hold_call", arguments: {} });
    await until("the held call on A", () => g.started === 1);
    await repos().servers.setInstanceDraining(rowB, false);

    await repos().servers.removeInstance(rowA);
    // No new calls for A at once; it stays in the registry while its call runs.
    await until(
      "A draining after its row was deleted",
      () => gateway.registry.list().find((i) => i.url === a.url)?.draining,
    );
    for (let i = 0; i < 3; i++) {
      expect(text(await client.callTool({ name: "omega_name_instance", arguments: {} }))).toBe("B");
    }
    expect(gateway.registry.list().some((i) => i.url === a.url)).toBe(true);
    g.release();
    expect(text(await held)).toBe("A released");
    await follower.settled();
    expect(gateway.registry.list().some((i) => i.url === a.url)).toBe(false);
  });

  test("deleting the last row takes the server's tools away (clients are told the list changed)", async () => {
    let changed = 0;
    client.setNotificationHandler(
      (await import("@modelcontextprotocol/sdk/types.js")).ToolListChangedNotificationSchema,
      () => {
        changed++;
      },
    );
    await repos().servers.removeInstance(rowB);
    await until("omega's tools gone", async () => !(await toolNames()).includes("omega_name_instance"));
    await follower.settled();
    expect(gateway.registry.list().filter((i) => i.server === "omega")).toEqual([]);
    const called = await client.callTool({ name: "omega_name_instance", arguments: {} }).then(
      (r) => JSON.stringify(r),
      (e: Error) => e.message,
    );
    expect(called).toMatch(/omega_name_instance|not found|Unknown tool/i);
    await until("tools/list_changed", () => changed > 0);
  });
});

describe("catalogue registration by racing replicas", () => {
  test("two gateways discovering a new server at once write one catalogue entry the demo org sees", async () => {
    const server = serveQuietly(
      {
        ...omega("R"),
        name: "sigma",
        title: "Sigma",
        tools: [
          defineTool({
            name: "sigma_ping_server",
            description: "pong",
            input: v.object({}),
            handler: () => "pong",
          }),
        ],
        prompts: [{ name: "sigma_check_status", messages: [{ role: "user", text: "Check." }] }],
      },
      { mcp: false },
    );
    running.push(server);
    const [one, two] = await Promise.all(
      [0, 1].map(() =>
        startReplica({
          db: db.db,
          instances: [{ server: "sigma", url: server.url }],
          healthIntervalMs: 600_000,
        }),
      ),
    );
    try {
      const repos = createRepositories(db.db);
      expect((await repos.servers.getByName("sigma"))?.title).toBe("Sigma");
      expect((await repos.prompts.listDefaults(["srv_sigma"])).map((p) => p.name)).toEqual([
        "sigma_check_status",
      ]);
      expect((await repos.services.get(DEMO_ORG_ID, "srv_sigma"))?.enabled).toBe(true);
      for (const replica of [one!, two!]) {
        const c = new Client({ name: "race", version: "1.0.0" });
        await c.connect(new StreamableHTTPClientTransport(new URL(`${replica.url}/mcp`)));
        expect(text(await c.callTool({ name: "sigma_ping_server", arguments: {} }))).toBe("pong");
        expect((await c.listPrompts()).prompts.map((p) => p.name)).toContain("sigma_check_status");
        await c.close();
      }
    } finally {
      await one?.stop();
      await two?.stop();
    }
  });
});
