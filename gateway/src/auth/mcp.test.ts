import { describe, expect, test } from "bun:test";
import { authorizeMcpMethod } from "./mcp.ts";

const org = (permissions: string[], via: "api_key" | "clerk" = "api_key") => ({
  orgId: "org_1",
  userId: null,
  role: "member" as const,
  permissions,
  via,
});

describe("authorizeMcpMethod", () => {
  test("allowed with the permission; lifecycle and unknown methods need none", () => {
    expect(authorizeMcpMethod(org(["tools:call"]), "tools/call")).toEqual({ kind: "allow" });
    expect(authorizeMcpMethod(org([]), "ping")).toEqual({ kind: "allow" });
    expect(authorizeMcpMethod(org([]), "no/such/method")).toEqual({ kind: "allow" });
  });

  test("list methods without the permission answer an empty list", () => {
    expect(authorizeMcpMethod(org([]), "tools/list")).toEqual({ kind: "empty", result: { tools: [] } });
    expect(authorizeMcpMethod(org([]), "resources/templates/list")).toEqual({
      kind: "empty",
      result: { resourceTemplates: [] },
    });
  });

  test("other methods are refused with -32001 naming the permission", () => {
    const verdict = authorizeMcpMethod(org(["tools:call"], "clerk"), "resources/read");
    expect(verdict.kind).toBe("refuse");
    if (verdict.kind !== "refuse") return;
    expect(verdict.error.code).toBe(-32001);
    expect(verdict.error.message).toContain("resources:read");
    expect(verdict.error.message).toContain("member");
    expect(verdict.error.data).toEqual({
      reason: "missing_permission",
      permission: "resources:read",
      method: "resources/read",
    });
  });
});
