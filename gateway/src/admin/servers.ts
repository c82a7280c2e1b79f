import { ServerStatusList } from "@omni/contracts";
import { createRepositories } from "@omni/db";
import { Elysia } from "elysia";
import type { DashboardDeps } from "./deps.ts";

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

/**
 *   GET /api/servers   every server of the catalogue: enabled for this org, health, instances, counts
 *
 * Instances are this replica's view (its registry health-checks every instance on an interval).
 */
export function serversRoutes(deps: DashboardDeps) {
  const repos = createRepositories(deps.db);
  return new Elysia({ name: "omni-admin-servers", prefix: "/api" }).use(deps.auth.guard).get(
    "/servers",
    async ({ auth }) => {
      const [catalogue, services] = await Promise.all([
        repos.servers.list(),
        repos.services.list(auth.org.orgId),
      ]);
      const instances = deps.registry.list();
      const caps = deps.registry.capabilities;
      const servers = catalogue.map((server) => {
        const own = instances.filter((i) => i.server === server.name);
        const healthy = own.filter((i) => i.healthy).length;
        const health =
          own.length === 0
            ? ("unconfigured" as const)
            : healthy === own.length
              ? ("healthy" as const)
              : healthy > 0
                ? ("degraded" as const)
                : ("down" as const);
        return {
          name: server.name,
          title: server.title,
          description: server.description,
          enabled: services.find((s) => s.serverId === server.id)?.enabled ?? false,
          health,
          instances: own.map((i) => ({
            url: i.url,
            healthy: i.healthy,
            outstanding: i.outstanding,
            lastError: i.lastError,
            lastCheckedAt: iso(i.lastCheckedAt),
            version: i.lastVersion,
          })),
          tools: [...caps.tools.values()].filter((t) => t.server === server.name).length,
          prompts: caps.codePrompts.get(server.name)?.length ?? 0,
        };
      });
      return { servers };
    },
    {
      permission: "admin:read",
      response: { 200: ServerStatusList },
      detail: {
        tags: ["servers"],
        summary: "Servers with this organization's enablement and instance health",
      },
    },
  );
}
