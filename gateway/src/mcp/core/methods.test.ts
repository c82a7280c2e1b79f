import { describe, expect, test } from "bun:test";
import { randomBytes } from "node:crypto";
import { CompleteParams, ListenParams, SetLevelParams, ToolsCallParams } from "@omni/contracts";
import { RpcError } from "../protocol.ts";
import { SessionStore, sessionCall } from "../session.ts";
import { MemorySessionBus } from "../session-bus.ts";
import { SessionSealer } from "../session-seal.ts";
import { ResponseChannel } from "../sse.ts";
import { statelessKey } from "./context.ts";
import { ERAS, MODERN_METHODS, REMOVED_IN_MODERN, SESSION_METHODS } from "./eras.ts";
import { method, parseParams } from "./methods.ts";

function invalid(run: () => unknown): RpcError {
  try {
    run();
  } catch (error) {
    if (error instanceof RpcError) return error;
    throw error;
  }
  throw new Error("expected an RpcError");
}

describe("method registry", () => {
  const call = method(ToolsCallParams, (_call, params) => ({ name: params.name }));

  test("params pass through the contract's schema, typed (unknown fields kept)", () => {
    const params = parseParams(call, { name: "echo", arguments: { a: 1 }, _meta: { progressToken: 7 } });
    expect(params.name).toBe("echo");
    expect(params.arguments).toEqual({ a: 1 });
    expect(params._meta?.progressToken).toBe(7);
  });

  test("invalid params are -32602 naming each field, from the schema", () => {
    const missing = invalid(() => parseParams(call, {}));
    expect(missing.code).toBe(-32602);
    expect(missing.message).toBe("Invalid params: params.name is required");
    expect(missing.data).toEqual([{ path: "params.name", message: "is required" }]);
    const wrong = invalid(() => parseParams(call, { name: 5, arguments: [] }));
    expect(wrong.message).toContain("params.name must be a string");
    expect(wrong.message).toContain("params.arguments must be an object");
    const level = invalid(() =>
      parseParams(
        method(SetLevelParams, () => ({})),
        { level: "loud" },
      ),
    );
    expect(level.message).toContain("params.level must be one of debug, info");
    const ref = invalid(() =>
      parseParams(
        method(CompleteParams, () => ({})),
        { ref: { type: "ref/x" }, argument: { name: "a" } },
      ),
    );
    expect(ref.message).toContain("params.ref.type");
    expect(ref.message).toContain("params.argument.value is required");
    const listen = invalid(() =>
      parseParams(
        method(ListenParams, () => ({})),
        { notifications: { toolsListChanged: "yes" } },
      ),
    );
    expect(listen.message).toBe("Invalid params: params.notifications.toolsListChanged must be a boolean");
  });
});

describe("eras as data", () => {
  test("2026-07-28 drops the session methods and adds its own; a task run knows only tools/call", () => {
    expect([...REMOVED_IN_MODERN].sort()).toEqual(
      ["initialize", "logging/setLevel", "ping", "resources/subscribe", "resources/unsubscribe"].sort(),
    );
    for (const name of ["server/discover", "subscriptions/listen", "tasks/get"]) {
      expect(ERAS.modern.has(name)).toBe(true);
      expect(ERAS.session.has(name)).toBe(false);
    }
    expect([...ERAS.task]).toEqual(["tools/call"]);
    expect(new Set<string>([...SESSION_METHODS, ...MODERN_METHODS]).has("constructor")).toBe(false);
    expect(ERAS.session.has("__proto__")).toBe(false);
  });
});

describe("call context", () => {
  const caller = {
    org: { orgId: "org_1", userId: "user_1", role: "member" as const, permissions: [], via: "dev" as const },
    credentialId: "key_1",
  };

  test("a 2025 session's call is live, keyed by the session, and cancellable until it ends", () => {
    const store = new SessionStore(
      60_000,
      () => {},
      new SessionSealer(randomBytes(32), 60_000),
      new MemorySessionBus(),
    );
    const session = store.create({
      caller,
      protocolVersion: "2025-11-25",
      clientCapabilities: { elicitation: {} },
      clientInfo: {},
    });
    session.logLevel = "warning";
    const out = { send: () => true };
    const { call, end } = sessionCall(session, 42, out);
    expect(call).toMatchObject({
      era: "session",
      id: 42,
      live: true,
      logLevel: "warning",
      sessionKey: session.id,
      clientCapabilities: { elicitation: {} },
    });
    expect(call.session).toBe(session);
    expect(call.out).toBe(out);
    // notifications/cancelled finds the call by its id.
    session.inflight.get("42")?.abort();
    expect(call.signal.aborted).toBe(true);
    end();
    expect(session.inflight.size).toBe(0);
    store.close();
  });

  test("a caller without a session is keyed by org and credential", () => {
    expect(statelessKey(caller)).toBe("stateless:org_1:key_1");
    expect(statelessKey({ org: { ...caller.org, userId: null } })).toBe("stateless:org_1:org");
  });
});

describe("response channel (sse.ts)", () => {
  test("plain JSON when nothing was sent before the answer", async () => {
    const channel = new ResponseChannel();
    channel.finish({ jsonrpc: "2.0", id: 1, result: {} });
    const response = await channel.response;
    expect(response.headers.get("content-type")).toBe("application/json");
    expect(await response.json()).toEqual({ jsonrpc: "2.0", id: 1, result: {} });
  });

  test("an SSE stream once a message is sent; dropped messages do not open it", async () => {
    const channel = new ResponseChannel({ drop: (m) => m.method === "notifications/message" });
    expect(channel.send({ jsonrpc: "2.0", method: "notifications/message" })).toBe(true);
    channel.send({ jsonrpc: "2.0", method: "notifications/progress", params: { progress: 1 } });
    channel.finish({ jsonrpc: "2.0", id: 1, result: {} });
    const response = await channel.response;
    expect(response.headers.get("content-type")).toBe("text/event-stream");
    const text = await response.text();
    expect(text).not.toContain("notifications/message");
    expect(text.split("event: message").length - 1).toBe(2);
  });
});
