import { afterAll, beforeAll, expect, test } from "bun:test";
import { DEMO_ORG_ID } from "@omni/db";
import { defineTool, type ServerDefinition } from "@omni/kit";
import * as v from "valibot";
import { createDevAuthenticator } from "../src/mcp/dev-auth.ts";
import type { Authenticator } from "../src/ports.ts";
import { modernConformanceServer } from "./fixtures/modern-conformance-server.ts";
import { modernInit, modernRequest } from "./fixtures/replicas.ts";
import { type Stack, startStack } from "./fixtures/stack.ts";

/**
 * The `io.modelcontextprotocol/tasks` extension through the real gateway and a kit-built server: a task
 * driven to completion over HTTP, an input round answered with tasks/update, a cancelled task whose
 * upstream call is aborted, the -32021 gate, and org isolation (org B cannot see org A's task).
 */

const TASKS = "io.modelcontextprotocol/tasks";
const OTHER_ORG = "org-tasks-other";

/** Upstream calls of `tasks_test_wait` that started, and those that saw their signal abort, by label. */
const started = new Set<string>();
const aborted = new Set<string>();
const probeServer: ServerDefinition = {
  name: "tasks-probe",
  version: "1.0.0",
  tools: [
    defineTool({
      name: "tasks_test_wait",
      description: "Waits until cancelled, recording the abort",
      input: v.object({ label: v.string() }),
      taskSupport: "optional",
      handler: (args, ctx) =>
        new Promise<string>((_resolve, reject) => {
          started.add(args.label);
          ctx.signal.addEventListener("abort", () => {
            aborted.add(args.label);
            reject(ctx.signal.reason);
          });
        }),
    }),
  ],
};

/** Dev auth for the demo org; `Bearer other` is a second org; `Bearer alice`/`bob` are demo-org users. */
const dev = createDevAuthenticator(DEMO_ORG_ID);
const authenticator: Authenticator = {
  async authenticate(headers, remote) {
    const bearer = headers.get("authorization");
    if (bearer === "Bearer other") {
      return {
        ok: true,
        org: { orgId: OTHER_ORG, userId: null, role: "owner", permissions: ["tools:call"], via: "dev" },
      };
    }
    if (bearer === "Bearer alice" || bearer === "Bearer bob") {
      const userId = bearer.slice("Bearer ".length);
      return {
        ok: true,
        org: { orgId: DEMO_ORG_ID, userId, role: "member", permissions: ["tools:call"], via: "clerk" },
      };
    }
    return dev.authenticate(headers, remote);
  },
  stillValid: () => Promise.resolve(true),
};

let stack: Stack;
interface Reply {
  status: number;
  result?: Record<string, unknown>;
  error?: { code: number; message: string; data?: Record<string, unknown> };
}

/** One modern request (what a 2026-07-28 client sends), with or without the tasks extension declared. */
async function rpc(
  method: string,
  params: Record<string, unknown>,
  opts: { tasks?: boolean; as?: "other" | "alice" | "bob" } = {},
): Promise<Reply> {
  const capabilities = { elicitation: {}, ...(opts.tasks === false ? {} : { extensions: { [TASKS]: {} } }) };
  const { status, body } = await modernRequest(stack.url, method, params, {
    meta: {
      "io.modelcontextprotocol/protocolVersion": "2026-07-28",
      "io.modelcontextprotocol/clientCapabilities": capabilities,
      "io.modelcontextprotocol/clientInfo": { name: "tasks-test", version: "1" },
    },
    ...(opts.as ? { bearer: opts.as } : {}),
  });
  return { status, ...(body as Omit<Reply, "status">) };
}

async function ok(method: string, params: Record<string, unknown>): Promise<Record<string, unknown>> {
  const reply = await rpc(method, params);
  if (!reply.result) throw new Error(`${method} failed: ${JSON.stringify(reply.error)}`);
  return reply.result;
}

/** Polls tasks/get (as a client does, at its own pace) until the task reaches one of `statuses`. */
async function waitFor(taskId: string, statuses: string[]): Promise<Record<string, unknown>> {
  for (let i = 0; i < 400; i++) {
    const task = await ok("tasks/get", { taskId });
    if (statuses.includes(String(task.status))) return task;
    await Bun.sleep(25);
  }
  throw new Error(`task ${taskId} never reached ${statuses.join("/")}`);
}

