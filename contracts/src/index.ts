export * from "./context.ts";
export * from "./jsonrpc.ts";
export * from "./mcp.ts";
export * from "./rpc.ts";
