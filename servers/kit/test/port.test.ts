import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { createServerClient, type RunningServer, serve } from "../src/index.ts";
import { testScope } from "./fixtures/scope.ts";
import { createTestServer, type Observed } from "./fixtures/test-server.ts";

let running: RunningServer;
let observed: Observed;
let closed = 0;

beforeAll(() => {
  const test = createTestServer();
  observed = test.observed;
  running = serve(
    {
      ...test.def,
      close: () => {
        closed++;
      },
    },
    { port: 0, hostname: "127.0.0.1" },
  );
});

afterAll(async () => {
  await running.stop();
  expect(closed).toBe(1);
});

const scope = testScope("org_port", "sess-port");

describe("over a real port", () => {
  test("serve() listens on a free port and answers the typed client", async () => {
    expect(running.port).toBeGreaterThan(0);
    expect(running.url).toBe(`http://127.0.0.1:${running.port}`);
    const client = createServerClient(running.url);
    const caps = await client.capabilities();
    expect(caps.tools.length).toBeGreaterThan(5);
    const event = await client.callTool({
      name: "test_echo",
      arguments: { text: "hey" },
      scope,
      live: false,
    });
    expect(event).toEqual({ type: "result", result: { content: [{ type: "text", text: "hey" }] } });
  });

  test("aborting the HTTP request aborts the tool's signal", async () => {
    const client = createServerClient(running.url);
    const controller = new AbortController();
    const started = observed.slowStarted;
    const aborted = observed.slowAborted;
    const call = client.callTool(
      { name: "test_slow", arguments: {}, scope, live: true },
      { signal: controller.signal },
    );
    await started;
    expect((await client.health()).inflight).toBe(1);
    controller.abort();
    await expect(call).rejects.toThrow();
    expect(await aborted).toBe("The client cancelled the call");
  });

  test("a streamed live elicitation is answered over the network", async () => {
    const client = createServerClient(running.url);
    let callId = "";
    const terminal = await client.callTool(
      { name: "test_elicit", arguments: {}, scope, live: true, clientCapabilities: { elicitation: {} } },
      {
        onEvent: (event) => {
          if (event.type === "accepted") callId = event.callId;
          if (event.type === "request")
            void client.callback({ callId, id: event.id, result: { action: "decline" } });
        },
      },
    );
    expect(terminal).toEqual({
      type: "result",
      result: { content: [{ type: "text", text: "No name (decline)" }] },
    });
  });

  test("a client going away mid-elicitation aborts the tool and forgets the callback", async () => {
    const client = createServerClient(running.url);
    const controller = new AbortController();
    let callId = "";
    let requestId = "";
    const seen = new Promise<void>((resolve) => {
      void client
        .callTool(
          { name: "test_elicit", arguments: {}, scope, live: true, clientCapabilities: { elicitation: {} } },
          {
            signal: controller.signal,
            onEvent: (event) => {
              if (event.type === "accepted") callId = event.callId;
              if (event.type === "request") {
                requestId = event.id;
                resolve();
              }
            },
          },
        )
        .catch(() => {});
    });
    await seen;
    expect((await client.health()).inflight).toBe(1);
    controller.abort();
    // The server learns of the disconnect asynchronously: wait (bounded) until the tool has ended.
    let inflight = 1;
    for (let i = 0; i < 200 && inflight > 0; i++) {
      await Bun.sleep(5);
      inflight = (await client.health()).inflight;
    }
    expect(inflight).toBe(0);
    expect(await client.callback({ callId, id: requestId, result: { action: "cancel" } })).toBe(false);
  });
});

describe("graceful shutdown", () => {
  test("stop() ends MCP sessions, cancels calls that outlive the grace period, then closes", async () => {
    const { def, observed: seen } = createTestServer();
    let closedHere = 0;
    const server = serve(
      {
        ...def,
        close: () => {
          closedHere++;
        },
      },
      { port: 0, hostname: "127.0.0.1", shutdownGraceMs: 50 },
    );
    const mcp = new Client({ name: "shutdown-test", version: "1.0.0" });
    await mcp.connect(new StreamableHTTPClientTransport(new URL(`${server.url}/mcp`)));
    const client = createServerClient(server.url);
    const started = seen.slowStarted;
    const aborted = seen.slowAborted;
    const call = client
      .callTool({ name: "test_slow", arguments: {}, scope, live: false })
      .catch(() => undefined);
    await started;
    await server.stop();
    expect(await aborted).toBe("The server is shutting down");
    expect(closedHere).toBe(1);
    await call;
    await mcp.close();
    expect(seen.endedSessions.map((s) => s.orgId)).toEqual(["local"]);
  });
});
