import * as v from "valibot";

/**
 * The operator API of domain-server instances (`/api/operator/instances`): deployment-wide, so it takes
 * the deployment's operator token (`OMNI_OPERATOR_TOKEN`), never an organization's credentials.
 */

/** Longest instance URL accepted. */
export const INSTANCE_URL_MAX = 2000;

const hasCredentials = (url: string) => {
  const parsed = URL.parse(url);
  return parsed !== null && (parsed.username !== "" || parsed.password !== "");
};
const hasQueryOrFragment = (url: string) => {
  const parsed = URL.parse(url);
  return parsed !== null && (parsed.search !== "" || parsed.hash !== "");
};

/**
 * A domain server instance's base URL: http(s), at most 2000 characters, no credentials (the gateway
 * authenticates with `OMNI_INTERNAL_TOKEN`), no query or fragment; trailing slashes are dropped.
 */
export const InstanceUrl = v.pipe(
  v.string("must be a string"),
  v.trim(),
  v.maxLength(INSTANCE_URL_MAX, `must be at most ${INSTANCE_URL_MAX} characters`),
  v.url("must be a URL, e.g. http://10.0.0.5:3001"),
  v.regex(/^https?:\/\//i, "must be an http(s) URL"),
  v.check(
    (url) => !hasCredentials(url),
    "must not carry credentials (user:password@): the gateway authenticates to domain servers with OMNI_INTERNAL_TOKEN",
  ),
  v.check((url) => !hasQueryOrFragment(url), "must be a base URL, without ?query or #fragment"),
  v.transform((url) => url.replace(/\/+$/, "")),
);

/** `POST /api/operator/instances`: another instance of a catalogue server. */
export const CreateServerInstanceBody = v.object({
  server: v.pipe(
    v.string("must be a string"),
    v.regex(/^[a-z][a-z0-9_-]{0,63}$/, "must be a server name of the catalogue, e.g. linear"),
  ),
  url: InstanceUrl,
});
export type CreateServerInstanceBody = v.InferOutput<typeof CreateServerInstanceBody>;

/** What the replica that answers knows of an instance right now (its registry). */
export const LiveInstance = v.object({
  healthy: v.boolean(),
  /** Gets no new calls (its calls in flight finish). */
  draining: v.boolean(),
  /** Calls in flight on this replica's connection to it. */
  outstanding: v.number(),
  lastError: v.nullable(v.string()),
  lastCheckedAt: v.nullable(v.string()),
  version: v.nullable(v.string()),
});
export type LiveInstance = v.InferOutput<typeof LiveInstance>;

export const ServerInstanceStatus = v.object({
  /** The `server_instances` row id (`ins_...`); null for an instance from `SERVERS` or one being removed. */
  id: v.nullable(v.string()),
  server: v.string(),
  url: v.string(),
  /**
   * `table`: a `server_instances` row (this API, SQL); `env`: the gateway's `SERVERS` (fixed, changed by
   * restarting with another value); `removed`: its row is gone and this replica is finishing its calls.
   */
  source: v.picklist(["table", "env", "removed"]),
  /** The row's flag (for `env`/`removed`: the live state). */
  draining: v.boolean(),
  /** Null when this replica does not route to it (yet: it picks rows up within SERVER_INSTANCES_POLL_MS). */
  live: v.nullable(LiveInstance),
  createdAt: v.nullable(v.string()),
  updatedAt: v.nullable(v.string()),
});
export type ServerInstanceStatus = v.InferOutput<typeof ServerInstanceStatus>;

export const ServerInstanceList = v.object({ instances: v.array(ServerInstanceStatus) });
export type ServerInstanceList = v.InferOutput<typeof ServerInstanceList>;