beforeAll(async () => {
  stack = await startStack({ servers: [modernConformanceServer, probeServer], authenticator });
}, 60_000);

afterAll(async () => {
  await stack?.stop();
});

test("server/discover advertises the extension under capabilities.extensions", async () => {
  const discover = await ok("server/discover", {});
  const capabilities = discover.capabilities as Record<string, Record<string, unknown>>;
  expect(capabilities.extensions?.[TASKS]).toEqual({});
  expect(capabilities.tasks).toBeUndefined();
});

test("a task-supporting tool runs as a task and its result is retrievable later", async () => {
  const created = await ok("tools/call", { name: "slow_compute", arguments: { seconds: 0.2, label: "e2e" } });
  expect(created.resultType).toBe("task");
  expect(created.status).toBe("working");
  expect(typeof created.taskId).toBe("string");
  expect(Number.isInteger(created.ttlMs)).toBe(true);
  expect(created).not.toHaveProperty("result");
  const done = await waitFor(String(created.taskId), ["completed", "failed", "cancelled"]);
  expect(done.status).toBe("completed");
  expect(done.resultType).toBe("complete");
  expect(done.result).toMatchObject({ content: [{ type: "text", text: "Computed e2e after 0.2s" }] });
  // Still there afterwards (within its TTL).
  expect((await ok("tasks/get", { taskId: created.taskId })).status).toBe("completed");
});

test("an input round: input_required with inputRequests, answered by tasks/update, then completed", async () => {
  const created = await ok("tools/call", { name: "confirm_delete", arguments: { filename: "a.txt" } });
  const parked = await waitFor(String(created.taskId), ["input_required", "completed", "failed"]);
  expect(parked.status).toBe("input_required");
  const requests = parked.inputRequests as Record<string, { method: string }>;
  const keys = Object.keys(requests);
  expect(keys).toHaveLength(1);
  expect(requests[keys[0] as string]?.method).toBe("elicitation/create");
  const ack = await ok("tasks/update", {
    taskId: created.taskId,
    inputResponses: { [keys[0] as string]: { action: "accept", content: { confirm: true } } },
  });
  expect(ack).not.toHaveProperty("status");
  const done = await waitFor(String(created.taskId), ["completed", "failed", "cancelled"]);
  expect(done.result).toMatchObject({ content: [{ type: "text", text: "Deleted a.txt" }] });
});

test("tasks/cancel settles the task as cancelled and aborts the upstream call", async () => {
  const created = await ok("tools/call", { name: "tasks_test_wait", arguments: { label: "cancel-me" } });
  expect(created.resultType).toBe("task");
  const ack = await ok("tasks/cancel", { taskId: created.taskId });
  expect(ack.resultType).toBe("complete");
  expect(ack).not.toHaveProperty("taskId");
  expect((await ok("tasks/get", { taskId: created.taskId })).status).toBe("cancelled");
  for (let i = 0; i < 200 && !aborted.has("cancel-me"); i++) await Bun.sleep(25);
  expect(aborted.has("cancel-me")).toBe(true);
  // Idempotent on a terminal task.
  expect((await ok("tasks/cancel", { taskId: created.taskId })).resultType).toBe("complete");
});

test("a client closing its stateless tools/call (no task) cancels the upstream call", async () => {
  const closing = new AbortController();
  const init = modernInit(
    "tools/call",
    { name: "tasks_test_wait", arguments: { label: "client-gone" } },
    {
      meta: {
        "io.modelcontextprotocol/protocolVersion": "2026-07-28",
        "io.modelcontextprotocol/clientCapabilities": {},
      },
    },
  );
  const answer = fetch(`${stack.url}/mcp`, { ...init, signal: closing.signal }).catch(
    (error: unknown) => error,
  );
  for (let i = 0; i < 200 && !started.has("client-gone"); i++) await Bun.sleep(10);
  expect(started.has("client-gone")).toBe(true);
  closing.abort();
  expect(await answer).toMatchObject({ name: "AbortError" });
  for (let i = 0; i < 200 && !aborted.has("client-gone"); i++) await Bun.sleep(10);
  expect(aborted.has("client-gone")).toBe(true);
});

