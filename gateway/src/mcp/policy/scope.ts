import type {
  OrgPolicy,
  PromptDescriptor,
  ResourceDescriptor,
  ResourceTemplateDescriptor,
  Role,
  ToolDescriptor,
  ToolOverride,
} from "@omni/contracts";
import { DISCOVERY_TOOLS, ToolSearch } from "./discovery.ts";
import { patternTest } from "./glob.ts";

/**
 * Tool policy and bundles applied to one org's view (pure; no I/O). What a caller sees is the enabled
 * catalogue ∩ the org-wide policy ∩ its role's policy ∩ its bundle, with the overrides (org-wide, then the
 * role's, field by field) applied to what is left. Policies and bundles name tools by their source name
 * (the catalogue's, before any rename), so they apply to tools of any source (built-in or federated).
 *
 * A scope is built once per (org view, role, bundle) and reused until the view is rebuilt (any config or
 * capability change), so a call pays one map lookup.
 */

type OrgBundle = OrgPolicy["bundles"][number];

/** One tool a scope can call: the descriptor its callers see and the catalogue name it routes to. */
export interface ScopedTool {
  descriptor: ToolDescriptor;
  source: string;
}

/** A rename that could not be applied: its name is another visible tool's. The tool keeps its own name. */
export interface RenameConflict {
  tool: string;
  name: string;
  reason: string;
}

export interface Scope {
  /** The bundle the scope serves (null: the org's full endpoint). */
  bundle: OrgBundle | null;
  /** What `tools/list` answers (in discovery mode: `search_tools` and `call_tool`). */
  listed: ToolDescriptor[];
  /** Every callable tool by the name its callers use. Hidden tools are not here. */
  tools: Map<string, ScopedTool>;
  prompts: PromptDescriptor[];
  resources: ResourceDescriptor[];
  templates: ResourceTemplateDescriptor[];
  /** Whether a prompt (by name) is part of the scope. */
  promptVisible(name: string): boolean;
  /** Whether a resource URI is part of the scope (read, subscribe). */
  resourceVisible(uri: string): boolean;
  conflicts: RenameConflict[];
  /** Ranks the scope's tools (discovery mode's `search_tools`), built on first use. */
  search(): ToolSearch;
}

export interface ScopeInput {
  tools: readonly ToolDescriptor[];
  prompts: readonly PromptDescriptor[];
  resources: readonly ResourceDescriptor[];
  templates: readonly ResourceTemplateDescriptor[];
  policy: OrgPolicy;
}

/** The overrides of a tool from the org-wide policy, then the role's (later fields win). */
function mergedOverrides(org: ToolOverride | undefined, role: ToolOverride | undefined) {
  if (!org && !role) return undefined;
  return {
    name: role?.name ?? org?.name,
    description: role?.description ?? org?.description,
    annotations:
      org?.annotations || role?.annotations ? { ...org?.annotations, ...role?.annotations } : undefined,
  };
}

function byTool(overrides: readonly ToolOverride[] | undefined): Map<string, ToolOverride> {
  return new Map((overrides ?? []).map((o) => [o.tool, o]));
}

/** Whether a policy lets a tool through (no policy: yes). */
function admits(policy: OrgPolicy["policies"][number] | undefined): (name: string) => boolean {
  if (!policy) return () => true;
  const matches = patternTest(policy.tools);
  return policy.mode === "allow" ? matches : (name) => !matches(name);
}

/** Builds the scope of one role in one bundle (null: the org's full endpoint); undefined: no such bundle. */
export function buildScope(input: ScopeInput, role: Role, bundleSlug: string | null): Scope | undefined {
  const bundle =
    bundleSlug === null ? null : (input.policy.bundles.find((b) => b.slug === bundleSlug) ?? null);
  if (bundleSlug !== null && !bundle) return undefined;
  const orgPolicy = input.policy.policies.find((p) => p.role === null);
  const rolePolicy = input.policy.policies.find((p) => p.role === role);
  const byOrg = admits(orgPolicy);
  const byRole = admits(rolePolicy);
  const inBundle = patternTest(bundle?.tools ?? null);
  const orgOverrides = byTool(orgPolicy?.overrides);
  const roleOverrides = byTool(rolePolicy?.overrides);

  const visible = input.tools.filter((t) => byOrg(t.name) && byRole(t.name) && inBundle(t.name));
  const tools = new Map<string, ScopedTool>();
  const renamed: { tool: ToolDescriptor; override: NonNullable<ReturnType<typeof mergedOverrides>> }[] = [];
  const conflicts: RenameConflict[] = [];
  const described = (tool: ToolDescriptor, o: ReturnType<typeof mergedOverrides>, name: string) => {
    const descriptor: ToolDescriptor = { ...tool, name };
    if (o?.description !== undefined) descriptor.description = o.description;
    if (o?.annotations) descriptor.annotations = { ...tool.annotations, ...o.annotations };
    return descriptor;
  };
  // Tools that keep their name first: a rename never takes a name another visible tool already has.
  for (const tool of visible) {
    const override = mergedOverrides(orgOverrides.get(tool.name), roleOverrides.get(tool.name));
    if (override?.name !== undefined && override.name !== tool.name) renamed.push({ tool, override });
    else tools.set(tool.name, { descriptor: described(tool, override, tool.name), source: tool.name });
  }
  for (const { tool, override } of renamed) {
    const target = override.name!;
    let name = target;
    if (tools.has(target)) {
      conflicts.push({ tool: tool.name, name: target, reason: `"${target}" is another visible tool's name` });
      name = tool.name;
      if (tools.has(name)) continue; // both its names are taken by renames: left out rather than ambiguous
    }
    tools.set(name, { descriptor: described(tool, override, name), source: tool.name });
  }

  const promptVisible = patternTest(bundle?.prompts ?? null);
  const resourceVisible = patternTest(bundle?.resources ?? null);
  const all = [...tools.values()].map((t) => t.descriptor);
  let search: ToolSearch | undefined;
  return {
    bundle,
    listed: bundle?.discovery ? DISCOVERY_TOOLS : all,
    tools,
    prompts: input.prompts.filter((p) => promptVisible(p.name)),
    resources: input.resources.filter((r) => resourceVisible(r.uri)),
    templates: input.templates.filter((t) => resourceVisible(t.uriTemplate)),
    promptVisible,
    resourceVisible,
    conflicts,
    search: () => {
      search ??= new ToolSearch(all);
      return search;
    },
  };
}
