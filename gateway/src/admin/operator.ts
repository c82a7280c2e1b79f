import {
  ApiError,
  AuditEntryDto,
  AuditListQuery,
  AuditVerifyResult,
  CreateServerInstanceBody,
  type LiveInstance,
  ServerInstanceList,
  ServerInstanceStatus,
} from "@omni/contracts";
import {
  ConflictError,
  createRepositories,
  type Database,
  DEPLOYMENT_AUDIT_CHAIN,
  type NamedInstance,
} from "@omni/db";
import { internalTokenChecker } from "@omni/kit";
import { Elysia } from "elysia";
import * as v from "valibot";
import type { AuditLog } from "../audit/index.ts";
import { isLoopback } from "../auth/guard.ts";
import { type Authenticator, authenticateOnce } from "../ports.ts";
import type { Instance, InstanceConfig, Registry } from "../registry/index.ts";
import type { InstanceFollower } from "../registry/instances.ts";
import { apiError } from "../security/errors.ts";
import { requestIdOf } from "../security/plugin.ts";

/**
 * The operator API: deployment-wide changes, which no organization's credentials may make (an org owner
 * runs one organization; domain-server instances serve every organization). It takes the deployment's
 * operator token (`OMNI_OPERATOR_TOKEN`, see `operator-token.ts`) as `Authorization: Bearer <token>`,
 * and is off when the gateway has none.
 *
 *   GET    /api/operator/instances              every instance (rows, SERVERS, being removed) with this
 *                                               replica's live health
 *   POST   /api/operator/instances              add an instance of a catalogue server ({server, url})
 *   POST   /api/operator/instances/:id/drain    no new calls; the calls in flight finish
 *   POST   /api/operator/instances/:id/undrain  back in service
 *   DELETE /api/operator/instances/:id          drain, then drop it on every replica (calls in flight finish)
 *   GET    /api/operator/audit                  the deployment's audit chain, newest first (paged)
 *   GET    /api/operator/audit/verify           checks that chain (hashes, order, signed checkpoint)
 *
 * Changes are rows of `server_instances`, which every replica follows (`InstanceFollower`, within
 * SERVER_INSTANCES_POLL_MS); the replica that answers applies them at once. Each change is audited in the
 * deployment's chain (`DEPLOYMENT_AUDIT_CHAIN`) with the operator as actor.
 */

/** Paths of the operator API (authenticated before any body is read: see `app.ts`). */
export const OPERATOR_PREFIX = "/api/operator/";

/** Why a request may not use the operator API. */
export interface OperatorRefusal {
  status: 401 | 403;
  code: string;
  message: string;
}

export interface OperatorAccess {
  /** Null when the request carries the operator token; else why not. */
  refusal(request: Request, loopback: boolean): Promise<OperatorRefusal | null>;
}

/**
 * Checks the operator token in constant time. A request that fails is told why: no token configured
 * (the API is off), no credentials, an organization's credentials (refused whatever their role), or a
 * wrong token.
 */
export function createOperatorAccess(deps: {
  token: string | null;
  /** Recognises an organization's credentials, to refuse them by name. */
  authenticator: Authenticator;
}): OperatorAccess {
  const matches = deps.token ? internalTokenChecker(deps.token) : null;
  return {
    async refusal(request, loopback) {
      if (!matches) {
        return {
          status: 403,
          code: "operator_api_disabled",
          message:
            "The operator API is off on this gateway: set OMNI_OPERATOR_TOKEN (at least 16 characters, e.g. `openssl rand -base64 32`) and restart it.",
        };
      }
      const authorization = request.headers.get("authorization");
      if (matches(authorization)) return null;
      if (authorization === null && !request.headers.has("x-api-key")) {
        return {
          status: 401,
          code: "unauthorized",
          message:
            "Operator routes need the deployment's operator token: Authorization: Bearer <OMNI_OPERATOR_TOKEN>.",
        };
      }
      const outcome = await authenticateOnce(deps.authenticator, request, { loopback });
      if (outcome.ok) {
        return {
          status: 403,
          code: "operator_only",
          message:
            "Domain-server instances are deployment-wide: an organization's credentials (even an owner's) cannot change them. Use the operator token (OMNI_OPERATOR_TOKEN).",
        };
      }
      return {
        status: 401,
        code: "invalid_operator_token",
        message: "This is not the deployment's operator token (OMNI_OPERATOR_TOKEN).",
      };
    },
  };
}

