import { openapi } from "@elysiajs/openapi";
import { toJsonSchema } from "@valibot/to-json-schema";
import { Elysia } from "elysia";
import { auditSearchRoutes } from "./audit-search.ts";
import type { DashboardDeps } from "./deps.ts";
import { federationRoutes } from "./federation.ts";
import { meRoutes } from "./me.ts";
import { policyRoutes } from "./policy.ts";
import { serversRoutes } from "./servers.ts";
import { sessionsRoutes } from "./sessions.ts";
import { settingsRoutes } from "./settings.ts";
import { adminStaticRoutes } from "./static.ts";
import { usageRoutes } from "./usage.ts";

/**
 * Everything the dashboard and the CLI use besides the config admin API (`./index.ts`): the auth
 * module's routes (keys, members, audit, discovery, webhooks), me, servers, sessions, usage, settings,
 * audit search, the built dashboard at `/admin`, and the OpenAPI document of the whole API at
 * `/api/openapi.json` (rendered by the dashboard's "API reference" page, `/admin/api-reference`).
 */
export function dashboardRoutes(deps: DashboardDeps) {
  return new Elysia({ name: "omni-admin-dashboard" })
    .use(deps.auth.routes)
    .use(meRoutes(deps))
    .use(serversRoutes(deps))
    .use(sessionsRoutes(deps))
    .use(usageRoutes(deps))
    .use(settingsRoutes(deps))
    .use(auditSearchRoutes(deps))
    .use(federationRoutes(deps))
    .use(policyRoutes(deps))
    .use(
      adminStaticRoutes({
        ...(deps.adminDist ? { dist: deps.adminDist } : {}),
        ...(deps.clerkPublishableKey ? { clerkPublishableKey: deps.clerkPublishableKey } : {}),
      }),
    )
    .use(
      openapi({
        path: "/api/reference",
        specPath: "/api/openapi.json",
        // The reference page is the dashboard's own (/admin/api-reference): no third-party CDN script.
        provider: null,
        // Transforms (trim, string → number) have no JSON Schema: the schema shows the input type.
        mapJsonSchema: {
          valibot: (schema: Parameters<typeof toJsonSchema>[0]) =>
            toJsonSchema(schema, { errorMode: "ignore" }),
        },
        exclude: { paths: [/^(?!\/api\/)/, "/api/openapi.json"] },
        documentation: {
          info: {
            title: "Omni MCP admin API",
            version: "1",
            description:
              "The gateway's admin API. Authenticate with `Authorization: Bearer <Clerk session token | omni_sk_… API key>` or `x-api-key`. Errors are JSON bodies with a code and a message.",
          },
          components: {
            securitySchemes: {
              bearer: { type: "http", scheme: "bearer" },
              apiKey: { type: "apiKey", in: "header", name: "x-api-key" },
            },
          },
          security: [{ bearer: [] }, { apiKey: [] }],
        },
      }),
    );
}
