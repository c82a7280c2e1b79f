import { afterAll, beforeAll, expect, test } from "bun:test";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { defineTool, metricsRegistry, type ServerDefinition } from "@omni/kit";
import * as v from "valibot";
import { type Stack, startStack } from "./fixtures/stack.ts";

/**
 * Resumable POST response streams of 2025 sessions (SEP-1699, `gateway/src/mcp/post-stream.ts`) with the
 * unmodified SDK v1 client: its POST stream breaks mid-call, it resumes with GET and `Last-Event-ID`, and
 * gets the rest of the call (a progress event it missed, then the result) on the resumed stream. A
 * `Last-Event-ID` of another session's stream, an ended one or an unknown one is a 404. (A replica killed
 * mid-call, whose request fails at once through the resumed stream: `scale-haproxy.test.ts`.)
 */

const gates = new Map<string, () => void>();
const server: ServerDefinition = {
  name: "resume",
  version: "1.0.0",
  tools: [
    defineTool({
      name: "resume_wait",
      description: "Reports progress, waits for the test to release it, reports again, then answers",
      input: v.object({ label: v.string() }),
      handler: async ({ label }, ctx) => {
        await ctx.progress(1, 3, "started");
        await new Promise<void>((resolve) => gates.set(label, resolve));
        await ctx.progress(2, 3, "released");
        return `done ${label}`;
      },
    }),
    defineTool({
      name: "resume_pause",
      description: "Ends its response stream (SEP-1699 polling), reports progress, then answers",
      input: v.object({}),
      handler: async (_args, ctx) => {
        await ctx.closeStream(50);
        await Bun.sleep(100);
        await ctx.progress(1, 1, "after the pause");
        return "answered after the pause";
      },
    }),
  ],
};

let stack: Stack;
beforeAll(async () => {
  stack = await startStack({ servers: [server] });
}, 60_000);
afterAll(async () => {
  await stack?.stop();
});

/** The value of `omni_mcp_stream_resumes_total{outcome}` in this process. */
async function resumes(outcome: string): Promise<number> {
  const text = await metricsRegistry.metrics();
  const line = text
    .split("\n")
    .find((l) => l.startsWith(`omni_mcp_stream_resumes_total{outcome="${outcome}"}`));
  return line ? Number(line.split(" ").at(-1)) : 0;
}

/** A fetch whose POST response streams can be broken by the test, as a dropped connection would. */
function breakableFetch() {
  const streams: { break: () => void; label: string }[] = [];
  const requests: { method: string; lastEventId: string | null }[] = [];
  const wrapped = async (input: RequestInfo | URL, init?: RequestInit): Promise<Response> => {
    const headers = new Headers(init?.headers);
    requests.push({ method: init?.method ?? "GET", lastEventId: headers.get("last-event-id") });
    const res = await fetch(input, init);
    const isStream = res.headers.get("content-type")?.includes("text/event-stream");
    if (init?.method !== "POST" || !isStream || !res.body) return res;
    const reader = res.body.getReader();
    let fail: (error: Error) => void = () => {};
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        fail = (error) => {
          controller.error(error);
          void reader.cancel().catch(() => {});
        };
      },
      async pull(controller) {
        try {
          const { value, done } = await reader.read();
          if (done) controller.close();
          else controller.enqueue(value);
        } catch (error) {
          controller.error(error);
        }
      },
    });
    const label = typeof init.body === "string" ? init.body : "";
    streams.push({ break: () => fail(new Error("connection reset (test)")), label });
    return new Response(body, { status: res.status, headers: res.headers });
  };
  return { fetch: wrapped as typeof fetch, streams, requests };
}

async function connect(
  custom: typeof fetch,
): Promise<{ client: Client; transport: StreamableHTTPClientTransport }> {
  const transport = new StreamableHTTPClientTransport(new URL(`${stack.url}/mcp`), {
    fetch: custom,
    reconnectionOptions: {
      initialReconnectionDelay: 50,
      maxReconnectionDelay: 500,
      reconnectionDelayGrowFactor: 1.5,
      maxRetries: 5,
    },
  });
  const client = new Client({ name: "resume-test", version: "1.0.0" });
  await client.connect(transport);
  return { client, transport };
}

async function until(check: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 300; i++) {
    if (check()) return;
    await Bun.sleep(10);
  }
  throw new Error(`timed out waiting for ${what}`);
}

