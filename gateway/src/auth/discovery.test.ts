import { describe, expect, test } from "bun:test";
import { authErrorResponse, resourceMetadata, wwwAuthenticate } from "./discovery.ts";

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
    expect(plain.headers.get("www-authenticate")).toContain('error="insufficient_scope"');
  });

  test("metadata names the issuer as authorization server", () => {
    expect(resourceMetadata("https://gw.example", "/mcp", "https://clerk.example/")).toMatchObject({
      resource: "https://gw.example/mcp",
      authorization_servers: ["https://clerk.example"],
      bearer_methods_supported: ["header"],
    });
  });
});