test("another org cannot see, update or cancel a task: it is unknown there (-32602)", async () => {
  const created = await ok("tools/call", { name: "slow_compute", arguments: { seconds: 30, label: "iso" } });
  for (const method of ["tasks/get", "tasks/cancel"]) {
    const reply = await rpc(method, { taskId: created.taskId }, { as: "other" });
    expect(reply.error?.code).toBe(-32602);
  }
  const update = await rpc("tasks/update", { taskId: created.taskId, inputResponses: {} }, { as: "other" });
  expect(update.error?.code).toBe(-32602);
  // Untouched for its own org.
  expect((await ok("tasks/get", { taskId: created.taskId })).status).toBe("working");
  await ok("tasks/cancel", { taskId: created.taskId });
});

test("within an org, a user's task is unknown to another user", async () => {
  const created = await rpc(
    "tools/call",
    { name: "slow_compute", arguments: { seconds: 30, label: "mine" } },
    { as: "alice" },
  );
  const taskId = created.result?.taskId;
  expect(typeof taskId).toBe("string");
  expect((await rpc("tasks/get", { taskId }, { as: "bob" })).error?.code).toBe(-32602);
  expect((await rpc("tasks/cancel", { taskId }, { as: "bob" })).error?.code).toBe(-32602);
  expect((await rpc("tasks/get", { taskId }, { as: "alice" })).result?.status).toBe("working");
  expect((await rpc("tasks/cancel", { taskId }, { as: "alice" })).result?.resultType).toBe("complete");
});

test("without the extension: tasks/* are -32021, optional tools run synchronously, required ones are -32021", async () => {
  const get = await rpc("tasks/get", { taskId: "whatever" }, { tasks: false });
  expect(get.status).toBe(400);
  expect(get.error?.code).toBe(-32021);
  const sync = await rpc("tools/call", { name: "slow_compute", arguments: { seconds: 0 } }, { tasks: false });
  expect(sync.result?.resultType).toBe("complete");
  expect(sync.result).not.toHaveProperty("taskId");
  const required = await rpc("tools/call", { name: "failing_job", arguments: {} }, { tasks: false });
  expect(required.error?.code).toBe(-32021);
  expect(required.error?.data).toEqual({ requiredCapabilities: { extensions: { [TASKS]: {} } } });
});

test("a subscriptions/listen stream that declared the extension gets notifications/tasks/status", async () => {
  const controller = new AbortController();
  const res = await fetch(`${stack.url}/mcp`, {
    method: "POST",
    signal: controller.signal,
    headers: {
      "content-type": "application/json",
      accept: "application/json, text/event-stream",
      "mcp-protocol-version": "2026-07-28",
      "mcp-method": "subscriptions/listen",
    },
    body: JSON.stringify({
      jsonrpc: "2.0",
      id: "listen-1",
      method: "subscriptions/listen",
      params: {
        notifications: {},
        _meta: {
          "io.modelcontextprotocol/protocolVersion": "2026-07-28",
          "io.modelcontextprotocol/clientCapabilities": { extensions: { [TASKS]: {} } },
        },
      },
    }),
  });
  const reader = (res.body as ReadableStream<Uint8Array>).getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  const next = async (): Promise<Record<string, unknown>> => {
    for (;;) {
      const end = buffer.indexOf("\n\n");
      if (end >= 0) {
        const frame = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const data = frame.split("\n").find((line) => line.startsWith("data: "));
        if (data) return JSON.parse(data.slice(6)) as Record<string, unknown>;
        continue;
      }
      const chunk = await reader.read();
      if (chunk.done) throw new Error("the listen stream ended");
      buffer += decoder.decode(chunk.value, { stream: true });
    }
  };
  expect((await next()).method).toBe("notifications/subscriptions/acknowledged");
  const created = await ok("tools/call", {
    name: "slow_compute",
    arguments: { seconds: 0.1, label: "note" },
  });
  const statuses: string[] = [];
  while (!statuses.includes("completed")) {
    const message = await next();
    const params = message.params as Record<string, unknown>;
    if (message.method !== "notifications/tasks/status" || params.taskId !== created.taskId) continue;
    statuses.push(String(params.status));
    if (params.status === "completed") {
      expect(params.result).toMatchObject({ content: [{ type: "text", text: "Computed note after 0.1s" }] });
      expect(params._meta).toEqual({ "io.modelcontextprotocol/subscriptionId": "listen-1" });
    }
  }
  expect(statuses).toEqual(["working", "completed"]);
  controller.abort();
  await reader.cancel().catch(() => {});
});

test("an unknown task id is -32602", async () => {
  const reply = await rpc("tasks/get", { taskId: "no-such-task" });
  expect(reply.error?.code).toBe(-32602);
});
