import * as v from "valibot";
import { Role } from "./context.ts";

/**
 * Tool policy and bundles (`/api/tool-policies`, `/api/bundles` on the gateway).
 *
 * A policy applies to the whole organization (`scope: "org"`) or to one role within it. It is an
 * allow-list or a deny-list of tool-name patterns plus per-tool overrides (rename, description,
 * annotations). Every name in a policy or a bundle is a tool's source name: the name it has in the
 * organization's catalogue (built-in `linear_search_issues`, a federated `everything__echo`), before any
 * rename; `*` in a pattern matches any run of characters (`linear_*`). What a caller sees is the catalogue
 * ∩ the org policy ∩ its role's policy ∩ the bundle it connected to, with the overrides applied on top.
 *
 * A bundle ("virtual server") is a named, org-owned set of tools, prompts and resources served at
 * `/mcp/b/<slug>` (and `/ws/b/<slug>`); `null` for a kind means "everything the policy allows". A bundle
 * with `discovery` lists only `search_tools` and `call_tool` instead of every schema.
 */

/** The most patterns (or overrides) one list may hold: bounded input, bounded view building. */
export const MAX_POLICY_ENTRIES = 1000;

export const ToolName = v.pipe(
  v.string(),
  v.regex(/^[A-Za-z0-9_.-]{1,128}$/, "tool names are 1-128 of A-Z a-z 0-9 _ . -"),
);
export const ToolPattern = v.pipe(
  v.string(),
  v.regex(/^[A-Za-z0-9_.*-]{1,128}$/, "tool patterns are 1-128 of A-Z a-z 0-9 _ . - and * (any run)"),
);
/** A prompt-name pattern (prompt names: identifiers, dots and dashes), `*` any run. */
export const PromptPattern = v.pipe(
  v.string(),
  v.regex(/^[A-Za-z0-9_.*-]{1,128}$/, "prompt patterns are 1-128 of A-Z a-z 0-9 _ . - and * (any run)"),
);
/** A resource URI (or URI template) pattern, `*` any run: `linear://*`, `org://notes/*`. */
export const ResourcePattern = v.pipe(
  v.string(),
  v.minLength(1, "a resource pattern is not empty"),
  v.maxLength(512),
  v.regex(/^[^\s\p{Cc}]+$/u, "resource patterns have no spaces or control characters"),
);

const list = <T extends v.GenericSchema<string, string>>(item: T, what: string) =>
  v.pipe(
    v.array(item),
    v.maxLength(MAX_POLICY_ENTRIES, `at most ${MAX_POLICY_ENTRIES} ${what}`),
    v.checkItems((x, i, all) => all.indexOf(x) === i, `${what} are listed once each`),
  );

/** Annotations a policy sets on a tool (each field replaces the tool's own; absent fields are kept). */
export const AnnotationsOverride = v.strictObject({
  title: v.optional(v.pipe(v.string(), v.maxLength(200))),
  readOnlyHint: v.optional(v.boolean()),
  destructiveHint: v.optional(v.boolean()),
  idempotentHint: v.optional(v.boolean()),
  openWorldHint: v.optional(v.boolean()),
});
export type AnnotationsOverride = v.InferOutput<typeof AnnotationsOverride>;

/** One tool's overrides: `tool` is its source name; `name` the name clients see and call instead. */
export const ToolOverride = v.strictObject({
  tool: ToolName,
  name: v.optional(ToolName),
  description: v.optional(v.pipe(v.string(), v.maxLength(4000))),
  annotations: v.optional(AnnotationsOverride),
});
export type ToolOverride = v.InferOutput<typeof ToolOverride>;

export const PolicyMode = v.picklist(["allow", "deny"]);
export type PolicyMode = v.InferOutput<typeof PolicyMode>;

/** Who a policy applies to: the whole organization, or the members of one role. */
export const PolicyScope = v.picklist(["org", ...Role.options]);
export type PolicyScope = v.InferOutput<typeof PolicyScope>;

