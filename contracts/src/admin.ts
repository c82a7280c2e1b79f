import * as v from "valibot";
import { PromptArgument, PromptMessageTemplate, PromptTemplate } from "./mcp.ts";
import { BrowserContextInfo } from "./rpc.ts";

/**
 * The admin API for an organization's configuration (`/api/...` on the gateway): prompts, static
 * resources, services, their settings and secrets, and a member's own credentials. Secrets go in, never
 * out: responses only say which are set and when.
 *
 * (These are written against `PromptTemplate` & co. rather than derived from the Drizzle tables with
 * drizzle-valibot: contracts import no service, and `@omni/db` depends on contracts.)
 */

/**
 * The one error shape of the gateway's HTTP API (every `/api` route, and the security plugin's, auth
 * guard's and `/ws` refusals on any path; MCP answers JSON-RPC errors instead): `{ error: { code, message,
 * details? } }`. `code` is machine-readable: `bad_request`, `unauthorized` (or the authentication reason,
 * e.g. `missing_credentials`, `key_revoked`), `forbidden`, `not_found`, `conflict`, `invalid`, `last_owner`,
 * `rate_limited`, `payload_too_large`, `dependency_unavailable`, `internal`. `details` carries structured
 * context such as `field` (dotted path of the offending field, e.g. `messages.0.text`), `retryAfterSeconds`
 * or `requestId`; it never echoes the input.
 */
export const ApiError = v.object({
  error: v.object({
    code: v.string(),
    message: v.string(),
    details: v.optional(v.record(v.string(), v.unknown())),
  }),
});
export type ApiError = v.InferOutput<typeof ApiError>;

export const ItemSource = v.picklist(["code", "default", "override", "org"]);
export type ItemSource = v.InferOutput<typeof ItemSource>;

const ServerName = v.pipe(
  v.string(),
  v.regex(/^[a-z0-9][a-z0-9_-]{0,63}$/, "server names are lowercase identifiers"),
);
const Title = v.pipe(v.string(), v.maxLength(200));
const Description = v.pipe(v.string(), v.maxLength(4000));
const Arguments = v.pipe(v.array(PromptArgument), v.maxLength(32));
const Messages = v.pipe(
  v.array(PromptMessageTemplate),
  v.minLength(1, "a prompt has at least one message"),
  v.maxLength(32),
);

/** A prompt as the admin sees it: the effective template plus where it comes from. */
export const AdminPrompt = v.object({
  /** The org's row (own prompt, override or disable marker); null for an untouched default. */
  id: v.nullable(v.string()),
  name: v.string(),
  server: v.nullable(v.string()),
  source: ItemSource,
  /** A default the org has switched off. */
  disabled: v.boolean(),
  /** Offered to MCP clients (not disabled, and not shadowed by another item of the same name). */
  visible: v.boolean(),
  title: v.optional(v.string()),
  description: v.optional(v.string()),
  arguments: v.array(PromptArgument),
  messages: v.array(PromptMessageTemplate),
  updatedAt: v.nullable(v.string()),
});
export type AdminPrompt = v.InferOutput<typeof AdminPrompt>;

export const AdminPromptList = v.object({ prompts: v.array(AdminPrompt) });
export type AdminPromptList = v.InferOutput<typeof AdminPromptList>;

/** A new org prompt (`server` set: visible only while that server is enabled). */
export const CreatePromptBody = v.object({
  name: PromptTemplate.entries.name,
  server: v.optional(v.nullable(ServerName)),
  title: v.optional(Title),
  description: v.optional(Description),
  arguments: v.optional(Arguments),
  messages: Messages,
});
export type CreatePromptBody = v.InferOutput<typeof CreatePromptBody>;

/** Changes to an org row; on an override, `null` means "inherit the default's". */
export const UpdatePromptBody = v.object({
  name: v.optional(PromptTemplate.entries.name),
  title: v.optional(v.nullable(Title)),
  description: v.optional(v.nullable(Description)),
  arguments: v.optional(v.nullable(Arguments)),
  messages: v.optional(v.nullable(Messages)),
});
export type UpdatePromptBody = v.InferOutput<typeof UpdatePromptBody>;

/** Overrides a server's prompt field by field (absent or null fields inherit). */
export const OverridePromptBody = v.object({
  title: v.optional(v.nullable(Title)),
  description: v.optional(v.nullable(Description)),
  arguments: v.optional(v.nullable(Arguments)),
  messages: v.optional(v.nullable(Messages)),
});
export type OverridePromptBody = v.InferOutput<typeof OverridePromptBody>;

/** Renders a visible prompt by name, or an unsaved template, with the given argument values. */
export const PreviewPromptBody = v.object({
  name: v.optional(v.string()),
  template: v.optional(PromptTemplate),
  arguments: v.optional(v.record(v.string(), v.string())),
});
export type PreviewPromptBody = v.InferOutput<typeof PreviewPromptBody>;

export const AdminResource = v.object({
  id: v.nullable(v.string()),
  uri: v.string(),
  name: v.string(),
  server: v.nullable(v.string()),
  source: ItemSource,
  disabled: v.boolean(),
  visible: v.boolean(),
  title: v.optional(v.string()),
  description: v.optional(v.string()),
  mimeType: v.optional(v.string()),
  /** Exactly one of `text` and `blob` (base64). */
  text: v.optional(v.string()),
  blob: v.optional(v.string()),
  size: v.number(),
  updatedAt: v.nullable(v.string()),
});
export type AdminResource = v.InferOutput<typeof AdminResource>;

