/**
 * What other packages' integration tests need to assemble a real gateway in-process, wired the way
 * `index.ts` wires it (the admin dashboard's browser tests: admin/test/).
 */
export { createApiKey } from "./auth/api-keys.ts";
export { createAuthModule, readAuthEnv } from "./auth/index.ts";
export { createConfigService } from "./config/index.ts";
export { createDevAuthenticator } from "./mcp/dev-auth.ts";
export { defaultClientFactory, Registry } from "./registry/index.ts";
export { createLogger } from "./security/log.ts";
