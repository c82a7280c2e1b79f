import { afterAll, describe, expect, test } from "bun:test";
import { ConfigCache } from "../src/config/cache.ts";
import type { ConfigChange } from "../src/ports.ts";
import { openRedis, silentLogger } from "./config-fixtures.ts";

const { redis, prefix, cleanup } = openRedis();
const caches: ConfigCache[] = [];

function cache(opts: { prefix: string; size?: number; onChange?: (c: ConfigChange) => void }) {
  const c = new ConfigCache(
    { size: opts.size ?? 100, ttlMs: 60_000, l2TtlMs: 60_000, prefix: opts.prefix },
    redis,
    opts.onChange ?? (() => {}),
    silentLogger,
  );
  caches.push(c);
  return c;
}

const asNumber = (raw: unknown) => (typeof raw === "number" ? raw : undefined);

afterAll(async () => {
  for (const c of caches) await c.close();
  await cleanup();
});

describe("ConfigCache (L1 + Redis L2)", () => {
  test("a load that races a write never stores its stale value in L1 or L2", async () => {
    const c = cache({ prefix: `${prefix}race:` });
    let release!: () => void;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    let loads = 0;
    const slowStale = c.get(
      "org_1",
      "snapshot",
      async () => {
        loads++;
        await gate;
        return 1;
      },
      asNumber,
    );
    // Wait until the load has started (after its L2 miss and version read).
    for (let i = 0; i < 200 && loads === 0; i++) await Bun.sleep(5);
    expect(loads).toBe(1);
    await c.invalidate({ orgId: "org_1", kinds: ["prompts"] });
    release();
    expect(await slowStale).toBe(1);

    const fresh = await c.get(
      "org_1",
      "snapshot",
      async () => {
        loads++;
        return 2;
      },
      asNumber,
    );
    expect(fresh).toBe(2);
    expect(loads).toBe(2);
  });

  test("invalidation is per org and reaches other instances, not the writer's own listeners twice", async () => {
    const shared = `${prefix}orgs:`;
    const seenByA: ConfigChange[] = [];
    const seenByB: ConfigChange[] = [];
    const a = cache({ prefix: shared, onChange: (c) => seenByA.push(c) });
    const b = cache({ prefix: shared, onChange: (c) => seenByB.push(c) });
    await Promise.all([a.start(), b.start()]);
    let loads = 0;
    const load = (value: number) => async () => {
      loads++;
      return value;
    };
    await b.get("org_x", "f", load(1), asNumber);
    await b.get("org_y", "f", load(1), asNumber);
    await a.invalidate({ orgId: "org_x", kinds: ["resources"], uris: ["org://a"] });
    for (let i = 0; i < 200 && seenByB.length === 0; i++) await Bun.sleep(10);
    expect(seenByB).toEqual([{ orgId: "org_x", kinds: ["resources"], uris: ["org://a"] }]);
    expect(seenByA).toEqual([]);
    expect(await b.get("org_x", "f", load(2), asNumber)).toBe(2);
    expect(await b.get("org_y", "f", load(3), asNumber)).toBe(1);
    expect(loads).toBe(3);
  });

  test("the L1 is an LRU bounded by size", async () => {
    const c = cache({ prefix: `${prefix}lru:`, size: 2 });
    for (const org of ["a", "b", "c"]) await c.get(org, "f", async () => 1, asNumber);
    c.clearLocal();
    await c.get("a", "f", async () => 1, asNumber);
    await c.get("b", "f", async () => 1, asNumber);
    await c.get("a", "f", async () => 1, asNumber); // a is now the most recent
    await c.get("c", "f", async () => 1, asNumber); // evicts b
    const before = c.stats();
    await c.get("a", "f", async () => 1, asNumber);
    await c.get("b", "f", async () => 1, asNumber);
    const after = c.stats();
    expect(after.l1Hits - before.l1Hits).toBe(1);
    expect(after.l2Hits - before.l2Hits).toBe(1);
  });

  test("a malformed L2 entry is a miss, not a crash", async () => {
    const p = `${prefix}bad:`;
    const c = cache({ prefix: p });
    await redis.hset(`${p}config:org:org_bad`, "f", "{not json");
    expect(await c.get("org_bad", "f", async () => 7, asNumber)).toBe(7);
    await redis.hset(`${p}config:org:org_bad2`, "f", JSON.stringify("a string"));
    expect(await c.get("org_bad2", "f", async () => 8, asNumber)).toBe(8);
  });
});
