/** A unique constraint was violated: `constraint` names it, `message` says what already exists. */
export class ConflictError extends Error {
  override readonly name = "ConflictError";
  constructor(
    readonly constraint: string,
    message: string,
    readonly fields: Record<string, string> = {},
  ) {
    super(message);
  }
}

type Describe = (f: Record<string, string>) => string;

const messages: Record<string, Describe> = {
  organizations_slug_unique: (f) => `an organization with slug "${f.slug}" already exists`,
  organizations_clerk_id_unique: (f) => `an organization with Clerk id "${f.clerk_id}" already exists`,
  users_clerk_id_unique: (f) => `a user with Clerk id "${f.clerk_id}" already exists`,
  organization_memberships_org_user_unique: (f) =>
    `user "${f.user_id}" is already a member of organization "${f.organization_id}"`,
  mcp_servers_name_unique: (f) => `a server named "${f.name}" already exists`,
  server_instances_server_url_unique: (f) => `server "${f.server_id}" already has an instance at "${f.url}"`,
  organization_services_org_server_unique: (f) =>
    `organization "${f.organization_id}" already has a configuration for server "${f.server_id}"`,
  user_service_credentials_org_user_server_unique: (f) =>
    `user "${f.user_id}" already has a credential for server "${f.server_id}" in organization "${f.organization_id}"`,
  default_prompts_server_name_unique: (f) =>
    `server "${f.server_id}" already has a default prompt named "${f.name}"`,
  organization_prompts_org_server_name_unique: (f) =>
    f.server_id === undefined || f.server_id === "null"
      ? `organization "${f.organization_id}" already has its own prompt named "${f.name}"`
      : `organization "${f.organization_id}" already has a prompt "${f.name}" for server "${f.server_id}"`,
  default_resources_uri_unique: (f) => `a default resource with URI "${f.uri}" already exists`,
  organization_resources_org_uri_unique: (f) =>
    `organization "${f.organization_id}" already has a resource with URI "${f.uri}"`,
  api_keys_prefix_unique: (f) => `an API key with prefix "${f.prefix}" already exists`,
  api_keys_hash_unique: () => "an API key with the same hash already exists",
  federated_servers_org_prefix_unique: (f) =>
    `an upstream with prefix "${f.prefix}" is already registered ${
      f.organization_id === undefined ? "here" : "for this scope"
    }`,
  tool_policies_org_role_unique: () => "this organization already has a tool policy for that scope",
  bundles_org_slug_unique: (f) => `a bundle with slug "${f.slug}" already exists`,
  webhook_events_svix_id_unique: (f) => `webhook event "${f.svix_id}" was already received`,
};

interface PgErrorLike {
  code?: unknown;
  constraint?: unknown;
  constraint_name?: unknown;
  detail?: unknown;
  table?: unknown;
  table_name?: unknown;
  cause?: unknown;
}

/** Finds the Postgres error in a driver/drizzle error chain (drizzle wraps it in `cause`). */
function pgError(error: unknown): PgErrorLike | null {
  let current: unknown = error;
  for (let depth = 0; depth < 5 && typeof current === "object" && current !== null; depth++) {
    const candidate = current as PgErrorLike;
    if (typeof candidate.code === "string" && /^[0-9A-Z]{5}$/.test(candidate.code)) return candidate;
    current = candidate.cause;
  }
  return null;
}

/** Parses `Key (a, b)=(x, y) already exists.` into `{a: "x", b: "y"}` (best effort). */
function keyFields(detail: unknown): Record<string, string> {
  if (typeof detail !== "string") return {};
  const match = /^Key \((.+)\)=\((.*)\) already exists\.?$/s.exec(detail);
  if (!match) return {};
  const names = match[1]!.split(", ");
  const values = match[2]!.split(", ");
  if (names.length !== values.length) return {};
  return Object.fromEntries(names.map((name, i) => [name.replaceAll('"', ""), values[i]!]));
}

/** Turns a unique violation (SQLSTATE 23505, both drivers) into a ConflictError; other errors pass. */
export function toConflict(error: unknown): unknown {
  const pg = pgError(error);
  if (pg?.code !== "23505") return error;
  const constraint = String(pg.constraint ?? pg.constraint_name ?? "unknown");
  const fields = keyFields(pg.detail);
  const describe = messages[constraint];
  const table = String(pg.table ?? pg.table_name ?? "the table");
  const message = describe
    ? describe(fields)
    : `a row with the same ${Object.keys(fields).join(", ") || "key"} already exists in ${table}`;
  return new ConflictError(constraint, message, fields);
}

/** Awaits a query, rethrowing unique violations as ConflictError. */
export async function guard<T>(query: PromiseLike<T>): Promise<T> {
  try {
    return await query;
  } catch (error) {
    throw toConflict(error);
  }
}
