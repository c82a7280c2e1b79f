import { afterAll, beforeAll, expect, test } from "bun:test";
import { defineTool } from "@omni/kit";
import * as v from "valibot";
import {
  type GatewayProcess,
  type ProcessWorld,
  startGatewayProcess,
  startProcessWorld,
} from "./fixtures/process.ts";
import { BARE_META, modernInit, modernRequest } from "./fixtures/replicas.ts";
import { alphaServer } from "./fixtures/test-servers.ts";

/**
 * A fault test (issue 11, Proof): two gateway processes on one Postgres and Redis behind a round-robin
 * balancer that skips a replica it cannot reach; one is SIGKILLed mid-run. The other keeps serving
 * stateless (2026-07-28) requests and the admin API, and its answers do not change.
 */
let world: ProcessWorld;
let env: Record<string, string>;
const gateways: GatewayProcess[] = [];
/** Gateways of the task test (started and killed there). */
const taskGateways: GatewayProcess[] = [];

/** `alpha_job` runs as a task and waits until cancelled, recording when it starts and when it is aborted. */
const job = { started: false, aborted: false };
const server = {
  ...alphaServer,
  tools: [
    ...alphaServer.tools,
    defineTool({
      name: "alpha_job",
      description: "Runs as a task (for clients that support them) until cancelled",
      input: v.object({}),
      taskSupport: "optional",
      handler: (_args, ctx) =>
        new Promise<string>((_resolve, reject) => {
          job.started = true;
          ctx.signal.addEventListener("abort", () => {
            job.aborted = true;
            reject(ctx.signal.reason);
          });
        }),
    }),
  ],
};

beforeAll(async () => {
  world = await startProcessWorld(server);
  env = {
    ...world.env,
    REDIS_URL: process.env.REDIS_URL ?? "redis://127.0.0.1:6379",
    REDIS_PREFIX: `kill-${crypto.randomUUID().slice(0, 8)}:`,
    TASK_LEASE_MS: "1500",
    METRICS_TOKEN: "kill-metrics",
  };
  gateways.push(...(await Promise.all([startGatewayProcess(env), startGatewayProcess(env)])));
}, 90_000);

afterAll(async () => {
  for (const gateway of [...gateways, ...taskGateways]) await gateway.stop();
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

test("a task whose replica is killed is failed by the other once its lease lapses (TASK_LEASE_MS)", async () => {
  taskGateways.push(...(await Promise.all([startGatewayProcess(env), startGatewayProcess(env)])));
  const [runner, survivor] = taskGateways as [GatewayProcess, GatewayProcess];
  const tasks = {
    "io.modelcontextprotocol/protocolVersion": "2026-07-28",
    "io.modelcontextprotocol/clientCapabilities": { extensions: { "io.modelcontextprotocol/tasks": {} } },
  };
  const rpc = async (gateway: GatewayProcess, method: string, params: Record<string, unknown>) => {
    const { body } = await modernRequest(gateway.url, method, params, {
      bearer: world.ownerKey,
      meta: tasks,
    });
    if (!body.result) throw new Error(`${method}: ${JSON.stringify(body.error)}`);
    return body.result as Record<string, unknown>;
  };
  const created = await rpc(runner, "tools/call", { name: "alpha_job", arguments: {} });
  expect(created.resultType).toBe("task");
  const taskId = String(created.taskId);
  for (let i = 0; i < 200 && !job.started; i++) await Bun.sleep(10);
  expect(job.started).toBe(true);
  // Renewed by the runner: still working on the other replica well past one lease.
  await Bun.sleep(2000);
  expect((await rpc(survivor, "tasks/get", { taskId })).status).toBe("working");

  runner.proc.kill("SIGKILL");
  await runner.proc.exited;
  // Its call socket closed with it: the domain server cancelled the upstream call.
  for (let i = 0; i < 200 && !job.aborted; i++) await Bun.sleep(10);
  expect(job.aborted).toBe(true);
  let task = await rpc(survivor, "tasks/get", { taskId });
  for (let i = 0; i < 100 && task.status === "working"; i++) {
    await Bun.sleep(50);
    task = await rpc(survivor, "tasks/get", { taskId });
  }
  expect(task.status).toBe("failed");
  expect(task.statusMessage).toBe("The gateway replica running this task stopped");
  expect((task.error as { code: number; message: string }).code).toBe(-32603);
  expect((task.error as { message: string }).message).toContain("call the tool again");
  // Terminal from now on, on every replica.
  expect((await rpc(survivor, "tasks/get", { taskId })).status).toBe("failed");
  const metrics = await fetch(`${survivor.url}/metrics`, {
    headers: { authorization: "Bearer kill-metrics" },
  });
  expect(await metrics.text()).toContain("omni_mcp_tasks_abandoned_total 1");
}, 60_000);
