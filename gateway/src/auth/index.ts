import type { Database } from "@omni/db";
import { Elysia } from "elysia";
import type { Redis } from "ioredis";
import type { GatewaySecurity } from "../app.ts";
import { type CheckpointStore, createAuditLog, fileCheckpoints, redisCheckpoints } from "../audit/index.ts";
import { loadAuditKeys } from "../audit/keys.ts";
import { AuthEnv, type KeyEnv, parseEnv } from "../env.ts";
import { createLogger, type Logger } from "../security/log.ts";
import { createRateLimiter } from "../security/rate-limit.ts";
import { clerkWebhookRoutes } from "../webhooks/clerk.ts";
import { createAuthenticator } from "./authenticator.ts";
import { discoveryRoutes } from "./discovery.ts";
import { authGuard, createOrgResolver } from "./guard.ts";
import { createMcpAccess } from "./mcp.ts";
import { issuerFromPublishableKey } from "./oauth.ts";
import { adminAuthRoutes } from "./routes.ts";
import { createAuthState } from "./state.ts";

export { AuthEnv } from "../env.ts";

/** Clerk's issuer (frontend API URL): `CLERK_ISSUER`, else derived from `CLERK_PUBLISHABLE_KEY`. */
export function clerkIssuer(
  env: Pick<AuthEnv, "CLERK_ISSUER" | "CLERK_PUBLISHABLE_KEY">,
): string | undefined {
  return (env.CLERK_ISSUER ?? issuerFromPublishableKey(env.CLERK_PUBLISHABLE_KEY))?.replace(/\/+$/, "");
}

/** Parses the environment; throws one message naming every invalid variable. */
export function readAuthEnv(env: Record<string, string | undefined>): AuthEnv {
  return parseEnv(AuthEnv, env, "authentication");
}

export interface AuthModuleDeps {
  db: Database;
  redis?: Redis | null;
  env?: AuthEnv;
  logger?: Logger;
  /**
   * Where the audit chain's signed heads live, outside the database. Default: Redis (under
   * `AUTH_REDIS_PREFIX`) when given, else files in the data directory (`.data/audit-checkpoints/`).
   */
  auditCheckpoints?: CheckpointStore;
  /** Key material (`GatewayEnv.keys`): the audit chain's keys come from it. Default: none set (development keys). */
  keys?: KeyEnv;
  /** Data directory of the file checkpoints (`OMNI_DATA_DIR`). Default `.data/` at the repository root. */
  dataDir?: string;
}

/**
 * Everything of issue 6, wired: the authenticator (for the MCP endpoint), the rate limiter, the audit
 * log, the route guard (for other admin routes), the security settings (`createGateway({ security })`,
 * which mounts the security plugin first; the body limit is the gateway's `MAX_BODY_BYTES`), and the routes:
 * discovery metadata, `/api/keys|members|audit`, `/webhooks/clerk`.
 */
export function createAuthModule(deps: AuthModuleDeps) {
  const env = deps.env ?? readAuthEnv({});
  // Structured lines (with the request id of the request being handled) unless the caller brings a logger.
  const logger = deps.logger ?? createLogger();
  const redis = deps.redis ?? null;
  const state = createAuthState({ redis, prefix: env.AUTH_REDIS_PREFIX, logger });
  const issuer = clerkIssuer(env);
  const jwtKey = env.CLERK_JWT_KEY?.replaceAll("\\n", "\n");
  const publicUrl = env.PUBLIC_URL ? { publicUrl: env.PUBLIC_URL } : {};
  const authenticator = createAuthenticator({
    db: deps.db,
    state,
    clerk: {
      ...(jwtKey ? { jwtKey } : {}),
      ...(env.CLERK_SECRET_KEY ? { secretKey: env.CLERK_SECRET_KEY } : {}),
      authorizedParties: env.CLERK_AUTHORIZED_PARTIES,
      ...(issuer ? { issuer } : {}),
    },
    oauth: {
      ...(jwtKey ? { jwtKey } : {}),
      ...(issuer ? { issuer } : {}),
      ...(env.CLERK_SECRET_KEY ? { secretKey: env.CLERK_SECRET_KEY } : {}),
      ...(env.CLERK_API_URL ? { apiUrl: env.CLERK_API_URL } : {}),
    },
    ...publicUrl,
    logger,
  });
  const rateLimiter = createRateLimiter({
    redis,
    prefix: env.AUTH_REDIS_PREFIX,
    perKey: env.RATE_LIMIT_PER_KEY,
    perOrg: env.RATE_LIMIT_PER_ORG,
    windowMs: env.RATE_LIMIT_WINDOW_SECONDS * 1000,
  });
  const audit = createAuditLog({
    db: deps.db,
    checkpoints:
      deps.auditCheckpoints ??
      (redis ? redisCheckpoints(redis, env.AUTH_REDIS_PREFIX) : fileCheckpoints(deps.dataDir)),
    keys: loadAuditKeys(deps.keys ?? {}),
    logger,
  });
  const routes = new Elysia({ name: "omni-auth-routes" })
    .use(discoveryRoutes({ ...publicUrl, ...(issuer ? { issuer } : {}) }))
    .use(adminAuthRoutes({ db: deps.db, authenticator, audit, state, rateLimiter, ...publicUrl }))
    .use(
      clerkWebhookRoutes({
        db: deps.db,
        state,
        ...(env.CLERK_WEBHOOK_SIGNING_SECRET ? { signingSecret: env.CLERK_WEBHOOK_SIGNING_SECRET } : {}),
        logger,
      }),
    );
  return {
    authenticator,
    rateLimiter,
    audit,
    state,
    /** `.use(auth.guard)` then `{ permission: "admin:write" }` on routes; `auth` in the context. */
    guard: authGuard({ authenticator, rateLimiter, ...publicUrl }),
    /** `resolveOrg` for the config admin API (`adminConfigRoutes({ resolveOrg, audit })`). */
    resolveOrg: createOrgResolver({ authenticator, rateLimiter }),
    /** Permission checks, rate limits, tool-call audit and the 401 challenge of `/mcp` and `/ws`: `createGateway({ mcpAccess })`. */
    mcpAccess: createMcpAccess({
      rateLimiter,
      audit,
      ...publicUrl,
      logger,
    }),
    /** CORS origins and logger of the security plugin: `createGateway({ security })`. */
    security: {
      corsOrigins: env.CORS_ORIGINS,
      logger,
    } satisfies GatewaySecurity,
    routes,
  };
}
export type AuthModule = ReturnType<typeof createAuthModule>;
