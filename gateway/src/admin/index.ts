import {
  AdminPrompt,
  AdminPromptList,
  AdminResource,
  AdminResourceList,
  AdminService,
  AdminServiceList,
  ApiError,
  CreatePromptBody,
  CreateResourceBody,
  GetPromptResult,
  OkResponse,
  type OrgContext,
  OverridePromptBody,
  OverrideResourceBody,
  PERMISSIONS,
  type Permission,
  PreviewPromptBody,
  PromptTemplate,
  ResourceUriBody,
  SecretName,
  SetSecretBody,
  UpdatePromptBody,
  UpdateResourceBody,
  UpdateServiceBody,
} from "@omni/contracts";
import { DEMO_ORG_ID, DEMO_USER_ID } from "@omni/db";
import { Elysia } from "elysia";
import * as v from "valibot";
import { guardMacro, type OrgRefusal } from "../auth/guard.ts";
import type { Caller } from "../ports.ts";
import { requestHygiene, requestIdOf } from "../security/plugin.ts";
import { type BrowserContextRegistry, browserContextRoutes } from "./browser-contexts.ts";
import { type AdminServiceDeps, createAdminService } from "./service.ts";

/**
 * The admin API for an org's configuration, an Elysia plugin mounted under `/api`:
 *
 *   GET    /api/prompts                                  merged list (defaults, overrides, own)
 *   POST   /api/prompts                                  create an own prompt
 *   PATCH  /api/prompts/:id                              update an own prompt or an override
 *   DELETE /api/prompts/:id                              delete an own prompt or an override
 *   POST   /api/prompts/preview                          render a prompt (by name, or an unsaved template)
 *   PUT    /api/prompts/defaults/:server/:name           override a server's prompt
 *   DELETE /api/prompts/defaults/:server/:name           revert it (drop the override / re-enable)
 *   POST   /api/prompts/defaults/:server/:name/disable   hide it; `/enable` shows it again
 *   GET, POST /api/resources; PATCH, DELETE /api/resources/:id
 *   PUT    /api/resources/override                       override a default resource (body.uri)
 *   POST   /api/resources/disable, /api/resources/enable (body.uri)
 *   GET    /api/services; PATCH /api/services/:server    enable/disable, settings merge patch
 *   PUT/DELETE /api/services/:server/secrets/:name       org secret (write-only)
 *   PUT/DELETE /api/services/:server/credentials/:name   the caller's own credential (write-only)
 *   GET    /api/browser-contexts; DELETE /api/browser-contexts/:id   DevTools browser contexts (browser-contexts.ts)
 *
 * Errors are the one API error shape `{ error: { code, message, details? } }` (`details.field` names the
 * offending field) with 400/401/403/404/409/422, answered by the security plugin's error hook.
 */

/** Who is calling: an org context, or a refusal. */
export type OrgResolution =
  | (OrgContext & Pick<Caller, "credentialId">)
  | (Omit<OrgRefusal, "code"> & { code?: string });
export type OrgResolver = (ctx: { request: Request }) => OrgResolution | Promise<OrgResolution>;
/**
 * Authorization: returns a refusal message, or null to allow. `need` is the permission a route needs;
 * null means any member of the org (their own credentials).
 */
export type AdminGuard = (org: OrgContext, need: Permission | null) => string | null;

export interface AdminConfigRoutesDeps extends AdminServiceDeps {
  /** Default: the development-mode org (`DEMO_ORG_ID`) as its owner. */
  resolveOrg?: OrgResolver;
  /** Default: the org context's `permissions` must include `need`. */
  authorize?: AdminGuard;
  /** Where `/api/browser-contexts` finds the servers' instances (none when absent). */
  registry?: BrowserContextRegistry;
}

/** Acts for the development-mode organization (until authentication supplies the real caller). */
export const devOrgResolver: OrgResolver = ({ request }) => ({
  orgId: DEMO_ORG_ID,
  orgSlug: "demo",
  userId: DEMO_USER_ID,
  role: "owner",
  permissions: [...PERMISSIONS],
  via: "dev",
  requestId: requestIdOf(request),
});

