import { expect, test } from "bun:test";
import { classify, decodeCursor, encodeCursor, paginate, RpcError } from "./protocol.ts";

test("classify tells requests, notifications, responses and invalid messages apart", () => {
  expect(classify({ jsonrpc: "2.0", id: 1, method: "ping" })).toEqual({
    kind: "request",
    id: 1,
    method: "ping",
    params: {},
  });
  expect(classify({ jsonrpc: "2.0", method: "notifications/initialized" })).toMatchObject({
    kind: "notification",
  });
  expect(classify({ jsonrpc: "2.0", id: "a", result: {} })).toMatchObject({ kind: "response", id: "a" });
  expect(classify({ jsonrpc: "2.0", id: 2, error: { code: -1, message: "no" } })).toMatchObject({
    kind: "response",
    error: { code: -1, message: "no" },
  });
  for (const bad of [null, 1, "x", [], { id: 1, method: "ping" }, { jsonrpc: "2.0", id: 1, method: "" }]) {
    expect(classify(bad)).toMatchObject({ kind: "invalid", error: { code: -32600 } });
  }
  expect(classify({ jsonrpc: "2.0", id: 1, method: "x", params: [1] })).toMatchObject({
    kind: "invalid",
    id: 1,
    error: { message: "Invalid request: params must be an object" },
  });
  expect(classify({ jsonrpc: "2.0", id: 3, error: { code: "x" } })).toMatchObject({ kind: "invalid", id: 3 });
});

test("cursors are opaque, per list, and validated", () => {
  const items = Array.from({ length: 5 }, (_, i) => i);
  const first = paginate("tools", items, undefined, 2);
  expect(first.page).toEqual([0, 1]);
  const second = paginate("tools", items, first.nextCursor, 2);
  expect(second.page).toEqual([2, 3]);
  const last = paginate("tools", items, second.nextCursor, 2);
  expect(last).toEqual({ page: [4] });
  expect(() => decodeCursor("prompts", encodeCursor("tools", 2))).toThrow(RpcError);
  expect(() => decodeCursor("tools", "garbage")).toThrow(/cursor/);
  expect(() => decodeCursor("tools", 5)).toThrow(/must be a string/);
});
