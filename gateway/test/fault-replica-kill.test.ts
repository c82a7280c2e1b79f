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
 * A fault test (issue 11, Proof): two gateway processes on one Postgres and Redis behind a round-robin
 * balancer that skips a replica it cannot reach; one is SIGKILLed mid-run. The other keeps serving
 * stateless (2026-07-28) requests and the admin API, and its answers do not change.
 */
let world: ProcessWorld;
const gateways: GatewayProcess[] = [];

beforeAll(async () => {
  world = await startProcessWorld(alphaServer);
  const env = {
    ...world.env,
    REDIS_URL: process.env.REDIS_URL ?? "redis://127.0.0.1:6379",
    REDIS_PREFIX: `kill-${crypto.randomUUID().slice(0, 8)}:`,
  };
  gateways.push(...(await Promise.all([startGatewayProcess(env), startGatewayProcess(env)])));
}, 90_000);

afterAll(async () => {
  for (const gateway of gateways) await gateway.stop();
  await world?.close();
}, 30_000);

let next = 0;
/** A balancer: the next replica in turn, skipping one whose connection is refused (as HAProxy would). */
async function balanced(path: string, init: RequestInit): Promise<{ replica: number; res: Response }> {
  for (let attempt = 0; attempt < gateways.length; attempt++) {
    const replica = next++ % gateways.length;
    try {
      return { replica, res: await fetch(`${gateways[replica]!.url}${path}`, init) };
    } catch {
      // connection refused: try the next replica
    }
  }
  throw new Error("no replica answered");
}

/** A stateless `alpha_echo` call with the owner's key and no client capabilities. */
function echo(text: string): RequestInit {
  return modernInit(
    "tools/call",
    { name: "alpha_echo", arguments: { text } },
    { bearer: world.ownerKey, meta: BARE_META },
  );
}

test("one of two replicas is killed: the other keeps serving stateless requests", async () => {
  const served = new Set<number>();
  for (let i = 0; i < 4; i++) {
    const { replica, res } = await balanced("/mcp", echo(`before ${i}`));
    expect(await res.text()).toContain(`alpha says before ${i}`);
    served.add(replica);
  }
  expect(served).toEqual(new Set([0, 1]));

  gateways[0]!.proc.kill("SIGKILL");
  await gateways[0]!.proc.exited;
  expect(gateways[0]!.alive()).toBe(false);

  for (let i = 0; i < 6; i++) {
    const { replica, res } = await balanced("/mcp", echo(`after ${i}`));
    expect(replica).toBe(1);
    expect(await res.text()).toContain(`alpha says after ${i}`);
  }
  const keys = await balanced("/api/keys", { headers: { authorization: `Bearer ${world.ownerKey}` } });
  expect(keys.res.status).toBe(200);
  expect((await fetch(`${gateways[1]!.url}/ready`)).status).toBe(200);
  expect(gateways[1]!.alive()).toBe(true);
}, 60_000);
