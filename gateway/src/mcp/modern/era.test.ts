import { describe, expect, test } from "bun:test";
import { classifyEra, META } from "./era.ts";

function input(body: unknown, headers: Record<string, string> = {}, httpMethod = "POST") {
  return { httpMethod, headers: new Headers(headers), body };
}
const modernMeta = { [META.protocolVersion]: "2026-07-28", [META.clientCapabilities]: {} };

describe("classifyEra", () => {
  test("a _meta protocol-version claim is modern, whatever the method or headers", () => {
    expect(
      classifyEra(input({ jsonrpc: "2.0", id: 1, method: "tools/list", params: { _meta: modernMeta } })),
    ).toBe("modern");
    expect(
      classifyEra(input({ jsonrpc: "2.0", id: 1, method: "initialize", params: { _meta: modernMeta } })),
    ).toBe("modern");
    expect(
      classifyEra(
        input(
          { jsonrpc: "2.0", id: 1, method: "ping", params: { _meta: modernMeta } },
          { "mcp-session-id": "s" },
        ),
      ),
    ).toBe("modern");
  });

  test("initialize, a session id, GET/DELETE and batches are 2025 sessions", () => {
    expect(
      classifyEra(
        input({ jsonrpc: "2.0", id: 1, method: "initialize" }, { "mcp-protocol-version": "2026-07-28" }),
      ),
    ).toBe("session");
    expect(
      classifyEra(input({ jsonrpc: "2.0", id: 1, method: "tools/list" }, { "mcp-session-id": "abc" })),
    ).toBe("session");
    expect(classifyEra(input(undefined, { "mcp-protocol-version": "2026-07-28" }, "GET"))).toBe("session");
    expect(classifyEra(input(undefined, {}, "DELETE"))).toBe("session");
    expect(classifyEra(input([{ jsonrpc: "2.0", id: 1, method: "tools/list" }]))).toBe("session");
  });

  test("a non-2025 MCP-Protocol-Version header without a claim is modern (the envelope check rejects it)", () => {
    expect(
      classifyEra(
        input({ jsonrpc: "2.0", id: 1, method: "tools/list" }, { "mcp-protocol-version": "2026-07-28" }),
      ),
    ).toBe("modern");
    expect(
      classifyEra(input({ jsonrpc: "2.0", id: 1, method: "tools/list" }, { "mcp-protocol-version": "v999" })),
    ).toBe("modern");
  });

  test("2025 headers or no header at all stay on the session path", () => {
    expect(
      classifyEra(
        input({ jsonrpc: "2.0", id: 1, method: "tools/list" }, { "mcp-protocol-version": "2025-06-18" }),
      ),
    ).toBe("session");
    expect(classifyEra(input({ jsonrpc: "2.0", id: 1, method: "tools/list" }))).toBe("session");
    expect(classifyEra(input("not an object"))).toBe("session");
    expect(classifyEra(input({ jsonrpc: "2.0", id: 1, method: "tools/list", params: { _meta: "x" } }))).toBe(
      "session",
    );
  });
});