/** The `{ operator: true }` route macro: the operator token, or the refusal in the one error shape. */
function operatorGuard(access: OperatorAccess) {
  return new Elysia({ name: "omni-operator-guard" }).macro({
    operator: (_enabled: true) => ({
      async resolve({ request, server, status }) {
        const refused = await access.refusal(request, isLoopback(server, request));
        if (refused === null) {
          return { operator: { requestId: requestIdOf(request) } };
        }
        const body = apiError(refused.code, refused.message);
        return refused.status === 401 ? status(401, body) : status(403, body);
      },
    }),
  });
}

export interface OperatorRoutesDeps {
  db: Database;
  registry: Registry;
  access: OperatorAccess;
  audit: Pick<AuditLog, "record" | "list" | "verify">;
  /**
   * The replica's follower of `server_instances`: tells `SERVERS` instances apart and applies a change
   * at once. Without it, instances not in the table count as `SERVERS` ones and changes apply on the
   * next poll.
   */
  follower?: Pick<InstanceFollower, "sync" | "isFixed">;
}

const iso = (value: Date | number | null) => (value === null ? null : new Date(value).toISOString());
const sameUrl = (a: string, b: string) => a.replace(/\/+$/, "") === b.replace(/\/+$/, "");

function live(instance: Instance | undefined): LiveInstance | null {
  if (!instance) return null;
  return {
    healthy: instance.healthy,
    draining: instance.draining,
    outstanding: instance.outstanding,
    lastError: instance.lastError,
    lastCheckedAt: iso(instance.lastCheckedAt),
    version: instance.lastVersion,
  };
}

const InstanceParams = v.object({ id: v.pipe(v.string(), v.minLength(1), v.maxLength(100)) });

/** The audit actor of every operator change (the token names no person). */
const OPERATOR_ACTOR = { type: "system" as const, id: "operator" };

