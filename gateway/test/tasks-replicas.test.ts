import { afterAll, beforeAll, expect, test } from "bun:test";
import { createTestDatabase } from "@omni/db";
import { defineTool, type RunningServer, type ServerDefinition } from "@omni/kit";
import * as v from "valibot";
import { RedisTaskStore } from "../src/mcp/tasks/store.ts";
import { openRedis } from "./config-fixtures.ts";
import {
  enableForDemoOrg,
  modernRequest,
  type Replica,
  serveQuietly,
  startReplica,
} from "./fixtures/replicas.ts";

/**
 * Tasks across two gateway replicas sharing one Redis (each with its own RedisTaskStore on the same
 * prefix): a task created on one is read, cancelled or completed through the other, and a cancellation
 * sent to the replica that does not run the task aborts the upstream call on the one that does.
 */

const TASKS = "io.modelcontextprotocol/tasks";
const aborted = new Set<string>();
const server: ServerDefinition = {
  name: "tasks-replicas",
  version: "1.0.0",
  tools: [
    defineTool({
      name: "tasks_replica_wait",
      description: "Waits `ms` (0: until cancelled), recording a cancellation",
      input: v.object({ label: v.string(), ms: v.number() }),
      taskSupport: "optional",
      handler: (args, ctx) =>
        new Promise<string>((resolve, reject) => {
          if (args.ms > 0) setTimeout(() => resolve(`waited ${args.label}`), args.ms);
          ctx.signal.addEventListener("abort", () => {
            aborted.add(args.label);
            reject(ctx.signal.reason);
          });
        }),
    }),
  ],
};

let database: NonNullable<Awaited<ReturnType<typeof createTestDatabase>>>;
let domain: RunningServer;
const redis = openRedis();
const replicas: Replica[] = [];
const stores: RedisTaskStore[] = [];
async function rpc(replica: Replica, method: string, params: Record<string, unknown>) {
  const { body } = await modernRequest(replica.url, method, params, {
    meta: {
      "io.modelcontextprotocol/protocolVersion": "2026-07-28",
      "io.modelcontextprotocol/clientCapabilities": { extensions: { [TASKS]: {} } },
    },
  });
  const result = body.result as Record<string, unknown> | undefined;
  if (!result) throw new Error(`${method} failed: ${JSON.stringify(body.error)}`);
  return result;
}

beforeAll(async () => {
  const created = await createTestDatabase("pglite", { seed: true });
  if (!created) throw new Error("PGlite test database unavailable");
  database = created;
  domain = serveQuietly(server, { mcp: false });
  await enableForDemoOrg(database.db, server.name);
  for (let i = 0; i < 2; i++) {
    const taskStore = new RedisTaskStore(redis.redis, redis.prefix);
    stores.push(taskStore);
    replicas.push(
      await startReplica({
        db: database.db,
        instances: [{ server: server.name, url: domain.url }],
        config: { redis: redis.redis, cache: { prefix: redis.prefix } },
        taskStore,
      }),
    );
  }
}, 60_000);

afterAll(async () => {
  for (const replica of replicas) await replica.stop();
  await domain?.stop();
  await database?.close();
  await redis.cleanup();
});

test("a task created on one replica completes and is read through the other", async () => {
  const [a, b] = replicas as [Replica, Replica];
  const created = await rpc(a, "tools/call", {
    name: "tasks_replica_wait",
    arguments: { label: "done", ms: 100 },
  });
  expect(created.resultType).toBe("task");
  expect((await rpc(b, "tasks/get", { taskId: created.taskId })).taskId).toBe(created.taskId);
  let task = await rpc(b, "tasks/get", { taskId: created.taskId });
  for (let i = 0; i < 200 && task.status === "working"; i++) {
    await Bun.sleep(25);
    task = await rpc(b, "tasks/get", { taskId: created.taskId });
  }
  expect(task.status).toBe("completed");
  expect(task.result).toMatchObject({ content: [{ type: "text", text: "waited done" }] });
});

test("tasks/cancel on the other replica aborts the upstream call where the task runs", async () => {
  const [a, b] = replicas as [Replica, Replica];
  const created = await rpc(a, "tools/call", {
    name: "tasks_replica_wait",
    arguments: { label: "cancel-remote", ms: 0 },
  });
  expect((await rpc(b, "tasks/cancel", { taskId: created.taskId })).resultType).toBe("complete");
  expect((await rpc(a, "tasks/get", { taskId: created.taskId })).status).toBe("cancelled");
  for (let i = 0; i < 200 && !aborted.has("cancel-remote"); i++) await Bun.sleep(25);
  expect(aborted.has("cancel-remote")).toBe(true);
});
