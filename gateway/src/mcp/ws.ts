import { ErrorCode } from "@omni/contracts";
import type { ServerWebSocket } from "bun";
import type { Authenticator, Caller, McpAccess } from "../ports.ts";
import { JsonBodyError, parseJsonBody } from "../security/json.ts";
import type { Outbound } from "./core/context.ts";
import type { Dispatcher } from "./dispatcher.ts";
import { toError } from "./http.ts";
import { allowsBatch, classify, errorMessage, type Inbound, type Json, resultMessage } from "./protocol.ts";
import { type Session, sessionCall } from "./session.ts";

/** The id of a single JSON-RPC request in a frame (for an error answering it), else null. */
function requestIdOf(data: string | Buffer): string | number | null {
  try {
    const body: unknown = parseJsonBody(typeof data === "string" ? data : data.toString("utf8"));
    if (typeof body === "object" && body !== null && "id" in body) {
      const id = body.id;
      if (typeof id === "string" || typeof id === "number") return id;
    }
  } catch {
    // not JSON: the receiver reports the parse error when the message is admitted
  }
  return null;
}

/** The longest delay `setTimeout` honours (2^31-1 ms, about 24.8 days); longer ones fire at once. */
const MAX_TIMEOUT_MS = 2_147_483_647;

/** Close code sent when a socket's credentials expire or are revoked (4000-4999: application codes). */
export const WS_CLOSE_CREDENTIALS = 4001;

export interface WsHandlers {
  open(ws: ServerWebSocket<unknown>): void;
  message(ws: ServerWebSocket<unknown>, data: string | Buffer): void;
  close(ws: ServerWebSocket<unknown>): void;
}

/**
 * One MCP connection over WebSocket (subprotocol `mcp`, as the SDK's WebSocketClientTransport speaks):
 * JSON-RPC messages as text frames, the same dispatcher as `/mcp`, one session per socket.
 */