export function operatorRoutes(deps: OperatorRoutesDeps) {
  const repos = createRepositories(deps.db);
  const isFixed = (config: InstanceConfig) => deps.follower?.isFixed(config) ?? true;
  const find = (config: InstanceConfig) =>
    deps.registry.list().find((i) => i.server === config.server && sameUrl(i.url, config.url));

  const status = (row: NamedInstance): ServerInstanceStatus => ({
    id: row.id,
    server: row.server,
    url: row.url,
    source: "table",
    draining: row.draining,
    live: live(find(row)),
    createdAt: iso(row.createdAt),
    updatedAt: iso(row.updatedAt),
  });

  /** Every row, then what this replica routes to besides them (SERVERS, or rows being removed). */
  async function everything(): Promise<ServerInstanceStatus[]> {
    const rows = await repos.servers.namedInstances();
    const listed = rows.map(status);
    for (const instance of deps.registry.list()) {
      if (rows.some((r) => r.server === instance.server && sameUrl(r.url, instance.url))) continue;
      listed.push({
        id: null,
        server: instance.server,
        url: instance.url,
        source: isFixed(instance) ? "env" : "removed",
        draining: instance.draining,
        live: live(instance),
        createdAt: null,
        updatedAt: null,
      });
    }
    return listed.sort((a, b) => a.server.localeCompare(b.server) || a.url.localeCompare(b.url));
  }

  const notFound = () =>
    apiError(
      "not_found",
      "No server instance with this id (GET /api/operator/instances lists them; instances from SERVERS have none).",
      { field: "id" },
    );

  /** Applies a change on this replica now (the others follow within their poll interval). */
  const apply = async () => {
    await deps.follower?.sync();
  };

  return new Elysia({ name: "omni-admin-operator", prefix: "/api/operator" })
    .use(operatorGuard(deps.access))
    .get("/instances", async () => ({ instances: await everything() }), {
      operator: true,
      response: { 200: ServerInstanceList, 401: ApiError, 403: ApiError },
      detail: {
        tags: ["operator"],
        summary: "Every domain-server instance with this replica's live health (operator token)",
      },
    })
    .post(
      "/instances",
      async ({ operator, body, status: reply }) => {
        const server = await repos.servers.getByName(body.server);
        if (!server) {
          const known = (await repos.servers.list()).map((s) => s.name);
          return reply(
            422,
            apiError(
              "unknown_server",
              `No such server in the catalogue (it has: ${known.join(", ") || "none yet"}). A server enters the catalogue when a gateway first discovers one of its instances (SERVERS).`,
              { field: "server" },
            ),
          );
        }
        const config = { server: body.server, url: body.url };
        const existing = find(config);
        if (existing && isFixed(existing)) {
          return reply(
            409,
            apiError(
              "instance_exists",
              "This instance is already configured through the gateway's SERVERS.",
              { field: "url" },
            ),
          );
        }
        let row: NamedInstance;
        try {
          const added = await repos.servers.addInstance(server.id, body.url);
          row = { ...added, server: server.name };
        } catch (error) {
          if (!(error instanceof ConflictError)) throw error;
          return reply(
            409,
            apiError("instance_exists", "This server already has an instance at this URL.", { field: "url" }),
          );
        }
        await deps.audit.record({
          orgId: DEPLOYMENT_AUDIT_CHAIN,
          actor: OPERATOR_ACTOR,
          action: "server_instance.create",
          target: { type: "server_instance", id: row.id },
          after: { server: row.server, url: row.url },
          metadata: { requestId: operator.requestId },
        });
        await apply();
        return reply(201, status(row));
      },
      {
        operator: true,
        body: CreateServerInstanceBody,
        response: { 201: ServerInstanceStatus, 401: ApiError, 403: ApiError, 409: ApiError, 422: ApiError },
        detail: {
          tags: ["operator"],
          summary: "Add an instance of a catalogue server (every replica routes to it once healthy)",
        },
      },
    )
    .post(
      "/instances/:id/drain",
      async ({ operator, params, status: reply }) => {
        const result = await setDraining(params.id, true, operator.requestId);
        return result ?? reply(404, notFound());
      },
      {
        operator: true,
        params: InstanceParams,
        response: { 200: ServerInstanceStatus, 401: ApiError, 403: ApiError, 404: ApiError },
        detail: {
          tags: ["operator"],
          summary: "Drain an instance: no new calls on any replica; the calls in flight finish",
        },
      },
    )
    .post(
      "/instances/:id/undrain",
      async ({ operator, params, status: reply }) => {
        const result = await setDraining(params.id, false, operator.requestId);
        return result ?? reply(404, notFound());
      },
      {
        operator: true,
        params: InstanceParams,
        response: { 200: ServerInstanceStatus, 401: ApiError, 403: ApiError, 404: ApiError },
        detail: { tags: ["operator"], summary: "Put a drained instance back in service" },
      },
    )
    .delete(
      "/instances/:id",
      async ({ operator, params, status: reply }) => {
        const [row] = await repos.servers.namedInstances(params.id);
        if (!row || !(await repos.servers.removeInstance(row.id))) return reply(404, notFound());
        await deps.audit.record({
          orgId: DEPLOYMENT_AUDIT_CHAIN,
          actor: OPERATOR_ACTOR,
          action: "server_instance.delete",
          target: { type: "server_instance", id: row.id },
          before: { server: row.server, url: row.url, draining: row.draining },
          metadata: { requestId: operator.requestId },
        });
        await apply();
        const instance = find(row);
        return {
          ...status(row),
          id: null,
          source: "removed" as const,
          draining: true,
          live: live(instance),
        };
      },
      {
        operator: true,
        params: InstanceParams,
        response: { 200: ServerInstanceStatus, 401: ApiError, 403: ApiError, 404: ApiError },
        detail: {
          tags: ["operator"],
          summary: "Remove an instance: every replica drains it (calls in flight finish), then drops it",
        },
      },
    )
    .get(
      "/audit",
      ({ query }) =>
        deps.audit.list(DEPLOYMENT_AUDIT_CHAIN, {
          ...(query.limit !== undefined ? { limit: query.limit } : {}),
          ...(query.before !== undefined ? { before: query.before } : {}),
          ...(query.action ? { action: query.action } : {}),
        }),
      {
        operator: true,
        query: AuditListQuery,
        response: { 200: v.array(AuditEntryDto), 401: ApiError, 403: ApiError },
        detail: {
          tags: ["operator"],
          summary: "The deployment's audit chain (instances added, drained, removed), newest first",
        },
      },
    )
    .get("/audit/verify", () => deps.audit.verify(DEPLOYMENT_AUDIT_CHAIN), {
      operator: true,
      response: { 200: AuditVerifyResult, 401: ApiError, 403: ApiError },
      detail: {
        tags: ["operator"],
        summary: "Check the deployment's audit chain: hashes, order and its signed checkpoint",
      },
    });

  async function setDraining(
    id: string,
    draining: boolean,
    requestId: string,
  ): Promise<ServerInstanceStatus | null> {
    const [before] = await repos.servers.namedInstances(id);
    if (!before) return null;
    if (before.draining !== draining) {
      if (!(await repos.servers.setInstanceDraining(id, draining))) return null;
      await deps.audit.record({
        orgId: DEPLOYMENT_AUDIT_CHAIN,
        actor: OPERATOR_ACTOR,
        action: draining ? "server_instance.drain" : "server_instance.undrain",
        target: { type: "server_instance", id },
        before: { draining: before.draining },
        after: { draining },
        metadata: { requestId, server: before.server, url: before.url },
      });
      await apply();
    }
    const [after] = await repos.servers.namedInstances(id);
    return after ? status(after) : null;
  }
}
