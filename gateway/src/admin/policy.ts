import {
  ApiError,
  Bundle,
  BundleList,
  BundleSlug,
  CreateBundleBody,
  OkResponse,
  type OrgContext,
  type OrgPolicy,
  PolicyScope,
  Role,
  ToolPolicy,
  ToolPolicyBody,
  ToolPolicyList,
  UpdateBundleBody,
} from "@omni/contracts";
import { type BundleRow, ConflictError, createRepositories, type ToolPolicyRow } from "@omni/db";
import { Elysia } from "elysia";
import * as v from "valibot";
import { auditActor } from "../audit/index.ts";
import { buildScope } from "../mcp/policy/scope.ts";
import type { Caller } from "../ports.ts";
import { apiError } from "../security/errors.ts";
import type { DashboardDeps } from "./deps.ts";

/**
 * Tool policy and bundles of the caller's organization (reads need `admin:read`, changes `admin:write`:
 * admins and owners). Every change is audited, and goes live at once on every replica: the config
 * service drops the org's cached policy everywhere (Redis pub/sub) and MCP clients get `list_changed`.
 *
 *   GET    /api/tool-policies            the org's policies, every tool and which roles see it, conflicts
 *   PUT    /api/tool-policies/:scope     set the policy of `org` or of one role (member, admin, owner)
 *   DELETE /api/tool-policies/:scope     drop it
 *   GET    /api/bundles                  the org's bundles
 *   POST   /api/bundles                  create one (served at /mcp/b/<slug>)
 *   GET, PATCH, DELETE /api/bundles/:slug
 */

const ScopeParams = v.object({ scope: PolicyScope });
const SlugParams = v.object({ slug: BundleSlug });
const ROLES = Role.options;

const roleOf = (scope: PolicyScope) => (scope === "org" ? null : scope);

function policyDto(row: ToolPolicyRow): ToolPolicy {
  return {
    scope: row.role ?? "org",
    mode: row.mode,
    tools: row.tools,
    overrides: row.overrides,
    updatedAt: row.updatedAt.toISOString(),
  };
}

function bundleDto(row: BundleRow): Bundle {
  return {
    slug: row.slug,
    title: row.title,
    description: row.description,
    tools: row.tools,
    prompts: row.prompts,
    resources: row.resources,
    discovery: row.discovery,
    path: `/mcp/b/${row.slug}`,
    updatedAt: row.updatedAt.toISOString(),
  };
}

