import { afterAll, describe, expect, test } from "bun:test";
import type { ToolCallEvent, ToolCallRequest } from "@omni/contracts";
import { kitLifecycle } from "../src/app.ts";
import { CALL_SOCKET_PATH, callFrame, cancelFrame, type Frame, readFrames } from "../src/call-frames.ts";
import { BunWebSocket } from "../src/call-socket.ts";
import { createServerApp, createServerClient, KitRpcError } from "../src/index.ts";
import { testScope } from "./fixtures/scope.ts";
import { createTestServer } from "./fixtures/test-server.ts";

const TOKEN = `test-internal-${crypto.randomUUID()}`;
const scope = testScope();
const stops: (() => void)[] = [];
afterAll(() => {
  for (const stop of stops.splice(0)) stop();
});

/** A kit app on a real loopback port (the call socket needs one). */
function listen() {
  const { def, observed } = createTestServer();
  const app = createServerApp(def, { internalToken: TOKEN }).listen({ port: 0, hostname: "127.0.0.1" });
  const base = `http://127.0.0.1:${app.server?.port}`;
  let stopped = false;
  stops.push(() => {
    if (!stopped) void app.stop(true);
  });
  const stop = async () => {
    stopped = true;
    await app.stop(true);
  };
  return { app, stop, observed, base, wsUrl: `ws://127.0.0.1:${app.server?.port}${CALL_SOCKET_PATH}` };
}

/** A raw call socket: every frame it receives, and waiters for the next ones. */
async function rawSocket(
  wsUrl: string,
  headers: Record<string, string> = { authorization: `Bearer ${TOKEN}` },
) {
  const socket = new BunWebSocket(wsUrl, { headers });
  const frames: Frame[] = [];
  let wake: (() => void) | undefined;
  socket.onmessage = (message) => {
    frames.push(...(readFrames(String(message.data)) ?? []));
    wake?.();
  };
  const closed = new Promise<{ code: number; reason: string }>((resolve) => {
    socket.onclose = (event) => resolve({ code: event.code, reason: event.reason });
  });
  const open = await new Promise<boolean>((resolve) => {
    socket.onopen = () => resolve(true);
    socket.onerror = () => resolve(false);
    void closed.then(() => resolve(false));
  });
  stops.push(() => socket.close());
  /** The next frame of call `n` (waits for it). */
  const next = async (n: number) => {
    for (;;) {
      const index = frames.findIndex((frame) => frame.n === n);
      if (index >= 0) return frames.splice(index, 1)[0] as Frame;
      await new Promise<void>((resolve) => {
        wake = resolve;
      });
    }
  };
  return { socket, open, closed, next };
}

function body(name: string, args: Record<string, unknown> = {}, extra: Partial<ToolCallRequest> = {}) {
  return JSON.stringify({ name, arguments: args, scope, live: false, ...extra });
}

function eventOf(payload: string): ToolCallEvent {
  return JSON.parse(payload) as ToolCallEvent;
}