test("a POST stream that breaks mid-call resumes over GET: the missed progress, then the result", async () => {
  const net = breakableFetch();
  const { client } = await connect(net.fetch);
  const answered = await resumes("answered");
  const progress: string[] = [];
  const call = client.callTool({ name: "resume_wait", arguments: { label: "a" } }, undefined, {
    onprogress: (p) => progress.push(String(p.message)),
    timeout: 60_000,
  });
  await until(() => gates.has("a") && progress.length === 1, "the first progress event");
  const stream = net.streams.find((s) => s.label.includes('"resume_wait"'));
  stream?.break();
  // While the client is away the tool goes on: its next progress and its result wait in the stream's buffer.
  gates.get("a")?.();
  const result = await call;
  expect(result.content).toEqual([{ type: "text", text: "done a" }]);
  expect(progress).toEqual(["started", "released"]);
  const resumed = net.requests.filter((r) => r.method === "GET" && r.lastEventId?.startsWith("p."));
  expect(resumed.length).toBeGreaterThanOrEqual(1);
  expect(await resumes("answered")).toBe(answered + 1);
  // The session goes on as before.
  expect((await client.listTools()).tools.map((t) => t.name)).toContain("resume_wait");
  await client.close();
});

test("a stream of another session, an ended stream and an unknown one are 404", async () => {
  const mine = breakableFetch();
  const theirs = breakableFetch();
  const { client: a, transport: ta } = await connect(mine.fetch);
  const { client: b, transport: tb } = await connect(theirs.fetch);
  const progress: string[] = [];
  const call = b.callTool({ name: "resume_wait", arguments: { label: "b" } }, undefined, {
    onprogress: (p) => progress.push(String(p.message)),
  });
  await until(() => gates.has("b") && progress.length === 1, "b's first progress event");
  // An event id of one of session a's streams, read from a raw POST of that session.
  const res = await fetch(`${stack.url}/mcp`, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      accept: "application/json, text/event-stream",
      "mcp-session-id": ta.sessionId ?? "",
      "mcp-protocol-version": "2025-06-18",
    },
    body: JSON.stringify({
      jsonrpc: "2.0",
      id: 77,
      method: "tools/call",
      params: { name: "resume_wait", arguments: { label: "probe" }, _meta: { progressToken: 1 } },
    }),
  });
  const reader = (res.body as ReadableStream<Uint8Array>).getReader();
  const first = new TextDecoder().decode((await reader.read()).value);
  const id = /id: (p\.[^\n]+)/.exec(first)?.[1];
  expect(id).toMatch(/^p\.[A-Za-z0-9_-]+\.[0-9a-z]+\.[A-Za-z0-9_-]+\.0$/);
  gates.get("probe")?.();
  await reader.cancel().catch(() => {});

  const notFound = await resumes("not_found");
  const resume = (session: string, lastEventId: string) =>
    fetch(`${stack.url}/mcp`, {
      headers: {
        accept: "text/event-stream",
        "mcp-session-id": session,
        "mcp-protocol-version": "2025-06-18",
        "last-event-id": lastEventId,
      },
    });
  // Session a's stream, presented in session b: not found there.
  const foreign = await resume(tb.sessionId ?? "", id ?? "");
  expect(foreign.status).toBe(404);
  expect(await foreign.text()).toContain("Stream not found");
  const ended = await resume(ta.sessionId ?? "", (id ?? "").replace(/^p\./, "x.").replace(/\.0$/, ""));
  expect(ended.status).toBe(404);
  const unknown = await resume(ta.sessionId ?? "", "p.zzzzzzzz.0.MQ.3");
  expect(unknown.status).toBe(404);
  expect(await resumes("not_found")).toBe(notFound + 3);

  gates.get("b")?.();
  expect((await call).content).toEqual([{ type: "text", text: "done b" }]);
  await a.close();
  await b.close();
});

test("a tool that closes its stream (SEP-1699 polling): the client resumes it and gets the rest", async () => {
  const net = breakableFetch();
  const { client } = await connect(net.fetch);
  const progress: string[] = [];
  const result = await client.callTool({ name: "resume_pause", arguments: {} }, undefined, {
    onprogress: (p) => progress.push(String(p.message)),
    timeout: 60_000,
  });
  expect(result.content).toEqual([{ type: "text", text: "answered after the pause" }]);
  expect(progress).toEqual(["after the pause"]);
  // It resumed from the priming event (sequence 0) the gateway sent before it closed the stream.
  const resumed = net.requests.filter((r) => r.method === "GET" && r.lastEventId?.startsWith("p."));
  expect(resumed[0]?.lastEventId).toMatch(/\.0$/);
  await client.close();
});
