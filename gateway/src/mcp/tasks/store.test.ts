import { afterAll, describe, expect, test } from "bun:test";
import { Redis } from "ioredis";
import { MemoryTaskStore, RedisTaskStore, type TaskEvent, type TaskRecord, type TaskStore } from "./store.ts";

function task(orgId: string, taskId: string, ttlMs = 60_000): TaskRecord {
  const now = new Date().toISOString();
  return {
    taskId,
    orgId,
    owner: null,
    status: "working",
    createdAt: now,
    lastUpdatedAt: now,
    ttlMs,
    call: { name: "slow_compute", arguments: { seconds: 1 }, clientCapabilities: {} },
    inputResponses: {},
  };
}

async function until(check: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (check()) return;
    await Bun.sleep(10);
  }
  throw new Error(`timed out waiting for ${what}`);
}

const redis = new Redis("redis://127.0.0.1:6379", { lazyConnect: true, maxRetriesPerRequest: 1 });
const prefix = `omni-test-tasks-${crypto.randomUUID()}:`;
const stores: TaskStore[] = [];

afterAll(async () => {
  for (const store of stores) await store.close();
  const keys = await redis.keys(`${prefix}*`);
  if (keys.length > 0) await redis.del(...keys);
  redis.disconnect();
});

const kinds: [string, () => TaskStore][] = [
  ["memory", () => new MemoryTaskStore()],
  ["redis", () => new RedisTaskStore(redis, prefix)],
];

for (const [kind, make] of kinds) {
  describe(`${kind} task store`, () => {
    test("a task is found by its org only", async () => {
      const store = make();
      stores.push(store);
      await store.create(task("org-a", "t1"));
      expect((await store.get("org-a", "t1"))?.status).toBe("working");
      expect(await store.get("org-b", "t1")).toBeUndefined();
      expect(await store.get("org-a", "missing")).toBeUndefined();
    });

    test("updates apply until the task is terminal; a late change never overwrites a cancellation", async () => {
      const store = make();
      stores.push(store);
      await store.create(task("org-a", "t2"));
      const parked = await store.update("org-a", "t2", (t) => ({
        ...t,
        status: "input_required",
        inputRequests: { a: { method: "elicitation/create", params: {} } },
      }));
      expect(parked?.status).toBe("input_required");
      await store.update("org-a", "t2", (t) => ({ ...t, status: "cancelled" }));
      const late = await store.update("org-a", "t2", (t) => ({ ...t, status: "completed", result: {} }));
      expect(late?.status).toBe("cancelled");
      expect((await store.get("org-a", "t2"))?.result).toBeUndefined();
      expect(await store.update("org-b", "t2", (t) => t)).toBeUndefined();
    });

    test("concurrent updates are not lost", async () => {
      const store = make();
      stores.push(store);
      await store.create(task("org-a", "t5"));
      await Promise.all(
        Array.from({ length: 8 }, (_, i) =>
          store.update("org-a", "t5", (t) => ({
            ...t,
            inputResponses: { ...t.inputResponses, [`k${i}`]: i },
          })),
        ),
      );
      expect(Object.keys((await store.get("org-a", "t5"))?.inputResponses ?? {}).sort()).toEqual(
        Array.from({ length: 8 }, (_, i) => `k${i}`),
      );
    });

    test("a lease is held until released or until it lapses; leases are per org", async () => {
      const store = make();
      stores.push(store);
      expect(await store.leased("org-a", "l1")).toBe(false);
      await store.lease("org-a", "l1", 60_000);
      expect(await store.leased("org-a", "l1")).toBe(true);
      expect(await store.leased("org-b", "l1")).toBe(false);
      await store.release("org-a", "l1");
      expect(await store.leased("org-a", "l1")).toBe(false);
      await store.lease("org-a", "l2", 30);
      expect(await store.leased("org-a", "l2")).toBe(true);
      await Bun.sleep(80);
      expect(await store.leased("org-a", "l2")).toBe(false);
    });

    test("a task expires after its TTL", async () => {
      const store = make();
      stores.push(store);
      await store.create(task("org-a", "t3", 20));
      await Bun.sleep(60);
      expect(await store.get("org-a", "t3")).toBeUndefined();
    });
  });
}

test("a cancellation published on one Redis store reaches the listeners of another (another replica)", async () => {
  const a = new RedisTaskStore(redis, prefix);
  const b = new RedisTaskStore(redis, prefix);
  stores.push(a, b);
  const heard: TaskEvent[] = [];
  b.onEvent((event) => heard.push(event));
  // The subscription is asynchronous: publish until the other side has subscribed and heard it.
  await until(() => {
    void a.publish({ kind: "cancel", orgId: "org-a", taskId: "t4" });
    return heard.length > 0;
  }, "the cancellation on the other store");
  expect(heard[0]).toEqual({ kind: "cancel", orgId: "org-a", taskId: "t4" });
  // Foreign messages on the channel are ignored, not fatal.
  await redis.publish(`${prefix}task-events`, "not json");
  heard.length = 0;
  await until(() => {
    void a.publish({
      kind: "status",
      orgId: "org-a",
      owner: null,
      task: { taskId: "t4", status: "cancelled" },
    });
    return heard.some((event) => event.kind === "status");
  }, "the status on the other store");
  // (Late copies of the cancellation published above may arrive first.)
  expect(heard.find((event) => event.kind === "status")).toEqual({
    kind: "status",
    orgId: "org-a",
    owner: null,
    task: { taskId: "t4", status: "cancelled" },
  });
});