describe("the call socket, frame by frame", () => {
  test("only the gateway may open it: no token or a wrong one is refused at the upgrade", async () => {
    const { wsUrl } = listen();
    expect((await rawSocket(wsUrl, {})).open).toBe(false);
    expect((await rawSocket(wsUrl, { authorization: `Bearer ${TOKEN}x` })).open).toBe(false);
    expect((await rawSocket(wsUrl)).open).toBe(true);
  });

  test("calls run concurrently on one connection, each answered under its own number", async () => {
    const { wsUrl } = listen();
    const raw = await rawSocket(wsUrl);
    for (let n = 1; n <= 20; n++) raw.socket.send(callFrame(n, body("test_echo", { text: `call ${n}` })));
    for (let n = 20; n >= 1; n--) {
      const frame = await raw.next(n);
      expect(frame.kind).toBe("e");
      expect(eventOf(frame.payload)).toEqual({
        type: "result",
        result: { content: [{ type: "text", text: `call ${n}` }] },
      });
    }
  });

  test("one message may carry several frames; answers of one turn come back together", async () => {
    const { wsUrl } = listen();
    const raw = await rawSocket(wsUrl);
    raw.socket.send(
      [1, 2, 3].map((n) => callFrame(n, body("test_echo", { text: `batched ${n}` }))).join("\n"),
    );
    for (const n of [1, 2, 3]) {
      expect(eventOf((await raw.next(n)).payload)).toEqual({
        type: "result",
        result: { content: [{ type: "text", text: `batched ${n}` }] },
      });
    }
  });

  test("a streamed call sends accepted (with its callback id), its events, then the terminal event", async () => {
    const { wsUrl } = listen();
    const raw = await rawSocket(wsUrl);
    raw.socket.send(callFrame(7, body("test_progress", { steps: 2 }, { progress: true, logLevel: "error" })));
    const accepted = eventOf((await raw.next(7)).payload);
    expect(accepted.type).toBe("accepted");
    expect(accepted.type === "accepted" && accepted.callId).toMatch(/^[0-9a-f-]{36}$/);
    expect(eventOf((await raw.next(7)).payload)).toEqual({
      type: "progress",
      progress: 1,
      total: 2,
      message: "step 1",
    });
    expect(eventOf((await raw.next(7)).payload)).toMatchObject({ type: "progress", progress: 2 });
    expect(eventOf((await raw.next(7)).payload)).toMatchObject({ type: "result" });
  });

  test("a bad call is refused with the status the HTTP route answers, naming the field; nothing runs", async () => {
    const { wsUrl, observed } = listen();
    const raw = await rawSocket(wsUrl);
    raw.socket.send(callFrame(1, "{not json"));
    expect(await raw.next(1)).toMatchObject({ kind: "f", tokens: ["400"] });
    raw.socket.send(callFrame(2, JSON.stringify({ name: "test_multi", arguments: {}, scope, live: "yes" })));
    const invalid = await raw.next(2);
    expect(invalid).toMatchObject({ kind: "f", tokens: ["422"] });
    expect(invalid.payload).toContain("live");
    expect(observed.sideEffects).toBe(0);
    // The connection carries on.
    raw.socket.send(callFrame(3, body("test_echo", { text: "still here" })));
    expect((await raw.next(3)).kind).toBe("e");
  });

  test("a call number already running is refused; the running call is not disturbed", async () => {
    const { wsUrl, observed } = listen();
    const raw = await rawSocket(wsUrl);
    const started = observed.slowStarted;
    raw.socket.send(callFrame(5, body("test_slow", { ms: 300 })));
    await started;
    raw.socket.send(callFrame(5, body("test_echo", { text: "again" })));
    expect(await raw.next(5)).toMatchObject({ kind: "f", tokens: ["400"] });
    const finished = await raw.next(5);
    expect(eventOf(finished.payload)).toEqual({
      type: "result",
      result: { content: [{ type: "text", text: "finished" }] },
    });
  });

  test("a cancel frame aborts the tool's signal", async () => {
    const { wsUrl, observed } = listen();
    const raw = await rawSocket(wsUrl);
    const started = observed.slowStarted;
    const aborted = observed.slowAborted;
    raw.socket.send(callFrame(1, body("test_slow")));
    await started;
    raw.socket.send(cancelFrame(1));
    expect(await aborted).toBe("The client cancelled the call");
  });

  test("the connection closing cancels its running calls", async () => {
    const { wsUrl, observed } = listen();
    const raw = await rawSocket(wsUrl);
    const started = observed.slowStarted;
    const aborted = observed.slowAborted;
    raw.socket.send(callFrame(1, body("test_slow")));
    await started;
    raw.socket.close();
    expect(await aborted).toBe("The client cancelled the call");
  });

  test("a malformed frame closes the connection as a protocol error", async () => {
    const { wsUrl } = listen();
    for (const frame of [
      "hello",
      "c 0\n{}",
      "c -1\n{}",
      "q 1\n{}",
      `c ${"9".repeat(30)}\n{}`,
      "",
      "e 1\n{}",
    ]) {
      const raw = await rawSocket(wsUrl);
      raw.socket.send(frame);
      expect((await raw.closed).code).toBe(1002);
    }
  });

  test("draining refuses new calls with 503 and closes once the running ones finished", async () => {
    const { app, wsUrl, observed } = listen();
    const raw = await rawSocket(wsUrl);
    const started = observed.slowStarted;
    raw.socket.send(callFrame(1, body("test_slow", { ms: 200 })));
    await started;
    kitLifecycle(app)?.drainSockets();
    raw.socket.send(callFrame(2, body("test_echo", { text: "late" })));
    expect(await raw.next(2)).toMatchObject({ kind: "f", tokens: ["503"] });
    expect(eventOf((await raw.next(1)).payload)).toMatchObject({ type: "result" });
    expect((await raw.closed).code).toBe(1001);
  });
});

