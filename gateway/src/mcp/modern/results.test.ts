import { describe, expect, test } from "bun:test";
import { META } from "./era.ts";
import { decorateResult } from "./results.ts";

const server = { name: "omni", version: "1" };
const cache = { ttlMs: 30_000, cacheScope: "private" as const };

describe("decorateResult", () => {
  test("lists get resultType, the cache hint and the server's identity; execution is dropped", () => {
    const out = decorateResult(
      "tools/list",
      { tools: [{ name: "a", inputSchema: { type: "object" }, execution: { taskSupport: "optional" } }] },
      cache,
      server,
    );
    expect(out).toEqual({
      tools: [{ name: "a", inputSchema: { type: "object" } }],
      resultType: "complete",
      ttlMs: 30_000,
      cacheScope: "private",
      _meta: { [META.serverInfo]: server },
    });
  });

  test("a handler's own valid hint wins; invalid ones are replaced", () => {
    expect(
      decorateResult("resources/read", { contents: [], ttlMs: 5, cacheScope: "public" }, cache, server),
    ).toMatchObject({
      ttlMs: 5,
      cacheScope: "public",
    });
    expect(
      decorateResult("prompts/list", { prompts: [], ttlMs: -1, cacheScope: "shared" }, cache, server),
    ).toMatchObject({
      ttlMs: 30_000,
      cacheScope: "private",
    });
  });

  test("non-cacheable and input_required results carry no cache fields", () => {
    const call = decorateResult("tools/call", { content: [] }, cache, server);
    expect(call.resultType).toBe("complete");
    expect("ttlMs" in call).toBe(false);
    const pending = decorateResult(
      "tools/call",
      { resultType: "input_required", inputRequests: {} },
      cache,
      server,
    );
    expect(pending.resultType).toBe("input_required");
    expect("cacheScope" in pending).toBe(false);
    expect(() => decorateResult("tools/list", { resultType: "input_required" }, cache, server)).toThrow(
      "tools/list",
    );
  });

  test("existing _meta is kept", () => {
    expect(
      decorateResult("completion/complete", { completion: { values: [] }, _meta: { x: 1 } }, cache, server)
        ._meta,
    ).toEqual({
      x: 1,
      [META.serverInfo]: server,
    });
  });
});
