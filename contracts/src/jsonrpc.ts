import * as v from "valibot";

/** JSON-RPC 2.0 error codes used across the gateway, the servers and the admin API. */
export const ErrorCode = {
  ParseError: -32700,
  InvalidRequest: -32600,
  MethodNotFound: -32601,
  InvalidParams: -32602,
  InternalError: -32603,
  /** MCP: the requested resource does not exist. */
  ResourceNotFound: -32002,
  /** Gateway: the request is not authenticated or not allowed. */
  Unauthorized: -32001,
  /** Gateway: no healthy instance of the server that owns the tool. */
  ServerUnavailable: -32003,
  /** Gateway: rate limit exceeded. */
  RateLimited: -32029,
  /** MCP 2026-07-28: unsupported protocol version. */
  UnsupportedProtocolVersion: -32004,
  /** MCP 2026-07-28: the client did not declare a capability the request needs. */
  MissingClientCapability: -32005,
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

export const RequestId = v.union([v.string(), v.number()]);
export type RequestId = v.InferOutput<typeof RequestId>;

export const JsonRpcErrorObject = v.object({
  code: v.number(),
  message: v.string(),
  data: v.optional(v.unknown()),
});
export type JsonRpcErrorObject = v.InferOutput<typeof JsonRpcErrorObject>;

export const JsonRpcRequest = v.object({
  jsonrpc: v.literal("2.0"),
  id: RequestId,
  method: v.string(),
  params: v.optional(v.record(v.string(), v.unknown())),
});
export type JsonRpcRequest = v.InferOutput<typeof JsonRpcRequest>;

export const JsonRpcNotification = v.object({
  jsonrpc: v.literal("2.0"),
  method: v.string(),
  params: v.optional(v.record(v.string(), v.unknown())),
});
export type JsonRpcNotification = v.InferOutput<typeof JsonRpcNotification>;

export const JsonRpcResultResponse = v.object({
  jsonrpc: v.literal("2.0"),
  id: RequestId,
  result: v.record(v.string(), v.unknown()),
});
export type JsonRpcResultResponse = v.InferOutput<typeof JsonRpcResultResponse>;

export const JsonRpcErrorResponse = v.object({
  jsonrpc: v.literal("2.0"),
  id: v.nullable(RequestId),
  error: JsonRpcErrorObject,
});
export type JsonRpcErrorResponse = v.InferOutput<typeof JsonRpcErrorResponse>;

export type JsonRpcMessage =
  | JsonRpcRequest
  | JsonRpcNotification
  | JsonRpcResultResponse
  | JsonRpcErrorResponse;

/** Valibot issues → the `data` of a -32602 error: one entry per failing field path. */
export function issuesToFieldErrors(
  issues: readonly v.BaseIssue<unknown>[],
): { path: string; message: string }[] {
  return issues.map((issue) => ({
    path: v.getDotPath(issue) ?? "(root)",
    message: issue.message,
  }));
}
