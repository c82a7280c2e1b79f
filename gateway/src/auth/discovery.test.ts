import { describe, expect, test } from "bun:test";
import { authErrorResponse, mcpResourcePath, resourceMetadata, wwwAuthenticate } from "./discovery.ts";

describe("authorization discovery", () => {
  test("the challenge points at the protected-resource metadata, with the error for a failed token", () => {
    expect(wwwAuthenticate("https://gw.example")).toBe(
      'Bearer resource_metadata="https://gw.example/.well-known/oauth-protected-resource"',
    );
    expect(wwwAuthenticate("https://gw.example", { status: 401, reason: "token_expired" })).toBe(
      'Bearer resource_metadata="https://gw.example/.well-known/oauth-protected-resource", error="invalid_token", error_description="token_expired"',
    );
  });

  test("MCP 401s are JSON-RPC errors (-32001) naming the reason, with the challenge header", async () => {
    const res = authErrorResponse(
      { ok: false, status: 401, reason: "key_revoked", message: "This API key was revoked." },
      "https://gw.example",
      { id: "req-1" },
    );
    expect(res.status).toBe(401);
    expect(res.headers.get("www-authenticate")).toContain("resource_metadata=");
    expect(await res.json()).toEqual({
      jsonrpc: "2.0",
      id: "req-1",
      error: { code: -32001, message: "This API key was revoked.", data: { reason: "key_revoked" } },
    });
    const plain = authErrorResponse(
      { ok: false, status: 403, reason: "not_a_member", message: "no" },
      "https://gw.example",
    );
    expect(await plain.json()).toEqual({ error: { code: "not_a_member", message: "no" } });
    // A 403 that no other scope could fix is no `insufficient_scope` (clients would re-authorize in vain).
    expect(plain.headers.get("www-authenticate")).not.toContain("error=");
  });

  test("OAuth: the MCP challenge names its own metadata and the scopes; step-up 403s name the scope", () => {
    expect(
      wwwAuthenticate("https://gw.example", undefined, { resourcePath: "/mcp/o/acme", scope: "tools:call" }),
    ).toBe(
      'Bearer resource_metadata="https://gw.example/.well-known/oauth-protected-resource/mcp/o/acme", scope="tools:call"',
    );
    expect(
      wwwAuthenticate("https://gw.example", {
        status: 403,
        reason: "insufficient_scope",
        scope: "prompts:read tools:call",
      }),
    ).toBe(
      'Bearer resource_metadata="https://gw.example/.well-known/oauth-protected-resource", error="insufficient_scope", scope="prompts:read tools:call", error_description="insufficient_scope"',
    );
    // Header values cannot be broken out of.
    expect(wwwAuthenticate("https://gw.example", { status: 401, reason: 'x", evil="1' })).toContain(
      `error_description="x', evil='1"`,
    );
  });

  test("MCP resource paths: /mcp and /mcp/o/<slug> (WebSocket paths map to the same)", () => {
    expect(mcpResourcePath("/mcp")).toBe("/mcp");
    expect(mcpResourcePath("/mcp/o/acme-1")).toBe("/mcp/o/acme-1");
    expect(mcpResourcePath("/ws/o/acme")).toBe("/mcp/o/acme");
    expect(mcpResourcePath("/ws")).toBe("/mcp");
    expect(mcpResourcePath("/mcp/o/a%22b")).toBeNull();
    expect(mcpResourcePath("/api/keys")).toBeNull();
  });

  test("metadata names the issuer as authorization server", () => {
    expect(resourceMetadata("https://gw.example", "/mcp", "https://clerk.example/")).toMatchObject({
      resource: "https://gw.example/mcp",
      authorization_servers: ["https://clerk.example"],
      bearer_methods_supported: ["header"],
    });
  });
});
