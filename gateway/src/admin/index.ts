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
import { ApiFailure } from "../security/errors.ts";
import { requestHygiene, requestIdOf } from "../security/plugin.ts";
import { type BrowserContextRegistry, browserContextRoutes } from "./browser-contexts.ts";
import { AdminError, type AdminServiceDeps, createAdminService } from "./service.ts";

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
  | (OrgContext & { credentialId?: string })
  | { status: 401 | 403 | 429 | 503; code?: string; message: string; headers?: Record<string, string> };
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

  const as = async (request: Request, need: Permission | null): Promise<OrgContext> => {
    const resolved = await resolveOrg({ request });
    if ("status" in resolved) {
      const code = resolved.code ?? (resolved.status === 401 ? "unauthorized" : "forbidden");
      throw new ApiFailure(resolved.status, code, resolved.message, undefined, resolved.headers);
    }
    const refusal = authorize(resolved, need);
    if (refusal) throw new AdminError(403, "forbidden", refusal);
    return resolved;
  };

  return (
    new Elysia({ name: "omni-admin-config", prefix: "/api" })
      .use(requestHygiene())
      .use(browserContextRoutes(deps.registry, as))
      // ---- prompts
      .get(
        "/prompts",
        async ({ request }) => ({
          prompts: await service.listPrompts((await as(request, "admin:read")).orgId),
        }),
        {
          response: { 200: AdminPromptList, ...ERROR_RESPONSES },
        },
      )
      .post(
        "/prompts",
        async ({ request, body, status }) =>
          status(201, await service.createPrompt(await as(request, "admin:write"), body)),
        { body: CreatePromptBody, response: { 201: AdminPrompt, ...ERROR_RESPONSES } },
      )
      .post(
        "/prompts/preview",
        async ({ request, body }) => service.previewPrompt((await as(request, "admin:read")).orgId, body),
        { body: PreviewPromptBody, response: { 200: GetPromptResult, ...ERROR_RESPONSES } },
      )
      .patch(
        "/prompts/:id",
        async ({ request, params, body }) =>
          service.updatePrompt(await as(request, "admin:write"), params.id, body),
        { params: IdParams, body: UpdatePromptBody, response: { 200: AdminPrompt, ...ERROR_RESPONSES } },
      )
      .delete(
        "/prompts/:id",
        async ({ request, params }) => {
          await service.deletePrompt(await as(request, "admin:write"), params.id);
          return { ok: true as const };
        },
        { params: IdParams, response: { 200: OkResponse, ...ERROR_RESPONSES } },
      )
      .put(
        "/prompts/defaults/:server/:name",
        async ({ request, params, body }) =>
          service.overridePrompt(await as(request, "admin:write"), params.server, params.name, body),
        {
          params: DefaultParams,
          body: OverridePromptBody,
          response: { 200: AdminPrompt, ...ERROR_RESPONSES },
        },
      )
      .delete(
        "/prompts/defaults/:server/:name",
        async ({ request, params }) =>
          service.revertPrompt(await as(request, "admin:write"), params.server, params.name),
        { params: DefaultParams, response: { 200: AdminPrompt, ...ERROR_RESPONSES } },
      )
      .post(
        "/prompts/defaults/:server/:name/disable",
        async ({ request, params }) =>
          service.setPromptDisabled(await as(request, "admin:write"), params.server, params.name, true),
        { params: DefaultParams, response: { 200: AdminPrompt, ...ERROR_RESPONSES } },
      )
      .post(
        "/prompts/defaults/:server/:name/enable",
        async ({ request, params }) =>
          service.setPromptDisabled(await as(request, "admin:write"), params.server, params.name, false),
        { params: DefaultParams, response: { 200: AdminPrompt, ...ERROR_RESPONSES } },
      )
      // ---- resources
      .get(
        "/resources",
        async ({ request }) => ({
          resources: await service.listResources((await as(request, "admin:read")).orgId),
        }),
        { response: { 200: AdminResourceList, ...ERROR_RESPONSES } },
      )
      .post(
        "/resources",
        async ({ request, body, status }) =>
          status(201, await service.createResource(await as(request, "admin:write"), body)),
        { body: CreateResourceBody, response: { 201: AdminResource, ...ERROR_RESPONSES } },
      )
      .put(
        "/resources/override",
        async ({ request, body }) => service.overrideResource(await as(request, "admin:write"), body),
        { body: OverrideResourceBody, response: { 200: AdminResource, ...ERROR_RESPONSES } },
      )
      .post(
        "/resources/disable",
        async ({ request, body }) =>
          service.setResourceDisabled(await as(request, "admin:write"), body.uri, true),
        { body: ResourceUriBody, response: { 200: AdminResource, ...ERROR_RESPONSES } },
      )
      .post(
        "/resources/enable",
        async ({ request, body }) =>
          service.setResourceDisabled(await as(request, "admin:write"), body.uri, false),
        { body: ResourceUriBody, response: { 200: AdminResource, ...ERROR_RESPONSES } },
      )
      .patch(
        "/resources/:id",
        async ({ request, params, body }) =>
          service.updateResource(await as(request, "admin:write"), params.id, body),
        { params: IdParams, body: UpdateResourceBody, response: { 200: AdminResource, ...ERROR_RESPONSES } },
      )
      .delete(
        "/resources/:id",
        async ({ request, params }) => {
          await service.deleteResource(await as(request, "admin:write"), params.id);
          return { ok: true as const };
        },
        { params: IdParams, response: { 200: OkResponse, ...ERROR_RESPONSES } },
      )
      // ---- services
      .get(
        "/services",
        async ({ request }) => ({ services: await service.listServices(await as(request, "admin:read")) }),
        { response: { 200: AdminServiceList, ...ERROR_RESPONSES } },
      )
      .patch(
        "/services/:server",
        async ({ request, params, body }) =>
          service.updateService(await as(request, "admin:write"), params.server, body),
        {
          params: ServerParams,
          body: UpdateServiceBody,
          response: { 200: AdminService, ...ERROR_RESPONSES },
        },
      )
      .put(
        "/services/:server/secrets/:name",
        async ({ request, params, body }) =>
          service.setSecret(await as(request, "admin:write"), params.server, params.name, body.value),
        { params: SecretParams, body: SetSecretBody, response: { 200: AdminService, ...ERROR_RESPONSES } },
      )
      .delete(
        "/services/:server/secrets/:name",
        async ({ request, params }) =>
          service.setSecret(await as(request, "admin:write"), params.server, params.name, null),
        { params: SecretParams, response: { 200: AdminService, ...ERROR_RESPONSES } },
      )
      .put(
        "/services/:server/credentials/:name",
        async ({ request, params, body }) =>
          service.setCredential(await as(request, null), params.server, params.name, body.value),
        { params: SecretParams, body: SetSecretBody, response: { 200: AdminService, ...ERROR_RESPONSES } },
      )
      .delete(
        "/services/:server/credentials/:name",
        async ({ request, params }) =>
          service.setCredential(await as(request, null), params.server, params.name, null),
        { params: SecretParams, response: { 200: AdminService, ...ERROR_RESPONSES } },
      )
  );
}