export const AdminResourceList = v.object({ resources: v.array(AdminResource) });
export type AdminResourceList = v.InferOutput<typeof AdminResourceList>;

const Uri = v.pipe(
  v.string(),
  v.maxLength(2048),
  v.regex(/^[a-zA-Z][a-zA-Z0-9+.-]*:\S+$/, "a URI is scheme:rest, without spaces"),
);
const MimeType = v.pipe(v.string(), v.regex(/^[\w.+-]+\/[\w.+-]+$/, "a MIME type is type/subtype"));
const Base64 = v.pipe(v.string(), v.regex(/^[A-Za-z0-9+/]*={0,2}$/, "blob must be base64"));
const ResourceText = v.pipe(v.string(), v.maxLength(1_000_000));
const ResourceBlob = v.pipe(Base64, v.maxLength(1_400_000));

export const CreateResourceBody = v.object({
  uri: Uri,
  name: v.pipe(v.string(), v.minLength(1), v.maxLength(200)),
  server: v.optional(v.nullable(ServerName)),
  title: v.optional(Title),
  description: v.optional(Description),
  mimeType: v.optional(MimeType),
  text: v.optional(ResourceText),
  blob: v.optional(ResourceBlob),
});
export type CreateResourceBody = v.InferOutput<typeof CreateResourceBody>;

/** Changes to an org resource row; on an override, `null` inherits the default's value. */
export const UpdateResourceBody = v.object({
  name: v.optional(v.nullable(v.pipe(v.string(), v.minLength(1), v.maxLength(200)))),
  title: v.optional(v.nullable(Title)),
  description: v.optional(v.nullable(Description)),
  mimeType: v.optional(v.nullable(MimeType)),
  text: v.optional(v.nullable(ResourceText)),
  blob: v.optional(v.nullable(ResourceBlob)),
});
export type UpdateResourceBody = v.InferOutput<typeof UpdateResourceBody>;

/** Overrides a server's default resource (by URI); absent or null fields inherit. */
export const OverrideResourceBody = v.object({ uri: Uri, ...UpdateResourceBody.entries });
export type OverrideResourceBody = v.InferOutput<typeof OverrideResourceBody>;

export const ResourceUriBody = v.object({ uri: Uri });
export type ResourceUriBody = v.InferOutput<typeof ResourceUriBody>;

/** A secret's state: set (and when), never its value. */
export const SecretState = v.object({ set: v.literal(true), updatedAt: v.string() });
export type SecretState = v.InferOutput<typeof SecretState>;

export const AdminService = v.object({
  name: v.string(),
  title: v.string(),
  description: v.string(),
  enabled: v.boolean(),
  settings: v.record(v.string(), v.unknown()),
  /** The organization's secrets that are set, by name. */
  secrets: v.record(v.string(), SecretState),
  /** The calling member's own credentials for this service that are set, by name. */
  myCredentials: v.record(v.string(), SecretState),
});
export type AdminService = v.InferOutput<typeof AdminService>;

export const AdminServiceList = v.object({ services: v.array(AdminService) });
export type AdminServiceList = v.InferOutput<typeof AdminServiceList>;

/**
 * The names of service secrets, member credentials and settings: a letter, then up to 63 letters, digits or
 * underscores (`apiKey`, `default_team`). A leading letter rules out `__proto__` and other names that
 * would reach an object's prototype when used as a key.
 */
export const SETTING_NAME_PATTERN = /^[A-Za-z][A-Za-z0-9_]{0,63}$/;

export const SettingName = v.pipe(
  v.string(),
  v.regex(
    SETTING_NAME_PATTERN,
    "setting names are a letter then up to 63 letters, digits or _ (e.g. teamId)",
  ),
);

/** `settings` is a merge patch: a key set to null is removed, others are set. */
export const UpdateServiceBody = v.object({
  enabled: v.optional(v.boolean()),
  settings: v.optional(v.record(SettingName, v.unknown())),
});
export type UpdateServiceBody = v.InferOutput<typeof UpdateServiceBody>;

export const SecretName = v.pipe(
  v.string(),
  v.regex(SETTING_NAME_PATTERN, "secret names are a letter then up to 63 letters, digits or _ (e.g. apiKey)"),
);

export const SetSecretBody = v.object({
  value: v.pipe(v.string(), v.minLength(1, "a secret cannot be empty"), v.maxLength(8192)),
});
export type SetSecretBody = v.InferOutput<typeof SetSecretBody>;

export const OkResponse = v.object({ ok: v.literal(true) });
export type OkResponse = v.InferOutput<typeof OkResponse>;

/** `GET /api/browser-contexts`: the caller's organization's browser contexts, on every server instance. */
export const AdminBrowserContext = v.object({ ...BrowserContextInfo.entries, server: v.string() });
export const AdminBrowserContextList = v.object({ contexts: v.array(AdminBrowserContext) });
export type AdminBrowserContextList = v.InferOutput<typeof AdminBrowserContextList>;
