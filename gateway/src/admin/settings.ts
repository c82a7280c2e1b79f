import { ApiError, OrgSettings, UpdateOrgSettingsBody } from "@omni/contracts";
import { createRepositories, type Organization } from "@omni/db";
import { Elysia } from "elysia";
import { auditActor } from "../audit/index.ts";
import { apiError } from "../security/errors.ts";
import type { DashboardDeps } from "./deps.ts";

const view = (org: Organization) => ({
  name: org.name,
  slug: org.slug,
  auditArguments: org.settings.auditArguments === true,
});

/**
 *   GET   /api/settings   the organization's name, slug and switches
 *   PATCH /api/settings   change them (needs `org:settings`; audited)
 */
export function settingsRoutes(deps: DashboardDeps) {
  const repos = createRepositories(deps.db);
  const missing = apiError("not_found", "Your organization no longer exists.");
  return new Elysia({ name: "omni-admin-settings", prefix: "/api" })
    .use(deps.auth.guard)
    .get(
      "/settings",
      async ({ auth, status }) => {
        const org = await repos.organizations.get(auth.org.orgId);
        return org ? view(org) : status(404, missing);
      },
      {
        permission: "admin:read",
        response: { 200: OrgSettings, 404: ApiError },
        detail: { tags: ["settings"], summary: "Organization settings" },
      },
    )
    .patch(
      "/settings",
      async ({ auth, body, status }) => {
        const current = await repos.organizations.get(auth.org.orgId);
        if (!current) return status(404, missing);
        const settings = {
          ...current.settings,
          ...(body.auditArguments === undefined ? {} : { auditArguments: body.auditArguments }),
        };
        const updated = await repos.organizations.update(auth.org.orgId, {
          ...(body.name ? { name: body.name } : {}),
          settings,
        });
        if (!updated) return status(404, missing);
        await deps.auth.audit.record({
          orgId: auth.org.orgId,
          actor: auditActor(auth.org, auth.credentialId),
          action: "org.settings.update",
          target: { type: "organization", id: auth.org.orgId },
          before: view(current),
          after: view(updated),
          metadata: { requestId: auth.org.requestId },
        });
        return view(updated);
      },
      {
        permission: "org:settings",
        body: UpdateOrgSettingsBody,
        response: { 200: OrgSettings, 404: ApiError },
        detail: { tags: ["settings"], summary: "Change organization settings" },
      },
    );
}
