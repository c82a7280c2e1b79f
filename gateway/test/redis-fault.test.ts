import { afterAll, beforeAll, expect, test } from "bun:test";
import {
  type GatewayProcess,
  type ProcessWorld,
  startGatewayProcess,
  startProcessWorld,
} from "./fixtures/process.ts";
import { BARE_META, modernInit } from "./fixtures/replicas.ts";
import { alphaServer } from "./fixtures/test-servers.ts";

/**
 * Issue 11 item 10, a fault test: a gateway process on its own redis-server (started by this test on a
 * free loopback port), which is stopped mid-run and started again. While Redis is down, authenticated
 * requests are 503 `dependency_unavailable` (not 401), `/ready` is 503, the process logs no unhandled
 * ioredis error and stays up; once Redis is back, everything recovers without a restart.
 */

let world: ProcessWorld;
let gateway: GatewayProcess;
let redis: ReturnType<typeof Bun.spawn> | undefined;
let port = 0;

async function freePort(): Promise<number> {
  const probe = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
  const chosen = probe.port;
  probe.stop(true);
  return chosen;
}

async function startRedis(): Promise<void> {
  redis = Bun.spawn(
    ["redis-server", "--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
    {
      stdout: "ignore",
      stderr: "ignore",
    },
  );
  for (let i = 0; i < 200; i++) {
    const up = await Bun.connect({ hostname: "127.0.0.1", port, socket: { data() {} } }).then(
      (socket) => {
        socket.end();
        return true;
      },
      () => false,
    );
    if (up) return;
    await Bun.sleep(25);
  }
  throw new Error("redis-server did not start");
}

async function stopRedis(): Promise<void> {
  redis?.kill("SIGTERM");
  await redis?.exited;
  redis = undefined;
}

beforeAll(async () => {
  port = await freePort();
  await startRedis();
  world = await startProcessWorld(alphaServer);
  gateway = await startGatewayProcess({
    ...world.env,
    REDIS_URL: `redis://127.0.0.1:${port}`,
    REDIS_PREFIX: `fault-${crypto.randomUUID().slice(0, 8)}:`,
  });
}, 90_000);

afterAll(async () => {
  await gateway?.stop();
  await stopRedis();
  await world?.close();
}, 30_000);

const keys = () =>
  fetch(`${gateway.url}/api/keys`, { headers: { authorization: `Bearer ${world.ownerKey}` } });
const prompts = () =>
  fetch(`${gateway.url}/api/prompts`, { headers: { authorization: `Bearer ${world.ownerKey}` } });
const toolCall = () =>
  fetch(
    `${gateway.url}/mcp`,
    modernInit(
      "tools/call",
      { name: "alpha_echo", arguments: { text: "through redis" } },
      { bearer: world.ownerKey, meta: BARE_META },
    ),
  );

/** Polls until `check` holds (each attempt a real request), at most `attempts` times. */
async function eventually(check: () => Promise<boolean>, attempts = 200): Promise<boolean> {
  for (let i = 0; i < attempts; i++) {
    if (await check()) return true;
    await Bun.sleep(100);
  }
  return false;
}

test("Redis down: 503 dependency_unavailable and /ready 503; back up: automatic recovery", async () => {
  expect((await keys()).status).toBe(200);
  expect(await (await toolCall()).text()).toContain("alpha says through redis");
  expect((await fetch(`${gateway.url}/ready`)).status).toBe(200);

  await stopRedis();
  expect(await eventually(async () => (await fetch(`${gateway.url}/ready`)).status === 503)).toBe(true);
  const ready = await fetch(`${gateway.url}/ready`);
  expect(await ready.json()).toMatchObject({ ready: false, message: expect.stringContaining("redis") });
  const down = await keys();
  expect(down.status).toBe(503);
  expect(await down.json()).toMatchObject({ error: { code: "dependency_unavailable" } });
  const config = await prompts();
  expect(config.status).toBe(503);
  expect(await config.json()).toMatchObject({ error: { code: "dependency_unavailable" } });
  const mcp = await toolCall();
  expect(mcp.status).toBe(503);
  expect((await fetch(`${gateway.url}/health`)).status).toBe(200);
  expect(gateway.alive()).toBe(true);

  await startRedis();
  expect(await eventually(async () => (await keys()).status === 200)).toBe(true);
  expect((await fetch(`${gateway.url}/ready`)).status).toBe(200);
  expect(await (await toolCall()).text()).toContain("alpha says through redis");
  expect(gateway.alive()).toBe(true);
  expect(gateway.output()).not.toContain("Unhandled error event");
}, 60_000);
