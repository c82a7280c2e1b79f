import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Redis } from "ioredis";
import { RedisSessionBus } from "../src/mcp/session-bus.ts";
import { redisSentinelOptions } from "../src/redis.ts";

/**
 * Redis Sentinel accepted by configuration (issue 16): a real `redis-server` master and a real
 * `redis-server --sentinel` on this suite's ports; the gateway's options (REDIS_SENTINELS,
 * REDIS_SENTINEL_NAME, credentials from REDIS_URL) find the master through the sentinel, and the session
 * bus works over that client (shared state, pub/sub between two "replicas").
 */

const MASTER_PORT = 42610;
const SENTINEL_PORT = 42611;
const PASSWORD = "sentinel-test-secret";
let dir: string;
const procs: ReturnType<typeof Bun.spawn>[] = [];

async function waitForPing(port: number, password?: string): Promise<void> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    const client = new Redis({
      port,
      host: "127.0.0.1",
      lazyConnect: true,
      maxRetriesPerRequest: 0,
      ...(password ? { password } : {}),
    });
    client.on("error", () => {});
    try {
      await client.connect();
      if ((await client.ping()) === "PONG") return;
    } catch {
      if (Date.now() > deadline) throw new Error(`nothing answers on ${port}`);
      await Bun.sleep(100);
    } finally {
      client.disconnect();
    }
  }
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "omni-sentinel-"));
  procs.push(
    Bun.spawn(
      [
        "redis-server",
        "--port",
        String(MASTER_PORT),
        "--bind",
        "127.0.0.1",
        "--save",
        "",
        "--appendonly",
        "no",
        "--requirepass",
        PASSWORD,
        "--dir",
        dir,
      ],
      { stdout: "ignore", stderr: "ignore" },
    ),
  );
  await waitForPing(MASTER_PORT, PASSWORD);
  const conf = join(dir, "sentinel.conf");
  writeFileSync(
    conf,
    `port ${SENTINEL_PORT}
bind 127.0.0.1
dir ${dir}
sentinel monitor omni-test 127.0.0.1 ${MASTER_PORT} 1
sentinel auth-pass omni-test ${PASSWORD}
sentinel down-after-milliseconds omni-test 5000
`,
  );
  procs.push(Bun.spawn(["redis-server", conf, "--sentinel"], { stdout: "ignore", stderr: "ignore" }));
  await waitForPing(SENTINEL_PORT);
}, 30_000);

afterAll(async () => {
  for (const proc of procs) {
    proc.kill("SIGTERM");
    await proc.exited;
  }
  rmSync(dir, { recursive: true, force: true });
});

test("REDIS_SENTINELS and REDIS_SENTINEL_NAME: ioredis options, credentials and db from REDIS_URL", () => {
  expect(
    redisSentinelOptions({
      REDIS_SENTINELS: ["10.0.0.1:26379", "sentinel-b"],
      REDIS_SENTINEL_NAME: "main",
      REDIS_URL: "redis://omni:p%40ss@ignored:6379/3",
    }),
  ).toEqual({
    sentinels: [
      { host: "10.0.0.1", port: 26379 },
      { host: "sentinel-b", port: 26379 },
    ],
    name: "main",
    password: "p@ss",
    username: "omni",
    db: 3,
  });
  expect(() =>
    redisSentinelOptions({ REDIS_SENTINELS: ["host:99999"], REDIS_SENTINEL_NAME: "m", REDIS_URL: undefined }),
  ).toThrow("REDIS_SENTINELS");
});

test("through a real sentinel: the master is found and the session bus works over it", async () => {
  const options = redisSentinelOptions({
    REDIS_SENTINELS: [`127.0.0.1:${SENTINEL_PORT}`],
    REDIS_SENTINEL_NAME: "omni-test",
    REDIS_URL: `redis://:${PASSWORD}@ignored`,
  });
  const a = new Redis({ ...options, maxRetriesPerRequest: 2 });
  const b = new Redis({ ...options, maxRetriesPerRequest: 2 });
  try {
    expect(await a.ping()).toBe("PONG");
    // The client reached the master on its own port (asked the sentinel for it).
    expect((await a.info("server")).match(/tcp_port:(\d+)/)?.[1]).toBe(String(MASTER_PORT));
    const prefix = `sentinel-${crypto.randomUUID().slice(0, 8)}:`;
    const busA = new RedisSessionBus(a, prefix, { warn: () => {} });
    const busB = new RedisSessionBus(b, prefix, { warn: () => {} });
    await Promise.all([busA.ready, busB.ready]);
    const received = new Promise((resolve) => busB.onMessage(resolve));
    await busA.save("sid-1", { logLevel: "error", subscriptions: ["file:///x"] }, Date.now() + 60_000);
    expect(await received).toEqual({
      t: "state",
      sid: "sid-1",
      logLevel: "error",
      subscriptions: ["file:///x"],
    });
    expect(await busB.load("sid-1")).toEqual({
      revoked: false,
      logLevel: "error",
      subscriptions: ["file:///x"],
    });
    await busB.revoke("sid-1", Date.now() + 60_000);
    expect((await busA.load("sid-1")).revoked).toBe(true);
    await Promise.all([busA.close(), busB.close()]);
  } finally {
    a.disconnect();
    b.disconnect();
  }
}, 30_000);
