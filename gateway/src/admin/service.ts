import { type AdminServiceDeps, createAdminCore } from "./core.ts";
import { createPromptAdmin } from "./prompts.ts";
import { createResourceAdmin } from "./resources.ts";
import { createServiceAdmin } from "./services.ts";

export { AdminError, type AdminServiceDeps } from "./core.ts";

/**
 * The admin operations on an org's configuration, free of HTTP, along their seams: prompts
 * (prompts.ts), resources (resources.ts), services with their secrets and members' credentials
 * (services.ts), on the shared core (core.ts: errors, transactions, invalidation and audit after writes).
 */
export function createAdminService(deps: AdminServiceDeps) {
  const core = createAdminCore(deps);
  return { ...createPromptAdmin(core), ...createResourceAdmin(core), ...createServiceAdmin(core) };
}
