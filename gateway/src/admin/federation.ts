import {
  ApiError,
  CreateFederatedServerBody,
  FederatedServerList,
  FederatedServerStatus,
  OkResponse,
} from "@omni/contracts";
import { createRepositories, newId } from "@omni/db";
import { Elysia } from "elysia";
import * as v from "valibot";
import { auditActor } from "../audit/index.ts";
import { UpstreamEgress } from "../federation/egress.ts";
import { type FederatedHealth, federatedHealth } from "../federation/index.ts";
import { prefixProblem, sealUpstreamSecret } from "../federation/registration.ts";
import { apiError } from "../security/errors.ts";
import type { DashboardDeps } from "./deps.ts";

/**
 *   GET    /api/federation/servers       the org's upstreams (its own and the global ones) with health
 *   POST   /api/federation/servers       register a remote upstream for the org (admin:write; audited)
 *   DELETE /api/federation/servers/:id   remove one of the org's own upstreams (admin:write; audited)
 *
 * Org admins register remote upstreams only (Streamable HTTP or HTTP+SSE): a stdio command runs a
 * process on the gateway's host, and a global upstream serves every org, so both are the operator's
 * (`omni servers add`). The auth secret is sealed like every other secret and never returned.
 */
/** Without a federation module (nothing is connected), registrations still get the default guard. */
const strictEgress = new UpstreamEgress();

export function federationRoutes(deps: DashboardDeps) {
  const repos = createRepositories(deps.db);
  const secrets = deps.secrets;
  const statuses = async (orgId: string): Promise<FederatedHealth[]> => {
    if (deps.federation) {
      await deps.federation.reload();
      return deps.federation.health(orgId);
    }
    return (await repos.federation.listVisible(orgId)).map((row) => federatedHealth(row));
  };
  return new Elysia({ name: "omni-admin-federation", prefix: "/api/federation" })
    .use(deps.auth.guard)
    .get("/servers", async ({ auth }) => ({ servers: await statuses(auth.org.orgId) }), {
      permission: "admin:read",
      response: { 200: FederatedServerList },
      detail: {
        tags: ["federation"],
        summary: "Federated upstream MCP servers of this organization, with health",
      },
    })
    .post(
      "/servers",
      async ({ auth, body, status }) => {
        const orgId = auth.org.orgId;
        if ((body.authSecret === undefined) !== (body.authHeader === undefined)) {
          return status(
            400,
            apiError("invalid_body", "authHeader and authSecret go together: give both or neither", {
              field: body.authSecret === undefined ? "authSecret" : "authHeader",
            }),
          );
        }
        if (body.authSecret !== undefined && !secrets) {
          return status(503, apiError("secrets_unavailable", "This gateway cannot store secrets"));
        }
        const refused = await (deps.federation?.egress ?? strictEgress).problem(body.url);
        if (refused) return status(422, apiError("url_refused", refused, { field: "url" }));
        const problem = prefixProblem(body.prefix, orgId, {
          builtinTools: deps.registry.capabilities.tools.keys(),
          builtinServers: (await repos.servers.list()).map((s) => s.name),
          upstreams: await repos.federation.operatorList(),
        });
        if (problem) return status(409, apiError("prefix_taken", problem, { field: "prefix" }));
        const id = newId("fed");
        const row = await repos.federation.createRemote(orgId, {
          id,
          name: body.name,
          prefix: body.prefix,
          transport: body.transport,
          url: body.url,
          ...(body.authHeader && body.authSecret && secrets
            ? {
                authHeader: body.authHeader,
                authSecret: sealUpstreamSecret(
                  secrets,
                  { id, organizationId: orgId },
                  body.authHeader,
                  body.authSecret,
                ),
              }
            : {}),
        });
        await deps.auth.audit.record({
          orgId,
          actor: auditActor(auth.org, auth.credentialId),
          action: "federation.server.create",
          target: { type: "federated_server", id: row.id },
          after: {
            name: row.name,
            prefix: row.prefix,
            transport: row.transport,
            url: row.url,
            hasAuthSecret: row.authSecret !== null,
          },
          metadata: { requestId: auth.org.requestId },
        });
        const health = (await statuses(orgId)).find((h) => h.id === row.id) ?? federatedHealth(row);
        return status(201, health);
      },
      {
        permission: "admin:write",
        body: CreateFederatedServerBody,
        response: { 201: FederatedServerStatus, 400: ApiError, 409: ApiError, 422: ApiError, 503: ApiError },
        detail: {
          tags: ["federation"],
          summary: "Register a remote upstream MCP server for this organization",
        },
      },
    )
    .delete(
      "/servers/:id",
      async ({ auth, params, status }) => {
        const orgId = auth.org.orgId;
        const row = await repos.federation.getVisible(orgId, params.id);
        if (!row) return status(404, apiError("not_found", "No such upstream in your organization."));
        if (row.organizationId === null) {
          return status(
            403,
            apiError(
              "global_upstream",
              "This upstream is the operator's (global); remove it with omni servers remove.",
            ),
          );
        }
        await repos.federation.remove(orgId, row.id);
        await deps.auth.audit.record({
          orgId,
          actor: auditActor(auth.org, auth.credentialId),
          action: "federation.server.delete",
          target: { type: "federated_server", id: row.id },
          before: { name: row.name, prefix: row.prefix, transport: row.transport, url: row.url },
          metadata: { requestId: auth.org.requestId },
        });
        await deps.federation?.reload();
        return { ok: true as const };
      },
      {
        permission: "admin:write",
        params: v.object({ id: v.pipe(v.string(), v.minLength(1), v.maxLength(100)) }),
        response: { 200: OkResponse, 403: ApiError, 404: ApiError },
        detail: { tags: ["federation"], summary: "Remove one of this organization's upstream MCP servers" },
      },
    );
}
