import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { CreateMessageRequestSchema, ElicitRequestSchema } from "@modelcontextprotocol/sdk/types.js";
import { PERMISSIONS } from "@omni/contracts";
import { createRepositories } from "@omni/db";
import { defineTool, type ServerDefinition } from "@omni/kit";
import { Redis } from "ioredis";
import * as v from "valibot";
import { createApiKey } from "../src/auth/api-keys.ts";
import { startHaproxy } from "./fixtures/haproxy.ts";
import {
  type GatewayProcess,
  type ProcessWorld,
  startGatewayProcess,
  startProcessWorld,
} from "./fixtures/process.ts";
import { alphaServer } from "./fixtures/test-servers.ts";

/**
 * Issue 16, Proof: two gateway processes (the production entry point) on one Postgres and one Redis behind
 * a real HAProxy (round robin, health checks on /ready). A 2025 session created on one replica continues
 * on the other; one replica SIGKILLed mid-session costs the unmodified SDK v1 client only its in-flight
 * call; an elicitation started on one replica is answered through the other; a GET stream resumes on the
 * other replica with what it missed (Last-Event-ID); a rate limit is shared; SIGTERM drains gracefully.
 */

const REDIS_URL = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";

/** alpha plus a tool that reports progress, waits `ms` and answers (for the drain test). */
const server: ServerDefinition = {
  ...alphaServer,
  tools: [
    ...alphaServer.tools,
    defineTool({
      name: "alpha_wait",
      description: "Reports progress, waits ms milliseconds, answers",
      input: v.object({ ms: v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(10_000)) }),
      handler: async ({ ms }, ctx) => {
        await ctx.progress(0, 1, "waiting");
        await Bun.sleep(ms);
        return `waited ${ms}`;
      },
    }),
  ],
};

let world: ProcessWorld;
let redis: Redis;

beforeAll(async () => {
  world = await startProcessWorld(server);
  redis = new Redis(REDIS_URL);
}, 90_000);

afterAll(async () => {
  redis?.disconnect();
  await world?.close();
}, 30_000);

/** Two replicas (`a`, `b`) with one Redis prefix, behind HAProxy. */
async function startPair(extra: Record<string, string> = {}) {
  const prefix = `scale-${crypto.randomUUID().slice(0, 8)}:`;
  const env = { ...world.env, REDIS_URL, REDIS_PREFIX: prefix, ...extra };
  const [a, b] = await Promise.all([startGatewayProcess(env), startGatewayProcess(env)]);
  const replicas = { a: a!, b: b! };
  const lb = await startHaproxy({ a: a!.url, b: b!.url });
  return {
    prefix,
    replicas,
    lb,
    async stop() {
      await lb.stop();
      for (const r of Object.values(replicas)) await r.stop();
    },
  };
}

/** Which replica (`x-served-by`) answered each request of a client, by JSON-RPC method or HTTP verb. */
interface Served {
  label: string;
  by: string;
}

/** An SDK v1 client through the balancer, recording which replica served each of its requests. */
function sdkClient(url: string, key: string, served: Served[]) {
  const fetchRecording = async (input: RequestInfo | URL, init?: RequestInit) => {
    const res = await fetch(input, init);
    let label = init?.method ?? "GET";
    if (typeof init?.body === "string") {
      const body = JSON.parse(init.body) as { method?: string; id?: unknown; result?: unknown };
      label = body.method ?? (body.result !== undefined ? `answer:${String(body.id)}` : "message");
    }
    served.push({ label, by: res.headers.get("x-served-by") ?? "?" });
    return res;
  };
  const transport = new StreamableHTTPClientTransport(new URL(`${url}/mcp`), {
    requestInit: { headers: { authorization: `Bearer ${key}` } },
    fetch: fetchRecording as typeof fetch,
    reconnectionOptions: {
      initialReconnectionDelay: 200,
      maxReconnectionDelay: 1000,
      reconnectionDelayGrowFactor: 1.5,
      maxRetries: 20,
    },
  });
  const client = new Client(
    { name: "scale-probe", version: "1.0.0" },
    { capabilities: { elicitation: {}, sampling: {} } },
  );
  return { client, transport };
}