export function policyRoutes(deps: DashboardDeps) {
  const repos = createRepositories(deps.db);
  const changed = (orgId: string) =>
    deps.config.invalidate({ orgId, kinds: ["tools", "prompts", "resources"] });
  const audit = (
    auth: Caller<OrgContext>,
    action: string,
    target: { type: string; id: string },
    before: unknown,
    after: unknown,
  ) =>
    deps.auth.audit.record({
      orgId: auth.org.orgId,
      actor: auditActor(auth.org, auth.credentialId),
      action,
      target,
      before,
      after,
      metadata: { requestId: auth.org.requestId },
    });
  const noBundle = (slug: string) => apiError("not_found", `No bundle "${slug}" in your organization.`);

  /** Every tool of the org's catalogue, and which roles (through the org and role policies) see it. */
  async function preview(orgId: string, policy: OrgPolicy): Promise<Omit<ToolPolicyList, "policies">> {
    const caps = deps.registry.capabilities;
    const catalog = await deps.config.catalog(orgId, caps.codePrompts);
    const enabled = new Set(catalog.enabledServers);
    const routes = [...caps.tools.values()].filter((r) => enabled.has(r.server));
    const input = { tools: routes.map((r) => r.tool), prompts: [], resources: [], templates: [], policy };
    const seen = new Map<string, Role[]>(routes.map((r) => [r.tool.name, []]));
    const conflicts = new Map<string, { tool: string; name: string; reason: string }>();
    for (const role of ROLES) {
      const scope = buildScope(input, role, null)!;
      for (const { source } of scope.tools.values()) seen.get(source)?.push(role);
      for (const c of scope.conflicts) conflicts.set(`${c.tool}\u0000${c.name}`, c);
    }
    return {
      tools: routes.map((r) => ({
        tool: r.tool.name,
        server: r.server,
        description: r.tool.description,
        visibleTo: seen.get(r.tool.name) ?? [],
      })),
      conflicts: [...conflicts.values()],
    };
  }

  return (
    new Elysia({ name: "omni-admin-policy", prefix: "/api" })
      .use(deps.auth.guard)
      .get(
        "/tool-policies",
        async ({ auth }) => {
          const orgId = auth.org.orgId;
          const [rows, policy] = await Promise.all([
            repos.toolPolicies.list(orgId),
            deps.config.policy(orgId),
          ]);
          return { policies: rows.map(policyDto), ...(await preview(orgId, policy)) };
        },
        {
          permission: "admin:read",
          response: { 200: ToolPolicyList },
          detail: {
            tags: ["policy"],
            summary: "Tool policies, every tool with the roles that see it, and rename conflicts",
          },
        },
      )
      .put(
        "/tool-policies/:scope",
        async ({ auth, params, body }) => {
          const orgId = auth.org.orgId;
          const role = roleOf(params.scope);
          const before = await repos.toolPolicies.get(orgId, role);
          const row = await repos.toolPolicies.put(orgId, role, body);
          await changed(orgId);
          await audit(
            auth,
            "tool_policy.update",
            { type: "tool_policy", id: params.scope },
            before ? policyDto(before) : null,
            policyDto(row),
          );
          return policyDto(row);
        },
        {
          permission: "admin:write",
          params: ScopeParams,
          body: ToolPolicyBody,
          response: { 200: ToolPolicy },
          detail: {
            tags: ["policy"],
            summary: "Set the tool policy of the organization (scope org) or of one role",
          },
        },
      )
      .delete(
        "/tool-policies/:scope",
        async ({ auth, params, status }) => {
          const orgId = auth.org.orgId;
          const role = roleOf(params.scope);
          const before = await repos.toolPolicies.get(orgId, role);
          if (!before || !(await repos.toolPolicies.delete(orgId, role))) {
            return status(404, apiError("not_found", `There is no ${params.scope} tool policy.`));
          }
          await changed(orgId);
          await audit(
            auth,
            "tool_policy.delete",
            { type: "tool_policy", id: params.scope },
            policyDto(before),
            null,
          );
          return { ok: true as const };
        },
        {
          permission: "admin:write",
          params: ScopeParams,
          response: { 200: OkResponse, 404: ApiError },
          detail: { tags: ["policy"], summary: "Remove a tool policy (every tool is visible again)" },
        },
      )
      // ---- bundles
      .get(
        "/bundles",
        async ({ auth }) => ({ bundles: (await repos.bundles.list(auth.org.orgId)).map(bundleDto) }),
        {
          permission: "admin:read",
          response: { 200: BundleList },
          detail: { tags: ["policy"], summary: "Bundles (virtual servers) of the organization" },
        },
      )
      .post(
        "/bundles",
        async ({ auth, body, status }) => {
          const { slug, ...fields } = body;
          let row: BundleRow;
          try {
            row = await repos.bundles.create(auth.org.orgId, slug, fields);
          } catch (error) {
            if (error instanceof ConflictError) return status(409, apiError("conflict", error.message));
            throw error;
          }
          await changed(auth.org.orgId);
          await audit(auth, "bundle.create", { type: "bundle", id: slug }, null, bundleDto(row));
          return status(201, bundleDto(row));
        },
        {
          permission: "admin:write",
          body: CreateBundleBody,
          response: { 201: Bundle, 409: ApiError },
          detail: { tags: ["policy"], summary: "Create a bundle, served at /mcp/b/<slug>" },
        },
      )
      .get(
        "/bundles/:slug",
        async ({ auth, params, status }) => {
          const row = await repos.bundles.get(auth.org.orgId, params.slug);
          return row ? bundleDto(row) : status(404, noBundle(params.slug));
        },
        {
          permission: "admin:read",
          params: SlugParams,
          response: { 200: Bundle, 404: ApiError },
          detail: { tags: ["policy"], summary: "One bundle" },
        },
      )
      .patch(
        "/bundles/:slug",
        async ({ auth, params, body, status }) => {
          const orgId = auth.org.orgId;
          const before = await repos.bundles.get(orgId, params.slug);
          const row = before ? await repos.bundles.update(orgId, params.slug, body) : null;
          if (!before || !row) return status(404, noBundle(params.slug));
          await changed(orgId);
          await audit(
            auth,
            "bundle.update",
            { type: "bundle", id: params.slug },
            bundleDto(before),
            bundleDto(row),
          );
          return bundleDto(row);
        },
        {
          permission: "admin:write",
          params: SlugParams,
          body: UpdateBundleBody,
          response: { 200: Bundle, 404: ApiError },
          detail: { tags: ["policy"], summary: "Change a bundle (the fields given replace its own)" },
        },
      )
      .delete(
        "/bundles/:slug",
        async ({ auth, params, status }) => {
          const orgId = auth.org.orgId;
          const before = await repos.bundles.get(orgId, params.slug);
          if (!before || !(await repos.bundles.delete(orgId, params.slug))) {
            return status(404, noBundle(params.slug));
          }
          await changed(orgId);
          await audit(auth, "bundle.delete", { type: "bundle", id: params.slug }, bundleDto(before), null);
          return { ok: true as const };
        },
        {
          permission: "admin:write",
          params: SlugParams,
          response: { 200: OkResponse, 404: ApiError },
          detail: { tags: ["policy"], summary: "Delete a bundle (its endpoint answers 404 at once)" },
        },
      )
  );
}
