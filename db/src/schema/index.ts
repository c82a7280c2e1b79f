export * from "./api-keys.ts";
export * from "./audit.ts";
export * from "./organizations.ts";
export * from "./prompts.ts";
export * from "./resources.ts";
export * from "./servers.ts";
export * from "./services.ts";
export * from "./webhooks.ts";
