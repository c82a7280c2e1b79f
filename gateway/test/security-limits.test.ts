import { afterAll, beforeAll, expect, test } from "bun:test";
import {
  type GatewayProcess,
  type ProcessWorld,
  startGatewayProcess,
  startProcessWorld,
} from "./fixtures/process.ts";
import { alphaServer } from "./fixtures/test-servers.ts";

/**
 * Issue 11 item 8: the admin API is rate limited like `/mcp` (per key and per org, Redis-shared): the
 * config routes (`/api/prompts|resources|services`) too, not only keys/members/audit.
 */
let world: ProcessWorld;
let gateway: GatewayProcess;

beforeAll(async () => {
  world = await startProcessWorld(alphaServer);
  gateway = await startGatewayProcess({
    ...world.env,
    REDIS_URL: process.env.REDIS_URL ?? "redis://127.0.0.1:6379",
    REDIS_PREFIX: `limits-${crypto.randomUUID().slice(0, 8)}:`,
    RATE_LIMIT_PER_KEY: "5",
    RATE_LIMIT_WINDOW_SECONDS: "3600",
  });
}, 90_000);

afterAll(async () => {
  await gateway?.stop();
  await world?.close();
}, 30_000);

test("every admin route takes from the key's bucket: past the limit, 429 with Retry-After in the one error shape", async () => {
  const get = (path: string) =>
    fetch(`${gateway.url}${path}`, { headers: { authorization: `Bearer ${world.ownerKey}` } });
  const statuses: number[] = [];
  for (const path of ["/api/prompts", "/api/resources", "/api/services", "/api/prompts", "/api/keys"]) {
    statuses.push((await get(path)).status);
  }
  expect(statuses).toEqual([200, 200, 200, 200, 200]);
  for (const path of ["/api/prompts", "/api/services", "/api/keys"]) {
    const refused = await get(path);
    expect(`${path} ${refused.status}`).toBe(`${path} 429`);
    expect(Number(refused.headers.get("retry-after"))).toBeGreaterThan(0);
    expect(await refused.json()).toMatchObject({ error: { code: "rate_limited" } });
  }
}, 30_000);
