export * from "./admin.ts";
export * from "./auth.ts";
export * from "./context.ts";
export * from "./dashboard.ts";
export * from "./jsonrpc.ts";
export * from "./mcp.ts";
export * from "./mcp-params.ts";
export * from "./rpc.ts";