/** `PUT /api/tool-policies/:scope`. `allow`: only matching tools; `deny`: every tool but those. */
export const ToolPolicyBody = v.pipe(
  v.strictObject({
    mode: PolicyMode,
    tools: list(ToolPattern, "tool patterns"),
    overrides: v.optional(
      v.pipe(
        v.array(ToolOverride),
        v.maxLength(MAX_POLICY_ENTRIES, `at most ${MAX_POLICY_ENTRIES} overrides`),
        v.checkItems((o, i, all) => all.findIndex((x) => x.tool === o.tool) === i, "one override per tool"),
        v.checkItems(
          (o, i, all) => o.name === undefined || all.findIndex((x) => x.name === o.name) === i,
          "two tools cannot be renamed to the same name",
        ),
      ),
      [],
    ),
  }),
);
export type ToolPolicyBody = v.InferOutput<typeof ToolPolicyBody>;

export const ToolPolicy = v.object({
  scope: PolicyScope,
  mode: PolicyMode,
  tools: v.array(v.string()),
  overrides: v.array(ToolOverride),
  updatedAt: v.string(),
});
export type ToolPolicy = v.InferOutput<typeof ToolPolicy>;

export const ToolPolicyList = v.object({
  policies: v.array(ToolPolicy),
  /** Every tool of the org's catalogue and how each scope (org, then every role) sees it. */
  tools: v.array(
    v.object({
      tool: v.string(),
      server: v.string(),
      description: v.string(),
      visibleTo: v.array(Role),
    }),
  ),
  /** Renames the view could not apply (the name is taken by another visible tool). */
  conflicts: v.array(v.object({ tool: v.string(), name: v.string(), reason: v.string() })),
});
export type ToolPolicyList = v.InferOutput<typeof ToolPolicyList>;

export const BundleSlug = v.pipe(
  v.string(),
  v.regex(
    /^[a-z0-9][a-z0-9-]{0,62}$/,
    "bundle slugs are 1-63 of a-z 0-9 - (starting with a letter or digit)",
  ),
);

const BundleFields = {
  title: v.optional(v.nullable(v.pipe(v.string(), v.maxLength(200)))),
  description: v.optional(v.nullable(v.pipe(v.string(), v.maxLength(4000)))),
  tools: v.optional(v.nullable(list(ToolPattern, "tool patterns"))),
  prompts: v.optional(v.nullable(list(PromptPattern, "prompt patterns"))),
  resources: v.optional(v.nullable(list(ResourcePattern, "resource patterns"))),
  discovery: v.optional(v.boolean()),
};

/** `POST /api/bundles`. Kinds left out (or null) hold everything the policy allows. */
export const CreateBundleBody = v.strictObject({ slug: BundleSlug, ...BundleFields });
export type CreateBundleBody = v.InferOutput<typeof CreateBundleBody>;

/** `PATCH /api/bundles/:slug`: the fields given replace the bundle's. */
export const UpdateBundleBody = v.strictObject(BundleFields);
export type UpdateBundleBody = v.InferOutput<typeof UpdateBundleBody>;

export const Bundle = v.object({
  slug: v.string(),
  title: v.nullable(v.string()),
  description: v.nullable(v.string()),
  tools: v.nullable(v.array(v.string())),
  prompts: v.nullable(v.array(v.string())),
  resources: v.nullable(v.array(v.string())),
  discovery: v.boolean(),
  /** Its MCP endpoint path: `/mcp/b/<slug>`. */
  path: v.string(),
  updatedAt: v.string(),
});
export type Bundle = v.InferOutput<typeof Bundle>;

export const BundleList = v.object({ bundles: v.array(Bundle) });

const Patterns = v.nullable(v.array(v.string()));

/**
 * An organization's policies and bundles as the gateway caches them (config service field `policy`) and
 * applies them to the org's MCP view: `role` null is the org-wide policy.
 */
export const OrgPolicy = v.object({
  policies: v.array(
    v.object({
      role: v.nullable(Role),
      mode: PolicyMode,
      tools: v.array(v.string()),
      overrides: v.array(ToolOverride),
    }),
  ),
  bundles: v.array(
    v.object({
      slug: v.string(),
      tools: Patterns,
      prompts: Patterns,
      resources: Patterns,
      discovery: v.boolean(),
    }),
  ),
});
export type OrgPolicy = v.InferOutput<typeof OrgPolicy>;
