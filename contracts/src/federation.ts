import * as v from "valibot";

/** The admin API of federated upstream MCP servers (`/api/federation/servers`). */

/** A namespace prefix: tool and prompt names are `<prefix>_<upstream name>`. */
export const FederationPrefix = v.pipe(
  v.string("must be a string"),
  v.regex(/^[a-z][a-z0-9-]{0,31}$/, "must be 1-32 of a-z, 0-9, '-', starting with a letter (no '_')"),
);

/** An org admin registers a remote upstream only: a stdio command is the operator's (`omni servers add`). */
export const CreateFederatedServerBody = v.object({
  name: v.pipe(v.string("must be a string"), v.trim(), v.minLength(1, "must not be empty"), v.maxLength(200)),
  prefix: FederationPrefix,
  transport: v.picklist(
    ["streamable-http", "sse"],
    "must be streamable-http or sse (a stdio command can only be defined by the operator, with omni servers add)",
  ),
  url: v.pipe(
    v.string("must be a string"),
    v.maxLength(2000),
    v.url("must be a URL"),
    v.regex(/^https?:\/\//i, "must be an http(s) URL"),
  ),
  /** The header that carries `authSecret` (e.g. `Authorization`). */
  authHeader: v.optional(v.pipe(v.string(), v.regex(/^[A-Za-z0-9-]{1,64}$/, "must be an HTTP header name"))),
  /** Stored encrypted; never returned. */
  authSecret: v.optional(v.pipe(v.string(), v.minLength(1), v.maxLength(8000))),
});
export type CreateFederatedServerBody = v.InferOutput<typeof CreateFederatedServerBody>;

export const FederatedServerStatus = v.object({
  id: v.string(),
  name: v.string(),
  prefix: v.string(),
  transport: v.picklist(["streamable-http", "sse", "stdio"]),
  /** Remote upstreams' URL (a stdio upstream's command is not shown to org admins). */
  url: v.nullable(v.string()),
  /** `organization`: this org's own; `global`: the operator's, offered to every org. */
  scope: v.picklist(["organization", "global"]),
  enabled: v.boolean(),
  hasAuthSecret: v.boolean(),
  /** `idle`: not yet connected for this org (a global upstream connects on the org's first use). */
  state: v.picklist(["connecting", "healthy", "down", "closed", "idle"]),
  lastError: v.nullable(v.string()),
  lastConnectedAt: v.nullable(v.string()),
  tools: v.number(),
  prompts: v.number(),
  resources: v.number(),
});
export type FederatedServerStatus = v.InferOutput<typeof FederatedServerStatus>;
export const FederatedServerList = v.object({ servers: v.array(FederatedServerStatus) });
export type FederatedServerList = v.InferOutput<typeof FederatedServerList>;