const text = (result: unknown) =>
  ((result as { content?: { text?: string }[] }).content ?? []).map((c) => c.text).join("");

/** A raw 2025 request with a session id straight to one replica (no balancer). */
async function rawPost(url: string, key: string, sessionId: string | null, body: unknown) {
  const res = await fetch(`${url}/mcp`, {
    method: "POST",
    headers: {
      authorization: `Bearer ${key}`,
      "content-type": "application/json",
      accept: "application/json, text/event-stream",
      ...(sessionId ? { "mcp-session-id": sessionId, "mcp-protocol-version": "2025-11-25" } : {}),
    },
    body: JSON.stringify(body),
  });
  const raw = await res.text();
  const data = raw.split("\n").findLast((line) => line.startsWith("data: "));
  return {
    status: res.status,
    sessionId: res.headers.get("mcp-session-id"),
    body: (raw ? JSON.parse(data ? data.slice(6) : raw) : null) as Record<string, unknown> | null,
  };
}

const initialize = (id = 1) => ({
  jsonrpc: "2.0",
  id,
  method: "initialize",
  params: { protocolVersion: "2025-11-25", capabilities: {}, clientInfo: { name: "raw", version: "1" } },
});

/** Reads SSE events (id, data) off a stream until `count` message events arrived. */
async function readEvents(reader: ReadableStreamDefaultReader<Uint8Array>, count: number, buffer: string[]) {
  const decoder = new TextDecoder();
  const events: { id: string | undefined; data: Record<string, unknown> }[] = [];
  for (;;) {
    const blocks = buffer[0]!.split("\n\n");
    buffer[0] = blocks.pop() ?? "";
    for (const block of blocks) {
      const data = block.split("\n").find((l) => l.startsWith("data: "));
      if (!data) continue;
      const id = block
        .split("\n")
        .find((l) => l.startsWith("id: "))
        ?.slice(4);
      events.push({ id, data: JSON.parse(data.slice(6)) });
    }
    if (events.length >= count) return events;
    const { value, done } = await reader.read();
    if (done) return events;
    buffer[0] += decoder.decode(value, { stream: true });
  }
}

async function addPrompt(url: string, key: string, name: string) {
  const res = await fetch(`${url}/api/prompts`, {
    method: "POST",
    headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
    body: JSON.stringify({ name, description: name, messages: [{ role: "user", text: `Say ${name}` }] }),
  });
  expect(res.status).toBe(201);
}