describe("createServerClient over the call socket", () => {
  test("a large result (8 MB) arrives whole", async () => {
    const { base } = listen();
    const client = createServerClient(base, { internalToken: TOKEN });
    stops.push(() => client.close());
    expect(await client.callSocketReady()).toBe(true);
    const text = "x".repeat(1000);
    const event = await client.callTool({
      name: "test_echo",
      arguments: { text, times: 8000 },
      scope,
      live: false,
    });
    const first = event.type === "result" ? event.result.content[0] : undefined;
    expect(first?.type === "text" && first.text.length).toBe(8000 * 1000);
  });

  test("aborting a call rejects it (at the next abort check) and cancels the tool upstream, not the others", async () => {
    const { base, observed } = listen();
    const client = createServerClient(base, { internalToken: TOKEN });
    stops.push(() => client.close());
    expect(await client.callSocketReady()).toBe(true);
    const started = observed.slowStarted;
    const aborted = observed.slowAborted;
    const controller = new AbortController();
    const call = client
      .callTool({ name: "test_slow", arguments: {}, scope, live: true }, { signal: controller.signal })
      .catch((error: unknown) => error);
    const other = client.callTool({ name: "test_slow", arguments: { ms: 300 }, scope, live: true });
    await started;
    controller.abort();
    expect(await call).toMatchObject({ name: "AbortError" });
    expect(await aborted).toBe("The client cancelled the call");
    // An already aborted signal: refused before anything is sent.
    const before = await client
      .callTool({ name: "test_slow", arguments: {}, scope, live: true }, { signal: AbortSignal.abort() })
      .catch((error: unknown) => error);
    expect(before).toMatchObject({ name: "AbortError" });
    expect(await other).toMatchObject({ type: "result" });
  });

  test("the server going away mid-call is a transport failure (the instance's health)", async () => {
    const { stop, base, observed } = listen();
    const client = createServerClient(base, { internalToken: TOKEN });
    stops.push(() => client.close());
    expect(await client.callSocketReady()).toBe(true);
    const started = observed.slowStarted;
    const call = client
      .callTool({ name: "test_slow", arguments: {}, scope, live: true })
      .catch((error: unknown) => error);
    await started;
    await stop();
    const failure = await call;
    expect(failure).toBeInstanceOf(KitRpcError);
    expect(failure).toMatchObject({ transport: true });
  });

  test("without a socket to open (a proxy refusing upgrades), calls go over HTTP", async () => {
    const { base } = listen();
    // A plain HTTP proxy in front of the instance: WebSocket upgrades are answered 404.
    const proxy = Bun.serve({
      port: 0,
      hostname: "127.0.0.1",
      fetch: (request) => {
        const url = new URL(request.url);
        if (request.headers.get("upgrade")) return new Response("no upgrades here", { status: 404 });
        return fetch(`${base}${url.pathname}${url.search}`, {
          method: request.method,
          headers: request.headers,
          body: request.body,
        });
      },
    });
    stops.push(() => void proxy.stop(true));
    const client = createServerClient(`http://127.0.0.1:${proxy.port}`, { internalToken: TOKEN });
    stops.push(() => client.close());
    expect(await client.callSocketReady()).toBe(false);
    const event = await client.callTool({
      name: "test_echo",
      arguments: { text: "by HTTP" },
      scope,
      live: false,
    });
    expect(event).toEqual({ type: "result", result: { content: [{ type: "text", text: "by HTTP" }] } });
  });

  test("callSocket: false never opens one", async () => {
    const { base } = listen();
    const client = createServerClient(base, { internalToken: TOKEN, callSocket: false });
    stops.push(() => client.close());
    expect(await client.callSocketReady()).toBe(false);
  });
});
