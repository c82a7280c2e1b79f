import type { ClientCapabilities, LogLevel, RequestId } from "@omni/contracts";
import type { Instance } from "../registry/index.ts";
import type { CallContext, Caller, Outbound } from "./core/context.ts";
import type { Json, SessionVersion } from "./protocol.ts";

/** The client's answer to a server-to-client request. */
export interface ClientReply {
  result?: unknown;
  error?: { code: number; message: string; data?: unknown };
}

/**
 * A server-to-client request awaiting the client's answer: relayed from a domain server (answered
 * through its RPC callback), or from a federated upstream (`answer` settles the SDK client's handler).
 */
export type PendingClientRequest =
  | { instance: Instance; callId: string; upstreamId: string }
  | { answer: (reply: ClientReply) => void };

/** One 2025-era MCP session (Streamable HTTP `Mcp-Session-Id`, or one WebSocket connection). */
export interface Session {
  readonly id: string;
  /** Who the session acts for; an HTTP session takes each request's (same org and user) permissions. */
  caller: Caller;
  readonly protocolVersion: SessionVersion;
  readonly clientCapabilities: ClientCapabilities;
  readonly clientInfo: Json;
  logLevel: LogLevel | undefined;
  readonly subscriptions: Set<string>;
  /** The GET stream (HTTP) or the socket (WebSocket): where unrelated notifications go. */
  stream: Outbound | null;
  /** In-flight client requests by JSON-RPC id (as a string), for notifications/cancelled. */
  readonly inflight: Map<string, AbortController>;
  /** Server-to-client requests by the id the client sees. */
  readonly pending: Map<string, PendingClientRequest>;
  /** Servers this session called (told when it ends). */
  readonly usedServers: Set<string>;
  /** When the session was created (epoch ms): its age on the admin Sessions page. */
  readonly createdAt: number;
  lastSeen: number;
  nextOutboundId: number;
}

export function createSession(init: {
  caller: Caller;
  protocolVersion: SessionVersion;
  clientCapabilities: ClientCapabilities;
  clientInfo: Json;
}): Session {
  return {
    id: crypto.randomUUID(),
    caller: init.caller,
    protocolVersion: init.protocolVersion,
    clientCapabilities: init.clientCapabilities,
    clientInfo: init.clientInfo,
    logLevel: undefined,
    subscriptions: new Set(),
    stream: null,
    inflight: new Map(),
    pending: new Map(),
    usedServers: new Set(),
    createdAt: Date.now(),
    lastSeen: Date.now(),
    nextOutboundId: 1,
  };
}

/**
 * The call context of one request of a 2025 session (HTTP or WebSocket): live, the session's
 * capabilities and log level, cancellable by `notifications/cancelled` until `end()`.
 */
export function sessionCall(
  session: Session,
  id: RequestId,
  out: Outbound,
): { call: CallContext; end: () => void } {
  const key = String(id);
  const controller = new AbortController();
  session.inflight.set(key, controller);
  return {
    call: {
      era: "session",
      id,
      caller: session.caller,
      clientCapabilities: session.clientCapabilities,
      live: true,
      inputResponses: undefined,
      logLevel: session.logLevel,
      signal: controller.signal,
      sessionKey: session.id,
      out,
      session,
    },
    end: () => {
      if (session.inflight.get(key) === controller) session.inflight.delete(key);
    },
  };
}

/** In-memory session store with an idle timeout. */
export class SessionStore {
  private readonly sessions = new Map<string, Session>();
  private readonly sweeper: ReturnType<typeof setInterval>;

  constructor(
    private readonly idleMs: number,
    private readonly onExpire: (session: Session) => void,
  ) {
    this.sweeper = setInterval(() => this.sweep(), Math.min(idleMs, 60_000));
    this.sweeper.unref?.();
  }

  add(session: Session): void {
    this.sessions.set(session.id, session);
  }

  get(id: string): Session | undefined {
    const session = this.sessions.get(id);
    if (session) session.lastSeen = Date.now();
    return session;
  }

  delete(id: string): Session | undefined {
    const session = this.sessions.get(id);
    this.sessions.delete(id);
    return session;
  }

  all(): IterableIterator<Session> {
    return this.sessions.values();
  }

  get size(): number {
    return this.sessions.size;
  }

  close(): void {
    clearInterval(this.sweeper);
  }

  private sweep(): void {
    const cutoff = Date.now() - this.idleMs;
    for (const session of this.sessions.values()) {
      // A session holding a GET stream or socket open is waiting for notifications, not idle.
      if (session.lastSeen < cutoff && session.inflight.size === 0 && session.stream === null) {
        this.sessions.delete(session.id);
        this.onExpire(session);
      }
    }
  }
}