export function createWsConnection(opts: {
  dispatcher: Dispatcher;
  authenticator: Authenticator;
  /** The socket's caller (with the bundle its URL named, `/ws/b/<slug>`). */
  auth: Caller;
  maxMessageBytes: number;
  /** How often the credential is re-checked (revocation). */
  checkIntervalMs: number;
  /** Rate limits: every message (text frame) takes one request; refused → JSON-RPC -32029, socket stays open. */
  access?: Pick<McpAccess, "consume">;
}): WsHandlers {
  const { dispatcher, auth } = opts;
  let session: Session | null = null;
  let opening: ReturnType<Dispatcher["initialize"]> | null = null;
  let socket: ServerWebSocket<unknown> | null = null;
  let timer: ReturnType<typeof setInterval> | undefined;
  let expiry: ReturnType<typeof setTimeout> | undefined;
  let stopListening: (() => void) | undefined;

  const out: Outbound = {
    send: (message) => {
      if (!socket) return false;
      socket.send(JSON.stringify(message));
      return true;
    },
  };

  const closeForCredentials = (reason: string) => {
    socket?.close(WS_CLOSE_CREDENTIALS, reason);
  };

  const handle = async (message: Inbound): Promise<Json | null> => {
    if (message.kind === "invalid") return errorMessage(message.id, message.error);
    if (message.kind === "request" && message.method === "initialize") {
      if (session || opening) {
        return errorMessage(message.id, {
          code: ErrorCode.InvalidRequest,
          message: "Invalid request: this connection is already initialized",
        });
      }
      opening = dispatcher.initialize(auth, message.params);
      try {
        const created = await opening;
        session = created.session;
        session.stream = out;
        dispatcher.websocketSessions++;
        return resultMessage(message.id, created.result);
      } catch (error) {
        return errorMessage(message.id, toError(error));
      } finally {
        opening = null;
      }
    }
    // A message sent right after initialize waits for it (initialize reads the org's instructions).
    if (!session && opening) await opening.catch(() => {});
    if (!session) {
      return message.kind === "request"
        ? errorMessage(message.id, {
            code: ErrorCode.InvalidRequest,
            message: "Invalid request: send initialize first",
          })
        : null;
    }
    if (message.kind !== "request") {
      await dispatcher.accept(session, message);
      return null;
    }
    const { call, end } = sessionCall(session, message.id, out);
    try {
      return resultMessage(message.id, await dispatcher.request(call, message.method, message.params));
    } catch (error) {
      return errorMessage(message.id, toError(error));
    } finally {
      end();
    }
  };

  const receive = (ws: ServerWebSocket<unknown>, data: string | Buffer): void => {
    const text = typeof data === "string" ? data : data.toString("utf8");
    if (text.length > opts.maxMessageBytes) {
      ws.send(
        JSON.stringify(
          errorMessage(null, {
            code: ErrorCode.InvalidRequest,
            message: `Payload too large: a message may be at most ${opts.maxMessageBytes} bytes`,
          }),
        ),
      );
      return;
    }
    let body: unknown;
    try {
      body = parseJsonBody(text);
    } catch (error) {
      const message =
        error instanceof JsonBodyError && error.reason === "depth"
          ? `Parse error: ${error.message}`
          : "Parse error: not JSON";
      ws.send(JSON.stringify(errorMessage(null, { code: ErrorCode.ParseError, message })));
      return;
    }
    if (Array.isArray(body)) {
      if (!session || !allowsBatch(session.protocolVersion) || body.length === 0) {
        ws.send(
          JSON.stringify(
            errorMessage(null, {
              code: ErrorCode.InvalidRequest,
              message: "Invalid request: JSON-RPC batches are not supported in this protocol version",
            }),
          ),
        );
        return;
      }
      void Promise.all(body.map((m) => handle(classify(m)))).then((replies) => {
        const list = replies.filter((r): r is Json => r !== null);
        if (list.length) ws.send(JSON.stringify(list));
      });
      return;
    }
    void handle(classify(body)).then((reply) => {
      if (reply) ws.send(JSON.stringify(reply));
    });
  };

  return {
    open(ws) {
      socket = ws;
      const check = async () => {
        const valid = await opts.authenticator
          .stillValid(auth.credentialId, auth.expiresAt)
          .catch(() => true); // a dependency outage is not a revocation: the next check decides
        if (!valid) closeForCredentials("credentials expired or revoked; reconnect with a valid credential");
      };
      timer = setInterval(() => void check(), opts.checkIntervalMs);
      // Revocation anywhere (this replica or another, over Redis pub/sub) re-checks at once.
      stopListening = opts.authenticator.onRevocation?.((orgId) => {
        if (orgId === auth.org.orgId) void check();
      });
      if (auth.expiresAt !== undefined) {
        const deadline = auth.expiresAt;
        // setTimeout holds at most 2^31-1 ms (24.8 days); a later deadline would fire at once: re-arm instead.
        const arm = () => {
          const ms = deadline - Date.now();
          if (ms <= 0) {
            closeForCredentials("credentials expired; reconnect with a fresh token");
            return;
          }
          expiry = setTimeout(arm, Math.min(ms, MAX_TIMEOUT_MS));
        };
        arm();
      }
    },
    message(ws, data) {
      if (!opts.access) {
        receive(ws, data);
        return;
      }
      void opts.access.consume(auth).then(
        (decision) => {
          if (decision.allowed) {
            receive(ws, data);
            return;
          }
          ws.send(JSON.stringify(errorMessage(requestIdOf(data), decision.error)));
        },
        (error: unknown) => {
          ws.send(JSON.stringify(errorMessage(requestIdOf(data), toError(error))));
        },
      );
    },
    close() {
      clearInterval(timer);
      clearTimeout(expiry);
      stopListening?.();
      socket = null;
      if (session) {
        dispatcher.websocketSessions--;
        dispatcher.endSession(session);
      }
      session = null;
    },
  };
}
