import { AdminBrowserContextList, ApiError, OkResponse } from "@omni/contracts";
import { Elysia } from "elysia";
import * as v from "valibot";
import type { guardMacro } from "../auth/guard.ts";
import type { Instance, Registry } from "../registry/index.ts";
import { AdminError } from "./service.ts";

/** The registry's view this route needs: every healthy instance of every server. */
export type BrowserContextRegistry = Pick<Registry, "health" | "healthyInstances">;

function instancesOf(registry: BrowserContextRegistry): Instance[] {
  return registry.health().flatMap((server) => registry.healthyInstances(server.name));
}

const IdParams = v.object({
  id: v.pipe(
    v.string(),
    v.minLength(1, "id must not be empty"),
    v.maxLength(100, "id is at most 100 characters"),
  ),
});
const ERRORS = { 401: ApiError, 403: ApiError, 404: ApiError };

/**
 * Browser contexts (DevTools) of the caller's organization, held by the domain servers:
 *
 *   GET    /api/browser-contexts        every instance's contexts of the org (`admin:read`)
 *   DELETE /api/browser-contexts/:id    end one; 404 unless one of the org's contexts has this id (`admin:write`)
 *
 * Every instance is asked with the caller's org id, so another organization's contexts are neither
 * listed nor ended (ending one is the same 404 as an unknown id). An instance that does not answer
 * is skipped in the list.
 */
export function browserContextRoutes(
  registry: BrowserContextRegistry | undefined,
  guard: ReturnType<typeof guardMacro>,
) {
  const instances = () => (registry ? instancesOf(registry) : []);
  return new Elysia({ name: "omni-admin-browser-contexts" })
    .use(guard)
    .get(
      "/browser-contexts",
      async ({ auth: { org } }) => {
        const lists = await Promise.all(
          instances().map(async (instance) =>
            (await instance.client.listBrowserContexts(org.orgId).catch(() => [])).map((context) => ({
              ...context,
              server: instance.server,
            })),
          ),
        );
        return { contexts: lists.flat() };
      },
      { permission: "admin:read", response: { 200: AdminBrowserContextList, ...ERRORS } },
    )
    .delete(
      "/browser-contexts/:id",
      async ({ auth: { org }, params }) => {
        const ended = await Promise.all(
          instances().map((instance) =>
            instance.client.endBrowserContext(org.orgId, params.id).catch(() => false),
          ),
        );
        if (!ended.includes(true)) {
          throw new AdminError(404, "not_found", `No browser context ${params.id} in this organization`);
        }
        return { ok: true as const };
      },
      { permission: "admin:write", params: IdParams, response: { 200: OkResponse, ...ERRORS } },
    );
}