describe("sessions across replicas", () => {
  let pair: Awaited<ReturnType<typeof startPair>>;
  beforeAll(async () => {
    pair = await startPair();
  }, 90_000);
  afterAll(async () => {
    await pair?.stop();
  }, 30_000);

  test("a session created on A continues on B, and a DELETE on B ends it on A", async () => {
    const { a, b } = pair.replicas;
    const init = await rawPost(a.url, world.ownerKey, null, initialize());
    expect(init.status).toBe(200);
    const sid = init.sessionId!;
    expect(sid).toStartWith("s1.");
    const onB = await rawPost(b.url, world.ownerKey, sid, {
      jsonrpc: "2.0",
      id: 2,
      method: "tools/call",
      params: { name: "alpha_echo", arguments: { text: "from b" } },
    });
    expect(onB.status).toBe(200);
    expect(JSON.stringify(onB.body)).toContain("alpha says from b");
    // Another credential of the same org cannot use it (the sealed id names its credential).
    const other = (
      await createApiKey(createRepositories(world.db.db), world.orgId, null, {
        name: "other",
        scopes: [...PERMISSIONS],
      })
    ).secret;
    expect((await rawPost(b.url, other, sid, { jsonrpc: "2.0", id: 3, method: "ping" })).status).toBe(404);
    // A forged id (one character of the sealed part flipped) is not a session anywhere.
    const forged = sid.slice(0, -2) + (sid.at(-2) === "A" ? "B" : "A") + sid.at(-1);
    expect(
      (await rawPost(a.url, world.ownerKey, forged, { jsonrpc: "2.0", id: 4, method: "ping" })).status,
    ).toBe(404);
    // Ended on B: A's copy is gone too, and so is the id on a replica that never saw it.
    const del = await fetch(`${b.url}/mcp`, {
      method: "DELETE",
      headers: { authorization: `Bearer ${world.ownerKey}`, "mcp-session-id": sid },
    });
    expect(del.status).toBe(200);
    const deadline = Date.now() + 5000;
    let status = 0;
    while (Date.now() < deadline) {
      status = (await rawPost(a.url, world.ownerKey, sid, { jsonrpc: "2.0", id: 5, method: "ping" })).status;
      if (status === 404) break;
      await Bun.sleep(25);
    }
    expect(status).toBe(404);
  }, 30_000);

  test("the SDK v1 client through HAProxy: every request served by either replica, one session", async () => {
    const served: Served[] = [];
    const { client, transport } = sdkClient(pair.lb.url, world.ownerKey, served);
    await client.connect(transport);
    for (let i = 0; i < 6; i++) {
      expect(text(await client.callTool({ name: "alpha_echo", arguments: { text: `n${i}` } }))).toContain(
        `alpha says n${i}`,
      );
      expect((await client.listTools()).tools.map((t) => t.name)).toContain("alpha_echo");
    }
    await client.setLoggingLevel("warning");
    const calls = served.filter((s) => s.label === "tools/call" || s.label === "tools/list");
    expect(new Set(calls.map((s) => s.by))).toEqual(new Set(["a", "b"]));
    // The log level set through one replica is in the shared state every replica reads.
    const sid = transport.sessionId!.split(".")[1]!;
    expect(await redis.hget(`${pair.prefix}mcp:s:${sid}`, "ll")).toBe("warning");
    await client.close();
  }, 60_000);

  test("an elicitation (and sampling) started on one replica is answered through the other", async () => {
    const served: Served[] = [];
    const { client, transport } = sdkClient(pair.lb.url, world.ownerKey, served);
    client.setRequestHandler(ElicitRequestSchema, async () => ({
      action: "accept",
      content: { name: "Ada" },
    }));
    client.setRequestHandler(CreateMessageRequestSchema, async () => ({
      role: "assistant",
      content: { type: "text", text: "Hello, Ada!" },
      model: "test-model",
    }));
    await client.connect(transport);
    let crossed = 0;
    for (let attempt = 0; attempt < 6 && crossed === 0; attempt++) {
      served.length = 0;
      const result = await client.callTool({ name: "alpha_ask", arguments: {} });
      expect(text(result)).toBe("accept: Hello, Ada!");
      const call = served.find((s) => s.label === "tools/call")!;
      // An answer's POST is recorded when its 202 comes back, which may be after the call's result did.
      const answered = () => served.filter((s) => s.label.startsWith("answer:"));
      for (let i = 0; i < 200 && answered().length < 2; i++) await Bun.sleep(10);
      const answers = answered();
      expect(answers).toHaveLength(2);
      crossed += answers.filter((s) => s.by !== call.by).length;
    }
    expect(crossed).toBeGreaterThan(0);
    await client.close();
  }, 60_000);

  test("a GET stream broken on A resumes on B with the events it missed (Last-Event-ID)", async () => {
    const { a, b } = pair.replicas;
    const sid = (await rawPost(a.url, world.ownerKey, null, initialize())).sessionId!;
    const headers = {
      authorization: `Bearer ${world.ownerKey}`,
      accept: "text/event-stream",
      "mcp-session-id": sid,
      "mcp-protocol-version": "2025-11-25",
    };
    const abort = new AbortController();
    const stream = await fetch(`${a.url}/mcp`, { headers, signal: abort.signal });
    expect(stream.status).toBe(200);
    const reader = stream.body!.getReader();
    const buffer = [""];
    await addPrompt(b.url, world.ownerKey, `resume_one_${crypto.randomUUID().slice(0, 6)}`);
    const [first] = await readEvents(reader, 1, buffer);
    expect(first?.data.method).toBe("notifications/prompts/list_changed");
    expect(first?.id).toBeDefined();
    // A second event is written to A's stream (and its replay buffer) but this client never reads it.
    await addPrompt(b.url, world.ownerKey, `resume_two_${crypto.randomUUID().slice(0, 6)}`);
    const key = `${pair.prefix}mcp:ev:${sid.split(".")[1]}`;
    const deadline = Date.now() + 10_000;
    while ((await redis.llen(key)) < 2 && Date.now() < deadline) await Bun.sleep(25);
    expect(await redis.llen(key)).toBe(2);
    abort.abort();
    const resumed = await fetch(`${b.url}/mcp`, { headers: { ...headers, "last-event-id": first!.id! } });
    expect(resumed.status).toBe(200);
    const resumedReader = resumed.body!.getReader();
    const [missed] = await readEvents(resumedReader, 1, [""]);
    expect(missed?.data.method).toBe("notifications/prompts/list_changed");
    expect(missed?.id).not.toBe(first?.id);
    await resumedReader.cancel();
  }, 30_000);

  test("A is SIGKILLed mid-session: only the in-flight call fails (at once, through its resumed stream), the SDK v1 client continues on B", async () => {
    const served: Served[] = [];
    const { client, transport } = sdkClient(pair.lb.url, world.ownerKey, served);
    const errors: string[] = [];
    transport.onerror = (error) => errors.push(String(error));
    await client.connect(transport);
    expect(text(await client.callTool({ name: "alpha_echo", arguments: { text: "before" } }))).toContain(
      "before",
    );
    let progressed!: () => void;
    const started = new Promise<void>((resolve) => {
      progressed = resolve;
    });
    const inflight = client
      .callTool({ name: "alpha_slow", arguments: {} }, undefined, {
        onprogress: () => progressed(),
        // Far longer than the test: the failure must come from B, through the stream the SDK resumes there.
        timeout: 120_000,
      })
      .then(
        () => "finished",
        (error: unknown) => `failed: ${String(error)}`,
      );
    await started;
    const victim = served.findLast((s) => s.label === "tools/call")!.by as "a" | "b";
    const survivor = victim === "a" ? "b" : "a";
    pair.replicas[victim].proc.kill("SIGKILL");
    await pair.replicas[victim].proc.exited;
    const failed = await inflight;
    expect(failed).toStartWith("failed");
    expect(failed).toContain("The gateway replica serving this request stopped before it answered");
    expect(errors.some((e) => e.includes("SSE stream disconnected"))).toBe(true);
    // The SDK resumed the POST's stream with GET and its Last-Event-ID, on the survivor.
    expect(served.some((s) => s.label === "GET" && s.by === survivor)).toBe(true);
    served.length = 0;
    for (let i = 0; i < 4; i++) {
      expect(
        text(await client.callTool({ name: "alpha_echo", arguments: { text: `after ${i}` } })),
      ).toContain(`alpha says after ${i}`);
    }
    expect((await client.listPrompts()).prompts.length).toBeGreaterThan(0);
    expect(served.filter((s) => s.label === "tools/call").every((s) => s.by === survivor)).toBe(true);
    await client.close();
  }, 90_000);
});