export const permissionGuard: AdminGuard = (org, need) =>
  need === null || org.permissions.includes(need) ? null : `this needs the "${need}" permission`;

const ERROR_RESPONSES = {
  400: ApiError,
  401: ApiError,
  403: ApiError,
  404: ApiError,
  409: ApiError,
  422: ApiError,
};

const IdParams = v.object({ id: v.pipe(v.string(), v.maxLength(100)) });
const ServerParams = v.object({ server: v.pipe(v.string(), v.maxLength(64)) });
const DefaultParams = v.object({
  server: v.pipe(v.string(), v.maxLength(64)),
  name: PromptTemplate.entries.name,
});
const SecretParams = v.object({ server: v.pipe(v.string(), v.maxLength(64)), name: SecretName });

export function adminConfigRoutes(deps: AdminConfigRoutesDeps) {
  const service = createAdminService(deps);
  const resolveOrg = deps.resolveOrg ?? devOrgResolver;
  const authorize = deps.authorize ?? permissionGuard;

  // The auth guard macro (auth/guard.ts) over this API's org resolver: `{ permission }` on every route.
  const guard = guardMacro(async ({ request }, needed) => {
    const resolved = await resolveOrg({ request });
    if ("status" in resolved) {
      const code = resolved.code ?? (resolved.status === 401 ? "unauthorized" : "forbidden");
      return { ...resolved, code };
    }
    const refusal = authorize(resolved, needed === "member" ? null : needed);
    if (refusal) return { status: 403, code: "forbidden", message: refusal };
    // The org context keeps its credential id: the service's audit entries name the API key as the actor.
    const { credentialId } = resolved;
    return { org: resolved, ...(credentialId ? { credentialId } : {}) };
  });

  return (
    new Elysia({ name: "omni-admin-config", prefix: "/api" })
      .use(requestHygiene())
      .use(guard)
      .use(browserContextRoutes(deps.registry, guard))
      // ---- prompts
      .get(
        "/prompts",
        async ({ auth }) => ({
          prompts: await service.listPrompts(auth.org.orgId),
        }),
        {
          permission: "admin:read",
          response: { 200: AdminPromptList, ...ERROR_RESPONSES },
        },
      )
      .post(
        "/prompts",
        async ({ auth, body, status }) => status(201, await service.createPrompt(auth.org, body)),
        {
          permission: "admin:write",
          body: CreatePromptBody,
          response: { 201: AdminPrompt, ...ERROR_RESPONSES },
        },
      )
      .post("/prompts/preview", async ({ auth, body }) => service.previewPrompt(auth.org.orgId, body), {
        permission: "admin:read",
        body: PreviewPromptBody,
        response: { 200: GetPromptResult, ...ERROR_RESPONSES },
      })
      .patch(
        "/prompts/:id",
        async ({ auth, params, body }) => service.updatePrompt(auth.org, params.id, body),
        {
          permission: "admin:write",
          params: IdParams,
          body: UpdatePromptBody,
          response: { 200: AdminPrompt, ...ERROR_RESPONSES },
        },
      )
      .delete(
        "/prompts/:id",
        async ({ auth, params }) => {
          await service.deletePrompt(auth.org, params.id);
          return { ok: true as const };
        },
        { permission: "admin:write", params: IdParams, response: { 200: OkResponse, ...ERROR_RESPONSES } },
      )
      .put(
        "/prompts/defaults/:server/:name",
        async ({ auth, params, body }) => service.overridePrompt(auth.org, params.server, params.name, body),
        {
          permission: "admin:write",
          params: DefaultParams,
          body: OverridePromptBody,
          response: { 200: AdminPrompt, ...ERROR_RESPONSES },
        },
      )
      .delete(
        "/prompts/defaults/:server/:name",
        async ({ auth, params }) => service.revertPrompt(auth.org, params.server, params.name),
        {
          permission: "admin:write",
          params: DefaultParams,
          response: { 200: AdminPrompt, ...ERROR_RESPONSES },
        },
      )
      .post(
        "/prompts/defaults/:server/:name/disable",
        async ({ auth, params }) => service.setPromptDisabled(auth.org, params.server, params.name, true),
        {
          permission: "admin:write",
          params: DefaultParams,
          response: { 200: AdminPrompt, ...ERROR_RESPONSES },
        },
      )
      .post(
        "/prompts/defaults/:server/:name/enable",
        async ({ auth, params }) => service.setPromptDisabled(auth.org, params.server, params.name, false),
        {
          permission: "admin:write",
          params: DefaultParams,
          response: { 200: AdminPrompt, ...ERROR_RESPONSES },
        },
      )
      // ---- resources
      .get(
        "/resources",
        async ({ auth }) => ({
          resources: await service.listResources(auth.org.orgId),
        }),
        { permission: "admin:read", response: { 200: AdminResourceList, ...ERROR_RESPONSES } },
      )
      .post(
        "/resources",
        async ({ auth, body, status }) => status(201, await service.createResource(auth.org, body)),
        {
          permission: "admin:write",
          body: CreateResourceBody,
          response: { 201: AdminResource, ...ERROR_RESPONSES },
        },
      )
      .put("/resources/override", async ({ auth, body }) => service.overrideResource(auth.org, body), {
        permission: "admin:write",
        body: OverrideResourceBody,
        response: { 200: AdminResource, ...ERROR_RESPONSES },
      })
      .post(
        "/resources/disable",
        async ({ auth, body }) => service.setResourceDisabled(auth.org, body.uri, true),
        {
          permission: "admin:write",
          body: ResourceUriBody,
          response: { 200: AdminResource, ...ERROR_RESPONSES },
        },
      )
      .post(
        "/resources/enable",
        async ({ auth, body }) => service.setResourceDisabled(auth.org, body.uri, false),
        {
          permission: "admin:write",
          body: ResourceUriBody,
          response: { 200: AdminResource, ...ERROR_RESPONSES },
        },
      )
      .patch(
        "/resources/:id",
        async ({ auth, params, body }) => service.updateResource(auth.org, params.id, body),
        {
          permission: "admin:write",
          params: IdParams,
          body: UpdateResourceBody,
          response: { 200: AdminResource, ...ERROR_RESPONSES },
        },
      )
      .delete(
        "/resources/:id",
        async ({ auth, params }) => {
          await service.deleteResource(auth.org, params.id);
          return { ok: true as const };
        },
        { permission: "admin:write", params: IdParams, response: { 200: OkResponse, ...ERROR_RESPONSES } },
      )
      // ---- services
      .get("/services", async ({ auth }) => ({ services: await service.listServices(auth.org) }), {
        permission: "admin:read",
        response: { 200: AdminServiceList, ...ERROR_RESPONSES },
      })
      .patch(
        "/services/:server",
        async ({ auth, params, body }) => service.updateService(auth.org, params.server, body),
        {
          permission: "admin:write",
          params: ServerParams,
          body: UpdateServiceBody,
          response: { 200: AdminService, ...ERROR_RESPONSES },
        },
      )
      .put(
        "/services/:server/secrets/:name",
        async ({ auth, params, body }) => service.setSecret(auth.org, params.server, params.name, body.value),
        {
          permission: "admin:write",
          params: SecretParams,
          body: SetSecretBody,
          response: { 200: AdminService, ...ERROR_RESPONSES },
        },
      )
      .delete(
        "/services/:server/secrets/:name",
        async ({ auth, params }) => service.setSecret(auth.org, params.server, params.name, null),
        {
          permission: "admin:write",
          params: SecretParams,
          response: { 200: AdminService, ...ERROR_RESPONSES },
        },
      )
      .put(
        "/services/:server/credentials/:name",
        async ({ auth, params, body }) =>
          service.setCredential(auth.org, params.server, params.name, body.value),
        {
          permission: "member",
          params: SecretParams,
          body: SetSecretBody,
          response: { 200: AdminService, ...ERROR_RESPONSES },
        },
      )
      .delete(
        "/services/:server/credentials/:name",
        async ({ auth, params }) => service.setCredential(auth.org, params.server, params.name, null),
        { permission: "member", params: SecretParams, response: { 200: AdminService, ...ERROR_RESPONSES } },
      )
  );
}
