import { PERMISSIONS, type Permission, type Role } from "@omni/contracts";

/** What only an owner may do: every other permission in the contracts' list is an admin's too. */
const OWNER_ONLY: readonly Permission[] = ["members:write", "org:settings"];

/**
 * The one table of what each role may do. Guards on the admin API and on MCP methods check permissions,
 * never roles; a role is only a named set of permissions. Documented in gateway/AUTH.md.
 */

export const ROLE_PERMISSIONS: Record<Role, readonly Permission[]> = {
  member: ["tools:call", "prompts:read", "resources:read"],
  admin: PERMISSIONS.filter((p) => !OWNER_ONLY.includes(p)),
  owner: PERMISSIONS,
};

/** Everything MCP itself needs (the other permissions are the admin API's): an OAuth token's default. */
export const MCP_SCOPES: readonly Permission[] = ["tools:call", "prompts:read", "resources:read"];

/** The permission each MCP method needs (methods not listed need only an authenticated caller). */
export const MCP_METHOD_PERMISSIONS: Record<string, Permission> = {
  "tools/list": "tools:call",
  "tools/call": "tools:call",
  "prompts/list": "prompts:read",
  "prompts/get": "prompts:read",
  "completion/complete": "prompts:read",
  "resources/list": "resources:read",
  "resources/templates/list": "resources:read",
  "resources/read": "resources:read",
  "resources/subscribe": "resources:read",
  "resources/unsubscribe": "resources:read",
  // MCP tasks (2026-07-28 extension): a task is a tool call running in the background.
  "tasks/get": "tools:call",
  "tasks/update": "tools:call",
  "tasks/cancel": "tools:call",
};

const known = new Set<string>(PERMISSIONS);

export function isPermission(value: string): value is Permission {
  return known.has(value);
}

/**
 * Effective permissions: the role's set plus extra grants (a membership's `permissions[]`, Clerk custom
 * permissions `org:<a>:<b>` read as `<a>:<b>`). Unknown names are dropped.
 */
export function permissionsFor(role: Role, extra: readonly string[] = []): Permission[] {
  const out = new Set<Permission>(ROLE_PERMISSIONS[role]);
  for (const raw of extra) {
    const name = raw.startsWith("org:") ? raw.slice(4) : raw;
    if (isPermission(name)) out.add(name);
  }
  return PERMISSIONS.filter((p) => out.has(p));
}

export function hasPermission(granted: readonly string[], needed: Permission): boolean {
  return granted.includes(needed);
}

/** The permission an MCP method needs, or null when any authenticated caller may use it. */
export function permissionForMcpMethod(method: string): Permission | null {
  return Object.hasOwn(MCP_METHOD_PERMISSIONS, method) ? MCP_METHOD_PERMISSIONS[method]! : null;
}

/** Maps a Clerk role key (`org:admin`, `admin`, `org:owner`, custom) to ours; unknown roles are members. */
export function roleFromClerk(role: string | undefined): Role | null {
  if (!role) return null;
  const name = role.startsWith("org:") ? role.slice(4) : role;
  if (name === "owner" || name === "admin" || name === "member") return name;
  return "member";
}

/** The role an API key acts with: the smallest role whose table covers its scopes. */
export function roleForScopes(scopes: readonly string[]): Role {
  for (const role of ["member", "admin"] as const) {
    if (scopes.every((s) => (ROLE_PERMISSIONS[role] as readonly string[]).includes(s))) return role;
  }
  return "owner";
}