describe("shared limits and graceful drain", () => {
  let pair: Awaited<ReturnType<typeof startPair>>;
  beforeAll(async () => {
    pair = await startPair({ RATE_LIMIT_PER_KEY: "12", DRAIN_DELAY_MS: "600", DRAIN_TIMEOUT_MS: "15000" });
  }, 90_000);
  afterAll(async () => {
    await pair?.stop();
  }, 30_000);

  test("a rate limit is shared: one key's budget is spent across both replicas", async () => {
    const key = (
      await createApiKey(createRepositories(world.db.db), world.orgId, null, {
        name: "limited",
        scopes: [...PERMISSIONS],
      })
    ).secret;
    const seen = new Map<string, number[]>();
    for (let i = 0; i < 16; i++) {
      const res = await fetch(`${pair.lb.url}/mcp`, {
        method: "POST",
        headers: {
          authorization: `Bearer ${key}`,
          "content-type": "application/json",
          accept: "application/json, text/event-stream",
        },
        body: JSON.stringify(initialize(i)),
      });
      await res.text();
      const by = res.headers.get("x-served-by") ?? "?";
      seen.set(by, [...(seen.get(by) ?? []), res.status]);
    }
    const all = [...seen.values()].flat();
    // 12 per minute for the key in all: each replica alone would have allowed all 8 it got.
    expect(all.filter((s) => s === 200)).toHaveLength(12);
    expect(all.filter((s) => s === 429)).toHaveLength(4);
    expect([...seen.keys()].sort()).toEqual(["a", "b"]);
  }, 30_000);

  test("SIGTERM drains: /ready 503 at once, the in-flight call finishes, streams move, exit 0", async () => {
    const key = (
      await createApiKey(createRepositories(world.db.db), world.orgId, null, {
        name: "drain",
        scopes: [...PERMISSIONS],
      })
    ).secret;
    const served: Served[] = [];
    const { client, transport } = sdkClient(pair.lb.url, key, served);
    await client.connect(transport);
    // The GET stream is open on one replica (the SDK opens it after initialize).
    const deadline = Date.now() + 10_000;
    while (!served.some((s) => s.label === "GET") && Date.now() < deadline) await Bun.sleep(20);
    let progressed!: () => void;
    const started = new Promise<void>((resolve) => {
      progressed = resolve;
    });
    const inflight = client.callTool({ name: "alpha_wait", arguments: { ms: 1500 } }, undefined, {
      onprogress: () => progressed(),
    });
    await started;
    const victim = served.findLast((s) => s.label === "tools/call")!.by as "a" | "b";
    const survivor = victim === "a" ? "b" : "a";
    const streamOnVictim = served.findLast((s) => s.label === "GET")?.by === victim;
    const gateway: GatewayProcess = pair.replicas[victim];
    const mark = served.length;
    gateway.proc.kill("SIGTERM");
    let ready = 200;
    const until = Date.now() + 5000;
    while (ready === 200 && Date.now() < until) {
      ready = (await fetch(`${gateway.url}/ready`)).status;
    }
    expect(ready).toBe(503);
    await pair.lb.waitFor({ [victim]: "DOWN" });
    expect(text(await inflight)).toBe("waited 1500");
    expect(await gateway.proc.exited).toBe(0);
    expect(gateway.output()).toContain("drained");
    if (streamOnVictim) {
      // Closed with a retry hint: the SDK reconnected the GET stream, through HAProxy, to the survivor.
      const reopened = Date.now() + 10_000;
      while (!served.slice(mark).some((s) => s.label === "GET" && s.by === survivor)) {
        if (Date.now() > reopened) throw new Error(`no GET on ${survivor}: ${JSON.stringify(served)}`);
        await Bun.sleep(50);
      }
    }
    const after = served.length;
    for (let i = 0; i < 3; i++) {
      expect(text(await client.callTool({ name: "alpha_echo", arguments: { text: `d${i}` } }))).toContain(
        `alpha says d${i}`,
      );
    }
    expect(
      served
        .slice(after)
        .filter((s) => s.label === "tools/call")
        .every((s) => s.by === survivor),
    ).toBe(true);
    await client.close();
  }, 60_000);
});
