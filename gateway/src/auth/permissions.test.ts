import { describe, expect, test } from "bun:test";
import { PERMISSIONS } from "@omni/contracts";
import {
  hasPermission,
  permissionForMcpMethod,
  permissionsFor,
  ROLE_PERMISSIONS,
  roleForScopes,
  roleFromClerk,
} from "./permissions.ts";

describe("permission table", () => {
  test("members call tools and read prompts/resources; admins manage; owners hold everything", () => {
    expect(permissionsFor("member")).toEqual(["tools:call", "prompts:read", "resources:read"]);
    const admin = permissionsFor("admin");
    for (const p of [
      "admin:read",
      "admin:write",
      "keys:read",
      "keys:write",
      "audit:read",
      "members:read",
    ] as const) {
      expect(admin).toContain(p);
    }
    expect(admin).not.toContain("members:write");
    expect(admin).not.toContain("org:settings");
    expect(permissionsFor("owner")).toEqual([...PERMISSIONS]);
    // Roles nest: every member permission is an admin's, every admin permission an owner's.
    for (const p of ROLE_PERMISSIONS.member) expect(ROLE_PERMISSIONS.admin).toContain(p);
    for (const p of ROLE_PERMISSIONS.admin) expect(ROLE_PERMISSIONS.owner).toContain(p);
  });

  test("extra grants: membership permissions and Clerk `org:` keys; unknown names dropped", () => {
    const perms = permissionsFor("member", [
      "admin:write",
      "org:keys:read",
      "org:sys_memberships:manage",
      "bogus",
    ]);
    expect(perms).toEqual(["tools:call", "prompts:read", "resources:read", "admin:write", "keys:read"]);
    expect(hasPermission(perms, "admin:write")).toBe(true);
    expect(hasPermission(perms, "members:write")).toBe(false);
  });

  test("MCP methods map to permissions; lifecycle methods need none", () => {
    expect(permissionForMcpMethod("tools/call")).toBe("tools:call");
    expect(permissionForMcpMethod("prompts/get")).toBe("prompts:read");
    expect(permissionForMcpMethod("resources/read")).toBe("resources:read");
    expect(permissionForMcpMethod("tasks/get")).toBe("tools:call");
    expect(permissionForMcpMethod("tasks/cancel")).toBe("tools:call");
    expect(permissionForMcpMethod("initialize")).toBeNull();
    expect(permissionForMcpMethod("ping")).toBeNull();
  });

  test("Clerk roles and key scopes map to our roles", () => {
    expect(roleFromClerk("org:admin")).toBe("admin");
    expect(roleFromClerk("org:member")).toBe("member");
    expect(roleFromClerk("owner")).toBe("owner");
    expect(roleFromClerk("org:billing_viewer")).toBe("member");
    expect(roleFromClerk(undefined)).toBeNull();
    expect(roleForScopes(["tools:call"])).toBe("member");
    expect(roleForScopes(["tools:call", "admin:write"])).toBe("admin");
    expect(roleForScopes(["members:write"])).toBe("owner");
  });
});
