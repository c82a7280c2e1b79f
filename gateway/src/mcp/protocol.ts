import { ErrorCode, type JsonRpcErrorObject, type RequestId } from "@omni/contracts";

/** 2025-era protocol versions this gateway speaks, newest first. */
export const SESSION_VERSIONS = ["2025-11-25", "2025-06-18", "2025-03-26"] as const;
export type SessionVersion = (typeof SESSION_VERSIONS)[number];
export const LATEST_SESSION_VERSION: SessionVersion = "2025-11-25";

export function isSessionVersion(value: unknown): value is SessionVersion {
  return typeof value === "string" && (SESSION_VERSIONS as readonly string[]).includes(value);
}

/** JSON-RPC batches were allowed in 2025-03-26 only. */
export function allowsBatch(version: string): boolean {
  return version === "2025-03-26";
}

/** A JSON-RPC failure raised inside a handler: becomes an error response with this code. */
export class RpcError extends Error {
  constructor(
    readonly code: number,
    message: string,
    readonly data?: unknown,
  ) {
    super(message);
  }
  toObject(): JsonRpcErrorObject {
    return this.data === undefined
      ? { code: this.code, message: this.message }
      : { code: this.code, message: this.message, data: this.data };
  }
}

export function invalidParams(message: string, data?: unknown): RpcError {
  return new RpcError(ErrorCode.InvalidParams, message, data);
}

export type Json = Record<string, unknown>;

export function isRecord(value: unknown): value is Json {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Classified inbound JSON-RPC message (hand-checked: this is the hot path). */
export type Inbound =
  | { kind: "request"; id: RequestId; method: string; params: Json }
  | { kind: "notification"; method: string; params: Json }
  | { kind: "response"; id: RequestId; result?: unknown; error?: JsonRpcErrorObject }
  | { kind: "invalid"; id: RequestId | null; error: JsonRpcErrorObject };

function isId(value: unknown): value is RequestId {
  return typeof value === "string" || (typeof value === "number" && Number.isFinite(value));
}

export function classify(message: unknown): Inbound {
  if (!isRecord(message)) {
    return invalid(null, "a JSON-RPC message must be an object");
  }
  const id = isId(message.id) ? message.id : null;
  if (message.jsonrpc !== "2.0") return invalid(id, 'jsonrpc must be the string "2.0"');
  if ("method" in message) {
    if (typeof message.method !== "string" || message.method.length === 0) {
      return invalid(id, "method must be a non-empty string");
    }
    if (message.params !== undefined && !isRecord(message.params)) {
      return invalid(id, "params must be an object");
    }
    const params = (message.params as Json | undefined) ?? {};
    if ("id" in message) {
      if (!isId(message.id)) return invalid(null, "id must be a string or a number");
      return { kind: "request", id: message.id, method: message.method, params };
    }
    return { kind: "notification", method: message.method, params };
  }
  if ("result" in message || "error" in message) {
    if (!isId(message.id)) return invalid(null, "a response needs the id of the request it answers");
    if ("error" in message) {
      const error = message.error;
      if (!isRecord(error) || typeof error.code !== "number" || typeof error.message !== "string") {
        return invalid(id, "error must be an object with a numeric code and a message");
      }
      return {
        kind: "response",
        id: message.id,
        error: { code: error.code, message: error.message, data: error.data },
      };
    }
    return { kind: "response", id: message.id, result: message.result };
  }
  return invalid(id, "a JSON-RPC message needs a method (request/notification) or a result/error (response)");
}

function invalid(id: RequestId | null, message: string): Inbound {
  return {
    kind: "invalid",
    id,
    error: { code: ErrorCode.InvalidRequest, message: `Invalid request: ${message}` },
  };
}

export function resultMessage(id: RequestId, result: unknown): Json {
  return { jsonrpc: "2.0", id, result };
}
export function errorMessage(id: RequestId | null, error: JsonRpcErrorObject): Json {
  return { jsonrpc: "2.0", id, error };
}
export function notificationMessage(method: string, params?: Json): Json {
  return params === undefined ? { jsonrpc: "2.0", method } : { jsonrpc: "2.0", method, params };
}

/** Opaque list cursor: base64url of `<list>:<offset>`; rejects cursors of another list. */
export function encodeCursor(list: string, offset: number): string {
  return Buffer.from(`${list}:${offset}`).toString("base64url");
}
export function decodeCursor(list: string, cursor: unknown): number {
  if (cursor === undefined || cursor === null) return 0;
  if (typeof cursor !== "string") throw invalidParams("params.cursor must be a string");
  const decoded = Buffer.from(cursor, "base64url").toString();
  const [kind, raw] = decoded.split(":");
  const offset = Number(raw);
  if (kind !== list || !Number.isInteger(offset) || offset < 0) {
    throw invalidParams(`params.cursor is not a cursor of ${list}: pass the nextCursor of the previous page`);
  }
  return offset;
}

/** One page of a list plus `nextCursor` when more remain. */
export function paginate<T>(
  list: string,
  items: readonly T[],
  cursor: unknown,
  pageSize: number,
): { page: T[]; nextCursor?: string } {
  const offset = decodeCursor(list, cursor);
  const page = items.slice(offset, offset + pageSize);
  const next = offset + pageSize;
  return next < items.length ? { page, nextCursor: encodeCursor(list, next) } : { page };
}

/** A JSON response. */
export function json(status: number, body: unknown, headers?: Record<string, string>): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { "content-type": "application/json", ...headers },
  });
}
